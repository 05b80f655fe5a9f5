// frugal-sim as a user runs it: output formats, and bad input refused with one line on stderr,
// exit status 2 and nothing on stdout.
#include <gtest/gtest.h>

#include "program_run.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace {

using frugal::testing::expect_refused;
using frugal::testing::frugal_sim;
using frugal::testing::ProgramRun;
using frugal::testing::slurp;
using frugal::testing::temp_path;
using frugal::testing::write_temp;


std::string hf(const std::string& name) { return std::string(FRUGAL_TEST_DATA_DIR) + "/hf/" + name + ".json"; }

TEST(Cli, NoArgumentsPrintsTheMainReport) {
  const ProgramRun r = frugal_sim("");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* needle : {"deepseek-v3", "llama-3.1-405b", "deepseek-67b", "dense-", "70,272 B", "ISCA25",
                             "Computed beside published", "conventions:"})
    EXPECT_NE(r.out.find(needle), std::string::npos) << needle;
}

TEST(Cli, ModelJsonHasTheDocumentedKeys) {
  const ProgramRun r = frugal_sim("model --preset deepseek-v3 --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"total_params", "active_params", "train_flops_per_token", "inference_flops_per_token",
                          "kv_cache_bytes_per_token", "breakdown"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_NEAR(j["total_params"].get<double>() / 671e9, 1.0, 0.01);
  EXPECT_EQ(j["kv_cache_bytes_per_token"].get<double>(), 70272.0);
  EXPECT_EQ(j["attention_flops"], "causal");
  std::vector<std::string> components;
  for (const auto& c : j["breakdown"]) components.push_back(c["component"]);
  for (const char* c : {"attention", "dense_ffn", "shared_experts", "routed_experts", "router", "mtp_module",
                        "embedding", "output_head"})
    EXPECT_NE(std::find(components.begin(), components.end(), c), components.end()) << c;
}

TEST(Cli, HuggingFaceConfigUnchanged) {
  const ProgramRun a = frugal_sim("model --config " + hf("deepseek-v3") + " --format json");
  const ProgramRun b = frugal_sim("model --preset deepseek-v3 --format json");
  ASSERT_EQ(a.status, 0) << a.err;
  const auto ja = nlohmann::json::parse(a.out), jb = nlohmann::json::parse(b.out);
  EXPECT_EQ(ja["total_params"], jb["total_params"]);
  EXPECT_EQ(ja["train_flops_per_token"], jb["train_flops_per_token"]);
}

// Keys that change no cost are listed once, after the report; a refusal stays one line.
TEST(Cli, UnusedHuggingFaceKeysAreListedOnceAfterTheReport) {
  const ProgramRun r = frugal_sim("train --config " + hf("gemma2-9b-it") + " --gpus 64 --no-baselines");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("frugal-sim: note: " + hf("gemma2-9b-it") + ": not used (no effect on cost): ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("final_logit_softcapping"), std::string::npos) << r.err;
  expect_refused(frugal_sim("train --config " + hf("gemma2-9b-it") + " --gpus 0"), "--gpus");
}

TEST(Cli, OptionsChangeTheConvention) {
  const auto causal = nlohmann::json::parse(frugal_sim("model --format json --seq-len 32768").out);
  const auto full = nlohmann::json::parse(frugal_sim("model --format json --seq-len 32768 --attention-flops full").out);
  EXPECT_GT(full["train_flops_per_token"].get<double>(), causal["train_flops_per_token"].get<double>());
  const auto fp8 = nlohmann::json::parse(frugal_sim("model --format json --kv-dtype fp8").out);
  EXPECT_EQ(fp8["kv_cache_bytes_per_token"].get<double>(), 35136.0);
}

TEST(Cli, ModelCsvHasAHeaderAndATotal) {
  const ProgramRun r = frugal_sim("model --preset llama-3.1-8b --format csv");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("component,params,active_params,train_flops_per_token,inference_flops_per_token", 0), 0u);
  EXPECT_NE(r.out.find("\ntotal,"), std::string::npos);
}

TEST(Cli, PresetsListsEveryRequiredPreset) {
  const ProgramRun r = frugal_sim("presets");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* p : {"deepseek-v3", "deepseek-v2", "deepseek-v2-lite", "deepseek-67b", "llama-3.1-405b",
                        "llama-3.1-70b", "llama-3.1-8b", "gpt-3-175b", "deepseek-v3-tiny"})
    EXPECT_NE(r.out.find(std::string("\n") + p + " "), std::string::npos) << p;
}

