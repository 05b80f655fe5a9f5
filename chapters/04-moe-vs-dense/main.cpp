// Chapter 4 · MoE vs dense at equal compute: DeepSeekMoE and a dense model with the same activated
// parameters, trained on the same batches; held-out loss against executed FLOPs.
#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "../common/narrator.hpp"
#include "../common/tiny_run.hpp"
#include "frugal/core/experiments.hpp"

using namespace frugal;
using namespace frugal::chapters;

namespace {

// Held-out loss at each evaluation, against the executed training FLOPs, per arm (of the first seed).
std::string loss_per_flop(const core::ExperimentReport& report) {
  std::string out;
  for (std::size_t k = 0; k < report.arms.size() / static_cast<std::size_t>(report.seeds); ++k) {
    const auto& arm = report.arms[k];
    out += fmt::format("  {} ({} parameters, {} activated per token)\n", arm.name, arm.parameters, arm.activated_parameters);
    for (const auto& m : arm.history)
      if (!std::isnan(m.eval_loss)) out += fmt::format("    step {:4d}  {:8.2f} GFLOP  held-out {:.4f}\n", m.step, m.flops / 1e9, m.eval_loss);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const ChapterOptions options = parse_chapter_flags(argc, argv, "Chapter 4 · MoE vs dense at equal compute");
  Narrator n = console_narrator(options);
  const TinyRun setup = tiny_run(options.quick);
  n.title("Chapter 4 · MoE vs dense at equal compute",
          "Goal: see what \"671B parameters, 37B activated\" buys — train a Mixture-of-Experts model and a dense model "
          "that spend the same FLOPs per token, on the same batches, and compare their held-out loss per FLOP. Then "
          "see why one tiny run cannot settle the question.");

  n.step("Two models, the same compute per token");
  const ModelConfig dense = core::dense_counterpart(setup.model);
  n.say(fmt::format("The MoE model (deepseek-v3-tiny) gives each token {} shared + {} of {} routed experts of width {}; "
                    "the dense model has one FFN of width ({} + {}) × {} = {} instead. Both do the same matmul work per "
                    "token (up to the router's gate), but the MoE model holds {:.1f}× as many FFN weights.",
                    setup.model.moe.shared_experts, setup.model.moe.top_k, setup.model.moe.routed_experts,
                    setup.model.moe.expert_intermediate_size, setup.model.moe.shared_experts, setup.model.moe.top_k,
                    setup.model.moe.expert_intermediate_size, dense.ffn_intermediate_size,
                    static_cast<double>(setup.model.moe.shared_experts + setup.model.moe.routed_experts) /
                        static_cast<double>(setup.model.moe.shared_experts + setup.model.moe.top_k)));

  const int seeds = chapter_seeds(options.quick);
  n.step(fmt::format("Train both ({} steps × {} sequences, {} seed{})", setup.options.steps, setup.options.batch_size, seeds,
                     seeds == 1 ? "" : "s"));
  if (seeds > 1) n.say("Each arm trains with 3 seeds (weights and batches), two runs at a time: about a minute on 2 cores.");
  const core::ExperimentReport report = core::run_dense_vs_moe(setup.model, setup.options, seeds);
  n.show(loss_per_flop(report));

  n.step("Compare at equal FLOPs");
  n.show(core::format_report(report));
  const std::vector<core::ArmSummary> summary = core::summarize(report);
  const core::ArmSummary &moe = core::summary_of(summary, "moe"), &dense_arm = core::summary_of(summary, "dense");
  const std::string verdict = core::compared_with(moe.loss_at_common_flops, moe.loss_at_common_flops_std,
                                                  dense_arm.loss_at_common_flops, dense_arm.loss_at_common_flops_std, seeds, 0.02);
  n.say(fmt::format("\"eval@equal\" reads both curves at the same executed FLOPs. Over {} seed{} the MoE model reaches "
                    "{} and the dense one {}: the MoE loss is {} the dense one{}. MoE's "
                    "advantage is a claim about scale — many experts, each specialising on a slice of a rich "
                    "distribution — which DeepSeekMoE (Dai et al. 2024, arXiv 2401.06066, §4) and the V3 report's "
                    "ablations (§4.5) measure at billions of parameters; a 438K-parameter model on a Markov source "
                    "{}.",
                    seeds, seeds == 1 ? "" : "s", with_spread(moe.loss_at_common_flops, moe.loss_at_common_flops_std, seeds),
                    with_spread(dense_arm.loss_at_common_flops, dense_arm.loss_at_common_flops_std, seeds), verdict,
                    seeds == 1 ? " (one seed: no spread to judge by, so only a difference over 2% counts)"
                               : " (a difference counts beyond twice its standard error over seeds)",
                    verdict == "lower than" ? "shows it too, here" : "need not"));

  n.exercises({"Run `frugal-train experiment dense-vs-moe --seeds 3`: how large is the spread between seeds compared "
               "with the gap between the arms?",
               "Where does the MoE model spend FLOPs the dense one does not? (Hint: the router's gate, and the "
               "tokens/s column: gathering rows per expert is work that is not a matmul.)",
               "Price the full-size pair with `frugal-sim`: DeepSeek-V3 against a dense model with its 37B "
               "activated parameters — what does the simulator say each costs to train on 14.8T tokens?"});
  return 0;
}
