// Bad training input is refused with one message naming the field.
#include <gtest/gtest.h>

#include "frugal/config/presets.hpp"
#include "frugal/sim/run_overrides.hpp"
#include "frugal/sim/sweep.hpp"
#include "frugal/sim/training_sim.hpp"

namespace frugal::sim {
namespace {

std::string error_of(const RunOverrides& o, const std::string& preset = "deepseek-v3") {
  try {
    TrainingRun run = training_run_from_document(find_preset(preset).document);
    apply_overrides(run, o);
    validate_training_run(run);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(TrainingConfig, TokenCounts) {
  EXPECT_DOUBLE_EQ(parse_token_count("14.8T", "--tokens"), 14.8e12);
  EXPECT_DOUBLE_EQ(parse_token_count("500B", "--tokens"), 500e9);
  EXPECT_DOUBLE_EQ(parse_token_count("2e12", "--tokens"), 2e12);
  EXPECT_THROW((void)parse_token_count("lots", "--tokens"), ConfigError);
  EXPECT_THROW((void)parse_token_count("0", "--tokens"), ConfigError);
  EXPECT_THROW((void)parse_token_count("-5T", "--tokens"), ConfigError);
}

TEST(TrainingConfig, PresetIsValid) { EXPECT_EQ(error_of({}), "(accepted)"); }

TEST(TrainingConfig, DegreesMustMultiplyToTheGpuCount) {
  RunOverrides o;
  o.dp = 100;
  o.pp = 16;
  o.ep = 64;
  o.schedule = PipelineSchedule::dualpipe;
  EXPECT_EQ(error_of(o), "parallelism: dp x tp x pp x cp = 100 x 1 x 16 x 1 = 1600 does not equal the 2048 GPUs");
}

TEST(TrainingConfig, ExpertParallelismAboveTheExperts) {
  RunOverrides o;
  o.ep = 512;
  o.pp = 4;
  EXPECT_EQ(error_of(o), "parallelism.ep: 512 exceeds the 256 routed experts");
}

TEST(TrainingConfig, BatchNotDivisibleByMicroBatchTimesDp) {
  RunOverrides o;
  o.global_batch = 15361;
  EXPECT_EQ(error_of(o), "training.stages[0].global_batch: 15361 is not divisible by micro_batch x dp = 1 x 128");
}

TEST(TrainingConfig, TensorParallelismWithinANode) {
  RunOverrides o;
  o.tp = 16;
  EXPECT_EQ(error_of(o), "parallelism.tp: 16 exceeds the 8 GPUs of one node (tensor parallelism needs NVLink)");
}

TEST(TrainingConfig, Fp8NeedsFp8Hardware) {
  RunOverrides o;
  o.gpu = "A100";
  EXPECT_EQ(error_of(o), "training.precision: fp8 needs FP8 Tensor Cores, which the A100 lacks");
}

TEST(TrainingConfig, UnknownGpuListsTheKnownOnes) {
  RunOverrides o;
  o.gpu = "H300";
  EXPECT_EQ(error_of(o).rfind("--gpu: unknown GPU \"H300\" (known: H800", 0), 0u);
}

TEST(TrainingConfig, SectionsRefuseUnknownKeysAndBadValues) {
  nlohmann::json doc = find_preset("deepseek-v3").document;
  doc["cluster"]["gpus_count"] = 4;
  EXPECT_THROW((void)training_run_from_document(doc), ConfigError);
  doc = find_preset("deepseek-v3").document;
  doc["cluster"]["price_per_gpu_hour"] = 0;
  try {
    (void)training_run_from_document(doc);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "cluster.price_per_gpu_hour: must be positive, got 0.000000");
  }
  doc = find_preset("deepseek-v3").document;
  doc["training"]["stages"][0]["tokens"] = "-3T";
  EXPECT_THROW((void)training_run_from_document(doc), ConfigError);
}

TEST(TrainingConfig, AttentionKernelAndTpOverlapAreReadAndChecked) {
  nlohmann::json doc = find_preset("deepseek-v3").document;
  doc["training"]["attention_kernel"] = "hopper-fused";
  doc["parallelism"]["tp_comm_overlap"] = true;
  const TrainingRun run = training_run_from_document(doc);
  EXPECT_EQ(run.attention_kernel, AttentionKernel::hopper_fused);
  EXPECT_TRUE(run.parallel.tp_comm_overlap);
  auto error = [](const nlohmann::json& d) -> std::string {
    try {
      (void)training_run_from_document(d);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(accepted)";
  };
  doc["training"]["attention_kernel"] = "flash-attention-9";
  EXPECT_NE(error(doc).find("training.attention_kernel"), std::string::npos) << error(doc);
  doc = find_preset("deepseek-v3").document;
  doc["parallelism"]["tp_comm_overlap"] = "yes";
  EXPECT_NE(error(doc).find("parallelism.tp_comm_overlap"), std::string::npos) << error(doc);
  doc = find_preset("deepseek-v3").document;
  EXPECT_EQ(training_run_from_document(doc).kernels, ActivationKernels::fused);
  doc["training"]["kernels"] = "eager";
  EXPECT_EQ(training_run_from_document(doc).kernels, ActivationKernels::eager);
  doc["training"]["kernels"] = "jit";
  EXPECT_NE(error(doc).find("training.kernels"), std::string::npos) << error(doc);
}

TEST(Sweep, EveryCombinationAndInvalidPointsKeepTheirError) {
  TrainingRun base = training_run_from_document(find_preset("deepseek-v3").document);
  base.stages.resize(1);
  const std::vector<SweepAxis> axes = {parse_sweep_axis("experts=64,96,256"), parse_sweep_axis("gpus=1024,2048")};
  const auto points = run_sweep(base, axes, 2);
  ASSERT_EQ(points.size(), 6u);
  EXPECT_EQ(points[1].values, (std::vector<std::string>{"64", "2048"}));
  EXPECT_TRUE(points[0].ok) << points[0].error;
  // 96 experts do not split into 8 groups evenly... they do (12 each), but EP 64 does not divide 96.
  EXPECT_FALSE(points[2].ok);
  EXPECT_NE(points[2].error.find("parallelism.ep"), std::string::npos) << points[2].error;
  EXPECT_THROW((void)parse_sweep_axis("colour=red"), ConfigError);
  EXPECT_THROW((void)parse_sweep_axis("gpus"), ConfigError);
}

}  // namespace
}  // namespace frugal::sim
