#include "frugal/config/presets.hpp"

#include <algorithm>

#include "frugal/config/config_error.hpp"
#include "frugal/config/config_file.hpp"
#include "frugal/config/embedded_file.hpp"

namespace frugal {

namespace {

std::vector<Preset> load_presets() {
  std::vector<Preset> presets;
  for (const EmbeddedFile& file : embedded_model_presets()) {
    std::string name(file.name);
    if (name.size() > 5 && name.ends_with(".json")) name.resize(name.size() - 5);
    nlohmann::json doc = nlohmann::json::parse(file.text);
    std::string description = doc.value("description", std::string());
    presets.push_back({std::move(name), std::move(description), std::move(doc)});
  }
  std::sort(presets.begin(), presets.end(), [](const Preset& a, const Preset& b) { return a.name < b.name; });
  return presets;
}

}  // namespace

const std::vector<Preset>& model_presets() {
  static const std::vector<Preset> presets = load_presets();
  return presets;
}

std::string preset_names() {
  std::string names;
  for (const Preset& p : model_presets()) names += (names.empty() ? "" : ", ") + p.name;
  return names;
}

const Preset& find_preset(std::string_view name) {
  for (const Preset& p : model_presets())
    if (p.name == name) return p;
  throw ConfigError("--preset", "unknown preset \"" + std::string(name) + "\" (known: " + preset_names() + ")");
}

ModelConfig preset_model(std::string_view name) {
  const Preset& preset = find_preset(name);
  try {
    return model_from_document(preset.document);
  } catch (const ConfigError& e) {
    throw ConfigError("preset " + preset.name, e.what());
  }
}

}  // namespace frugal
