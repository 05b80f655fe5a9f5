// frugal-gui's state without a window: the numbers it shows are the library's, impossible inputs
// show the CLI's message, and saved configs and copied commands reproduce the view in frugal-sim.
#include <gtest/gtest.h>

#include "frugal/config/config_file.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/training_sim.hpp"
#include "gui_state.hpp"

namespace frugal::sim::gui {
namespace {

TEST(GuiState, ShowsTheLibrarysEstimate) {
  GuiState s;
  ASSERT_TRUE(s.estimate.has_value()) << s.error;
  const TrainingEstimate direct = simulate_training(training_run_from_document(find_preset("deepseek-v3").document));
  EXPECT_NEAR(s.estimate->gpu_hours / direct.gpu_hours, 1.0, 1e-12);
  EXPECT_EQ(s.baselines.size(), 3u);
  EXPECT_GE(s.validation.size(), 9u);
  EXPECT_EQ(s.serving_by_load.size(), 6u);
}

TEST(GuiState, MovingThePriceScalesTheCostOnly) {
  GuiState s;
  const double hours = s.estimate->gpu_hours;
  s.inputs.price = 3.5f;
  s.recompute();
  EXPECT_DOUBLE_EQ(s.estimate->gpu_hours, hours);
  EXPECT_NEAR(s.estimate->cost_usd, 3.5 * hours, 1e-6 * hours);
}

TEST(GuiState, ImpossibleInputsShowTheClisMessage) {
  GuiState s;
  s.inputs.experts = 96;  // EP 64 does not divide 96 experts
  s.recompute();
  EXPECT_FALSE(s.estimate.has_value());
  EXPECT_EQ(s.error, "parallelism.ep: 64 does not divide the 96 routed experts");
  s.inputs.experts = 256;
  s.inputs.top_k = 300;
  s.recompute();
  EXPECT_EQ(s.error, "model.moe.top_k: 300 exceeds the number of routed experts (256)");
  s.inputs.top_k = 8;
  s.recompute();
  EXPECT_TRUE(s.error.empty()) << s.error;
}

TEST(GuiState, SavedConfigReadsBackTheSameRun) {
  GuiState s;
  s.inputs.gpus = 4096;
  s.inputs.layers = 40;
  s.recompute();
  ASSERT_TRUE(s.error.empty()) << s.error;
  const std::string file = ::testing::TempDir() + "/gui_saved.json";
  s.save_file(file);
  const TrainingEstimate again = simulate_training(training_run_from_document(read_json_file(file)));
  EXPECT_NEAR(again.gpu_hours / s.estimate->gpu_hours, 1.0, 1e-9);
  GuiState t;
  t.load_file(file);
  EXPECT_EQ(t.inputs.layers, 40);
  EXPECT_EQ(t.inputs.gpus, 4096);
  EXPECT_NEAR(t.estimate->gpu_hours / s.estimate->gpu_hours, 1.0, 1e-9);
}

TEST(GuiState, CliCommandNamesTheChangedInputs) {
  GuiState s;
  s.inputs.gpus = 4096;
  s.inputs.price = 2.5f;
  EXPECT_EQ(s.cli_command(), "frugal-sim train --preset deepseek-v3 --gpu H800 --gpus 4096 --price 2.5 --precision fp8");
  s.inputs.layers = 30;
  EXPECT_NE(s.cli_command().find("--config"), std::string::npos);
}

TEST(GuiState, SweepRunsInTheBackground) {
  GuiState s;
  s.inputs.sweep_axis = 1;  // price
  s.start_sweep();
  while (s.sweep_running()) std::this_thread::yield();
  const auto points = s.sweep_points();
  ASSERT_EQ(points.size(), 7u);
  EXPECT_DOUBLE_EQ(s.sweep_progress(), 1.0);
  EXPECT_NEAR(points[2].cost_usd, s.estimate->cost_usd, 1e-6 * s.estimate->cost_usd);  // $2 is the preset's price
}

}  // namespace
}  // namespace frugal::sim::gui

