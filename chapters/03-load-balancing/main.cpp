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
  n.say("The same deepseek-v3-tiny model and batches: aux-loss-free (sigmoid gate, bias γ = 0.001), the auxiliary "
        "loss (softmax gate, α = 0.01, capacity factor 1.25 with dropping), and no balancing. This takes " +
        std::string(options.quick ? "a few seconds." : "about a minute."));
  const core::ExperimentReport report = core::run_balancing(setup.model, setup.options, 1);

  n.step("MaxVio as training goes");
  n.say("MaxVio = max_i load_i / mean load − 1, averaged over the MoE layers: 0 is perfect balance, 1 means the "
        "busiest expert gets twice its share.");
  n.show(max_violation_over_training(report));
  n.say("Read the auxiliary-loss row with the table's dropped column below: a capacity factor of 1.25 caps every "
        "expert at 1.25× the mean, so its MaxVio can hardly exceed 0.25 — the overflow is dropped instead, and those "
        "tokens skip the layer. The bias has to earn its balance: it moves by γ per step, so it needs hundreds of "
        "steps" + std::string(options.quick ? " (this --quick run uses γ = 0.01 instead of V3's 0.001 and still only "
                                              "starts the descent)" : "") +
        ". Over 600 steps and 3 seeds (core/README.md) it ends at MaxVio 0.149 ± 0.005 against the auxiliary "
        "loss's 0.226 ± 0.004, with nothing dropped; without any balancing MaxVio stays near 1.7.");

  n.step("Where the tokens went");
  for (const auto& arm : report.arms)
    if (arm.name != "aux-loss") n.show(load_bars(arm));

  n.step("The whole table");
  n.show(core::format_report(report));
  n.say("At this size one seed is noise for the loss (run `frugal-train experiment balancing --seeds 3`). The V3 "
        "report (§4.5.3, Table 5) finds the auxiliary-loss-free model at least as good in loss and better balanced.");

  n.exercises({"Raise the bias update speed γ (router.bias_update_speed in config/models/deepseek-v3-tiny.json) to 0.01: "
               "does MaxVio fall faster? What happens to it late in training, and why might a large γ oscillate?",
               "In the auxiliary-loss arm, what fraction of the routed tokens were dropped, and what happens to a "
               "dropped token's output?",
               "The auxiliary loss's α trades balance for quality. Try α = 0.1 with `frugal-train experiment "
               "balancing`: which column moves?"});
  return 0;
}
