// Chapter 3 · Load balancing: the auxiliary loss against DeepSeek-V3's auxiliary-loss-free bias
// (and no balancing at all), trained on the tiny model; MaxVio as training goes.
#include <fmt/format.h>

#include <algorithm>

#include "../common/narrator.hpp"
#include "balancing_run.hpp"

using namespace frugal;
using namespace frugal::chapters;

namespace {

// MaxVio of each arm of the first seed at a few points of training.
std::string max_violation_over_training(const core::ExperimentReport& report) {
  std::string out = "  step   ";
  const auto& first = report.arms.front().history;
  std::vector<std::size_t> at;
  for (double f : {0.05, 0.25, 0.5, 1.0}) at.push_back(std::max<std::size_t>(1, static_cast<std::size_t>(f * static_cast<double>(first.size()))) - 1);
  for (std::size_t i : at) out += fmt::format("{:>9}", first[i].step);
  out += "\n";
  for (std::size_t k = 0; k < report.arms.size() / static_cast<std::size_t>(report.seeds); ++k) {
    const auto& arm = report.arms[k];
    out += fmt::format("  {:<14}", arm.name);
    for (std::size_t i : at) out += fmt::format("{:>9.3f}", arm.history[i].max_violation);
    out += "\n";
  }
  return out;
}

// Tokens per routed expert of the last MoE layer at the last step, as bars.
std::string load_bars(const core::ArmResult& arm) {
  const auto& load = arm.history.back().expert_load.back();
  const auto most = *std::max_element(load.begin(), load.end());
  std::string out = fmt::format("  {} (last layer, last step)\n", arm.name);
  for (std::size_t e = 0; e < load.size(); ++e)
    out += fmt::format("  e{:<3} {:5d} {}\n", e, load[e], std::string(static_cast<std::size_t>(40 * load[e] / std::max<std::int64_t>(most, 1)), '#'));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const ChapterOptions options = parse_chapter_flags(argc, argv, "Chapter 3 · Load balancing");
  Narrator n = console_narrator(options);
  const TinyRun base = tiny_run(options.quick);
  const int seeds = chapter_seeds(options.quick);
  n.title("Chapter 3 · Load balancing",
          "Goal: see why a router left alone overloads a few experts, how the classic auxiliary loss and "
          "DeepSeek-V3's auxiliary-loss-free bias fight that, and read MaxVio — the busiest expert's load over the "
          "mean, minus 1 — as training goes.");

  n.step("Why balance at all");
  n.say("With expert parallelism every expert lives on one GPU. The busiest expert sets the pace of the whole "
        "step, and with a capacity limit the overflow is dropped. Routers drift towards a few favourite experts "
        "(they learn fastest, so they win more tokens). The classic cure (Switch Transformer, DeepSeek-V2) adds "
        "α Σ f_i P_i to the loss, which also pulls on the model's gradients; DeepSeek-V3 instead nudges a per-expert "
        "bias used only to choose experts, by ±γ after each step (§2.1.2), and keeps only a tiny sequence-wise loss.");

  n.step("How fast should the bias move?");
  const std::vector<double> gammas = chapter_gammas(options.quick);
  n.say(fmt::format("The bias moves by γ per step, so γ sets how fast it can balance. V3 used γ = 0.001 for 14.3T "
                    "tokens (§4.2) and the loss-free balancing paper u = 0.001 for 40,000 steps (Wang et al. 2024, "
                    "arXiv 2408.15664, §4.3: \"an overly low update rate ... may lead to slow convergence, while an "
                    "unnecessarily high update rate ... can cause undesirable fluctuations of the expert bias\"). This "
                    "run is {} steps, so first the bias alone at {} values of γ, {} seed{} each{}.",
                    base.options.steps, gammas.size(), seeds, seeds == 1 ? "" : "s",
                    options.quick ? " (a few seconds)" : " (about 5 minutes on 2 cores)"));
  const core::ExperimentReport sweep = core::run_balancing_gamma(base.model, base.options, gammas, seeds);
  n.show(sweep.footer);
  const double gamma = core::best_gamma_row(sweep).at("gamma").get<double>();

  n.step(fmt::format("Train three routers ({} steps × {} sequences, {} seed{})", base.options.steps, base.options.batch_size,
                     seeds, seeds == 1 ? "" : "s"));
  const TinyRun setup = balancing_setup(options.quick, gamma);
  n.say(fmt::format("The same deepseek-v3-tiny model, sigmoid router and batches, balanced three ways — the V3 "
                    "report's own ablation (§4.5.3: the baseline uses \"the sigmoid gating function with top-K affinity "
                    "normalization\", \"keeping the training data and the other architectures the same\"): the bias at "
                    "the γ that balanced best above (γ = {:g}), a batch-wise auxiliary loss at the loss-free paper's "
                    "baseline α = {:g} (Wang et al. §4.1), and nothing, no arm dropping a token. This takes {}.",
                    gamma, setup.options.router.aux_loss_alpha, options.quick ? "a few seconds" : "about 3 minutes"));
  const core::ExperimentReport report = core::run_balancing(setup.model, setup.options, seeds);

  n.step("MaxVio as training goes");
  n.say("MaxVio = max_i load_i / mean load − 1, averaged over the MoE layers: 0 is perfect balance, 1 means the "
        "busiest expert gets twice its share.");
  n.show(max_violation_over_training(report));
  const auto late = [&](const char* name) {
    for (const auto& arm : report.arms)
      if (arm.name == name) return arm.late_max_violation();
    return 0.0;
  };
  const double free_maxvio = late("aux-loss-free"), aux_maxvio = late("aux-loss"), none_maxvio = late("unbalanced");
  n.say(fmt::format("Over the second half of the first seed's run MaxVio averages {:.3f} with the bias, {:.3f} with the "
                    "auxiliary loss and {:.3f} with nothing: the bias balances {} than the loss.",
                    free_maxvio, aux_maxvio, none_maxvio, free_maxvio < aux_maxvio ? "better" : "worse"));

  n.step("Where the tokens went");
  for (std::size_t k = 0; k < report.arms.size() / static_cast<std::size_t>(report.seeds); ++k)
    if (report.arms[k].name != "aux-loss") n.show(load_bars(report.arms[k]));

  n.step("The whole table");
  n.show(core::format_report(report));
  n.say(fmt::format("What the papers found: \"Loss-Free Balancing achieves lower perplexity and better load balance on "
                    "both 1B and 3B models\" (Wang et al. Table 2: 9.50 vs 9.56 perplexity, MaxVio 0.04 vs 0.72 at 1B), "
                    "and V3 §4.5.3 (Table 5) finds the same at 16B and 230B. Here: {} The balance gap is the robust "
                    "lesson at this size; a loss difference of a few thousandths is inside the seed spread of a "
                    "438K-parameter model, so read it with the ± column.",
                    core::balancing_conclusion(report)));

  n.exercises({"Run `frugal-train experiment balancing-gamma --gammas 0.003 0.03 0.1 --seeds 3`: at which γ does the "
               "late MaxVio start to rise again, and why does a bias that moves too far each step overshoot?",
               "The auxiliary loss's α trades balance for quality. Set router.aux_loss_alpha to 0.1 and run "
               "`frugal-train experiment balancing --config FILE --seeds 3`: which column moves, and does the bias "
               "still win at that balance?",
               "Switch Transformer caps each expert with a capacity factor and drops the overflow. Set "
               "router.capacity_factor to 1.25 in the config (the auxiliary-loss arm then drops the overflow): what "
               "happens to its MaxVio and its loss, and what happens to a dropped token's output?"});
  return 0;
}
