// The balancing experiments (experiments.hpp): the V3 report's ablation of auxiliary-loss-free
// balancing against the auxiliary loss, and the sweep of the bias update speed γ.
#include <cmath>

#include <fmt/format.h>

#include "experiment_helpers.hpp"
#include "frugal/config/config_error.hpp"
#include "frugal/core/experiments.hpp"

namespace frugal::core {

// The three arms of the balancing experiment for one seed, as the V3 report's ablation (§4.5.3):
// "Both of the baseline models purely use auxiliary losses to encourage load balance, and use the
// sigmoid gating function with top-K affinity normalization ... keeping the training data and the
// other architectures the same, we remove all auxiliary losses and introduce the
// auxiliary-loss-free balancing strategy". So every arm keeps the model's gate and group limits and
// drops no token (unless the options set a capacity factor, which only the auxiliary-loss arm
// uses); only the balancing differs: the bias (γ, with V3's small sequence-wise loss), the
// batch-wise auxiliary loss (α = options.router.aux_loss_alpha), or nothing.
static void add_balancing_arms(std::vector<ArmSpec>& arms, const ModelConfig& moe, const TrainOptions& options) {
  TrainOptions aux_free = options;
  aux_free.router.balancing = Balancing::aux_free;
  aux_free.router.capacity_factor = 0;
  arms.push_back({"aux-loss-free",
                  fmt::format("{} gate, bias γ = {}, sequence-wise α = {}, no dropping", to_string(moe.moe.score_func),
                              aux_free.router.bias_update_speed, aux_free.router.sequence_balance_alpha),
                  moe, aux_free, {}, ""});

  TrainOptions aux_loss = options;  // a capacity factor set in the options applies here (Switch §2.2)
  aux_loss.router.balancing = Balancing::aux_loss;
  arms.push_back({"aux-loss",
                  fmt::format("{} gate, batch-wise auxiliary loss α = {}, {}", to_string(moe.moe.score_func),
                              aux_loss.router.aux_loss_alpha,
                              aux_loss.router.capacity_factor > 0
                                  ? fmt::format("capacity factor {} with dropping", aux_loss.router.capacity_factor)
                                  : std::string("no dropping")),
                  moe, aux_loss, {}, ""});

  TrainOptions none = options;
  none.router.balancing = Balancing::none;
  none.router.capacity_factor = 0;
  arms.push_back({"unbalanced", fmt::format("{} gate, no balancing at all", to_string(moe.moe.score_func)), moe, none, {}, ""});
}

ExperimentReport run_balancing(const ModelConfig& moe, const TrainOptions& options, int seeds, const ArmProgress& progress) {
  if (!moe.is_moe()) throw ConfigError("model.moe.routed_experts", "the balancing experiment needs an MoE model");
  ExperimentReport report = new_report(
      "balancing",
      "Auxiliary-loss-free balancing against the auxiliary loss: expert load (MaxVio) and loss", seeds);
  std::vector<ArmSpec> arms;
  for (int seed = 0; seed < seeds; ++seed) add_balancing_arms(arms, moe, with_seed(options, seed));
  add_arms(report, arms, progress);
  finish_report(report, options);
  report.footer = balancing_conclusion(report) + "\n";
  return report;
}

// MaxVio's step-to-step swing over the second half of a run: the standard deviation of the
// per-step batch MaxVio there. A bias that moves by too large a γ overshoots and swings.
static double late_max_violation_swing(const ArmResult& arm) {
  std::vector<double> late;
  for (std::size_t i = arm.history.size() / 2; i < arm.history.size(); ++i) late.push_back(arm.history[i].max_violation);
  double mean = 0, swing = 0;
  mean_and_std(late, mean, swing);
  return swing;
}

std::string gamma_arm_name(double gamma) { return fmt::format("γ = {:g}", gamma); }

// The bias update speed γ (V3 report §2.1.2: b_i moves by ±γ after each step; §4.2: γ = 0.001 for
// the first 14.3T tokens) swept at this run's length: one aux-loss-free arm per γ and seed.
ExperimentReport run_balancing_gamma(const ModelConfig& moe, const TrainOptions& options, const std::vector<double>& gammas,
                                     int seeds, const ArmProgress& progress) {
  if (!moe.is_moe()) throw ConfigError("model.moe.routed_experts", "the balancing-gamma experiment needs an MoE model");
  if (gammas.empty()) throw ConfigError("--gammas", "give at least one bias update speed");
  for (double g : gammas)
    if (!(g > 0) || g > 1) throw ConfigError("--gammas", fmt::format("each γ must be in (0, 1], got {:g}", g));
  ExperimentReport report = new_report(
      "balancing-gamma", "How fast must the balancing bias move: too slow to balance, or so fast it swings?", seeds);
  std::vector<ArmSpec> arms;
  for (double gamma : gammas)
    for (int seed = 0; seed < seeds; ++seed) {
      TrainOptions o = with_seed(options, seed);
      o.router.balancing = Balancing::aux_free;
      o.router.capacity_factor = 0;
      o.router.bias_update_speed = gamma;
      arms.push_back({gamma_arm_name(gamma),
                      fmt::format("{} gate, bias γ = {:g}, sequence-wise α = {}, no dropping", to_string(moe.moe.score_func),
                                  gamma, o.router.sequence_balance_alpha),
                      moe, o, {}, ""});
    }
  add_arms(report, arms, progress);
  finish_report(report, options);
  nlohmann::json rows = nlohmann::json::array();
  const std::vector<ArmSummary> summary = summarize(report);
  report.footer = "MaxVio over the second half of training, and its step-to-step swing (standard deviation over those steps):\n";
  for (double gamma : gammas) {
    std::vector<double> swings;
    for (const ArmResult& a : report.arms)
      if (a.name == gamma_arm_name(gamma)) swings.push_back(late_max_violation_swing(a));
    double swing = 0, swing_std = 0;
    mean_and_std(swings, swing, swing_std);
    const ArmSummary& s = summary_of(summary, gamma_arm_name(gamma));
    rows.push_back({{"gamma", gamma},
                    {"final_eval_loss", s.final_eval_loss},
                    {"final_eval_loss_std", s.final_eval_loss_std},
                    {"late_max_violation", s.max_violation},
                    {"late_max_violation_std", s.max_violation_std},
                    {"late_max_violation_swing", swing},
                    {"seeds", s.runs}});
    report.footer += fmt::format("  γ = {:<8g} MaxVio {:.3f} ± {:.3f}   swing ±{:.3f}   held-out loss {:.4f} ± {:.4f}\n", gamma,
                                 s.max_violation, s.max_violation_std, swing, s.final_eval_loss, s.final_eval_loss_std);
  }
  report.details["gammas"] = rows;
  report.footer += balancing_gamma_conclusion(report) + "\n";
  return report;
}

const nlohmann::json& best_gamma_row(const ExperimentReport& report) {
  const nlohmann::json& rows = report.details.at("gammas");
  const nlohmann::json* best = &rows.at(0);
  for (const auto& r : rows)
    if (r.at("late_max_violation").get<double>() < best->at("late_max_violation").get<double>()) best = &r;
  return *best;
}

// A one-seed difference in MaxVio counts beyond 10%.
constexpr double kOneSeedMargin = 0.1;

// The γ that balances best; smaller ones still balancing when the run ends and larger ones
// balancing worse late in the run (the bias overshooting: Wang et al. 2024, arXiv 2408.15664,
// §4.3: "an overly low update rate u = 0.0001 may lead to slow convergence, while an unnecessarily
// high update rate u = 0.01 can cause undesirable fluctuations of the expert bias ... during the
// later stage of training, deteriorating load balance in this stage"), each beyond the noise.
std::string balancing_gamma_conclusion(const ExperimentReport& report) {
  const nlohmann::json& rows = report.details.at("gammas");
  if (rows.empty()) return "";
  auto value = [](const nlohmann::json& r, const char* key) { return r.contains(key) ? r[key].get<double>() : 0.0; };
  const nlohmann::json& best = best_gamma_row(report);
  const double best_gamma = value(best, "gamma"), best_maxvio = value(best, "late_max_violation");
  std::vector<std::string> slow, fast;
  for (const auto& r : rows) {
    const double g = value(r, "gamma");
    if (g == best_gamma || !above_beyond_noise(value(r, "late_max_violation"), value(r, "late_max_violation_std"), best_maxvio,
                                               value(best, "late_max_violation_std"), report.seeds, kOneSeedMargin))
      continue;
    (g < best_gamma ? slow : fast).push_back(fmt::format("{:g} ({:.3f})", g, value(r, "late_max_violation")));
  }
  auto list = [](const std::vector<std::string>& v) {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? (i + 1 == v.size() ? " and " : ", ") : "") + v[i];
    return out;
  };
  std::string text = fmt::format("γ = {:g} balances best at this length (MaxVio {:.3f}). ", best_gamma, best_maxvio);
  text += slow.empty() ? "No smaller γ is still balancing when the run ends"
                       : fmt::format("Too small: γ = {} {} still balancing when the run ends", list(slow), slow.size() == 1 ? "is" : "are");
  text += fast.empty() ? "; no larger γ balances worse late in the run."
                       : fmt::format("; too large: γ = {} balance{} worse late in the run, the bias overshooting.", list(fast),
                                     fast.size() == 1 ? "s" : "");
  text += report.seeds < 2 ? " One seed: no spread to judge these by (differences over 10% counted)."
                           : " (Differences beyond twice their standard error over seeds.)";
  return text;
}

