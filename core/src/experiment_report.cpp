// The experiments' results as tables and JSON: per-arm measures, summaries over seeds, and the
// report text the chapters print (experiments.hpp; the runners are in experiments.cpp).
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "experiment_helpers.hpp"
#include "frugal/core/experiments.hpp"

namespace frugal::core {

void mean_and_std(const std::vector<double>& v, double& mean, double& std) {
  mean = 0;
  for (double x : v) mean += x / static_cast<double>(v.size());
  double sum = 0;
  for (double x : v) sum += (x - mean) * (x - mean);
  std = v.size() > 1 ? std::sqrt(sum / static_cast<double>(v.size() - 1)) : 0.0;
}

double ArmResult::final_eval_loss() const { return history.empty() ? std::nan("") : history.back().eval_loss; }
double ArmResult::flops() const { return history.empty() ? 0.0 : history.back().flops; }
double ArmResult::tokens_per_second() const {
  if (history.empty() || seconds <= 0) return 0.0;
  return static_cast<double>(history.size() * static_cast<std::size_t>(options.batch_size * options.seq_len)) / seconds;
}

static double late_mean(const std::vector<StepMetrics>& h, double StepMetrics::*field) {
  if (h.empty()) return 0.0;
  double sum = 0;
  const std::size_t from = h.size() / 2;
  for (std::size_t i = from; i < h.size(); ++i) sum += h[i].*field;
  return sum / static_cast<double>(h.size() - from);
}
double ArmResult::late_max_violation() const { return late_mean(history, &StepMetrics::max_violation); }
double ArmResult::late_dropped_fraction() const { return late_mean(history, &StepMetrics::dropped_fraction); }

double ArmResult::eval_loss_at_flops(double target) const {
  double previous_flops = 0, previous_loss = std::numeric_limits<double>::quiet_NaN();
  for (const StepMetrics& m : history) {
    if (std::isnan(m.eval_loss)) continue;
    if (m.flops >= target) {
      if (std::isnan(previous_loss)) return m.eval_loss;
      const double w = (target - previous_flops) / (m.flops - previous_flops);
      return previous_loss + w * (m.eval_loss - previous_loss);
    }
    previous_flops = m.flops;
    previous_loss = m.eval_loss;
  }
  return previous_loss;
}

std::vector<ArmSummary> summarize(const ExperimentReport& r) {
  std::vector<ArmSummary> out;
  for (const ArmResult& a : r.arms) {
    if (std::any_of(out.begin(), out.end(), [&](const ArmSummary& s) { return s.name == a.name; })) continue;
    ArmSummary s;
    s.name = a.name;
    s.description = a.description;
    s.parameters = a.parameters;
    s.activated_parameters = a.activated_parameters;
    s.moe = a.model.is_moe();
    std::vector<double> at_flops, final_eval, max_violation, gaps;
    for (const ArmResult& run : r.arms) {
      if (run.name != a.name) continue;
      ++s.runs;
      gaps.push_back(relative_loss_gap(r, run));
      at_flops.push_back(run.eval_loss_at_flops(r.common_flops));
      final_eval.push_back(run.final_eval_loss());
      max_violation.push_back(run.late_max_violation());
      s.flops += run.flops();
      s.tokens_per_second += run.tokens_per_second();
      s.dropped_fraction += run.late_dropped_fraction();
    }
    s.flops /= s.runs;
    s.tokens_per_second /= s.runs;
    s.dropped_fraction /= s.runs;
    mean_and_std(at_flops, s.loss_at_common_flops, s.loss_at_common_flops_std);
    mean_and_std(final_eval, s.final_eval_loss, s.final_eval_loss_std);
    mean_and_std(max_violation, s.max_violation, s.max_violation_std);
    mean_and_std(gaps, s.relative_loss_gap, s.relative_loss_gap_std);
    out.push_back(s);
  }
  return out;
}

double relative_loss_gap(const ExperimentReport& r, const ArmResult& arm) {
  if (arm.baseline.empty()) return std::nan("");
  for (const ArmResult& b : r.arms)
    if (b.name == arm.baseline && b.options.seed == arm.options.seed)
      return (arm.final_eval_loss() - b.final_eval_loss()) / b.final_eval_loss();
  return std::nan("");
}

std::string format_report(const ExperimentReport& r) {
  std::string out = fmt::format("{}\n{}\n\n", r.name, r.question);
  const bool spread = r.seeds > 1;
  auto value = [&](double mean, double std) {
    return spread ? fmt::format("{:.4f} ± {:.4f}", mean, std) : fmt::format("{:.4f}", mean);
  };
  const int w = spread ? 17 : 11;
  out += fmt::format("{:<14} {:>10} {:>10} {:>9} {:>{}} {:>{}} {:>{}} {:>9} {:>9}\n", "arm", "params", "activated", "GFLOP",
                     "eval@equal", w, "final eval", w, "MaxVio", w, "dropped", "tok/s");
  const std::vector<ArmSummary> summary = summarize(r);
  for (const ArmSummary& a : summary) {
    const std::string max_violation = a.moe ? value(a.max_violation, a.max_violation_std) : "—";
    const std::string dropped = a.moe ? fmt::format("{:.2f}%", 100 * a.dropped_fraction) : "—";
    // "—" is one column wide but three bytes: pad by hand.
    auto pad = [](const std::string& text, int width) {
      const auto shown = static_cast<int>(text == "—" ? 1 : text.size());
      return std::string(static_cast<std::size_t>(std::max(0, width - shown)), ' ') + text;
    };
    out += fmt::format("{:<14} {:>10} {:>10} {:>9.1f} {:>{}} {:>{}} {} {} {:>9.0f}\n", a.name, a.parameters,
                       a.activated_parameters, a.flops / 1e9, value(a.loss_at_common_flops, a.loss_at_common_flops_std), w,
                       value(a.final_eval_loss, a.final_eval_loss_std), w, pad(max_violation, w), pad(dropped, 9),
                       a.tokens_per_second);
  }
  out += "\n";
  for (const ArmSummary& a : summary) out += fmt::format("  {:<12} {}\n", a.name, a.description);
  out += fmt::format("\neval@equal: held-out loss at {:.1f} GFLOP of executed training matmuls (the least any run reached)\n",
                     r.common_flops / 1e9);
  if (spread) out += fmt::format("mean ± standard deviation over {} seeds (weights and batches)\n", r.seeds);
  else out += "one seed: run with --seeds 3 or more to see how much of a difference is noise\n";
  if (!std::isnan(r.loss_floor))
    out += fmt::format("loss floor (the source's exact entropy): {:.4f} nats/token\n", r.loss_floor);
  if (std::any_of(summary.begin(), summary.end(), [](const ArmSummary& a) { return a.moe; }))
    out += "MaxVio: max/mean expert load − 1 over the second half of training, mean over MoE layers\n";
  out += r.footer;
  return out;
}

nlohmann::json report_json(const ExperimentReport& r) {
  nlohmann::json j = {{"experiment", r.name}, {"question", r.question}, {"common_flops", r.common_flops}, {"seeds", r.seeds}};
  if (r.name == "fp8") j["relative_loss_gaps"] = fp8_relative_loss_gaps(r);
  auto number = [](double x) { return std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x); };
  for (const auto& [key, value] : r.details.items()) j[key] = value;
  for (const ArmSummary& a : summarize(r))
    j["summary"].push_back({{"name", a.name},
                            {"runs", a.runs},
                            {"eval_loss_at_common_flops", a.loss_at_common_flops},
                            {"eval_loss_at_common_flops_std", a.loss_at_common_flops_std},
                            {"final_eval_loss", a.final_eval_loss},
                            {"final_eval_loss_std", a.final_eval_loss_std},
                            {"late_max_violation", a.max_violation},
                            {"late_max_violation_std", a.max_violation_std},
                            {"late_dropped_fraction", a.dropped_fraction},
                            {"relative_loss_gap", number(a.relative_loss_gap)},
                            {"relative_loss_gap_std", number(a.relative_loss_gap_std)}});
  j["loss_floor"] = std::isnan(r.loss_floor) ? nlohmann::json(nullptr) : nlohmann::json(r.loss_floor);
  for (const ArmResult& a : r.arms) {
    nlohmann::json eval_curve = nlohmann::json::array();
    for (const auto& m : a.history)
      if (!std::isnan(m.eval_loss)) eval_curve.push_back({{"step", m.step}, {"flops", m.flops}, {"eval_loss", m.eval_loss}});
    j["arms"].push_back({{"name", a.name},
                         {"seed", a.options.seed},
                         {"description", a.description},
                         {"parameters", a.parameters},
                         {"activated_parameters", a.activated_parameters},
                         {"flops", a.flops()},
                         {"eval_loss_at_common_flops", a.eval_loss_at_flops(r.common_flops)},
                         {"final_eval_loss", a.final_eval_loss()},
                         {"late_max_violation", a.late_max_violation()},
                         {"late_dropped_fraction", a.late_dropped_fraction()},
                         {"baseline", a.baseline.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.baseline)},
                         {"relative_loss_gap", number(relative_loss_gap(r, a))},
                         {"tokens_per_second", a.tokens_per_second()},
                         {"seconds", a.seconds},
                         {"eval_curve", eval_curve}});
  }
  return j;
}

}  // namespace frugal::core