TEST(Cli, HelpExitsZero) {
  const ProgramRun r = frugal_sim("model --help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("--preset"), std::string::npos);
}

TEST(Cli, UnknownPresetIsRefused) { expect_refused(frugal_sim("model --preset deepseek-v9"), "--preset: unknown preset"); }

TEST(Cli, TopKAboveExpertsIsRefusedWithTheField) {
  std::string text = slurp(hf("deepseek-v3"));
  text.replace(text.find("\"num_experts_per_tok\": 8"), 24, "\"num_experts_per_tok\": 300");
  const std::string file = write_temp(text);
  expect_refused(frugal_sim("model --config " + file), file + ": num_experts_per_tok: 300 exceeds");
}

TEST(Cli, MalformedJsonIsRefusedWithItsLine) {
  const std::string file = write_temp("{\n  \"model\": {\n    \"hidden_size\": 64,,\n  }\n}\n");
  expect_refused(frugal_sim("model --config " + file), file + ":3:");
}

TEST(Cli, UnknownKeyIsRefused) {
  const std::string file = write_temp(R"({"model": {"vocab_size": 10, "hidden_size": 8, "num_layers": 1, "colour": "red",
    "attention": {"kind": "mha", "num_heads": 2}, "ffn": {"intermediate_size": 16}}})");
  expect_refused(frugal_sim("model --config " + file), "model.colour: unknown key");
}

TEST(Cli, BadOptionValuesAreRefused) {
  expect_refused(frugal_sim("model --seq-len 0"), "--seq-len");
  expect_refused(frugal_sim("model --format xml"), "--format");
  expect_refused(frugal_sim("model --preset deepseek-v3 --config x.json"), "excludes");
  expect_refused(frugal_sim("modle"), "modle");
}

}  // namespace

