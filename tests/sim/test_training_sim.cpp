// The training simulator as a whole: memory, fits, the step's parts, MFU, the planner, and the
// validation targets.
#include <gtest/gtest.h>

#include "frugal/sim/model_accountant.hpp"
#include "frugal/sim/planner.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/run_overrides.hpp"
#include "frugal/sim/training_sim.hpp"
#include "frugal/sim/validation.hpp"

namespace frugal::sim {
namespace {

TrainingRun preset_run(const std::string& name) { return training_run_from_document(find_preset(name).document); }

// Llama-3.1-8B on 8 GPUs, data-parallel only: parameters P on every GPU.
TrainingRun small_dense_run(int zero_stage) {
  TrainingRun run = training_run_from_document(nlohmann::json{{"model", find_preset("llama-3.1-8b").document["model"]}});
  run.gpu = find_gpu("H100", "gpu");
  run.gpus = 8;
  run.parallel = Parallelism{};
  run.parallel.zero_stage = zero_stage;
  run.stages = {TrainingStage{"pre-training", 1e9, 4096, 64, std::nullopt}};
  return run;
}

TEST(TrainingMemory, ZeroStagesShardWhatTheySay) {
  const double p = account_model(preset_model("llama-3.1-8b")).total_params_with_mtp;
  const EfficiencyConstants c;
  auto mem = [&](int zero) {
    const TrainingRun run = small_dense_run(zero);
    return memory_per_gpu(run, run.stages.front(), c);
  };
  // BF16 weights (2 B), FP32 gradients (4 B), FP32 master + two FP32 moments (12 B) per parameter.
  EXPECT_NEAR(mem(0).weights, 2 * p, 1);
  EXPECT_NEAR(mem(0).gradients, 4 * p, 1);
  EXPECT_NEAR(mem(0).optimizer_states, 12 * p, 1);
  EXPECT_NEAR(mem(1).optimizer_states, 12 * p / 8, 1);  // ZeRO-1: optimizer states over DP = 8
  EXPECT_NEAR(mem(1).gradients, 4 * p, 1);
  EXPECT_NEAR(mem(2).gradients, 4 * p / 8, 1);  // ZeRO-2: gradients too
  EXPECT_NEAR(mem(2).weights, 2 * p, 1);
  EXPECT_NEAR(mem(3).weights, 2 * p / 8, 1);  // ZeRO-3: weights too
}

TEST(TrainingMemory, FitsFlipsAtTheCapacityThatHoldsIt) {
  TrainingRun run = small_dense_run(1);
  const EfficiencyConstants c;
  const MemoryBreakdown m = memory_per_gpu(run, run.stages.front(), c);
  const double needed = (m.total - m.reserve) / (1.0 - c.memory_reserve_fraction);  // capacity where it just fits
  run.gpu.hbm_bytes = needed * 1.001;
  EXPECT_TRUE(memory_per_gpu(run, run.stages.front(), c).fits());
  run.gpu.hbm_bytes = needed * 0.999;
  const MemoryBreakdown short_of = memory_per_gpu(run, run.stages.front(), c);
  EXPECT_FALSE(short_of.fits());
  EXPECT_NEAR(short_of.shortfall(), short_of.total - run.gpu.hbm_bytes, 1.0);
}

TEST(TrainingSim, StepPartsAddUpAndMfuIsDefinedAsDocumented) {
  const TrainingEstimate e = simulate_training(preset_run("deepseek-v3"));
  for (const StageEstimate& s : e.stages) {
    const StepBreakdown& b = s.step;
    EXPECT_NEAR(b.step_s, b.compute_s + b.exposed_comm_s + b.bubble_s + b.optimizer_s, 1e-9 * b.step_s) << s.stage.name;
    const double tokens_per_step = static_cast<double>(s.stage.global_batch * s.stage.seq_len);
    EXPECT_NEAR(s.tokens_per_s_per_gpu, tokens_per_step / b.step_s / 2048, 1e-9);
    EXPECT_NEAR(s.mfu_bf16, s.tokens_per_s_per_gpu * s.model_flops_per_token / 989.5e12, 1e-12);
    EXPECT_NEAR(s.mfu_fp8, s.mfu_bf16 * 989.5 / 1979, 1e-12);
    EXPECT_NEAR(s.gpu_hours, s.steps * b.step_s * 2048 / 3600, 1e-6 * s.gpu_hours);
    EXPECT_NEAR(s.cost_usd, 2.0 * s.gpu_hours, 1e-6);
  }
}

TEST(TrainingSim, DualPipeHidesTheAllToAllThat1F1BExposes) {
  TrainingRun run = preset_run("deepseek-v3");
  run.stages.resize(1);
  const StepBreakdown dual = simulate_training(run).stages.front().step;
  RunOverrides o;
  o.schedule = PipelineSchedule::one_f_one_b;
  apply_overrides(run, o);
  const StepBreakdown one = simulate_training(run).stages.front().step;
  EXPECT_GT(one.exposed_comm_s, dual.exposed_comm_s);
  EXPECT_GT(one.bubble_s, dual.bubble_s);
}

TEST(TrainingSim, PinnedMfuIsAssumedNotPredicted) {
  TrainingRun run = preset_run("deepseek-v3");
  run.pinned_mfu = 0.5;
  const TrainingEstimate e = simulate_training(run);
  EXPECT_TRUE(e.mfu_assumed);
  for (const StageEstimate& s : e.stages) EXPECT_NEAR(s.mfu_bf16, 0.5, 1e-12);
}

TEST(TrainingSim, MoreGpusShortenTheRunButNotTheGpuHoursMuch) {
  TrainingRun run = preset_run("deepseek-v3");
  run.stages.resize(1);
  const TrainingEstimate base = simulate_training(run);
  RunOverrides o;
  o.gpus = 4096;
  apply_overrides(run, o);
  const TrainingEstimate twice = simulate_training(run);
  EXPECT_EQ(twice.stages.front().parallel.dp, 256);
  EXPECT_NEAR(twice.days / base.days, 0.5, 0.1);
  EXPECT_NEAR(twice.gpu_hours / base.gpu_hours, 1.0, 0.2);
}

TEST(TrainingSim, Fp8HelpsOnlyTheGemmShare) {
  TrainingRun run = preset_run("deepseek-v3");
  run.stages.resize(1);
  const double fp8 = simulate_training(run).gpu_hours;
  run.precision = PrecisionRecipe::bf16;
  const double bf16 = simulate_training(run).gpu_hours;
  EXPECT_GT(bf16 / fp8, 1.05);
  EXPECT_LT(bf16 / fp8, 2.0);
}

// Llama-3.1-70B on one node, tensor-parallel 8 and nothing else: no bubble, no DP traffic, so the
// step differs between the two TP modes only by the TP traffic it exposes.
TrainingRun tensor_parallel_run(bool overlap) {
  TrainingRun run = small_dense_run(1);
  run.model = preset_model("llama-3.1-70b");
  run.parallel.tp = 8;
  run.parallel.dp = 1;
  run.parallel.tp_comm_overlap = overlap;
  run.stages = {TrainingStage{"pre-training", 1e9, 4096, 8, std::nullopt}};
  return run;
}

TEST(TrainingSim, TpOverlapHidesAllButTheFirstChunkBehindTheGemms) {
  const StepBreakdown off = simulate_training(tensor_parallel_run(false)).stages.front().step;
  const StepBreakdown on = simulate_training(tensor_parallel_run(true)).stages.front().step;
  // A 70B layer's GEMMs on 4,096 tokens outlast its activations' TP traffic, so pipelining in
  // tp = 8 chunks exposes the first chunk, 1/8 of the traffic, and of the 7/8 hidden the
  // overlap's shortfall s still costs the step: the overlap saves (1 - s) x 7/8 of it.
  EXPECT_DOUBLE_EQ(on.tp_comm_s, off.tp_comm_s);  // the report keeps the traffic before overlap
  EXPECT_GT(off.tp_comm_s, 0.0);
  const double s = EfficiencyConstants{}.overlap_shortfall;
  EXPECT_NEAR(off.step_s - on.step_s, off.tp_comm_s * (1.0 - s) * 7.0 / 8.0, 1e-9 * off.step_s);
}

TEST(TrainingSim, HopperAttentionRunsAtItsMeasuredEfficiency) {
  TrainingRun run = small_dense_run(1);
  const double fa2 = simulate_training(run).stages.front().step.attention_s;
  run.attention_kernel = AttentionKernel::hopper_fused;
  const double hopper = simulate_training(run).stages.front().step.attention_s;
  // Forward F at 35% vs 53% of peak, backward 2F at 25% vs 51% (efficiency.hpp).
  const EfficiencyConstants c;
  const double ratio = (1 / c.attention_fwd_hopper + 2 / c.attention_bwd_hopper) / (1 / c.attention_fwd + 2 / c.attention_bwd);
  EXPECT_NEAR(hopper / fa2, ratio, 1e-12);
  EXPECT_NEAR(ratio, (1 / 0.53 + 2 / 0.51) / (1 / 0.35 + 2 / 0.25), 1e-12);
}

// FlashAttention-2 is "around 2x faster than FlashAttention" (FlashAttention-2 paper §4.1): the
// same attention FLOPs take twice as long forward and backward, and nothing else changes.
TEST(TrainingSim, FlashAttentionOneTakesTwiceFlashAttentionTwosTime) {
  TrainingRun run = small_dense_run(1);
  const StepBreakdown fa2 = simulate_training(run).stages.front().step;
  run.attention_kernel = AttentionKernel::flash_attention_1;
  const StepBreakdown fa1 = simulate_training(run).stages.front().step;
  EXPECT_GT(fa2.attention_s, 0.0);
  EXPECT_NEAR(fa1.attention_s, 2.0 * fa2.attention_s, 1e-12 * fa1.attention_s);
  EXPECT_NEAR(fa1.gemm_s, fa2.gemm_s, 1e-15);
  EXPECT_EQ(attention_kernel_named("flash-attention-1"), AttentionKernel::flash_attention_1);
  EXPECT_EQ(std::string(to_string(AttentionKernel::flash_attention_1)), "flash-attention-1");
  EXPECT_FALSE(attention_kernel_named("flash-attention-3").has_value());
}

// A benchmark that forces the router to balance (Megatron-Bridge's MoE rows) is priced with no
// load imbalance: exactly the learned-routing run with moe_load_imbalance = 1.
TEST(TrainingSim, ForcedBalancedRoutingIsLearnedRoutingWithoutImbalance) {
  TrainingRun run = preset_run("deepseek-v3");
  EfficiencyConstants even;
  even.moe_load_imbalance = 1.0;
  const TrainingEstimate learned_even = simulate_training(run, even);
  const TrainingEstimate learned = simulate_training(run);
  run.expert_routing = ExpertRouting::forced_balance;
  const TrainingEstimate forced = simulate_training(run);
  EXPECT_DOUBLE_EQ(forced.stages.front().step.step_s, learned_even.stages.front().step.step_s);
  EXPECT_DOUBLE_EQ(forced.stages.front().memory.total, learned_even.stages.front().memory.total);
  EXPECT_LT(forced.stages.front().step.gemm_s, learned.stages.front().step.gemm_s);
}

// An all-to-all lasts as long as its busiest GPU's share: with learned routing that GPU receives
// moe_load_imbalance times the mean, so (launch latency aside) the expert traffic is that many
// times the forced-balance run's.
TEST(TrainingSim, AllToAllLastsAsLongAsTheBusiestGpusShare) {
  TrainingRun run = preset_run("deepseek-v3");
  run.parallel.schedule = PipelineSchedule::one_f_one_b;
  EfficiencyConstants c;
  c.collective_latency_s = 0.0;
  const double learned = simulate_training(run, c).stages.front().step.ep_comm_s;
  run.expert_routing = ExpertRouting::forced_balance;
  const double forced = simulate_training(run, c).stages.front().step.ep_comm_s;
  EXPECT_GT(forced, 0.0);
  EXPECT_NEAR(learned / forced, c.moe_load_imbalance, 1e-12);
}

// Recomputing the MoE blocks (Megatron-Core's --recompute-modules layernorm moe) replays each
// block's forward in backward: with BF16 dispatch the forward's two all-to-all passes run again
// beside backward's two, so the expert traffic is 1.5 times selective recomputation's; the
// recomputed work grows, and the blocks keep only their inputs, so activations shrink, though not
// to full recomputation's (attention keeps its own).
TEST(TrainingSim, RecomputingTheMoeBlocksReplaysTheirForwardAndAllToAll) {
  TrainingRun run = preset_run("deepseek-v3");
  run.parallel.schedule = PipelineSchedule::one_f_one_b;
  run.precision = PrecisionRecipe::bf16;
  auto with = [&](Recompute r) {
    run.recompute = r;
    return simulate_training(run).stages.front();
  };
  const auto selective = with(Recompute::selective), moe = with(Recompute::moe), full = with(Recompute::full);
  EXPECT_NEAR(moe.step.ep_comm_s / selective.step.ep_comm_s, 1.5, 1e-12);
  EXPECT_GT(moe.step.recompute_s, selective.step.recompute_s);
  EXPECT_DOUBLE_EQ(moe.step.gemm_s, selective.step.gemm_s);
  EXPECT_LT(moe.memory.activations, selective.memory.activations);
  EXPECT_GT(moe.memory.activations, full.memory.activations);
}

// V3's EP 64 over 8 nodes: a plain all-to-all sends 7 of a token's 8 copies over InfiniBand where
// DeepEP sends 3.15 (communication.hpp), so its expert traffic, InfiniBand-bound, costs more.
TEST(TrainingSim, PlainAllToAllAcrossNodesCostsMoreThanDeepEp) {
  TrainingRun run = preset_run("deepseek-v3");
  run.parallel.schedule = PipelineSchedule::one_f_one_b;
  const double deepep = simulate_training(run).stages.front().step.ep_comm_s;
  run.parallel.ep_dispatcher = TokenDispatcher::all_to_all;
  const double plain = simulate_training(run).stages.front().step.ep_comm_s;
  EXPECT_GT(plain, 1.5 * deepep);
}

// Megatron-Core's 1F1B expert-parallel overlap: one micro-batch's all-to-all runs beside another's
// computation. With no shortfall, and all-to-all shorter than the computation, a micro-batch's
// forward and backward lose exactly their all-to-all; with a shortfall of 1 the overlap saves nothing.
TEST(TrainingSim, EpOverlapHidesTheAllToAllBehindTheOtherMicroBatch) {
  TrainingRun run = preset_run("deepseek-v3");
  run.parallel.schedule = PipelineSchedule::one_f_one_b;
  EfficiencyConstants none, full;
  none.overlap_shortfall = 0.0;
  full.overlap_shortfall = 1.0;
  const StepBreakdown off = simulate_training(run, none).stages.front().step;
  run.parallel.ep_comm_overlap = true;
  const StepBreakdown on = simulate_training(run, none).stages.front().step;
  const StepBreakdown charged = simulate_training(run, full).stages.front().step;
  const double ep_one = off.ep_comm_s / static_cast<double>(off.micro_batches);
  ASSERT_GT(ep_one, 0.0);
  EXPECT_NEAR((off.forward_s + off.backward_s) - (on.forward_s + on.backward_s), ep_one, 1e-9 * off.step_s);
  EXPECT_NEAR(charged.forward_s + charged.backward_s, off.forward_s + off.backward_s, 1e-9 * off.step_s);
}

TEST(TrainingSim, Zero3GathersTheParametersForEveryMicroBatch) {
  // ZeRO-1: one reduce-scatter and one all-gather per step. ZeRO-3: per micro-batch an all-gather
  // forward, another backward and a reduce-scatter: 3 m passes against 2.
  const StepBreakdown z1 = simulate_training(small_dense_run(1)).stages.front().step;
  const StepBreakdown z3 = simulate_training(small_dense_run(3)).stages.front().step;
  ASSERT_EQ(z3.micro_batches, 8);  // 64 sequences over DP 8, one per micro-batch
  EXPECT_NEAR(z3.dp_comm_s / z1.dp_comm_s, 1.5 * 8, 1e-9);
}

TEST(TrainingSim, Fp32GradientReductionMovesTwiceTheGradientBytes) {
  // Per parameter, by hand. ZeRO-1: a BF16 gradient reduce-scatter (2 B) and a BF16 all-gather of
  // the updated weights (2 B); with FP32 gradients (Megatron-LM's default for BF16 runs) 4 B + 2 B,
  // so 1.5x. ZeRO-3, per micro-batch: two BF16 gathers (2 + 2 B) and the gradients, 2 B or 4 B: 8/6.
  for (const auto& [zero, ratio] : {std::pair{1, 6.0 / 4.0}, std::pair{3, 8.0 / 6.0}}) {
    TrainingRun bf16 = small_dense_run(zero);
    TrainingRun fp32 = bf16;
    fp32.gradient_reduce = GradientReduce::fp32;
    const StepBreakdown a = simulate_training(bf16).stages.front().step;
    const StepBreakdown b = simulate_training(fp32).stages.front().step;
    ASSERT_GT(a.dp_comm_s, 0.0);
    EXPECT_NEAR(b.dp_comm_s / a.dp_comm_s, ratio, 1e-12) << "ZeRO-" << zero;
    EXPECT_NEAR(b.compute_s, a.compute_s, 1e-12 * a.compute_s);  // only the wire changes
  }
  // The config key and the command line's override set it; anything else is refused by name.
  nlohmann::json doc = {{"model", find_preset("llama-3.1-8b").document["model"]}, {"training", {{"gradient_reduce", "fp32"}}}};
  EXPECT_EQ(training_run_from_document(doc).gradient_reduce, GradientReduce::fp32);
  doc["training"]["gradient_reduce"] = "fp16";
  try {
    training_run_from_document(doc);
    FAIL() << "fp16 accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("training.gradient_reduce"), std::string::npos) << e.what();
  }
  TrainingRun run = small_dense_run(1);
  apply_overrides(run, overrides_from_json({{"gradient_reduce", "fp32"}}, "config"));
  EXPECT_EQ(run.gradient_reduce, GradientReduce::fp32);
}

// Llama-3.1-8B (32 layers, a 128K-column output layer) on 8 GPUs with `pp` pipeline stages.
TrainingRun pipelined_run(std::int64_t pp, const std::string& layout, std::int64_t layers = 32) {
  nlohmann::json model = find_preset("llama-3.1-8b").document["model"];
  model["num_layers"] = layers;
  TrainingRun run = training_run_from_document(nlohmann::json{{"model", model}});
  run.gpu = find_gpu("H100", "gpu");
  run.gpus = 8;
  run.parallel = Parallelism{};
  run.parallel.pp = pp;
  run.parallel.pipeline_layout = layout;
  run.stages = {TrainingStage{"pre-training", 1e9, 4096, 64, std::nullopt}};
  return run;
}

double compute_per_micro_batch(const TrainingRun& run) {
  const StepBreakdown s = simulate_training(run).stages.front().step;
  return s.compute_s / static_cast<double>(s.micro_batches);
}

TEST(TrainingSim, TheOutputLayersRankSetsThePipelinesPace) {
  // The layers L divide over the ranks; the head H stays whole on the last, which is the busiest:
  // per micro-batch, pp = 1 computes L + H, pp = 2 L/2 + H, pp = 4 L/4 + H. So C1 - 2 C2 = -H and
  // C1 - 4 C4 = -3H (dividing the whole model evenly, as before, gave 0 for both).
  const double c1 = compute_per_micro_batch(pipelined_run(1, "even"));
  const double c2 = compute_per_micro_batch(pipelined_run(2, "even"));
  const double c4 = compute_per_micro_batch(pipelined_run(4, "even"));
  const double head = 2 * c2 - c1;
  EXPECT_GT(head, 0.02 * c1);  // a 128,256 x 4,096 output layer and its loss: a few percent of the model
  EXPECT_NEAR(4 * c4 - c1, 3 * head, 1e-9 * c1);
  // The keywords are the layouts they name: Megatron's even split of 32 layers over 4 ranks, and the
  // ends taking a layer's place each with 30 layers ((30 + 2) / 4 = 8 units a rank).
  EXPECT_NEAR(simulate_training(pipelined_run(4, "even")).step_time_s,
              simulate_training(pipelined_run(4, "Et*8|t*8|t*8|t*8L")).step_time_s, 1e-12);
  EXPECT_NEAR(simulate_training(pipelined_run(4, "ends-as-layers", 30)).step_time_s,
              simulate_training(pipelined_run(4, "Et*7|t*8|t*8|t*7L", 30)).step_time_s, 1e-12);
  // Giving the head's rank a layer fewer shortens the step when the head is worth more than a layer.
  EXPECT_LT(simulate_training(pipelined_run(4, "ends-as-layers", 30)).step_time_s,
            simulate_training(pipelined_run(4, "even", 30)).step_time_s);
}

TEST(TrainingSim, APipelineLayoutThatDoesNotPlaceTheModelIsRefused) {
  nlohmann::json doc = {{"model", find_preset("llama-3.1-8b").document["model"]},
                        {"cluster", {{"gpu", "H100"}, {"gpus", 8}}},
                        {"parallelism", {{"pp", 4}, {"pipeline_layout", "Et*8|t*8|t*8|t*7L"}}}};
  try {
    validate_training_run(training_run_from_document(doc));
    FAIL() << "31 layers accepted for a 32-layer model";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("parallelism.pipeline_layout"), std::string::npos) << e.what();
  }
  doc["parallelism"]["pipeline_layout"] = "Et*8|t*8|(t*8|t*8L";
  EXPECT_THROW(training_run_from_document(doc), ConfigError);
}

TEST(TrainingSim, Fp8CastsCostAPassThroughHbmPerGemmInput) {
  // Llama-3.1-8B, one micro-batch of 4,096 tokens per GPU, TP 1: per layer the FP8 GEMMs read
  // inputs [T x d] (QKV, up) and [T x h*dh] (out-proj) and [T x I] (down), and write outputs of
  // (h + 2 kv) dh, d, 2I and d columns. Forward casts 3 bytes an input element; backward 3 bytes an
  // output-gradient element and 2 an input element (V3 report §3.5.2).
  TrainingRun run = small_dense_run(1);
  run.stages = {TrainingStage{"pre-training", 1e9, 4096, 8, std::nullopt}};  // one micro-batch per GPU
  run.precision = PrecisionRecipe::bf16;
  const double bf16 = simulate_training(run).stages.front().step.memory_bound_s;
  run.precision = PrecisionRecipe::fp8;
  const double fp8 = simulate_training(run).stages.front().step.memory_bound_s;
  const ModelConfig& m = run.model;
  const double t = 4096, d = m.hidden_size, i = m.ffn_intermediate_size;
  const double q = m.attention.num_heads * m.attention.head_dim, qkv = (m.attention.num_heads + 2 * m.attention.num_kv_heads) * m.attention.head_dim;
  const double inputs = t * (d + q + d + i), outputs = t * (qkv + d + 2 * i + d);
  const double per_layer = (3 * inputs + 3 * outputs + 2 * inputs) / (run.gpu.hbm_bandwidth * EfficiencyConstants{}.hbm);
  EXPECT_NEAR(fp8 - bf16, m.num_layers * per_layer, 1e-9 * fp8);
}

TEST(Planner, PlanMultipliesToTheGpuCountAndFits) {
  for (std::int64_t gpus : {64, 512, 2048}) {
    TrainingRun run = preset_run("deepseek-v2-lite");
    run.gpus = gpus;
    run.gpu = find_gpu("H100", "gpu");
    run.stages = {TrainingStage{"pre-training", 1e12, 4096, 4608 / 9 * 8, std::nullopt}};
    const Plan plan = plan_parallelism(run, default_efficiency());
    const Parallelism& p = plan.parallel;
    EXPECT_EQ(p.dp * p.tp * p.pp, gpus);
    EXPECT_EQ(64 % p.ep, 0);
    EXPECT_EQ((p.dp * p.tp) % p.ep, 0);
    EXPECT_EQ(run.stages.front().global_batch % (p.dp * p.micro_batch), 0);
    EXPECT_TRUE(plan.fits);
    EXPECT_GT(plan.candidates, 1);
  }
}

TEST(Planner, ChosenPlanIsTheCheapestItTried) {
  TrainingRun run = preset_run("llama-3.1-8b");
  run.gpus = 64;
  run.gpu = find_gpu("H100", "gpu");
  run.stages = {TrainingStage{"pre-training", 1e11, 4096, 512, std::nullopt}};
  const Plan best = plan_parallelism(run, default_efficiency());
  // Any other valid, fitting plan costs at least as much.
  run.parallel = Parallelism{};
  run.parallel.tp = 8;
  run.parallel.pp = 1;
  const TrainingEstimate other = simulate_training(run);
  ASSERT_TRUE(other.fits);
  EXPECT_LE(best.gpu_hours, other.gpu_hours * (1 + 1e-9));
}

// The accuracy targets of the training simulator (issue: training cost simulator).
TEST(Validation, TargetsHold) {
  const std::vector<ValidationRow> rows = validate_published_runs();
  ASSERT_GE(rows.size(), 9u);
  EXPECT_LE(median_abs_rel_error(rows), 0.15);
  for (const ValidationRow& r : rows) {
    if (r.run.name == "DeepSeek-V3, all stages") {
      EXPECT_LE(std::abs(r.rel_error), 0.10);
    }
    if (r.run.name == "DeepSeek-V3 pre-training MFU") {
      EXPECT_LE(std::abs(r.predicted - r.run.published), 0.05);
    }
    EXPECT_FALSE(r.run.source.empty());
  }
}

// A published run states its own layout where the preset's differs: Llama 3.1 405B's Table 4 runs
// without recomputation, with FSDP as ZeRO-2 and V = 8 (published_runs.json).
TEST(Validation, PublishedRunsCarryTheirOwnLayout) {
  const TrainingRun run = published_run_config(find_published_run("Llama 3.1 405B MFU (16,384 GPUs)"));
  EXPECT_EQ(run.recompute, Recompute::none);
  EXPECT_EQ(run.parallel.zero_stage, 2);
  EXPECT_EQ(run.parallel.virtual_stages, 8);
  const TrainingRun preset = preset_run("llama-3.1-405b");
  EXPECT_EQ(preset.recompute, Recompute::selective);
  EXPECT_THROW(overrides_from_json(nlohmann::json::parse(R"({"zero_stage": 4})"), "config"), ConfigError);
  EXPECT_THROW(overrides_from_json(nlohmann::json::parse(R"({"recompute": "some"})"), "config"), ConfigError);
  EXPECT_THROW(overrides_from_json(nlohmann::json::parse(R"({"virtual_stages": 0})"), "config"), ConfigError);
}

TEST(Validation, EveryRequiredRunIsListed) {
  std::vector<std::string> names;
  for (const PublishedRun& r : published_runs()) names.push_back(r.name);
  for (const char* n : {"DeepSeek-V3, all stages", "DeepSeek-V3 pre-training", "DeepSeek-V3 context extension",
                        "DeepSeek-V2 per trillion tokens", "DeepSeek 67B per trillion tokens", "Llama 3.1 405B",
                        "Llama 3.1 70B", "Llama 3.1 8B", "GPT-3 175B"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
}

}  // namespace
}  // namespace frugal::sim
