// frugal-sim train: GPU-hours, days, dollars, MFU and memory of a training run, with dense baselines.
#include <iostream>
#include <memory>

#include "cli_common.hpp"
#include "commands.hpp"
#include <fmt/format.h>

#include "frugal/config/config_file.hpp"
#include "frugal/sim/calibration.hpp"
#include "frugal/config/presets.hpp"
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
    app_->add_option("--efficiency", efficiency_file_,
                     "efficiencies measured on your GPU (`frugal-sim calibrate --save FILE`) instead of the defaults");
  }
  CLI::App* app() const override { return app_; }

  int run() override {
    const TrainingRun run = options_.load();
    if (!no_baselines_) (void)find_preset(baseline_);  // refuse a bad name before any work
    const EfficiencyConstants constants =
        efficiency_file_.empty() ? default_efficiency() : efficiency_from_json(read_json_file(efficiency_file_), efficiency_file_);
    const TrainingEstimate estimate = simulate_training(run, constants);
    const std::vector<Baseline> baselines =
        no_baselines_ || format_.format == "csv" ? std::vector<Baseline>{} : dense_baselines(run, baseline_, constants);
    if (format_.format == "json") {
      nlohmann::json j = training_report_json(estimate, baselines);
      if (!efficiency_file_.empty()) j["efficiency_file"] = efficiency_file_;
      std::cout << j.dump(2) << "\n";
    } else if (format_.format == "csv") {
      std::cout << training_report_csv(estimate);
    } else {
      if (!efficiency_file_.empty())
        std::cout << fmt::format("efficiencies measured on your GPU ({}): gemm_bf16 {:.3f}, gemm_fp8 {:.3f}, hbm {:.3f}, decode_hbm {:.3f} "
                                 "(defaults {:.3f}, {:.3f}, {:.3f}, {:.3f})\n\n",
                                 efficiency_file_, constants.gemm_bf16, constants.gemm_fp8, constants.hbm, constants.decode_hbm,
                                 default_efficiency().gemm_bf16, default_efficiency().gemm_fp8, default_efficiency().hbm,
                                 default_efficiency().decode_hbm);
      std::cout << training_report_table(estimate, baselines);
    }
    return 0;
  }

 private:
  CLI::App* app_ = nullptr;
  RunOptions options_;
  OutputFormat format_;
  std::string baseline_ = "llama-3.1-405b";
  bool no_baselines_ = false;
  std::string efficiency_file_;
};

}  // namespace

std::unique_ptr<Command> make_train_command(CLI::App& parent) { return std::make_unique<TrainCommand>(parent); }

}  // namespace frugal::sim::cli
