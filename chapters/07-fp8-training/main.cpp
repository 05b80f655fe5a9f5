// Chapter 7 · FP8 training: one FP8 GEMM against its exact product, the tensor core's limited
// accumulation and DeepSeek's promotion every 128 products (V3 report §3.3.2), the tiny model
// trained in FP8 against FP32, and what FP8 saves at V3's scale.
#include <fmt/format.h>

#include "../common/narrator.hpp"
#include "../common/tiny_run.hpp"
#include "../common/v3_run.hpp"
#include "frugal/core/experiments.hpp"
#include "frugal/core/fp8_gemm.hpp"
#include "frugal/core/random.hpp"
#include "frugal/sim/format.hpp"
#include "frugal/sim/training_sim.hpp"

using namespace frugal;
using namespace frugal::chapters;
using namespace frugal::core;

namespace {

// ‖C_fp8 − A·B‖ / ‖A·B‖ over the output rows other than row 0 (where A's outlier sits), with A's
// tiles as `a_tile` and B in 128×128 blocks.
double gemm_error(const Matrix<float>& a, const Matrix<float>& b, TileShape a_tile) {
  const Matrix<float> exact = a * b;
  Matrix<float> out;
  fp8_gemm(out, a, b, {kE4M3, a_tile, kBlock128x128, ScaleFormat::fp32});
  const Index rows = exact.rows() - 1;
  return static_cast<double>((out.bottomRows(rows) - exact.bottomRows(rows)).norm() / exact.bottomRows(rows).norm());
}

std::string gemm_errors(Index m, Index k, Index n) {
  Rng rng(7);
  Matrix<float> a(m, k), b(k, n);
  fill_normal(a, rng, 1.0);
  fill_normal(b, rng, 0.02);
  std::string out = fmt::format("  A {} × {} activations ~ N(0, 1), B {} × {} weights ~ N(0, 0.02²); E4M3, FP32 accumulation;\n"
                                "  relative error of the {} output rows the outlier is not in\n"
                                "  {:>16}  {:>14}  {:>14}\n",
                                m, k, k, n, m - 1, "A(0, 0) set to", "A per tensor", "A in 1×128");
  for (double outlier : {0.0, 1e3, 1e5}) {
    Matrix<float> x = a;
    if (outlier > 0) x(0, 0) = static_cast<float>(outlier);
    out += fmt::format("  {:>16}  {:>13.3f}%  {:>13.3f}%\n", outlier > 0 ? fmt::format("{:g}", outlier) : "(no outlier)",
                       100 * gemm_error(x, b, kPerTensor), 100 * gemm_error(x, b, kTile1x128));
  }
  return out;
}

// Zero-mean N(0, 1) inputs (never promoted, promoted every 128), then positive U[0, 1) inputs.
std::string accumulation_table(Index size, const std::vector<Index>& ks) {
  std::string out = fmt::format("  {}×K×{} E4M3 GEMMs, 13 fraction bits kept per group of 32 products (ISCA25 §3.1.1);\n"
                                "  max relative error with zero-mean N(0, 1) inputs, then with positive U[0, 1) inputs\n"
                                "  {:>6}  {:>22}  {:>22}  {:>16}  {:>16}\n",
                                size, size, "K", "N(0, 1), never", "every 128 (N_C = 128)", "U[0, 1), never", "every 128");
  for (Index k : ks) {
    const AccumulationError never = accumulation_error(size, size, k, {13, 32, 0}, 1);
    const AccumulationError promoted = accumulation_error(size, size, k, {13, 32, 128}, 1);
    const AccumulationError positive_never = accumulation_error(size, size, k, {13, 32, 0}, 1, AccumulationInputs::positive);
    const AccumulationError positive_promoted = accumulation_error(size, size, k, {13, 32, 128}, 1, AccumulationInputs::positive);
    out += fmt::format("  {:>6}  {:>21.3f}%  {:>21.3f}%  {:>15.3f}%  {:>15.3f}%\n", k, 100 * never.max_relative_error,
                       100 * promoted.max_relative_error, 100 * positive_never.max_relative_error,
                       100 * positive_promoted.max_relative_error);
  }
  return out;
}

// Held-out loss of each arm at each evaluation, side by side (one seed: the arms alternate).
std::string loss_curves(const ExperimentReport& report) {
  const auto& fp32 = report.arms.at(0).history;
  const auto& fp8 = report.arms.at(2).history;  // after the FP32 twin
  std::string out = fmt::format("  {:>5}  {:>10}  {:>10}  {:>9}\n", "step", "FP32", "FP8", "gap");
  for (std::size_t i = 0; i < fp32.size() && i < fp8.size(); ++i)
    if (!std::isnan(fp32[i].eval_loss))
      out += fmt::format("  {:>5}  {:>10.4f}  {:>10.4f}  {:>+8.3f}%\n", fp32[i].step, fp32[i].eval_loss, fp8[i].eval_loss,
                         100 * (fp8[i].eval_loss - fp32[i].eval_loss) / fp32[i].eval_loss);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const ChapterOptions options = parse_chapter_flags(argc, argv, "Chapter 7 · FP8 training");
  Narrator n = console_narrator(options);
  const TinyRun setup = tiny_run(options.quick);
  n.title("Chapter 7 · FP8 training",
          "Goal: see where FP8 training loses precision — in the inputs' rounding and in the tensor core's "
          "accumulation — how DeepSeek-V3's recipe wins it back, and whether a model trained that way learns as "
          "well as one trained in FP32.");

  n.step("One FP8 GEMM");
  n.say("DeepSeek-V3 runs every Linear layer's three GEMMs — forward, input gradient, weight gradient — in E4M3 "
        "(§3.3.1). The inputs are quantised on the fly: activations with one scale per 1×128 tile, weights per "
        "128×128 block (chapter 6). The product's error is then about E4M3's own rounding — a few percent — "
        "whatever the tensor holds. With one scale per tensor, an outlier sets the scale for every value, and the "
        "ordinary ones sink into E4M3's subnormals or to zero:");
  n.show(gemm_errors(64, options.quick ? 512 : 2048, 256));
  n.say("E4M3 spans 2^-9 to 448, about 2·10^5: an outlier of 1000 still leaves N(0, 1) values in the normal range, "
        "one of 100,000 does not. Activation outliers of that size are real (LLM.int8(), Dettmers et al. 2022); "
        "with 1×128 tiles they cost only their own tile.");

  n.step("Accumulation: the tensor core keeps about 14 bits");
  n.say("On H800 an FP8 tensor core adds its products into a register that keeps only about 14 bits (§3.3.2; ISCA25 "
        "§3.1.1 models 13 fraction bits after aligning every 32 products to the largest). Small products fall off "
        "the end, more as K grows: the V3 report measured nearly 2% maximum relative error at K = 4096. Its fix: "
        "every N_C = 128 products, copy the partial sum to an FP32 register on the CUDA cores and start again.");
  n.show(accumulation_table(32, options.quick ? std::vector<Index>{256, 1024, 4096} : std::vector<Index>{256, 1024, 4096, 16384}));
  n.say("Without promotion the error grows with K; with it, it stays flat at the level of one 128-long chunk. "
        "The inputs decide how fast: with zero-mean inputs the partial sum wanders like √K and truncation errs both "
        "ways; with positive ones (torch.rand's) it grows like K, every product is aligned to its ever larger "
        "exponent, and the bits cut off are lost in the same direction every time. The report does not say which "
        "random matrices it used; its \"nearly 2%\" lies between this model's two columns at K = 4096.");

  const int seeds = chapter_seeds(options.quick);
  n.step(fmt::format("Train in FP8 and in FP32 ({} steps × {} sequences, {} seed{})", setup.options.steps,
                     setup.options.batch_size, seeds, seeds > 1 ? "s" : ""));
  n.say("The same tiny model, seeds and batches three ways: all GEMMs in FP32; FP32 again with every initial weight "
        "nudged by 2^-20 — a change far below any rounding FP8 makes, so whatever gap it ends with is the noise any "
        "change of low bits brings; and the recipe — E4M3 Linear GEMMs with 1×128 / 128×128 online scales, FP32 "
        "accumulation (promotion always on, as the CPU adds in FP32), AdamW moments in BF16 (§3.3.3). Embedding, "
        "output head, router, norms and attention stay in higher precision, as in V3.");
  const ExperimentReport report = run_fp8_vs_fp32(setup.model, setup.options, seeds);
  n.show(loss_curves(report));
  n.show(format_report(report));
  n.say("The V3 report validated the recipe on 16B and 230B-parameter models over about 1T tokens: relative loss "
        "error below 0.25% (§3.3, Appendix B.1); the table's last line says whether this run resolves a gap. A model "
        "this small learns its source in a few sharp drops of the loss; a run that differs in any low bit reaches each drop some steps "
        "earlier or later, and at a fixed step that timing, not the arithmetic, decides who is ahead.");

  n.step(fmt::format("The same on a source learned without a plateau ({} seed{})", seeds, seeds > 1 ? "s" : ""));
  n.say("On this chapter's source the next token depends on the two before it (an order-2 Markov chain), so the model "
        "must first learn to attend to the previous token: until it does, the loss sits on a plateau, then drops. On an "
        "order-1 source the current token alone predicts the next — no attention to find, no plateau — and the loss "
        "falls smoothly. The same model, recipe and seeds on such a source (`frugal-train experiment fp8 "
        "--markov-order 1`):");
  TrainOptions smooth_options = setup.options;
  smooth_options.data.markov.order = 1;
  const ExperimentReport smooth = run_fp8_vs_fp32(setup.model, smooth_options, seeds);
  n.show(format_report(smooth));
  n.say(fp8_source_conclusion(report, smooth));

  const Index narrow = 32;
  n.step(fmt::format("Which part of the recipe costs the loss (hidden {}, {} seed{})", narrow, seeds, seeds > 1 ? "s" : ""));
  n.say("Take the recipe apart at a narrow width, where FP8 should hurt most (at 16 the model learns too little in "
        "600 steps to lose anything): FP8 in the forward GEMMs only, then "
        "dgrad, then wgrad, then BF16 moments (V3's recipe); then the recipe with one choice undone — one scale per "
        "tensor, power-of-two scales, and the tensor core's 13-bit register over all of K with no promotion "
        "(`frugal-train experiment fp8-ablation`).");
  const ExperimentReport ablation = run_fp8_ablation(scaled_to_width(setup.model, narrow), setup.options, seeds);
  n.show(format_report(ablation));

  n.step(fmt::format("Does the gap shrink with width ({} seed{})", seeds, seeds > 1 ? "s" : ""));
  n.say("The V3 report's figure is for models thousands of times wider. Here every width of the model is scaled "
        "together (hidden, attention, experts) and each width trains in FP32, in FP32 nudged, and with the recipe "
        "(`frugal-train experiment fp8-width`).");
  const ExperimentReport widths = run_fp8_width(setup.model, setup.options, {16, 32, 64}, seeds);
  n.show(widths.footer);
  n.say("What the tables mean: FP8 rounds every GEMM input at every step, so it moves a run further than the nudge "
        "made once at the start — but a shift is a cost only if it has the same sign on every seed and stands out of "
        "the seeds' own scatter (the sentences above compute that, and the per-seed gaps are in `--json`). These "
        "widths and arms train on the plateau source, where step 4 showed the gap is the plateau's timing; rerun "
        "them with `--markov-order 1` to see the precision cost alone (core/README.md has both tables). The "
        "per-tensor, power-of-two and no-promotion rows price, in loss, the choices V3 made against; at this width "
        "their K is at most a few hundred (1,024 tokens for wgrad), where the accumulation table above shows "
        "promotion matters least.");

  n.step("What FP8 buys at V3's scale");
  const sim::TrainingRun fp8_run = deepseek_v3_run();
  sim::TrainingRun bf16_run = fp8_run;
  bf16_run.precision = sim::PrecisionRecipe::bf16;
  const sim::TrainingEstimate fp8 = sim::simulate_training(fp8_run), bf16 = sim::simulate_training(bf16_run);
  n.say(fmt::format("FP8 doubles the tensor cores' peak, but only the Linear GEMMs run in it; attention, "
                    "communication and element-wise work do not speed up, and every FP8 GEMM's inputs are first "
                    "quantised in a pass of their own through HBM (V3 report §3.5.2). frugal-sim prices V3's run both ways: "
                    "{} GPU-hours (${}) in BF16, {} (${}) with the FP8 recipe — {:.2f}× faster, not 2×.",
                    sim::format_count(bf16.gpu_hours), sim::format_count(bf16.cost_usd), sim::format_count(fp8.gpu_hours),
                    sim::format_count(fp8.cost_usd), bf16.gpu_hours / fp8.gpu_hours));

  n.exercises({"`frugal-fp8 accumulation --bits 10` and `--bits 20`: how many bits would the accumulator need for "
               "promotion to be unnecessary at K = 16384?",
               "Rerun step 1's GEMM with B in per-tensor scales too: which of A and B needs the fine granularity "
               "more, and why (hint: which one has outliers)?",
               "`frugal-sim train --precision bf16` against the default: which lines of the step-time breakdown "
               "shrink with FP8, and which do not move?"});
  return 0;
}