namespace {

TEST(CliTrain, JsonHasTheDocumentedKeys) {
  const ProgramRun r = frugal_sim("train --preset deepseek-v3 --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"gpu_hours", "cost_usd", "days", "step_time_s", "tokens_per_s_per_gpu", "mfu_bf16", "mfu_fp8",
                          "memory_per_gpu_bytes", "fits", "step_breakdown", "memory_breakdown", "stages", "baselines"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["stages"].size(), 3u);
  EXPECT_EQ(j["baselines"].size(), 3u);
  EXPECT_FALSE(j["mfu_assumed"].get<bool>());
}

TEST(CliTrain, FlagsReshapeTheRun) {
  const ProgramRun r = frugal_sim("train --gpus 4096 --tokens 1T --seq-len 4096 --global-batch 8192 --price 3 "
                                  "--no-baselines --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["gpus"], 4096);
  EXPECT_EQ(j["stages"].size(), 1u);
  EXPECT_NEAR(j["cost_usd"].get<double>(), 3 * j["gpu_hours"].get<double>(), 1e-6);
}

TEST(CliTrain, AttentionKernelAndTpOverlapFlags) {
  const ProgramRun base = frugal_sim("train --preset llama-3.1-70b --gpus 64 --tp 8 --pp 1 --no-baselines --format json");
  const ProgramRun fast = frugal_sim("train --preset llama-3.1-70b --gpus 64 --tp 8 --pp 1 --no-baselines --format json "
                                     "--tp-comm-overlap --attention-kernel hopper-fused");
  ASSERT_EQ(base.status, 0) << base.err;
  ASSERT_EQ(fast.status, 0) << fast.err;
  const auto b = nlohmann::json::parse(base.out), f = nlohmann::json::parse(fast.out);
  EXPECT_LT(f["step_time_s"].get<double>(), b["step_time_s"].get<double>());
  EXPECT_TRUE(f["stages"][0]["parallelism"]["tp_comm_overlap"].get<bool>());
  expect_refused(frugal_sim("train --attention-kernel flash-attention-9"), "--attention-kernel");
  const ProgramRun slow = frugal_sim("train --preset llama-3.1-70b --gpus 64 --tp 8 --pp 1 --no-baselines --format json "
                                     "--attention-kernel flash-attention-1");
  ASSERT_EQ(slow.status, 0) << slow.err;
  EXPECT_GT(nlohmann::json::parse(slow.out)["step_time_s"].get<double>(), b["step_time_s"].get<double>());
}

TEST(CliTrain, GradientReduceFlagDoublesTheGradientBytes) {
  // ZeRO-1 on 64 GPUs, TP 8: a BF16 gradient reduce-scatter and a BF16 all-gather a step, or FP32
  // gradients and a BF16 all-gather: 6 bytes a parameter against 4.
  const std::string run = "train --preset llama-3.1-70b --gpus 64 --tp 8 --pp 1 --zero 1 --no-baselines --format json";
  const ProgramRun bf16 = frugal_sim(run), fp32 = frugal_sim(run + " --gradient-reduce fp32");
  ASSERT_EQ(bf16.status, 0) << bf16.err;
  ASSERT_EQ(fp32.status, 0) << fp32.err;
  const auto a = nlohmann::json::parse(bf16.out), b = nlohmann::json::parse(fp32.out);
  EXPECT_EQ(a["gradient_reduce"], "bf16");
  EXPECT_EQ(b["gradient_reduce"], "fp32");
  EXPECT_NEAR(b["step_breakdown"]["dp_comm_s"].get<double>() / a["step_breakdown"]["dp_comm_s"].get<double>(), 1.5, 1e-9);
  EXPECT_NE(frugal_sim(run.substr(0, run.find(" --format")) + " --gradient-reduce fp32").out.find("gradients reduced in FP32"),
            std::string::npos);
  expect_refused(frugal_sim("train --gradient-reduce fp16"), "--gradient-reduce");
}

TEST(CliTrain, PipelineLayoutFlag) {
  // Llama 3.1 70B (80 layers, a 128K-column output layer) over PP 4: the last rank holds 20 layers
  // and the head; with the ends as layers it holds 19 and the head, the busiest rank 20.5 layers.
  const std::string run = "train --preset llama-3.1-70b --gpus 64 --tp 8 --pp 4 --no-baselines --format json";
  const ProgramRun even = frugal_sim(run), ends = frugal_sim(run + " --pipeline-layout ends-as-layers");
  const ProgramRun typed = frugal_sim(run + " --pipeline-layout 'Et*20|t*20|t*20|t*20L'");
  ASSERT_EQ(even.status, 0) << even.err;
  ASSERT_EQ(ends.status, 0) << ends.err;
  ASSERT_EQ(typed.status, 0) << typed.err;
  const double e = nlohmann::json::parse(even.out)["step_time_s"].get<double>();
  EXPECT_LT(nlohmann::json::parse(ends.out)["step_time_s"].get<double>(), e);
  EXPECT_NEAR(nlohmann::json::parse(typed.out)["step_time_s"].get<double>(), e, 1e-9 * e);
  expect_refused(frugal_sim(run + " --pipeline-layout 'Et|(tt'"), "--pipeline-layout");
  expect_refused(frugal_sim(run + " --pipeline-layout 'Et*20|t*20|t*20|t*19L'"), "parallelism.pipeline_layout");
}

TEST(CliTrain, PinnedMfuSaysItIsAssumed) {
  const ProgramRun r = frugal_sim("train --mfu 0.4 --no-baselines");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("ASSUMED"), std::string::npos);
}

TEST(CliTrain, CsvHasOneRowPerStage) {
  const ProgramRun r = frugal_sim("train --format csv");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 4);
}

