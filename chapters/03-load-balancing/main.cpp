// Chapter 3 · Load balancing: the auxiliary loss against DeepSeek-V3's auxiliary-loss-free bias
// (and no balancing at all), trained on the tiny model; MaxVio as training goes.
#include <fmt/format.h>

#include <algorithm>

#include "../common/narrator.hpp"
#include "balancing_run.hpp"

using namespace frugal;
using namespace frugal::chapters;

namespace {

// MaxVio of `arm` at a few points of training (one seed).
std::string max_violation_over_training(const core::ExperimentReport& report) {
  std::string out = "  step   ";
  const auto& first = report.arms.front().history;
  std::vector<std::size_t> at;
  for (double f : {0.05, 0.25, 0.5, 1.0}) at.push_back(std::max<std::size_t>(1, static_cast<std::size_t>(f * static_cast<double>(first.size()))) - 1);
  for (std::size_t i : at) out += fmt::format("{:>9}", first[i].step);
  out += "\n";
  for (const auto& arm : report.arms) {
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
  const TinyRun setup = balancing_setup(options.quick);
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

  n.step(fmt::format("Train three routers ({} steps × {} sequences each)", setup.options.steps, setup.options.batch_size));
  n.say(fmt::format("The same deepseek-v3-tiny model, sigmoid router and batches, balanced three ways — the V3 "
                    "report's own ablation (§4.5.3: the baseline uses \"the sigmoid gating function with top-K affinity "
                    "normalization\", \"keeping the training data and the other architectures the same\"): the bias "
                    "(γ = {:g}), a batch-wise auxiliary loss (α = {:g}), and nothing, no arm dropping a token. This takes {}.",
                    setup.options.router.bias_update_speed, setup.options.router.aux_loss_alpha,
                    options.quick ? "a few seconds" : "about a minute"));
  const core::ExperimentReport report = core::run_balancing(setup.model, setup.options, 1);

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
  n.say(fmt::format("The bias has to earn its balance: it moves by γ per step, so it needs hundreds of steps{}. Over "
                    "the second half of this run MaxVio averages {:.3f} with the bias, {:.3f} with the auxiliary loss "
                    "and {:.3f} with nothing: the bias balances {} than the loss{}.",
                    options.quick ? " (this --quick run uses γ = 0.01 instead of V3's 0.001 and only starts the descent)" : "",
                    free_maxvio, aux_maxvio, none_maxvio, free_maxvio < aux_maxvio ? "better" : "worse",
                    free_maxvio < aux_maxvio ? "" : " here — with this few steps the bias has not yet moved far enough"));

  n.step("Where the tokens went");
  for (const auto& arm : report.arms)
    if (arm.name != "aux-loss") n.show(load_bars(arm));

  n.step("The whole table");
  n.show(core::format_report(report));
  n.say("At this size one seed is noise for the loss: over 3 seeds the losses of all three arms differ by less than "
        "their spread (`frugal-train experiment balancing --seeds 3`, core/README.md). The papers compare at matched "
        "balance: an auxiliary loss strong enough to balance as well as the bias costs loss, and the bias does not "
        "(V3 §4.5.3, Table 5; Wang et al. 2024, arXiv 2408.15664, Fig. 1). core/README.md measures that frontier here: "
        "α from 0.001 to 0.1 against γ from 0.0003 to 0.01.");

  n.exercises({"Raise the bias update speed γ (router.bias_update_speed in config/models/deepseek-v3-tiny.json) to 0.01: "
               "does MaxVio fall faster? What happens to it late in training, and why might a large γ oscillate?",
               "The auxiliary loss's α trades balance for quality. Set router.aux_loss_alpha to 0.1 and run "
               "`frugal-train experiment balancing --config FILE --seeds 3`: which column moves, and does the bias "
               "still win at that balance?",
               "Switch Transformer caps each expert with a capacity factor and drops the overflow. Set "
               "router.capacity_factor to 1.25 in the config (the auxiliary-loss arm then drops the overflow): what "
               "happens to its MaxVio and its loss, and what happens to a dropped token's output?"});
  return 0;
}
