// Data files compiled into the simulator (see cmake/embed_text_files.cmake): the model presets in
// sim/data/models/, the published figures in sim/data/published.json and published_runs.json,
// and the GPUs in sim/data/gpus.json.
#pragma once

#include <span>
#include <string_view>

namespace frugal::sim {

struct EmbeddedFile {
  std::string_view name;  // file name, e.g. "deepseek-v3.json"
  std::string_view text;
};

std::span<const EmbeddedFile> embedded_model_presets();
std::span<const EmbeddedFile> embedded_published_figures();
std::span<const EmbeddedFile> embedded_gpu_specs();
std::span<const EmbeddedFile> embedded_published_runs();
std::span<const EmbeddedFile> embedded_published_serving();

}  // namespace frugal::sim
