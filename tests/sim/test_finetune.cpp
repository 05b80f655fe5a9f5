// Fine-tuning: adapter counts against the LoRA paper and Lit-GPT's tables, the frozen base's
// missing weight gradients and QLoRA's dequantization against hand-computed times, QLoRA's
// published fit verdicts, and frugal-sim finetune as a user runs it.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "program_run.hpp"

#include "frugal/config/config_error.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/adapters.hpp"
#include "frugal/sim/finetune.hpp"
#include "frugal/sim/gemm_model.hpp"
#include "frugal/sim/training_corpus.hpp"

namespace {

using namespace frugal::sim;
using frugal::testing::expect_refused;
using frugal::testing::frugal_sim;
using frugal::testing::ProgramRun;


// LLaMA-7B and LLaMA-65B as the shipped corpus describes them (with their sources there).
frugal::ModelConfig corpus_model(const std::string& name) {
  for (const CorpusRow& row : embedded_training_corpus().rows)
    if (row.row_class == "finetune" && row.run.model.name == name) return row.run.model;
  throw std::runtime_error("no finetune row with model " + name);
}

Adapters adapters(FinetuneMethod method, std::int64_t rank, AdapterTargets targets) {
  Adapters a;
  a.method = method;
  a.rank = rank;
  a.targets = targets;
  return a;
}

FinetuneJob job(const frugal::ModelConfig& m, const std::string& gpu, FinetuneMethod method) {
  FinetuneJob j;
  j.model = m;
  j.gpu = find_gpu(gpu, "--gpu");
  j.adapters = adapters(method, 16, AdapterTargets::all_linear);
  return j;
}

// LLaMA-7B on one A100 without recomputation, micro-batch 1: `batch` sequences of `seq_len` per step.
TrainingRun llama7b_on_one_a100(std::int64_t seq_len, std::int64_t batch) {
  TrainingRun run;
  run.model = corpus_model("LLaMA-7B");
  run.gpu = find_gpu("A100", "--gpu");
  run.gpus = 1;
  run.recompute = Recompute::none;
  run.parallel.dp = 1;
  TrainingStage stage;
  stage.seq_len = seq_len;
  stage.global_batch = batch;
  stage.tokens = 1e6;
  run.stages = {stage};
  return run;
}

// LoRA Table 4: GPT-3 175B with adapters on W_q and W_v has 4.7M trainable parameters at r = 1
// and 37.7M at r = 8; |Θ| = 2 × L̂ × d_model × r with L̂ = 2 × 96 matrices, d_model = 12,288.
TEST(Adapters, LoraPaperCountsForGpt3) {
  const frugal::ModelConfig gpt3 = frugal::preset_model("gpt-3-175b");
  EXPECT_DOUBLE_EQ(adapter_parameters(gpt3, adapters(FinetuneMethod::lora, 1, AdapterTargets::qv)).total, 4718592.0);
  EXPECT_DOUBLE_EQ(adapter_parameters(gpt3, adapters(FinetuneMethod::lora, 8, AdapterTargets::qv)).total, 37748736.0);
  EXPECT_DOUBLE_EQ(adapter_parameters(gpt3, adapters(FinetuneMethod::full, 8, AdapterTargets::qv)).total, 0.0);
}

// Lit-GPT tutorials/resource-tables.md: LoRA on query and value at r = 8 trains "4,194,304"
// parameters of Llama 2 7B and "6,553,600" of Llama 2 13B (5,120 wide, 40 layers).
TEST(Adapters, LitGptCountsForLlama2) {
  frugal::ModelConfig m = corpus_model("LLaMA-7B");
  const Adapters qv8 = adapters(FinetuneMethod::lora, 8, AdapterTargets::qv);
  EXPECT_DOUBLE_EQ(adapter_parameters(m, qv8).total, 4194304.0);
  m.hidden_size = 5120;
  m.num_layers = 40;
  m.attention.num_heads = m.attention.num_kv_heads = 40;
  EXPECT_DOUBLE_EQ(adapter_parameters(m, qv8).total, 6553600.0);
}

// By hand for LLaMA-65B, every linear at r = 64: r × [4 × (8192 + 8192) + 2 × (8192 + 22016) +
// (22016 + 8192)] per layer, 80 layers.
TEST(Adapters, AllLinearCountedByHand) {
  const frugal::ModelConfig m = corpus_model("LLaMA-65B");
  const double per_layer = 64.0 * (4 * (8192 + 8192) + 2 * (8192 + 22016) + (22016 + 8192));
  EXPECT_DOUBLE_EQ(adapter_parameters(m, adapters(FinetuneMethod::qlora, 64, AdapterTargets::all_linear)).total, 80 * per_layer);
}

// QLoRA §3: NF4 plus double-quantized constants, "8/64 + 32/(64 · 256) = 0.127 bits per parameter".
TEST(Adapters, Nf4BitsPerParameter) { EXPECT_NEAR(kNf4BitsPerParameter, 4.127, 0.0005); }

TEST(Adapters, RoutedExpertsGetOneAdapterEach) {
  const frugal::ModelConfig m = frugal::preset_model("mixtral-8x7b");
  const AdapterParameters a = adapter_parameters(m, adapters(FinetuneMethod::lora, 8, AdapterTargets::all_linear));
  // 8 experts x 3 matrices x r (4096 + 14336) per layer, 32 layers.
  EXPECT_DOUBLE_EQ(a.routed, 32.0 * 8 * 3 * 8 * (4096 + 14336));
  EXPECT_GT(a.total, a.routed);
}

// A frozen base weight needs its data gradient but no weight gradient: of forward, data gradient
// and weight gradient (three GEMMs of equal FLOPs), LoRA runs two. Rank 1 on q and v adds almost
// nothing, so LoRA's GEMM time is the full run's less its weight-gradient GEMMs.
TEST(Finetune, FrozenBaseDropsTheWeightGradientGemms) {
  TrainingRun run = llama7b_on_one_a100(2048, 8);
  const TrainingStage& stage = run.stages.front();
  const StepBreakdown full = step_time(run, stage, default_efficiency());
  run.adapters = adapters(FinetuneMethod::lora, 1, AdapterTargets::qv);
  const StepBreakdown lora = step_time(run, stage, default_efficiency());
  const double without_wgrad = full.gemm_s - static_cast<double>(full.micro_batches) * full.weight_grad_s;
  // The adapters themselves: on W_q and W_v (4096 -> 4096) of 32 layers, A (4096 -> 1) and B
  // (1 -> 4096), each forward, data gradient and weight gradient, for 8 micro-batches of 2048
  // tokens. Skinny and memory-bound: they re-read the layer's input.
  double adapter = 0;
  for (const GemmShape g : {GemmShape{2048, 1, 4096}, GemmShape{2048, 4096, 1}})
    adapter += gemm_time(g, GemmPrecision::bf16, run.gpu, default_efficiency()) +
               gemm_time({g.m, g.k, g.n}, GemmPrecision::bf16, run.gpu, default_efficiency()) +
               gemm_time({g.n, g.k, g.m}, GemmPrecision::bf16, run.gpu, default_efficiency());
  adapter *= 2 * 32 * 8;
  EXPECT_NEAR((lora.gemm_s - adapter) / without_wgrad, 1.0, 1e-9);
  EXPECT_NEAR(lora.gemm_s / full.gemm_s, 2.0 / 3.0, 0.05);  // GEMMs of equal FLOPs, unequal shapes
}

// QLoRA dequantizes each NF4 weight to BF16 before its forward and again before its data-gradient
// GEMM: per micro-batch 2 x quantized parameters x (4.127/8 + 2) bytes over HBM.
TEST(Finetune, QloraDequantizationCostsTwoPassesPerMicroBatch) {
  TrainingRun run = llama7b_on_one_a100(512, 4);
  const TrainingStage& stage = run.stages.front();
  const EfficiencyConstants c = default_efficiency();
  run.adapters = adapters(FinetuneMethod::lora, 8, AdapterTargets::all_linear);
  const StepBreakdown lora = step_time(run, stage, c);
  run.adapters.method = FinetuneMethod::qlora;
  const StepBreakdown qlora = step_time(run, stage, c);
  const double expected = 4.0 * 2.0 * quantized_base_parameters(run.model) * (4.127 / 8.0 + 2.0) /
                          (run.gpu.hbm_bandwidth * c.hbm);  // 4 micro-batches
  EXPECT_NEAR((qlora.memory_bound_s - lora.memory_bound_s) / expected, 1.0, 0.001);
  EXPECT_DOUBLE_EQ(qlora.gemm_s, lora.gemm_s);
}

// QLoRA's own verdicts (arXiv 2305.14314): "finetune a 65B parameter model on a single 48GB GPU"
// (rank 64 on every linear, gradient checkpointing, batch 1: scripts/finetune_guanaco_65b.sh), and
// "regular 16-bit finetuning of a LLaMA 65B parameter model requires more than 780 GB".
TEST(Finetune, QloraPaperFitVerdictsFor65B) {
  const frugal::ModelConfig m = corpus_model("LLaMA-65B");
  FinetuneJob q = job(m, "RTX A6000", FinetuneMethod::qlora);
  q.adapters.rank = 64;
  q.tokens_per_example = 513;  // BOS + a 512-token target (qlora.py, oasst1)
  q.micro_batch = 1;
  const FinetuneEstimate qlora = estimate_finetune(q);
  EXPECT_TRUE(qlora.fits) << qlora.memory.total / 1e9 << " GB";
  EXPECT_LE(qlora.memory.total, 48e9);

  FinetuneJob f = job(m, "RTX A6000", FinetuneMethod::full);
  f.tokens_per_example = 513;
  const FinetuneEstimate full = estimate_finetune(f);
  EXPECT_FALSE(full.fits);
  EXPECT_GT(full.memory.total, 780e9);

  FinetuneJob l = job(m, "RTX A6000", FinetuneMethod::lora);  // 16-bit base: 131 GB of weights
  EXPECT_FALSE(estimate_finetune(l).fits);
}

// Lit-GPT's LoRA table (tutorials/resource-tables.md @b73298666, one A100-SXM4-40GB, r = 8 on query
// and value, every batch padded to the longest Alpaca example, 1,304 tokens): the 7B ran at
// micro-batch 1 and 2 and was "OOM" at 4; the 13B ran at 1 and was "OOM" at 2. Priced with the
// eager kernels Lit-GPT's modules are.
FinetuneJob lit_gpt_lora(const std::string& model, std::int64_t micro_batch) {
  FinetuneJob j = job(corpus_model(model), "A100-40GB", FinetuneMethod::lora);
  j.adapters = adapters(FinetuneMethod::lora, 8, AdapterTargets::qv);
  j.tokens_per_example = 1304;
  j.micro_batch = micro_batch;
  j.global_batch = micro_batch;
  j.recompute = Recompute::none;
  j.kernels = ActivationKernels::eager;
  return j;
}

TEST(FinetuneMemory, LitGptTableVerdicts) {
  for (const auto& [model, micro_batch, ran] : std::vector<std::tuple<std::string, std::int64_t, bool>>{
           {"Llama-2-7B", 1, true}, {"Llama-2-7B", 2, true}, {"Llama-2-7B", 4, false}, {"Llama-2-13B", 1, true}, {"Llama-2-13B", 2, false}}) {
    const FinetuneEstimate e = estimate_finetune(lit_gpt_lora(model, micro_batch));
    EXPECT_EQ(e.fits, ran) << model << " micro-batch " << micro_batch << ": " << e.memory.total / 1e9 << " GB";
  }
  // The fused list keeps less: it calls the 7B's micro-batch 4 a fit, the verdict the table refutes.
  FinetuneJob fused = lit_gpt_lora("Llama-2-7B", 4);
  fused.kernels = ActivationKernels::fused;
  EXPECT_TRUE(estimate_finetune(fused).fits);
}

// The eager list (training_memory.cpp) by hand, in 2-byte elements a token keeps in one layer, for
// Llama 2 7B (d = 4096, FFN 11,008, 32 heads of 128, MHA): two norms 4d; the fused QKV buffer 3d,
// roped q and k and the output 3d; the log-sum-exp 2 x 32; SwiGLU 3 x 11,008; LoRA on q and v:
// dropout output and mask 1.5d, zero-pad source 2d. QLoRA adds the Linear inputs bitsandbytes
// keeps (2d + 11,008); full fine-tuning keeps those and each norm's x·rsqrt (2d), and no adapters.
TEST(FinetuneMemory, EagerActivationsByHand) {
  const double d = 4096, w = 11008, layers = 32, tokens = 1304, vocab = 32000;
  auto activations = [&](FinetuneMethod method) {
    FinetuneJob j = lit_gpt_lora("Llama-2-7B", 1);
    j.adapters.method = method;
    return estimate_finetune(j).memory.activations;
  };
  auto expected = [&](double per_layer) { return tokens * (layers * per_layer * 2.0 + vocab * 2.0); };
  const double lora = 4 * d + 6 * d + 64 + 3 * w + 1.5 * d + 2 * d;
  EXPECT_NEAR(activations(FinetuneMethod::lora) / expected(lora), 1.0, 1e-12);
  EXPECT_NEAR(activations(FinetuneMethod::qlora) / expected(lora + 2 * d + w), 1.0, 1e-12);
  EXPECT_NEAR(activations(FinetuneMethod::full) / expected(6 * d + 6 * d + 64 + 3 * w + 2 * d + w), 1.0, 1e-12);
  // Grouped-query attention (Llama 3.1 8B: 32 query heads, 8 KV heads of 128): k and v are expanded
  // to every query head and copied, so q, k, v and the output each keep the query width.
  FinetuneJob gqa = lit_gpt_lora("Llama-2-7B", 1);
  gqa.model = frugal::preset_model("llama-3.1-8b");
  gqa.adapters.method = FinetuneMethod::full;
  const frugal::ModelConfig& m = gqa.model;
  const double d8 = static_cast<double>(m.hidden_size), w8 = static_cast<double>(m.ffn_intermediate_size);
  const double per_layer = 6 * d8 + 4 * 32 * 128 + 64 + 3 * w8 + 2 * d8 + w8;
  EXPECT_NEAR(estimate_finetune(gqa).memory.activations /
                  (tokens * (static_cast<double>(m.num_layers) * per_layer * 2.0 + static_cast<double>(m.vocab_size) * 2.0)),
              1.0, 1e-12);
}

TEST(Finetune, WhatWouldFitIsTrue) {
  const FinetuneEstimate e = estimate_finetune(job(frugal::preset_model("llama-3.1-70b"), "H100", FinetuneMethod::full));
  ASSERT_FALSE(e.fits);
  ASSERT_FALSE(e.suggestions.empty());
  bool qlora = false, more = false;
  for (const std::string& s : e.suggestions) {
    qlora |= s.find("QLoRA") != std::string::npos;
    more |= s.find("H100 GPUs fit") != std::string::npos;
  }
  EXPECT_TRUE(qlora);
  EXPECT_TRUE(more);
  FinetuneJob q = job(frugal::preset_model("llama-3.1-70b"), "H100", FinetuneMethod::qlora);
  EXPECT_TRUE(estimate_finetune(q).fits);
}

TEST(Finetune, HoursAreStepsTimesStepTime) {
  FinetuneJob j = job(corpus_model("LLaMA-7B"), "A100", FinetuneMethod::lora);
  j.examples = 5000;
  j.tokens_per_example = 512;
  j.epochs = 3;
  j.gpus = 2;
  const FinetuneEstimate e = estimate_finetune(j);
  ASSERT_TRUE(e.fits);
  EXPECT_DOUBLE_EQ(e.tokens, 5000.0 * 512 * 3);
  EXPECT_DOUBLE_EQ(e.steps, e.tokens / (16.0 * 512));
  EXPECT_NEAR(e.hours, e.steps * e.step.step_s / 3600.0, 1e-12);
  EXPECT_DOUBLE_EQ(e.gpu_hours, 2 * e.hours);
  EXPECT_DOUBLE_EQ(e.cost_usd, 2.0 * e.gpu_hours);
  EXPECT_GE(e.max_micro_batch, e.run.parallel.micro_batch);
  // One more sequence than the largest micro-batch does not fit.
  TrainingRun bigger = e.run;
  bigger.parallel.micro_batch = e.max_micro_batch + 1;
  EXPECT_FALSE(memory_per_gpu(bigger, bigger.stages.front(), default_efficiency()).fits());
}

TEST(Finetune, RefusesABatchThatDoesNotSplitOverTheGpus) {
  FinetuneJob j = job(corpus_model("LLaMA-7B"), "A100", FinetuneMethod::lora);
  j.gpus = 3;
  try {
    (void)estimate_finetune(j);
    FAIL() << "accepted 16 sequences over 3 GPUs";
  } catch (const frugal::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--global-batch"), std::string::npos) << e.what();
  }
}

TEST(FinetuneCli, JsonHasTheIssuesKeys) {
  const ProgramRun r = frugal_sim("finetune --preset llama-3.1-8b --method qlora --examples 2000 --gpu A100 --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"gpu_hours", "hours", "cost_usd", "memory_per_gpu_bytes", "fits", "max_micro_batch"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_TRUE(j["fits"].get<bool>());
  EXPECT_GT(j["gpu_hours"].get<double>(), 0.0);
  EXPECT_EQ(j["kernels"], "fused");
  // --kernels eager: the activations plain PyTorch keeps, at the same micro-batch and recompute.
  const std::string pinned = "finetune --preset llama-3.1-8b --method lora --micro-batch 1 --global-batch 1 --recompute none --format json";
  const ProgramRun fused = frugal_sim(pinned), eager = frugal_sim(pinned + " --kernels eager");
  ASSERT_EQ(eager.status, 0) << eager.err;
  const auto f = nlohmann::json::parse(fused.out), e = nlohmann::json::parse(eager.out);
  EXPECT_EQ(e["kernels"], "eager");
  EXPECT_GT(e["memory"]["activations"].get<double>(), f["memory"]["activations"].get<double>());
  EXPECT_DOUBLE_EQ(e["step_time_s"].get<double>(), f["step_time_s"].get<double>());  // memory only
}

TEST(FinetuneCli, NotFittingIsAnAnswerNotAnError) {
  const ProgramRun r = frugal_sim("finetune --preset llama-3.1-70b --method full --gpu H100 --gpus 1 --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j["fits"].get<bool>());
  EXPECT_FALSE(j["suggestions"].empty());
  EXPECT_TRUE(j["cost_usd"].is_null());  // a run that cannot start has no cost
}

TEST(FinetuneCli, BadInputIsOneLine) {
  expect_refused(frugal_sim("finetune --gpus 3"), "--global-batch");
  expect_refused(frugal_sim("finetune --rank 0"), "--rank");
  expect_refused(frugal_sim("finetune --gpu Z80"), "--gpu");
  expect_refused(frugal_sim("finetune --micro-batch 3"), "--micro-batch");
  expect_refused(frugal_sim("finetune --epochs -1"), "--epochs");
  expect_refused(frugal_sim("finetune --method sgd"), "--method");
  expect_refused(frugal_sim("finetune --kernels jit"), "--kernels");
}

}  // namespace
