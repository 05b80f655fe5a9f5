// Short versions of the chapters' experiments: they run, compare what they claim to compare, and
// report numbers that make sense. (What the tiny scale shows at full length is in the closing
// note and the chapters, not asserted here: it is a measurement, not a property.)
#include <gtest/gtest.h>

#include <cmath>

#include "frugal/core/experiments.hpp"
#include "tiny_models.hpp"

namespace frugal::core {
namespace {
using testing::test_moe_model;
using testing::test_options;

TrainOptions short_run() {
  TrainOptions o = test_options(30);
  o.eval_every = 10;
  o.router.bias_update_speed = 0.01;
  return o;
}

TEST(Experiments, DenseCounterpartHasTheMoeModelsActivatedWidth) {
  const ModelConfig dense = dense_counterpart(test_moe_model());
  EXPECT_FALSE(dense.is_moe());
  EXPECT_EQ(dense.ffn_intermediate_size, (1 + 2) * 16);
}

TEST(Experiments, DenseVsMoeAtEqualActivatedParametersAndTokens) {
  const ExperimentReport r = run_dense_vs_moe(test_moe_model(), short_run());
  ASSERT_EQ(r.arms.size(), 2u);
  const ArmResult& dense = r.arms[0];
  const ArmResult& moe = r.arms[1];
  // Activated parameters differ only by the router's gate (hidden × experts per MoE layer).
  EXPECT_EQ(moe.activated_parameters - dense.activated_parameters, 32 * 8);
  EXPECT_GT(moe.parameters, dense.parameters);  // …while the MoE model holds more in total
  // Equal tokens; executed FLOPs within 10% (the gate and uneven expert batches differ).
  EXPECT_EQ(dense.history.size(), moe.history.size());
  EXPECT_NEAR(moe.flops() / dense.flops(), 1.0, 0.10);
  for (const ArmResult* a : {&dense, &moe}) {
    EXPECT_TRUE(std::isfinite(a->eval_loss_at_flops(r.common_flops))) << a->name;
    EXPECT_LT(a->final_eval_loss(), std::log(32.0) - 0.5) << a->name << " did not learn";
  }
  EXPECT_NE(format_report(r).find("eval@equal"), std::string::npos);
}

TEST(Experiments, BalancingComparesMaxVioAndLoss) {
  const ExperimentReport r = run_balancing(test_moe_model(), short_run());
  ASSERT_EQ(r.arms.size(), 3u);
  EXPECT_EQ(r.arms[0].name, "aux-loss-free");
  EXPECT_EQ(r.arms[1].name, "aux-loss");
  EXPECT_EQ(r.arms[2].name, "unbalanced");
  EXPECT_EQ(r.arms[0].late_dropped_fraction(), 0.0);  // V3 drops no tokens
  EXPECT_GE(r.arms[1].late_dropped_fraction(), 0.0);
  for (const ArmResult& a : r.arms) {
    EXPECT_GE(a.late_max_violation(), 0.0) << a.name;
    EXPECT_TRUE(std::isfinite(a.final_eval_loss())) << a.name;
  }
  const auto j = report_json(r);
  EXPECT_EQ(j["arms"].size(), 3u);
  EXPECT_EQ(j["arms"][0]["eval_curve"].size(), 3u);  // evaluated at steps 10, 20, 30
}

TEST(Experiments, SeveralSeedsAreSummarisedAsMeanAndSpread) {
  TrainOptions o = short_run();
  o.steps = 10;
  o.eval_every = 5;
  const ExperimentReport r = run_dense_vs_moe(test_moe_model(), o, 2);
  ASSERT_EQ(r.arms.size(), 4u);
  EXPECT_EQ(r.arms[0].options.seed, 1u);
  EXPECT_EQ(r.arms[2].options.seed, 2u);
  const auto summary = summarize(r);
  ASSERT_EQ(summary.size(), 2u);
  for (const ArmSummary& s : summary) {
    EXPECT_EQ(s.runs, 2);
    // The mean of the two seeds' losses, and their sample standard deviation |a − b| / √2.
    std::vector<double> losses;
    for (const ArmResult& a : r.arms)
      if (a.name == s.name) losses.push_back(a.final_eval_loss());
    EXPECT_NEAR(s.final_eval_loss, (losses[0] + losses[1]) / 2, 1e-12);
    EXPECT_NEAR(s.final_eval_loss_std, std::abs(losses[0] - losses[1]) / std::sqrt(2.0), 1e-12);
    EXPECT_GT(s.final_eval_loss_std, 0.0);  // different seeds, different runs
  }
  EXPECT_NE(format_report(r).find("±"), std::string::npos);
}

TEST(Experiments, Fp8TrainingTracksFp32) {
  TrainOptions o = short_run();
  o.eval_every = 0;
  const ExperimentReport r = run_fp8_vs_fp32(test_moe_model(), o);
  ASSERT_EQ(r.arms.size(), 2u);
  EXPECT_FALSE(r.arms[0].options.precision.fp8_linear);
  EXPECT_TRUE(r.arms[1].options.precision.fp8_linear);
  EXPECT_TRUE(r.arms[1].options.adamw.bf16_moments);
  const double fp32 = r.arms[0].final_eval_loss(), fp8 = r.arms[1].final_eval_loss();
  EXPECT_NE(fp32, fp8);  // FP8 really changed the arithmetic…
  const auto gaps = fp8_relative_loss_gaps(r);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_DOUBLE_EQ(gaps[0], (fp8 - fp32) / fp32);
  EXPECT_LT(std::abs(gaps[0]), 0.02);  // …and training still follows FP32 closely
  EXPECT_NE(format_report(r).find("relative loss gap"), std::string::npos);
}

TEST(Experiments, Fp8TrainingIsDeterministic) {
  TrainOptions o = test_options(3);
  o.precision.fp8_linear = true;
  o.adamw.bf16_moments = true;
  Trainer a(test_moe_model(), o), b(test_moe_model(), o);
  while (!a.finished()) a.step();
  while (!b.finished()) b.step();
  EXPECT_EQ(a.model().params().values(), b.model().params().values());
}

TEST(Experiments, EvalLossAtFlopsInterpolatesBetweenEvaluations) {
  ArmResult a;
  StepMetrics m1, m2;
  m1.flops = 100;
  m1.eval_loss = 3.0;
  m2.flops = 300;
  m2.eval_loss = 2.0;
  a.history = {m1, m2};
  EXPECT_DOUBLE_EQ(a.eval_loss_at_flops(200), 2.5);
  EXPECT_DOUBLE_EQ(a.eval_loss_at_flops(300), 2.0);
  EXPECT_DOUBLE_EQ(a.eval_loss_at_flops(50), 3.0);
}

}  // namespace
}  // namespace frugal::core
