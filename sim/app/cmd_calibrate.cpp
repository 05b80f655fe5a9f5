// frugal-sim calibrate --from gpu-check.json: the efficiencies measured on the user's GPU
// (scripts/gpu-check.sh) beside the defaults, what they change for DeepSeek-V3's run, and
// --save FILE for `frugal-sim train --efficiency FILE`.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli_common.hpp"
#include "commands.hpp"
#include "frugal/config/config_file.hpp"
#include "frugal/config/atomic_file.hpp"
#include "frugal/sim/calibration.hpp"
#include "frugal/sim/format.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/run_overrides.hpp"
#include "frugal/sim/text_table.hpp"
#include "frugal/sim/training_sim.hpp"

namespace frugal::sim::cli {

namespace {

class CalibrateCommand : public Command {
 public:
  explicit CalibrateCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("calibrate", "replace the default efficiencies with those measured on your GPU");
    app_->add_option("--from", from_, "gpu-check.json written by scripts/gpu-check.sh on your GPU")->required();
    app_->add_option("--gpu", gpu_, "the GPU it ran on (default: recognised from the reported device name)");
    app_->add_option("--save", save_, "write the calibrated efficiencies here, for `frugal-sim train --efficiency FILE`");
    app_->add_option("--format", format_, "output format")->check(CLI::IsMember({"table", "json"}))->capture_default_str();
  }
  CLI::App* app() const override { return app_; }

  int run() override {
    const GpuMeasurements m = measurements_from_gpu_check(read_json_file(from_), from_);
    GpuSpec gpu;
    if (!gpu_.empty()) {
      gpu = find_gpu(gpu_, "--gpu");
    } else if (const auto recognised = gpu_from_device_name(m.device)) {
      gpu = *recognised;
    } else {
      throw ConfigError("--gpu", "the device \"" + m.device + "\" is not one the simulator knows: name it with --gpu");
    }
    const Calibration c = calibrate(m, gpu);
    // DeepSeek-V3's run on 2048 of this GPU in BF16 (the GEMM efficiency measured is BF16's).
    TrainingRun run = training_run_from_document(find_preset("deepseek-v3").document);
    RunOverrides o;
    o.gpu = gpu.name;
    o.precision = PrecisionRecipe::bf16;
    o.plan_auto = true;
    apply_overrides(run, o);
    const TrainingEstimate before = simulate_training(run), after = simulate_training(run, c.constants);
    if (!save_.empty()) write_file_atomically(save_, calibration_json(c, m.device).dump(2) + "\n");

    if (format_ == "json") {
      nlohmann::json j = calibration_json(c, m.device);
      j["deepseek_v3_bf16_gpu_hours"] = {{"defaults", before.gpu_hours}, {"calibrated", after.gpu_hours}};
      std::cout << j.dump(2) << "\n";
      return 0;
    }
    std::cout << fmt::format("Calibrating from {}: \"{}\", priced as the {} of sim/data/gpus.json\n\n", from_, m.device, gpu.name);
    TextTable t({"efficiency", "default", "your GPU", "measured as"});
    t.set_left_aligned({3});
    for (const CalibratedConstant& k : c.changed)
      t.add_row({k.name, fmt::format("{:.3f}", k.default_value), fmt::format("{:.3f}", k.calibrated), k.from});
    std::cout << t.render() << "\n";
    std::cout << fmt::format("DeepSeek-V3 on 2048 × {} in BF16 (14.8T tokens and context extension; parallelism planned):\n"
                             "  with the defaults:        {} GPU-hours, ${}, MFU {:.1f}%\n"
                             "  with your measurements:   {} GPU-hours, ${}, MFU {:.1f}% ({})\n",
                             gpu.name, format_count(before.gpu_hours), format_count(before.cost_usd), 100 * before.mfu_bf16,
                             format_count(after.gpu_hours), format_count(after.cost_usd), 100 * after.mfu_bf16,
                             format_percent(after.gpu_hours / before.gpu_hours - 1));
    if (!save_.empty()) std::cout << fmt::format("\nsaved to {}: use them with `frugal-sim train --efficiency {}`\n", save_, save_);
    return 0;
  }

 private:
  CLI::App* app_ = nullptr;
  std::string from_, gpu_, save_, format_ = "table";
};

}  // namespace

std::unique_ptr<Command> make_calibrate_command(CLI::App& parent) { return std::make_unique<CalibrateCommand>(parent); }

}  // namespace frugal::sim::cli