TEST(CliTrain, BadInputIsRefused) {
  expect_refused(frugal_sim("train --gpus 100 --no-baselines"), "does not equal the 100 GPUs");
  expect_refused(frugal_sim("train --gpu X100"), "unknown GPU \"X100\" (known: H800, H100, H200, A100, B200, GB200, B300, GB300, A100-40GB, H20, RTX A6000)");
  expect_refused(frugal_sim("train --tokens 0"), "--tokens");
  expect_refused(frugal_sim("train --price -1"), "--price: must be positive");
  expect_refused(frugal_sim("train --ep 512 --pp 4"), "parallelism.ep: 512 exceeds the 256 routed experts");
  expect_refused(frugal_sim("train --global-batch 100"), "global_batch: 100 is not divisible");
  expect_refused(frugal_sim("train --baseline gpt-5"), "--preset: unknown preset");
}

TEST(CliValidate, JsonRowsHaveTheDocumentedKeys) {
  const ProgramRun r = frugal_sim("validate --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_array());
  ASSERT_GE(j.size(), 9u);
  for (const auto& row : j)
    for (const char* key : {"name", "metric", "published", "predicted", "rel_error", "source"})
      EXPECT_TRUE(row.contains(key)) << key;
}

TEST(CliSweep, CsvHasEveryPoint) {
  const ProgramRun r = frugal_sim("sweep --set gpus=1024,2048 --set price=1,2 --tokens 1T");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("gpus,price,gpu_hours,cost_usd", 0), 0u);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 5);
  expect_refused(frugal_sim("sweep --set colour=red"), "--set: unknown key \"colour\"");
}

}  // namespace

