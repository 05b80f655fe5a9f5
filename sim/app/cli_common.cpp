#include "cli_common.hpp"

#include "frugal/config/config_file.hpp"
#include "frugal/sim/presets.hpp"

namespace frugal::sim::cli {

void ModelSource::add_options(CLI::App& command, const std::string& default_preset) {
  preset = default_preset;
  auto* p = command.add_option("--preset", preset, "model preset (see `frugal-sim presets`)")->capture_default_str();
  auto* c = command.add_option("--config", config_file,
                               "model config file: FrugalLM JSON or a Hugging Face config.json, unchanged");
  p->excludes(c);
  c->excludes(p);
}

ModelConfig ModelSource::load() const {
  if (!config_file.empty()) return load_model_config_file(config_file);
  return preset_model(preset);
}

void OutputFormat::add_option(CLI::App& command) {
  command.add_option("--format", format, "output format")
      ->check(CLI::IsMember({"table", "json", "csv"}))
      ->capture_default_str();
}

}  // namespace frugal::sim::cli
