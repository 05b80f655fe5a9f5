// frugal-sim's subcommands. Each registers its options, then runs when parsed; each run returns
// the process exit status.
#pragma once

#include <memory>

#include <CLI/CLI.hpp>

namespace frugal::sim::cli {

class Command {
 public:
  virtual ~Command() = default;
  virtual CLI::App* app() const = 0;
  virtual int run() = 0;
};

std::unique_ptr<Command> make_model_command(CLI::App& parent);
std::unique_ptr<Command> make_presets_command(CLI::App& parent);
std::unique_ptr<Command> make_train_command(CLI::App& parent);
std::unique_ptr<Command> make_finetune_command(CLI::App& parent);
std::unique_ptr<Command> make_distill_command(CLI::App& parent);
std::unique_ptr<Command> make_validate_command(CLI::App& parent);
std::unique_ptr<Command> make_sweep_command(CLI::App& parent);
std::unique_ptr<Command> make_serve_command(CLI::App& parent);
std::unique_ptr<Command> make_calibrate_command(CLI::App& parent);

// No subcommand: the main report.
int run_main_report();

}  // namespace frugal::sim::cli
