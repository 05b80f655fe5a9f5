// frugal-sim: what does it cost to train and serve a DeepSeek-V3-style model, and why?
// With no arguments it prints the main report; `frugal-sim --help` lists the subcommands.
// Bad input: one line naming what is wrong on stderr, exit status 2, nothing written.
#include <iostream>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "cli_common.hpp"
#include "commands.hpp"
#include "frugal/config/config_error.hpp"
#include "frugal/sim/main_report.hpp"

namespace frugal::sim::cli {

int run_main_report() {
  std::cout << main_report_text();
  return 0;
}

}  // namespace frugal::sim::cli

int main(int argc, char** argv) {
  using namespace frugal::sim::cli;
  CLI::App app{"frugal-sim: parameters, FLOPs, memory, GPU-hours and dollars of DeepSeek-V3-style models.\n"
               "With no subcommand, prints the main report: DeepSeek-V3 next to dense baselines."};
  app.require_subcommand(0, 1);
  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(make_model_command(app));
  commands.push_back(make_presets_command(app));
  commands.push_back(make_train_command(app));
  commands.push_back(make_finetune_command(app));
  commands.push_back(make_distill_command(app));
  commands.push_back(make_validate_command(app));
  commands.push_back(make_sweep_command(app));
  commands.push_back(make_serve_command(app));
  commands.push_back(make_calibrate_command(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "frugal-sim: error: {} (see frugal-sim --help)\n", e.what());
    return 2;
  }

  try {
    for (const auto& command : commands) {
      if (!command->app()->parsed()) continue;
      const int status = command->run();
      if (status == 0)
        for (const auto& note : pending_notes()) fmt::print(stderr, "frugal-sim: note: {}\n", note);
      return status;
    }
    return run_main_report();
  } catch (const frugal::ConfigError& e) {
    fmt::print(stderr, "frugal-sim: error: {}\n", e.what());
    return 2;
  }
}
