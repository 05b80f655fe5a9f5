// Data files compiled into the simulator (cmake/FrugalEmbed.cmake): the published figures in
// sim/data/published.json, published_runs.json and published_serving.json, and the GPUs in
// sim/data/gpus.json. The model presets are frugal::config's (frugal/config/presets.hpp).
#pragma once

#include <span>

#include "frugal/config/embedded_file.hpp"

namespace frugal::sim {

std::span<const EmbeddedFile> embedded_published_figures();
std::span<const EmbeddedFile> embedded_gpu_specs();
std::span<const EmbeddedFile> embedded_published_runs();
std::span<const EmbeddedFile> embedded_published_serving();
std::span<const EmbeddedFile> embedded_published_scores();  // sim/data/published_scores.json
std::span<const EmbeddedFile> embedded_training_corpus_file();  // sim/data/training_corpus.json

}  // namespace frugal::sim
