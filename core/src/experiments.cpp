// The chapters' experiments (experiments.hpp).
#include "frugal/core/experiments.hpp"

#include <chrono>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "frugal/config/config_error.hpp"

namespace frugal::core {

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

ModelConfig dense_counterpart(const ModelConfig& moe) {
  if (!moe.is_moe()) throw ConfigError("model.moe.routed_experts", "the experiment needs an MoE model to compare with a dense one");
  ModelConfig dense = moe;
  dense.name = moe.name + "-dense";
  dense.ffn_intermediate_size = (moe.moe.shared_experts + moe.moe.top_k) * moe.moe.expert_intermediate_size;
  dense.moe = MoeConfig{};
  return dense;
}

ArmResult run_arm(const std::string& name, const std::string& description, const ModelConfig& model,
                  const TrainOptions& options, const ArmProgress& progress) {
  Trainer trainer(model, options);
  ArmResult arm;
  arm.name = name;
  arm.description = description;
  arm.model = model;
  arm.options = options;
  arm.parameters = trainer.model().parameter_count();
  arm.activated_parameters = trainer.model().activated_parameter_count();
  const auto start = std::chrono::steady_clock::now();
  while (!trainer.finished()) {
    trainer.step();
    if (progress) progress(name, trainer);
  }
  arm.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  arm.history = trainer.history();
  return arm;
}

static void finish_report(ExperimentReport& report) {
  report.common_flops = std::numeric_limits<double>::infinity();
  for (const auto& arm : report.arms) report.common_flops = std::min(report.common_flops, arm.flops());
}

// Both arms see the same batches (same seed) and the same number of tokens. The MoE model's
// dense layers (first_dense_layers) get the same width as the dense model's, so that activated
// parameters differ only by the router's gate.
ExperimentReport run_dense_vs_moe(const ModelConfig& moe, const TrainOptions& options, const ArmProgress& progress) {
  ModelConfig dense = dense_counterpart(moe);
  ModelConfig moe_arm = moe;
  moe_arm.ffn_intermediate_size = dense.ffn_intermediate_size;
  ExperimentReport report;
  report.name = "dense-vs-moe";
  report.question = "At equal activated parameters and equal tokens, does DeepSeekMoE reach a lower loss than a dense FFN?";
  report.arms.push_back(run_arm("dense", fmt::format("SwiGLU FFN of width {}", dense.ffn_intermediate_size), dense, options, progress));
  report.arms.push_back(run_arm("moe",
                                fmt::format("{} shared + {} routed experts of width {}, top-{}", moe.moe.shared_experts,
                                            moe.moe.routed_experts, moe.moe.expert_intermediate_size, moe.moe.top_k),
                                moe_arm, options, progress));
  report.loss_floor = Trainer(moe_arm, options).loss_floor();
  finish_report(report);
  return report;
}

// The aux-loss-free arm uses the model and router options as given; the classic arm swaps in a
// softmax router without group limits, an auxiliary loss (α = options.router.aux_loss_alpha) and
// a capacity factor (options.router.capacity_factor, or 1.25 — Switch §2.2 — when unset).
ExperimentReport run_balancing(const ModelConfig& moe, const TrainOptions& options, const ArmProgress& progress) {
  if (!moe.is_moe()) throw ConfigError("model.moe.routed_experts", "the balancing experiment needs an MoE model");
  ExperimentReport report;
  report.name = "balancing";
  report.question = "Auxiliary-loss-free balancing against the auxiliary loss: expert load (MaxVio) and loss";

  TrainOptions aux_free = options;
  aux_free.router.balancing = Balancing::aux_free;
  aux_free.router.capacity_factor = 0;
  report.arms.push_back(run_arm("aux-loss-free",
                                fmt::format("{} gate, bias γ = {}, sequence-wise α = {}, no dropping", to_string(moe.moe.score_func),
                                            aux_free.router.bias_update_speed, aux_free.router.sequence_balance_alpha),
                                moe, aux_free, progress));

  ModelConfig classic = moe;
  classic.moe.score_func = ScoreFunc::softmax;
  classic.moe.groups = 1;
  classic.moe.groups_per_token = 1;
  TrainOptions aux_loss = options;
  aux_loss.router.balancing = Balancing::aux_loss;
  if (aux_loss.router.capacity_factor <= 0) aux_loss.router.capacity_factor = 1.25;
  report.arms.push_back(run_arm("aux-loss",
                                fmt::format("softmax gate, auxiliary loss α = {}, capacity factor {}", aux_loss.router.aux_loss_alpha,
                                            aux_loss.router.capacity_factor),
                                classic, aux_loss, progress));

  TrainOptions none = options;
  none.router.balancing = Balancing::none;
  none.router.capacity_factor = 0;
  report.arms.push_back(run_arm("unbalanced", fmt::format("{} gate, no balancing at all", to_string(moe.moe.score_func)), moe, none, progress));

  report.loss_floor = Trainer(moe, options).loss_floor();
  finish_report(report);
  return report;
}

std::string format_report(const ExperimentReport& r) {
  std::string out = fmt::format("{}\n{}\n\n", r.name, r.question);
  out += fmt::format("{:<14} {:>10} {:>10} {:>11} {:>14} {:>11} {:>9} {:>9} {:>9}\n", "arm", "params", "activated",
                     "GFLOP", "eval@equal", "final eval", "MaxVio", "dropped", "tok/s");
  for (const ArmResult& a : r.arms) {
    out += fmt::format("{:<14} {:>10} {:>10} {:>11.2f} {:>14.4f} {:>11.4f} {:>9.3f} {:>8.2f}% {:>9.0f}\n", a.name, a.parameters,
                       a.activated_parameters, a.flops() / 1e9, a.eval_loss_at_flops(r.common_flops), a.final_eval_loss(),
                       a.late_max_violation(), 100 * a.late_dropped_fraction(), a.tokens_per_second());
  }
  out += "\n";
  for (const ArmResult& a : r.arms) out += fmt::format("  {:<12} {}\n", a.name, a.description);
  out += fmt::format("\neval@equal: held-out loss at {:.2f} GFLOP of executed training matmuls (the least any arm ran)\n",
                     r.common_flops / 1e9);
  if (!std::isnan(r.loss_floor))
    out += fmt::format("loss floor (the source's exact entropy): {:.4f} nats/token\n", r.loss_floor);
  out += "MaxVio: max/mean expert load − 1 over the second half of training, mean over MoE layers\n";
  return out;
}

nlohmann::json report_json(const ExperimentReport& r) {
  nlohmann::json j = {{"experiment", r.name}, {"question", r.question}, {"common_flops", r.common_flops}};
  j["loss_floor"] = std::isnan(r.loss_floor) ? nlohmann::json(nullptr) : nlohmann::json(r.loss_floor);
  for (const ArmResult& a : r.arms) {
    nlohmann::json eval_curve = nlohmann::json::array();
    for (const auto& m : a.history)
      if (!std::isnan(m.eval_loss)) eval_curve.push_back({{"step", m.step}, {"flops", m.flops}, {"eval_loss", m.eval_loss}});
    j["arms"].push_back({{"name", a.name},
                         {"description", a.description},
                         {"parameters", a.parameters},
                         {"activated_parameters", a.activated_parameters},
                         {"flops", a.flops()},
                         {"eval_loss_at_common_flops", a.eval_loss_at_flops(r.common_flops)},
                         {"final_eval_loss", a.final_eval_loss()},
                         {"late_max_violation", a.late_max_violation()},
                         {"late_dropped_fraction", a.late_dropped_fraction()},
                         {"tokens_per_second", a.tokens_per_second()},
                         {"seconds", a.seconds},
                         {"eval_curve", eval_curve}});
  }
  return j;
}

}  // namespace frugal::core
