// Options shared by frugal-sim's subcommands: where the model comes from, and the output format.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "frugal/config/model_config.hpp"

namespace frugal::sim::cli {

// --preset NAME | --config FILE (a FrugalLM config or a Hugging Face config.json).
struct ModelSource {
  std::string preset;
  std::string config_file;

  void add_options(CLI::App& command, const std::string& default_preset);
  ModelConfig load() const;
};

// --format table|json|csv
struct OutputFormat {
  std::string format = "table";
  void add_option(CLI::App& command);
};

}  // namespace frugal::sim::cli