namespace {

TEST(CliServe, JsonHasTheDocumentedKeys) {
  const ProgramRun r = frugal_sim("serve --requests 300 --rate 1 --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"ttft_p50_s", "ttft_p95_s", "tpot_p50_s", "e2e_p50_s", "e2e_p95_s", "output_tokens_per_s_per_gpu",
                          "cost_per_1k_requests_usd", "cost_per_m_output_tokens_usd", "comparisons"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["completed"], 300);
}

TEST(CliServe, ValidateReproducesTheServingDay) {
  const ProgramRun r = frugal_sim("serve --validate --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 26u);  // test_serving.cpp counts them by source
  for (const auto& row : j)
    for (const char* key : {"name", "published", "predicted", "rel_error", "source"}) EXPECT_TRUE(row.contains(key)) << key;
}

TEST(CliServe, CapacityJsonHasTheDocumentedKeys) {
  const ProgramRun r = frugal_sim("serve --capacity --gpus-per-instance 144 --ep 144 --redundant-experts 32 "
                                  "--mtp-acceptance 0.85 --context 5000 --tpot-slo 50 --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"decode_step_s", "tpot_s", "batch_per_gpu", "decode_tokens_per_s_per_gpu",
                          "decode_tokens_per_s_per_node", "prefill_tokens_per_s_per_node", "breakdown"})
    EXPECT_TRUE(j.contains(key)) << key;
  for (const char* key : {"attention_s", "experts_s", "dense_s", "exposed_comm_s", "overhead_s"})
    EXPECT_TRUE(j["breakdown"].contains(key)) << key;
  EXPECT_LE(j["tpot_s"].get<double>(), 0.050);
  // Aggregated serving at the same batch, with --prompt and --output-tokens.
  ASSERT_TRUE(j.contains("aggregated"));
  for (const char* key : {"mixed_fraction", "mean_iteration_s", "tokens_per_s_per_gpu", "tokens_per_s_per_node"})
    EXPECT_TRUE(j["aggregated"].contains(key)) << key;
  EXPECT_DOUBLE_EQ(j["aggregated"]["batch_per_gpu"].get<double>(), j["batch_per_gpu"].get<double>());
  EXPECT_LT(j["aggregated"]["tokens_per_s_per_gpu"].get<double>(), j["decode_tokens_per_s_per_gpu"].get<double>());
}

// --no-two-batch-overlap leaves every layer's all-to-all exposed: at the same batch each decode step
// takes longer and the instance decodes fewer tokens.
TEST(CliServe, NoTwoBatchOverlapExposesTheAllToAll) {
  const std::string base = "serve --capacity --gpus-per-instance 144 --ep 144 --redundant-experts 32 --batch-per-gpu 64 "
                           "--context 4000 --format json";
  const ProgramRun with = frugal_sim(base), without = frugal_sim(base + " --no-two-batch-overlap");
  ASSERT_EQ(with.status, 0) << with.err;
  ASSERT_EQ(without.status, 0) << without.err;
  const auto a = nlohmann::json::parse(with.out), b = nlohmann::json::parse(without.out);
  EXPECT_GT(b["breakdown"]["exposed_comm_s"].get<double>(), a["breakdown"]["exposed_comm_s"].get<double>());
  EXPECT_LT(b["decode_tokens_per_s_per_gpu"].get<double>(), a["decode_tokens_per_s_per_gpu"].get<double>());
}

TEST(CliServe, ExpertSlotsMustDivideOverEp) {
  expect_refused(frugal_sim("serve --gpus-per-instance 144 --ep 72"),
                 "--ep: 72 does not divide the 256 expert slots (256 routed + 0 redundant); nearest that do: 64 and 128");
  const ProgramRun ok = frugal_sim("serve --capacity --gpus-per-instance 144 --ep 72 --redundant-experts 32");
  EXPECT_EQ(ok.status, 0) << ok.err;
  expect_refused(frugal_sim("serve --capacity --tpot-slo 0.1"), "--tpot-slo: 0.1 ms is not reachable");
  // Beyond four copies of every expert it is no longer redundancy (and EPLB's placement would be
  // asked to replicate a billion slots): refused at once, in one line.
  expect_refused(frugal_sim("serve --gpus-per-instance 8 --ep 8 --redundant-experts 1000000000"),
                 "--redundant-experts: 1000000000 is more than four copies of each of the 256 routed experts");
}

TEST(CliServe, PlanListsTheCheapestDeployments) {
  const ProgramRun r = frugal_sim("serve --plan --rate 20 --prompt-tokens 2000 --output-tokens 300 --ttft-p95 3 "
                                  "--tpot-p95 60 --plan-gpus H800,H100 --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_FALSE(j.empty());
  for (const char* key : {"deployment", "gpus", "nodes", "ttft_p50_s", "ttft_p95_s", "tpot_p50_s", "tpot_p95_s",
                          "cost_per_1k_requests_usd", "cost_per_m_output_tokens_usd"})
    EXPECT_TRUE(j[0].contains(key)) << key;
  expect_refused(frugal_sim("serve --plan --rate 20 --tpot-p95 0.5 --plan-gpus H800"), "--tpot-p95: no deployment meets");
  expect_refused(frugal_sim("serve --plan --rate 20 --plan-gpus X100"), "--plan-gpus: unknown GPU");
  expect_refused(frugal_sim("serve --plan --rate 20 --plan-gpus H800:cheap"), "--plan-gpus: \"H800:cheap\": the price");
  // Each GPU at its own price: the cost per request follows the price given.
  const ProgramRun dear = frugal_sim("serve --plan --rate 20 --prompt-tokens 2000 --output-tokens 300 --ttft-p95 3 "
                                     "--tpot-p95 60 --plan-gpus H800:4 --format json");
  const ProgramRun cheap = frugal_sim("serve --plan --rate 20 --prompt-tokens 2000 --output-tokens 300 --ttft-p95 3 "
                                      "--tpot-p95 60 --plan-gpus H800:1 --format json");
  ASSERT_EQ(dear.status, 0) << dear.err;
  ASSERT_EQ(cheap.status, 0) << cheap.err;
  EXPECT_NEAR(nlohmann::json::parse(dear.out)[0]["cost_per_1k_requests_usd"].get<double>() /
                  nlohmann::json::parse(cheap.out)[0]["cost_per_1k_requests_usd"].get<double>(),
              4.0, 1e-9);
}

// --plan keeps serve's precision and kernel flags on every candidate it prints.
TEST(CliServe, PlanKeepsThePrecisionAndKernelFlags) {
  const std::string base = "serve --plan --rate 20 --prompt-tokens 2000 --output-tokens 300 --ttft-p95 3 --tpot-p95 60 ";
  const ProgramRun fp8 = frugal_sim(base + "--plan-gpus H100,A100 --kv-dtype fp8 --fp8-attention --format json");
  ASSERT_EQ(fp8.status, 0) << fp8.err;
  for (const auto& row : nlohmann::json::parse(fp8.out)) {
    EXPECT_EQ(row["gpu"], "H100");
    EXPECT_EQ(row["kv_dtype"], "fp8");
    EXPECT_TRUE(row["fp8_attention"].get<bool>());
  }
  const ProgramRun bf16 = frugal_sim(base + "--plan-gpus H100 --weights bf16 --format json");
  ASSERT_EQ(bf16.status, 0) << bf16.err;
  for (const auto& row : nlohmann::json::parse(bf16.out)) {
    EXPECT_FALSE(row["fp8_weights"].get<bool>());
    EXPECT_EQ(row["kv_dtype"], "bf16");
  }
  // A disaggregated deployment's prefill layout is printed, and its slots refused where its EP does
  // not divide them.
  const ProgramRun day6 = frugal_sim("serve --disaggregated --gpus-per-instance 144 --ep 144 --redundant-experts 32 "
                                     "--prefill-gpus-per-instance 32 --rate 5 --requests 300 --no-compare");
  ASSERT_EQ(day6.status, 0) << day6.err;
  EXPECT_NE(day6.out.find("prefill on 1 separate instance of 32 GPUs (EP 32, 32 redundant experts)"), std::string::npos) << day6.out;
  // Side by side, its BF16 variant grows the prefill instance too until it holds its weights: the
  // whole command used to be refused for the variant's prefill ('the weights leave no room').
  const ProgramRun sides = frugal_sim("serve --disaggregated --gpus-per-instance 144 --ep 144 --redundant-experts 32 "
                                      "--prefill-gpus-per-instance 32 --rate 5 --requests 300");
  ASSERT_EQ(sides.status, 0) << sides.err;
  EXPECT_NE(sides.out.find("BF16 weights, 144 GPUs per instance (64 per prefill instance)"), std::string::npos) << sides.out;
  expect_refused(frugal_sim("serve --disaggregated --gpus-per-instance 16 --ep 16 --prefill-gpus-per-instance 32 "
                            "--prefill-redundant-experts 8"),
                 "--prefill-redundant-experts: 8 gives 264 expert slots");
  expect_refused(frugal_sim(base + "--plan-gpus A100 --kv-dtype fp8 --fp8-attention"),
                 "--fp8-attention: needs FP8 Tensor Cores, which none of the GPUs to plan on has");
}

TEST(CliServe, TraceDrivesTheWorkload) {
  const std::string file = temp_path(".trace");
  std::ofstream(file) << "0 100 10\n0.1 200 5\n0.2 50 1\n";
  const ProgramRun r = frugal_sim("serve --preset llama-3.1-8b --gpu H100 --trace " + file + " --no-compare --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["completed"], 3);
}

TEST(CliServe, BadInputIsRefused) {
  expect_refused(frugal_sim("serve --rate -2"), "--rate: must be positive");
  expect_refused(frugal_sim("serve --output-tokens 0 --no-compare"), "--output-tokens: must be at least 1");
  const std::string file = temp_path(".trace");
  std::ofstream(file) << "0 100 10\n1 200 5\n0.5 50 1\n";
  expect_refused(frugal_sim("serve --trace " + file), file + ":3: arrival times are not sorted");
  std::ofstream(file) << "0 100 10\n1 two 5\n";
  expect_refused(frugal_sim("serve --trace " + file), file + ":2: expected");
  expect_refused(frugal_sim("serve --gpu A100 --weights fp8"), "--weights: fp8 needs FP8 Tensor Cores");
  expect_refused(frugal_sim("serve --fp8-attention"), "--fp8-attention: needs --kv-dtype fp8");
  expect_refused(frugal_sim("serve --gpu A100 --kv-dtype fp8 --fp8-attention"), "--fp8-attention: needs FP8 Tensor Cores");
  // Each attention-DP rank is tracked: a billion GPUs allocated gigabytes for 20 s before answering,
  // and a billion-GPU prefill instance asked EPLB to place a billion slots; both refused at once.
  expect_refused(frugal_sim("serve --gpus-per-instance 1000000000 --no-compare"), "--gpus-per-instance: must be between 1 and");
  expect_refused(frugal_sim("serve --instances 100000 --gpus-per-instance 16 --ep 16 --no-compare"),
                 "--instances: 1600000 GPUs in all");
  expect_refused(frugal_sim("serve --disaggregated --gpus-per-instance 16 --ep 16 --prefill-gpus-per-instance 1000000000"),
                 "--prefill-gpus-per-instance: 1000000000 GPUs would spread the experts over EP 1000000000");
}

// The decode all-to-all of an instance over two nodes: with DeepEP's NVLink path (the default) the
// copies for the node's own GPUs leave the NIC, so each step is shorter than with every copy through
// it (--no-low-latency-nvlink); FP8 attention shortens a compute-bound H20 step's attention; --eplb
// places the experts by load without redundant slots. The header names each choice.
TEST(CliServe, LowLatencyNvlinkAndFp8AttentionAreOptions) {
  const std::string base = "serve --capacity --gpu H20 --gpus-per-instance 16 --ep 16 --batch-per-gpu 32 --context 4864 "
                           "--kv-dtype fp8 --no-two-batch-overlap";
  const ProgramRun plain = frugal_sim(base + " --format json"), nic = frugal_sim(base + " --no-low-latency-nvlink --format json"),
                   fp8 = frugal_sim(base + " --fp8-attention --format json"), text = frugal_sim(base + " --fp8-attention --no-low-latency-nvlink");
  for (const ProgramRun* r : {&plain, &nic, &fp8, &text}) ASSERT_EQ(r->status, 0) << r->err;
  const auto a = nlohmann::json::parse(plain.out), b = nlohmann::json::parse(nic.out), f = nlohmann::json::parse(fp8.out);
  EXPECT_GT(b["breakdown"]["exposed_comm_s"].get<double>(), 1.5 * a["breakdown"]["exposed_comm_s"].get<double>());
  EXPECT_NEAR(a["breakdown"]["attention_s"].get<double>() / f["breakdown"]["attention_s"].get<double>(), 2.0, 0.01);
  EXPECT_NE(text.out.find("FP8 attention, decode all-to-all through the NIC only"), std::string::npos) << text.out;
  // EPLB's packing without redundant slots evens the experts' loads: a shorter step.
  const ProgramRun eplb = frugal_sim(base + " --eplb --format json"), eplb_text = frugal_sim(base + " --eplb");
  ASSERT_EQ(eplb.status, 0) << eplb.err;
  EXPECT_GT(nlohmann::json::parse(eplb.out)["decode_tokens_per_s_per_gpu"].get<double>(),
            a["decode_tokens_per_s_per_gpu"].get<double>());
  EXPECT_NE(eplb_text.out.find("0 redundant experts (EPLB placement)"), std::string::npos) << eplb_text.out;
}

}  // namespace
