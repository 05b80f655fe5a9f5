// frugal-sim train: GPU-hours, days, dollars, MFU and memory of a training run, with dense baselines.
#include <iostream>
#include <memory>

#include "cli_common.hpp"
#include "commands.hpp"
#include "frugal/sim/presets.hpp"
#include "frugal/sim/training_report.hpp"

namespace frugal::sim::cli {

namespace {

class TrainCommand : public Command {
 public:
  explicit TrainCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("train", "price a training run: GPU-hours, days, dollars, MFU, memory per GPU");
    options_.add_options(*app_);
    format_.add_option(*app_);
    app_->add_option("--baseline", baseline_, "named dense model to compare with")->capture_default_str();
    app_->add_flag("--no-baselines", no_baselines_, "skip the dense-baseline comparison");
  }
  CLI::App* app() const override { return app_; }

  int run() override {
    const TrainingRun run = options_.load();
    if (!no_baselines_) (void)find_preset(baseline_);  // refuse a bad name before any work
    const TrainingEstimate estimate = simulate_training(run);
    const std::vector<Baseline> baselines =
        no_baselines_ || format_.format == "csv" ? std::vector<Baseline>{} : dense_baselines(run, baseline_);
    if (format_.format == "json") std::cout << training_report_json(estimate, baselines).dump(2) << "\n";
    else if (format_.format == "csv") std::cout << training_report_csv(estimate);
    else std::cout << training_report_table(estimate, baselines);
    return 0;
  }

 private:
  CLI::App* app_ = nullptr;
  RunOptions options_;
  OutputFormat format_;
  std::string baseline_ = "llama-3.1-405b";
  bool no_baselines_ = false;
};

}  // namespace

std::unique_ptr<Command> make_train_command(CLI::App& parent) { return std::make_unique<TrainCommand>(parent); }

}  // namespace frugal::sim::cli
