// A data file compiled into a library (cmake/FrugalEmbed.cmake): its name and its text.
#pragma once

#include <span>
#include <string_view>

namespace frugal {

struct EmbeddedFile {
  std::string_view name;  // file name, e.g. "deepseek-v3.json"
  std::string_view text;
};

// config/models/*.json: the model presets (presets.hpp reads them).
std::span<const EmbeddedFile> embedded_model_presets();

}  // namespace frugal
