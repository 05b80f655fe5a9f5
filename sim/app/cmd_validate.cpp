// frugal-sim validate: every published run, predicted, beside its published figure and source.
#include <cmath>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli_common.hpp"
#include "commands.hpp"
#include "frugal/sim/format.hpp"
#include "frugal/sim/text_table.hpp"
#include "frugal/sim/validation.hpp"

namespace frugal::sim::cli {

namespace {

std::string format_value(const std::string& metric, double v) {
  if (metric == "mfu_bf16") return fmt::format("{:.2f}%", 100 * v);
  if (metric == "total_flops") return fmt::format("{:.3g}", v);
  return format_count(v);
}

class ValidateCommand : public Command {
 public:
  explicit ValidateCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("validate", "predict every published training run and compare");
    app_->add_option("--format", format_, "output format")->check(CLI::IsMember({"table", "json"}))->capture_default_str();
  }
  CLI::App* app() const override { return app_; }

  int run() override {
    const std::vector<ValidationRow> rows = validate_published_runs();
    if (format_ == "json") {
      nlohmann::json out = nlohmann::json::array();
      for (const ValidationRow& r : rows)
        out.push_back({{"name", r.run.name}, {"metric", r.run.metric}, {"published", r.run.published},
                       {"predicted", r.predicted}, {"rel_error", r.rel_error}, {"source", r.run.source},
                       {"note", r.run.note}, {"fits", r.fits}});
      std::cout << out.dump(2) << "\n";
      return 0;
    }
    TextTable t({"published run", "metric", "published", "predicted", "error", "source"});
    t.set_left_aligned({1, 5});
    for (const ValidationRow& r : rows)
      t.add_row({r.run.name, r.run.metric, format_value(r.run.metric, r.run.published),
                 format_value(r.run.metric, r.predicted), format_percent(r.rel_error), r.run.source});
    std::cout << t.render() << "\n";
    std::cout << fmt::format("  median |error| over {} figures: {:.1f}%\n\n", rows.size(),
                             100 * median_abs_rel_error(rows));
    for (const ValidationRow& r : rows) {
      std::string remarks = r.run.note;
      if (std::fabs(r.rel_error) > 0.15)
        remarks += std::string(remarks.empty() ? "" : "; ") + "NOT EXPLAINED by the model (|error| > 15%)";
      if (!r.fits) remarks += std::string(remarks.empty() ? "" : "; ") + "the predicted plan does not fit in memory";
      if (!remarks.empty()) std::cout << "  " << r.run.name << ": " << remarks << "\n";
    }
    return 0;
  }

 private:
  CLI::App* app_ = nullptr;
  std::string format_ = "table";
};

}  // namespace

std::unique_ptr<Command> make_validate_command(CLI::App& parent) { return std::make_unique<ValidateCommand>(parent); }

}  // namespace frugal::sim::cli
