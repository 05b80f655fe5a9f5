// frugal-sim sweep: a grid over any inputs, one training estimate per point, to CSV or JSON.
#include <iostream>
#include <memory>
#include <thread>

#include "cli_common.hpp"
#include "commands.hpp"
#include "frugal/sim/sweep.hpp"

namespace frugal::sim::cli {

namespace {

class SweepCommand : public Command {
 public:
  explicit SweepCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("sweep", "evaluate a grid of training runs, e.g. --set experts=64,128,256 --set gpus=1024,2048");
    options_.add_options(*app_);
    app_->add_option("--set", sets_, "KEY=V1,V2,... (repeat for more axes); keys: experts, top_k, gpu, gpus, price, "
                                     "tokens, seq_len, global_batch, precision, tp, pp, ep, micro_batch, overhead, mfu")
        ->required();
    app_->add_option("--format", format_, "output format")->check(CLI::IsMember({"csv", "json"}))->capture_default_str();
  }
  CLI::App* app() const override { return app_; }

  int run() override {
    std::vector<SweepAxis> axes;
    for (const std::string& s : sets_) axes.push_back(parse_sweep_axis(s));
    const TrainingRun base = options_.load();
    const auto points = run_sweep(base, axes, std::max(1u, std::thread::hardware_concurrency()));
    std::cout << (format_ == "json" ? sweep_json(axes, points) : sweep_csv(axes, points));
    return 0;
  }

 private:
  CLI::App* app_ = nullptr;
  RunOptions options_;
  std::vector<std::string> sets_;
  std::string format_ = "csv";
};

}  // namespace

std::unique_ptr<Command> make_sweep_command(CLI::App& parent) { return std::make_unique<SweepCommand>(parent); }

}  // namespace frugal::sim::cli