// The V3 report's ablation read off the numbers: loss and late MaxVio of the bias against the
// auxiliary loss, each called better, worse or a tie by the same noise rule.
std::string balancing_conclusion(const ExperimentReport& report) {
  const std::vector<ArmSummary> summary = summarize(report);
  const ArmSummary &free = summary_of(summary, "aux-loss-free"), &aux = summary_of(summary, "aux-loss");
  auto compare = [&](double f, double f_std, double a, double a_std, const char* lower, const char* higher) {
    if (above_beyond_noise(a, a_std, f, f_std, report.seeds, kOneSeedMargin)) return std::string(lower);
    if (above_beyond_noise(f, f_std, a, a_std, report.seeds, kOneSeedMargin)) return std::string(higher);
    return std::string("ties with the auxiliary loss's (within the noise)");
  };
  return fmt::format(
      "The bias's held-out loss {:.4f} {} {:.4f}; its MaxVio {:.3f} {} {:.3f}.", free.final_eval_loss,
      compare(free.final_eval_loss, free.final_eval_loss_std, aux.final_eval_loss, aux.final_eval_loss_std,
              "is lower than the auxiliary loss's", "is higher than the auxiliary loss's"),
      aux.final_eval_loss, free.max_violation,
      compare(free.max_violation, free.max_violation_std, aux.max_violation, aux.max_violation_std, "is lower than its",
              "is higher than its"),
      aux.max_violation);
}

}  // namespace frugal::core
