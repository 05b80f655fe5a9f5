// frugal-sim validate: every published run, predicted, beside its published figure and source.
// With --corpus: every row of the validation corpus (sim/data/training_corpus.json or FILE),
// grouped by class and series, with the error summary in and out of sample.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli_common.hpp"
#include "commands.hpp"
#include "frugal/sim/corpus_fit.hpp"
#include "frugal/sim/format.hpp"
#include "frugal/sim/text_table.hpp"
#include "frugal/sim/training_corpus.hpp"
#include "frugal/sim/validation.hpp"

namespace frugal::sim::cli {

namespace {

std::string format_value(const std::string& metric, double v) {
  if (metric == "mfu_bf16") return fmt::format("{:.2f}%", 100 * v);
  if (metric == "total_flops") return fmt::format("{:.3g}", v);
  return format_count(v);
}

std::string format_corpus_value(const std::string& metric, double v) {
  if (metric == "step_time_s") return fmt::format("{:.3g} s", v);
  if (metric == "tokens_per_s_per_gpu") return fmt::format("{:.0f}", v);
  if (metric == "hours") return fmt::format("{:.3g} h", v);
  if (metric == "memory_gb") return fmt::format("{:.1f} GB", v);
  return format_count(v);  // gpu_hours
}

constexpr const char* kFittedNote =
    "In sample: the default constants, whose fitted ones (fitted_constants) are the fit on the shipped corpus's step "
    "rows. Out of sample: those constants refitted on the step rows of every other series (corpus_fit.hpp); "
    "nothing else is fitted";

std::string join(const std::vector<std::string>& parts, const char* separator) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : separator) + p;
  return out;
}

nlohmann::json summary_json(const ErrorSummary& s) {
  return {{"count", s.count}, {"median_abs_time_rel_error", s.median_abs}, {"max_abs_time_rel_error", s.max_abs},
          {"share_predicted_low", s.share_low}};
}

// Rows of one class, ordered by series (in order of first appearance), then as listed.
std::vector<const CorpusPrediction*> rows_of_class(const std::vector<CorpusPrediction>& all, const std::string& row_class) {
  std::vector<std::string> series_order;
  for (const CorpusPrediction& p : all)
    if (p.row->row_class == row_class &&
        std::find(series_order.begin(), series_order.end(), series_key(*p.row)) == series_order.end())
      series_order.push_back(series_key(*p.row));
  std::vector<const CorpusPrediction*> out;
  for (const std::string& series : series_order)
    for (const CorpusPrediction& p : all)
      if (p.row->row_class == row_class && series_key(*p.row) == series) out.push_back(&p);
  return out;
}

// The floor under the step class's max |error| that rows with the same run set (training_corpus.hpp).
void print_indistinguishable_rows(const TrainingCorpus& corpus) {
  const std::vector<IndistinguishableRows> groups = indistinguishable_rows(corpus);
  if (groups.empty() || groups.front().error_floor < kNegligibleErrorFloor) return;
  std::cout << "  rows with the same run (model, cluster, recipe, layout, batch) and different published step times:"
               " no model of these inputs predicts every one of them closer than\n";
  for (const IndistinguishableRows& g : groups) {
    if (g.error_floor < kNegligibleErrorFloor) break;
    std::vector<std::string> names;
    for (const CorpusRow* r : g.rows) names.push_back(r->name);
    std::cout << fmt::format("    {:.1f}%: {}\n", 100 * g.error_floor, join(names, " / "));
  }
}

