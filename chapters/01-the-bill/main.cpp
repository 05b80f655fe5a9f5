// Chapter 1 · The bill: the $5.576M rebuilt from the V3 report's GPU-hours (Table 1), the
// arithmetic behind the GPU-hours (tokens × FLOPs per token ÷ sustained FLOP/s), what the figure
// leaves out (§1), and what a dense model would have cost on the same cluster.
#include <fmt/format.h>

#include "../common/narrator.hpp"
#include "../common/published_bill.hpp"
#include "frugal/sim/format.hpp"
#include "frugal/sim/published.hpp"
#include "frugal/sim/text_table.hpp"
#include "frugal/sim/training_report.hpp"

using namespace frugal;
using namespace frugal::chapters;
using namespace frugal::sim;

int main(int argc, char** argv) {
  const ChapterOptions options = parse_chapter_flags(argc, argv, "Chapter 1 · The bill");
  Narrator n = console_narrator(options);
  n.title("Chapter 1 · The bill",
          "Goal: rebuild DeepSeek-V3's famous $5.576M from its GPU-hours, know exactly what that figure counts and "
          "what it leaves out, and price the dense model DeepSeek did not train.");

  n.step("The published bill");
  const PublishedBill bill = published_bill();
  n.say("The V3 report gives the training run's cost in one small table (Table 1): H800 GPU-hours per stage, priced "
        "at an assumed rental of $2 per GPU-hour. Post-training has no row of its own in our data; it is the "
        "total less the two others.");
  TextTable t({"stage", "H800 GPU-hours", "at $2/GPU-hour"});
  for (const BillLine& line : bill.lines)
    t.add_row({line.stage, format_thousands(line.gpu_hours), fmt::format("${:.3f}M", line.gpu_hours * bill.price_per_gpu_hour / 1e6)});
  t.add_row({"total", format_thousands(bill.total_gpu_hours), fmt::format("${:.3f}M", bill.total_cost_usd() / 1e6)});
  n.show(t.render() + fmt::format("  source: {}\n", bill.source));

  n.step("Where the GPU-hours come from");
  const BackOfEnvelope e = back_of_envelope();
  n.say(fmt::format("Training compute is tokens × FLOPs per token. Counting a multiply-add as 2 FLOPs and the "
                    "backward pass as twice the forward, one {}-token sequence position of DeepSeek-V3 costs {} "
                    "(ISCA25 Table 2 says 250 GFLOP): {} activated parameters × 6, plus attention. Over {} "
                    "pre-training tokens that is {:.2e} FLOP.",
                    e.seq_len, format_flops(e.flops_per_token), format_count(e.active_params), format_count(e.tokens),
                    e.total_flops));
  n.say(fmt::format("An H800 peaks at {:.0f} dense BF16 TFLOP/s. Spread over the {} GPU-hours of pre-training, the "
                    "run sustained {:.1f}% of that peak — its MFU (model FLOPs utilisation); {} reports {:.2f}%. Every "
                    "dollar in the bill is this identity: GPU-hours = FLOPs ÷ (peak × MFU) ÷ 3600.",
                    e.peak_flops / 1e12, format_thousands(e.published_gpu_hours), 100 * e.implied_mfu, e.mfu_source,
                    100 * e.published_mfu));

  n.step("The simulator's bill");
  const TrainingRun run = deepseek_v3_run();
  const TrainingEstimate v3 = simulate_training(run);
  n.say("frugal-sim does not start from the MFU; it predicts it: each GEMM, attention kernel and element-wise pass "
        "from a roofline, the all-to-all and pipeline traffic from link bandwidths, DualPipe's bubble, memory per "
        "GPU — with one set of efficiency constants for every run it is checked against (sim/README.md).");
  TextTable s({"stage", "tokens", "GPU-hours", "cost", "days", "MFU bf16"});
  for (const StageEstimate& stage : v3.stages)
    s.add_row({stage.stage.name, format_count(stage.stage.tokens), format_count(stage.gpu_hours), fmt::format("${}", format_count(stage.cost_usd)),
               fmt::format("{:.1f}", stage.days), fmt::format("{:.1f}%", 100 * stage.mfu_bf16)});
  s.add_row({"total", "", format_count(v3.gpu_hours), fmt::format("${}", format_count(v3.cost_usd)), fmt::format("{:.1f}", v3.days),
             fmt::format("{:.1f}%", 100 * v3.mfu_bf16)});
  n.show(s.render());
  n.say(fmt::format("Predicted {} GPU-hours against the published {}: {}.", format_thousands(v3.gpu_hours),
                    format_thousands(bill.total_gpu_hours - bill.lines.back().gpu_hours),
                    format_percent(relative_error(v3.gpu_hours, bill.total_gpu_hours - bill.lines.back().gpu_hours))) +
        " (Post-training is left out: its token count is not published.) `frugal-sim validate` does the same for "
        "every published run.");

  n.step("What the bill leaves out");
  n.say("The report is explicit (§1): the figure covers \"only the official training of DeepSeek-V3, excluding the "
        "costs associated with prior research and ablation experiments on architectures, algorithms, or data\". Not "
        "in it either: buying or building the 2048-GPU cluster (the $2 is a rental price DeepSeek assumes, not what "
        "it paid), staff, data collection, failed runs, and everything before V3 that its ideas come from — "
        "DeepSeekMoE, MLA in V2, the FP8 framework. The $5.576M is the price of the last, successful run, "
        "as if rented. It is still the right number for this project: it is what the techniques save.");

  n.step("The dense counterfactual");
  const std::vector<Baseline> baselines = dense_baselines(run, "llama-3.1-405b");
  n.say("What would the same 14.8T tokens have cost without Mixture-of-Experts? The simulator prices dense models on "
        "the same cluster, stages and recipe, each with its own planned parallelism: one with V3's activated "
        "parameters, one with its total parameters, and Llama 3.1 405B.");
  n.show(baselines_table(v3, baselines));
  const Baseline& equal_total = baselines.at(0);
  const Baseline& equal_active = baselines.at(1);
  n.say(fmt::format("A dense model with V3's total parameters — the same capacity to store knowledge — costs {:.1f}× "
                    "its GPU-hours; that factor, not the price of a GPU-hour, is what made V3 cheap. The other way "
                    "round, a dense model with only V3's activated parameters costs {:.2f}× V3: per FLOP, MoE is "
                    "dearer — the all-to-all, the load imbalance and smaller GEMMs lower its MFU. (The dense models "
                    "use the same FP8 recipe, whose GEMMs run at up to twice the BF16 peak: that is why their MFU "
                    "against the BF16 peak is so high.)",
                    equal_total.estimate.gpu_hours / v3.gpu_hours, equal_active.estimate.gpu_hours / v3.gpu_hours));

  n.exercises({"Price the run at a cloud's on-demand H100 price: `frugal-sim train --price 4`. Which line of the bill "
               "changes, and which does not?",
               "Meta reports 30.84M H100-hours for Llama 3.1 405B (its model card). With the identity of step 2, what "
               "MFU does that imply? (`frugal-sim train --preset llama-3.1-405b` shows its tokens; `frugal-sim model "
               "--preset llama-3.1-405b` its FLOPs per token.)",
               "What would twice the GPUs change? `frugal-sim train --gpus 4096`: days, GPU-hours, MFU — which "
               "go down, and why does one of them go up?"});
  return 0;
}
