// Named model presets (config/models/*.json, compiled into frugal::config): `--preset deepseek-v3`,
// read by every engine and program.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/config/model_config.hpp"

namespace frugal {

struct Preset {
  std::string name;         // file name without .json, e.g. "deepseek-v3"
  std::string description;  // one line
  nlohmann::json document;  // the whole config document
};

// All presets, sorted by name.
const std::vector<Preset>& model_presets();

// "deepseek-67b, deepseek-moe-16b, …": every preset's name, for error messages.
std::string preset_names();

// The preset called `name`; throws ConfigError("--preset", ...) listing the known names.
const Preset& find_preset(std::string_view name);

// The validated model of preset `name`.
ModelConfig preset_model(std::string_view name);

}  // namespace frugal