int print_corpus(const TrainingCorpus& corpus, bool leave_one_out, const std::string& format) {
  const std::vector<CorpusPrediction> predictions = predict_training_corpus(corpus, leave_one_out);
  const char* classes[] = {"step", "whole_run", "finetune"};
  const auto errors = [](const std::vector<const CorpusPrediction*>& rows, bool out_of_sample) {
    std::vector<double> e;
    for (const CorpusPrediction* p : rows) e.push_back(out_of_sample ? p->out_of_sample_time_rel_error : p->time_rel_error);
    return e;
  };
  if (format == "json") {
    nlohmann::json out = {{"rows", nlohmann::json::array()}, {"summary", nlohmann::json::object()},
                          {"not_included", nlohmann::json::array()}, {"fitted_constants", nlohmann::json::array()},
                          {"note", kFittedNote}};
    for (const FittedConstant& f : fitted_constants())
      out["fitted_constants"].push_back({{"name", f.name}, {"value", default_efficiency().*f.field}, {"start", f.start}});
    for (const char* c : classes) {
      const auto rows = rows_of_class(predictions, c);
      for (const CorpusPrediction* p : rows)
        out["rows"].push_back({{"name", p->row->name}, {"class", p->row->row_class}, {"metric", p->row->metric},
                               {"published", p->row->published}, {"predicted", p->predicted},
                               {"rel_error", p->rel_error}, {"out_of_sample_rel_error", p->out_of_sample_rel_error},
                               {"series", p->row->series}, {"source", p->row->source}, {"lacks", p->row->lacks}});
      out["summary"][c] = {{"in_sample", summary_json(summarize_errors(errors(rows, false)))}};
      if (leave_one_out) out["summary"][c]["out_of_sample"] = summary_json(summarize_errors(errors(rows, true)));
    }
    out["summary"]["step"]["indistinguishable_rows"] = nlohmann::json::array();
    for (const IndistinguishableRows& g : indistinguishable_rows(corpus)) {
      nlohmann::json names = nlohmann::json::array();
      for (const CorpusRow* r : g.rows) names.push_back(r->name);
      out["summary"]["step"]["indistinguishable_rows"].push_back({{"rows", names}, {"error_floor", g.error_floor}});
    }
    for (const ExcludedMeasurement& e : corpus.not_included)
      out["not_included"].push_back({{"name", e.name}, {"reason", e.reason}, {"source", e.source}});
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  for (const char* c : classes) {
    const auto rows = rows_of_class(predictions, c);
    if (rows.empty()) continue;
    std::cout << "Class " << c << " (" << rows.size() << " rows), grouped by series\n";
    std::vector<std::string> header = {"row", "series", "metric", "published", "predicted", "error"};
    if (leave_one_out) header.push_back("out-of-sample");
    TextTable t(header);
    t.set_left_aligned({1, 2});
    for (const CorpusPrediction* p : rows) {
      std::vector<std::string> line = {p->row->name, series_key(*p->row), p->row->metric,
                                       format_corpus_value(p->row->metric, p->row->published),
                                       format_corpus_value(p->row->metric, p->predicted), format_percent(p->rel_error)};
      if (leave_one_out) line.push_back(format_percent(p->out_of_sample_rel_error));
      t.add_row(std::move(line));
    }
    std::cout << t.render() << "\n";
    for (bool out_of_sample : {false, true}) {
      if (out_of_sample && !leave_one_out) break;
      const ErrorSummary s = summarize_errors(errors(rows, out_of_sample));
      std::cout << fmt::format("  {} {}: {} rows, in {}: median |error| {:.1f}%, max |error| {:.1f}%, "
                               "predicted low (too fast) {:.0f}%\n",
                               c, out_of_sample ? "out of sample (leave one series out)" : "in sample", s.count,
                               std::string(c) == "finetune" ? "wall time or memory" : "step time (GPU-hours)",
                               100 * s.median_abs, 100 * s.max_abs, 100 * s.share_low);
    }
    if (std::string(c) == "step") print_indistinguishable_rows(corpus);
    std::cout << "\n";
    for (const CorpusPrediction* p : rows) {
      std::vector<std::string> remarks;
      if (std::fabs(p->rel_error) > 0.15) remarks.push_back("NOT EXPLAINED by the model (|error| > 15%)");
      if (!p->fits) remarks.push_back("the predicted plan does not fit in memory");
      if (remarks.empty()) continue;
      std::cout << "  " << p->row->name << ": " << join(remarks, "; ") << "\n";
      if (!p->row->lacks.empty()) std::cout << "    lacks: " << join(p->row->lacks, "; ") << "\n";
    }
    std::cout << "\n";
  }
  if (leave_one_out) {
    std::cout << "  " << kFittedNote << ".\n  Fitted:";
    for (const FittedConstant& f : fitted_constants())
      std::cout << fmt::format(" {} = {:g}", f.name, default_efficiency().*f.field);
    std::cout << "\n";
  }
  if (!corpus.not_included.empty()) {
    std::cout << "  Not included (" << corpus.not_included.size() << "):\n";
    for (const ExcludedMeasurement& e : corpus.not_included) std::cout << "    " << e.name << ": " << e.reason << "\n";
  }
  return 0;
}

class ValidateCommand : public Command {
 public:
  explicit ValidateCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("validate", "predict every published training run and compare");
    app_->add_option("--corpus", corpus_file_,
                     "validate the training corpus instead (sim/data/training_corpus.json, or FILE)")
        ->expected(0, 1);
    app_->add_flag("--leave-one-out", leave_one_out_,
                   "with --corpus: also predict every row with constants refitted without its series");
    app_->add_option("--format", format_, "output format")->check(CLI::IsMember({"table", "json"}))->capture_default_str();
  }
  CLI::App* app() const override { return app_; }

  int run() override {
    if (app_->count("--corpus") > 0 || leave_one_out_) {
      if (corpus_file_.empty()) return print_corpus(embedded_training_corpus(), leave_one_out_, format_);
      return print_corpus(training_corpus_from_file(corpus_file_), leave_one_out_, format_);
    }
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
  std::string corpus_file_;
  bool leave_one_out_ = false;
};

}  // namespace

std::unique_ptr<Command> make_validate_command(CLI::App& parent) { return std::make_unique<ValidateCommand>(parent); }

}  // namespace frugal::sim::cli
