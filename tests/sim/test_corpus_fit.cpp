// The constants fitted on the validation corpus (corpus_fit.hpp): each mechanism's cost against a
// hand-computed case; the defaults are the fit on the shipped corpus; on a synthetic corpus whose
// truth is known the fit finds that truth, and leave-one-series-out then predicts every row.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "frugal/config/presets.hpp"
#include "frugal/sim/corpus_fit.hpp"
#include "frugal/sim/gemm_model.hpp"
#include "frugal/sim/hardware.hpp"
#include "frugal/sim/training_sim.hpp"

namespace {

using namespace frugal::sim;
using frugal::find_preset;

TrainingRun run_of(const char* preset, std::int64_t gpus, std::int64_t global_batch) {
  TrainingRun run = training_run_from_document(nlohmann::json{{"model", find_preset(preset).document["model"]}});
  run.gpu = find_gpu("H100", "gpu");
  run.gpus = gpus;
  run.parallel = Parallelism{};
  run.stages = {TrainingStage{"pre-training", 1e9, 4096, global_batch, std::nullopt}};
  return run;
}

TEST(CorpusFit, GroupedGemmPaysItsFixedTimePerExpert) {
  const GpuSpec h100 = find_gpu("H100", "gpu");
  EfficiencyConstants with, without;
  with.grouped_gemm_per_expert_s = 25e-6;
  without.grouped_gemm_per_expert_s = 0;
  // 16 experts of 4096 x 4096 x 4096: compute-bound, so the time grows by 16 x 25 us exactly.
  const GemmShape grouped{4096, 4096, 4096, 16};
  EXPECT_NEAR(gemm_time(grouped, GemmPrecision::bf16, h100, with) - gemm_time(grouped, GemmPrecision::bf16, h100, without),
              16 * 25e-6, 1e-12);
  // One dense GEMM is not grouped: no such cost.
  const GemmShape dense{4096, 4096, 4096, 1};
  EXPECT_DOUBLE_EQ(gemm_time(dense, GemmPrecision::bf16, h100, with), gemm_time(dense, GemmPrecision::bf16, h100, without));
}

TEST(CorpusFit, MoeLayerFixedTimeIsPaidForwardAndBackwardPerMicroBatch) {
  // DeepSeekMoE 16B on 8 GPUs, one pipeline stage: 8 x 4096-token micro-batches per GPU.
  const TrainingRun run = run_of("deepseek-moe-16b", 8, 64);
  EfficiencyConstants with, without;
  without.moe_layer_fixed_s = 0;
  with.moe_layer_fixed_s = 1e-3;
  with.overlap_shortfall = without.overlap_shortfall = 0;  // nothing else moves with the step
  const StepBreakdown a = simulate_training(run, with).stages.front().step;
  const StepBreakdown b = simulate_training(run, without).stages.front().step;
  ASSERT_EQ(a.micro_batches, 8);
  const double moe_layers = static_cast<double>(run.model.moe_layer_count());
  ASSERT_EQ(moe_layers, 27);  // 28 layers, the first dense (deepseek-moe-16b config.json)
  // Per micro-batch: forward and backward of every MoE layer, 1 ms each.
  EXPECT_NEAR(a.step_s - b.step_s, 8 * moe_layers * 2 * 1e-3, 1e-9);
}

TEST(CorpusFit, OverlapShortfallChargesItsShareOfTheHiddenGradientTraffic) {
  // Llama 3.1 8B, ZeRO-1 over 8 GPUs: one gradient reduce-scatter and one gather per step behind
  // the last micro-batch's forward and backward. Hidden: min(traffic, f + b).
  TrainingRun run = run_of("llama-3.1-8b", 8, 64);
  run.parallel.zero_stage = 1;
  EfficiencyConstants with, without;
  with.overlap_shortfall = 0.4;
  without.overlap_shortfall = 0;
  const StepBreakdown a = simulate_training(run, with).stages.front().step;
  const StepBreakdown b = simulate_training(run, without).stages.front().step;
  const double hidden = std::min(b.dp_comm_s, b.forward_s + b.backward_s);
  ASSERT_GT(hidden, 0.0);
  EXPECT_NEAR(a.step_s - b.step_s, 0.4 * hidden, 1e-12);
}

std::vector<const CorpusRow*> pointers(const std::vector<CorpusRow>& rows) {
  std::vector<const CorpusRow*> out;
  for (const CorpusRow& r : rows) out.push_back(&r);
  return out;
}

TEST(CorpusFit, DefaultsAreTheFitOnTheShippedCorpus) {
  const TrainingCorpus& corpus = embedded_training_corpus();
  std::vector<const CorpusRow*> rows;
  for (const CorpusRow& r : corpus.rows) rows.push_back(&r);
  const EfficiencyConstants fitted = fit_constants(rows);
  for (const FittedConstant& f : fitted_constants())
    EXPECT_NEAR(default_efficiency().*f.field, fitted.*f.field, 1e-9 * std::max(1.0, fitted.*f.field)) << f.name;
  // The fit lowers the objective from its starting point.
  EfficiencyConstants start = default_efficiency();
  for (const FittedConstant& f : fitted_constants()) start.*f.field = f.start;
  EXPECT_LT(fit_objective(rows, fitted), fit_objective(rows, start));
}

TEST(CorpusFit, FindsTheTruthOfASyntheticCorpusAndPredictsEverySeriesOutOfSample) {
  // The shipped step rows, each "published" figure replaced by the model's own prediction under
  // known constants (on the fit's grid). The fit must find them, and every row held out must be
  // predicted exactly by the fit on the others.
  EfficiencyConstants truth = default_efficiency();
  truth.gemm_bf16 = 0.76;
  truth.grouped_gemm_per_expert_s = 20e-6;
  truth.moe_layer_fixed_s = 0.5e-3;
  truth.overlap_shortfall = 0.3;
  TrainingCorpus synthetic;
  for (const CorpusRow& r : embedded_training_corpus().rows) {
    if (r.row_class != "step") continue;
    CorpusRow row = r;
    row.published = predict_corpus_row(r, truth);
    synthetic.rows.push_back(row);
  }
  const EfficiencyConstants fitted = fit_constants(pointers(synthetic.rows));
  for (const FittedConstant& f : fitted_constants())
    EXPECT_NEAR(fitted.*f.field, truth.*f.field, 1e-9 * std::max(1.0, truth.*f.field)) << f.name;
  for (const CorpusPrediction& p : predict_training_corpus(synthetic))
    EXPECT_NEAR(p.out_of_sample_time_rel_error, 0.0, 1e-9) << p.row->name;
}

TEST(CorpusFit, ThreeStartsFindTheDeeperOfTwoMinimaWhereOneStartStaysInTheNearer) {
  // Two wells on a 101 x 101 grid (steps of 1): a shallow one (floor 0.5) around the first start
  // (10, 10), and a deeper one (floor 0) around (80, 80). From (10, 10) the simplex's first points,
  // 8 steps away, climb out of the shallow well towards nothing lower, so the search stays there;
  // from three quarters along (75, 75) it starts inside the deep one. The quarter start (25, 25)
  // also falls into the shallow well (0.5 + 0.5625 there against 15.1 towards the deep one).
  const std::vector<FittedConstant> axes = {{"x", nullptr, 0.0, 100.0, 1.0, 10.0},
                                            {"y", nullptr, 0.0, 100.0, 1.0, 10.0}};
  const auto two_wells = [](const std::vector<double>& v) {
    const auto squared_distance = [&](double cx, double cy) { return (v[0] - cx) * (v[0] - cx) + (v[1] - cy) * (v[1] - cy); };
    return std::min(0.5 + squared_distance(10, 10) / 400, squared_distance(80, 80) / 400);
  };
  const std::vector<double> one_start = minimise_on_grid(two_wells, axes, {-1.0});
  EXPECT_EQ(one_start, (std::vector<double>{10.0, 10.0}));
  const std::vector<double> quarter_start = minimise_on_grid(two_wells, axes, {0.25});
  EXPECT_EQ(quarter_start, (std::vector<double>{10.0, 10.0}));
  const std::vector<double> fit_starts = minimise_on_grid(two_wells, axes, kFitStartFractions);
  EXPECT_EQ(fit_starts, (std::vector<double>{80.0, 80.0}));
  EXPECT_EQ(two_wells(fit_starts), 0.0);
  EXPECT_EQ(two_wells(one_start), 0.5);
  // A tie between starts keeps the first: the deep well moved to (10, 10)'s floor of 0.5.
  const auto equal_wells = [](const std::vector<double>& v) {
    const auto squared_distance = [&](double cx, double cy) { return (v[0] - cx) * (v[0] - cx) + (v[1] - cy) * (v[1] - cy); };
    return std::min(0.5 + squared_distance(10, 10) / 400, 0.5 + squared_distance(80, 80) / 400);
  };
  EXPECT_EQ(minimise_on_grid(equal_wells, axes, kFitStartFractions), (std::vector<double>{10.0, 10.0}));
}

TEST(CorpusFit, WithoutStepRowsTheFitChangesNothing) {
  EfficiencyConstants base;
  base.gemm_bf16 = 0.5;
  const EfficiencyConstants fitted = fit_constants({}, base);
  EXPECT_DOUBLE_EQ(fitted.gemm_bf16, 0.5);
}

}  // namespace