namespace frugal::sim::gui {
namespace {

TEST(GuiState, NonsenseInputsAreRefusedNotCrashed) {
  GuiState s;
  for (int* field : {&s.inputs.tp, &s.inputs.pp, &s.inputs.ep, &s.inputs.gpus, &s.inputs.hidden, &s.inputs.layers}) {
    const int keep = *field;
    *field = 0;
    s.recompute();
    EXPECT_FALSE(s.error.empty());
    EXPECT_FALSE(s.estimate.has_value());
    *field = keep;
  }
  s.inputs.output_tokens = 0;
  s.recompute_serving();
  EXPECT_EQ(s.serving_error, "--output-tokens: must be at least 1");
}

// The serving tab's inputs for DeepSeek-V3 at 20 requests/s within 3 s TTFT and 60 ms TPOT at p95.
void serve_v3_at_20_per_s(GuiState& s) {
  s.load_preset("deepseek-v3");
  s.inputs.rate = 20;
  s.inputs.ttft_p95_s = 3;
  s.inputs.tpot_p95_ms = 60;
}

TEST(GuiState, ServingTabPlansADeployment) {
  GuiState s;
  serve_v3_at_20_per_s(s);
  s.plan_serving();
  ASSERT_TRUE(s.serving_plan.has_value()) << s.plan_error;
  ASSERT_FALSE(s.serving_plan->best.empty());
  EXPECT_LE(s.serving_plan->best.front().simulated.tpot_s.p95, 0.060);
  s.inputs.tpot_p95_ms = 0.5;
  s.plan_serving();
  EXPECT_FALSE(s.serving_plan.has_value());
  EXPECT_NE(s.plan_error.find("--tpot-p95: no deployment meets"), std::string::npos) << s.plan_error;
}

// The serving tab's precision and kernel boxes are serve's flags: refused as the CLI refuses them,
// and kept on every deployment the planner proposes.
TEST(GuiState, ServingTabKeepsItsPrecisionsAndKernelsInThePlan) {
  GuiState s;
  serve_v3_at_20_per_s(s);
  s.inputs.fp8_attention = true;
  s.recompute_serving();
  EXPECT_EQ(s.serving_error, "--fp8-attention: needs --kv-dtype fp8 (FP8 queries attend to an FP8 cache)");
  s.inputs.kv_fp8 = true;
  s.inputs.two_batch_overlap = false;
  s.recompute_serving();
  EXPECT_TRUE(s.serving_error.empty()) << s.serving_error;
  s.plan_serving();
  ASSERT_TRUE(s.serving_plan.has_value()) << s.plan_error;
  ASSERT_FALSE(s.serving_plan->best.empty());
  for (const PlanCandidate& c : s.serving_plan->best) {
    EXPECT_EQ(c.deployment.kv_dtype, KvDtype::fp8) << c.layout;
    EXPECT_TRUE(c.deployment.fp8_attention) << c.layout;
    EXPECT_FALSE(c.deployment.two_batch_overlap) << c.layout;
    EXPECT_GT(c.deployment.gpu.fp8_flops, 0) << c.layout;
  }
}

// The fine-tune & distill tab shows what frugal-sim finetune and distill compute for the same
// inputs, and impossible inputs as the CLI's message.
TEST(GuiState, AdviceTabPricesFinetuningAndDistillation) {
  GuiState s;
  s.load_preset("llama-3.1-70b");
  s.inputs.gpu = 3;  // A100 in sim/data/gpus.json's order
  s.inputs.ft_method = 2;
  s.inputs.ft_rank = 64;
  s.price_finetune();
  ASSERT_TRUE(s.finetune.has_value()) << s.finetune_error;
  FinetuneJob j;
  j.model = frugal::preset_model("llama-3.1-70b");
  j.gpu = known_gpus()[3];
  j.adapters.method = FinetuneMethod::qlora;
  j.adapters.rank = 64;
  j.examples = 5000;
  EXPECT_DOUBLE_EQ(s.finetune->cost_usd, estimate_finetune(j).cost_usd);
  EXPECT_TRUE(s.finetune->fits);
  // The kernels choice reaches the job: the eager estimate is frugal-sim finetune --kernels eager's.
  const FinetuneEstimate fused = estimate_finetune(j);
  s.inputs.ft_kernels = 1;
  s.price_finetune();
  ASSERT_TRUE(s.finetune.has_value()) << s.finetune_error;
  j.kernels = ActivationKernels::eager;
  EXPECT_DOUBLE_EQ(s.finetune->memory.activations, estimate_finetune(j).memory.activations);
  EXPECT_DOUBLE_EQ(s.finetune->cost_usd, estimate_finetune(j).cost_usd);
  EXPECT_NE(s.finetune->memory.activations, fused.memory.activations);
  j.kernels = ActivationKernels::fused;
  s.inputs.ft_kernels = 0;
  s.inputs.ft_method = 0;
  s.price_finetune();
  ASSERT_TRUE(s.finetune.has_value());
  EXPECT_FALSE(s.finetune->fits);
  EXPECT_FALSE(s.finetune->suggestions.empty());
  s.inputs.ft_rank = 0;
  s.price_finetune();
  EXPECT_FALSE(s.finetune.has_value());
  EXPECT_EQ(s.finetune_error, "--rank: must be a positive integer");

  s.inputs.distill_samples = 20000;
  s.price_distillation();
  ASSERT_TRUE(s.distillation.has_value()) << s.distill_error;
  EXPECT_EQ(s.distillation->job.student.name, frugal::preset_model("llama-3.1-8b").name);
  EXPECT_GT(s.distillation->total_cost_usd, 0.0);
  s.inputs.distill_samples = 0;
  s.price_distillation();
  EXPECT_FALSE(s.distillation.has_value());
  EXPECT_NE(s.distill_error.find("--samples"), std::string::npos) << s.distill_error;
}

// The validation tab's summary is the CLI's: the same step rows' median |error| in step time, and
// the same floor (validate --corpus prints both).
TEST(GuiState, ValidationTabSummarizesTheCorpusAsTheCli) {
  const GuiState s;
  std::vector<double> step_errors;
  for (const frugal::sim::CorpusPrediction& p : predict_training_corpus(embedded_training_corpus(), false))
    if (p.row->row_class == "step") step_errors.push_back(p.time_rel_error);
  const ErrorSummary cli = summarize_errors(step_errors);
  EXPECT_EQ(s.corpus_step_summary.count, cli.count);
  EXPECT_NEAR(s.corpus_step_summary.median_abs, cli.median_abs, 1e-12);
  EXPECT_NEAR(s.corpus_step_summary.max_abs, cli.max_abs, 1e-12);
  ASSERT_FALSE(s.corpus_floor.empty());
  EXPECT_NEAR(s.corpus_floor.front().error_floor, indistinguishable_rows(embedded_training_corpus()).front().error_floor, 1e-15);
}

}  // namespace
}  // namespace frugal::sim::gui

