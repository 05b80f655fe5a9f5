// Options shared by frugal-sim's subcommands: where the model comes from, and the output format.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>
#include <utility>

#include <CLI/CLI.hpp>

#include "frugal/config/model_config.hpp"
#include "frugal/sim/hardware.hpp"
#include "frugal/sim/run_overrides.hpp"
#include "frugal/sim/training_config.hpp"

namespace frugal::sim::cli {

// --preset NAME | --config FILE (a FrugalLM config or a Hugging Face config.json).
struct ModelSource {
  std::string preset;
  std::string config_file;

  void add_options(CLI::App& command, const std::string& default_preset);
  ModelConfig load() const;
};

// The training run: a model source plus --gpu, --gpus, --tokens, --dp ... (see add_options).
struct RunOptions {
  ModelSource source;
  std::string gpu, gpu_file, tokens, precision, optimizer_states, recompute, attention_kernel, gradient_reduce, pipeline_layout, schedule, plan;
  bool tp_comm_overlap = false;
  std::int64_t gpus = 0, seq_len = 0, global_batch = 0;
  std::int64_t dp = 0, tp = 0, pp = 0, cp = 0, ep = 0, micro_batch = 0, virtual_stages = 0;
  int zero_stage = -1;
  double price = 0, overhead = -1, mfu = 0;
  CLI::App* app = nullptr;

  void add_options(CLI::App& command);
  // The run the options describe; throws ConfigError naming the flag or field.
  TrainingRun load() const;
  RunOverrides overrides() const;
  std::vector<GpuSpec> extra_gpus() const;
};

// Keys of a config that change no cost, listed once: nothing is dropped silently. main
// prints the notes on stderr after a command succeeds, so that a refusal stays one line:
// "frugal-sim: note: FILE: not used (no effect on cost): a, b, c".
void note_ignored_keys(const std::string& file, const ModelConfig& m);
std::vector<std::string>& pending_notes();

// Refuses any of these flags that was given with a value below 1, naming it.
void require_positive_integers(const CLI::App& app,
                               std::initializer_list<std::pair<const char*, std::int64_t>> flags);

// --format table|json|csv
struct OutputFormat {
  std::string format = "table";
  void add_option(CLI::App& command);
};

}  // namespace frugal::sim::cli
