// A training run to price: model, cluster, precision recipe, parallelism and stages. Read from the
// "cluster", "training", "parallelism" and "hardware" sections of a config document (the same
// file the model comes from), then adjusted by command-line flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/config/model_config.hpp"
#include "frugal/sim/communication.hpp"
#include "frugal/sim/hardware.hpp"

namespace frugal {
class JsonObjectReader;
}

namespace frugal::sim {

// bf16: every GEMM in BF16. fp8: DeepSeek-V3's recipe (V3 report §3.3): Linear-layer GEMMs (Fprop,
// Dgrad, Wgrad) in FP8 E4M3 with fine-grained scales; embedding, output head, gating, norms and
// attention stay in BF16/FP32; MoE dispatch in FP8, combine in BF16.
enum class PrecisionRecipe { bf16, fp8 };
// AdamW moments in FP32, or in BF16 as V3 (§3.3.3). Master weights and gradients stay FP32.
enum class OptimizerStates { fp32, bf16 };
// none: keep every activation; selective: recompute norms, activations and MLA up-projections
// (V3 report §3.2.3); full: keep only each layer's input and recompute the layer; moe: selective,
// and each MoE block (router, dispatch, experts, combine) kept as its input and replayed in
// backward (Megatron-Core's --recompute-modules layernorm moe).
enum class Recompute { none, selective, full, moe };
// Whether norms, activations and MLA up-projections are recomputed (selective, and moe on top of it).
inline bool recomputes_selectively(Recompute r) { return r == Recompute::selective || r == Recompute::moe; }

// The attention kernel family, which sets attention_fwd/bwd efficiency (efficiency.hpp):
// FlashAttention-1 (flash-attn 1.x, or its Triton port; the runs of early-to-mid 2023),
// FlashAttention-2 (the 2023-24 runs, DeepSeek-V3's validated default) or the Hopper-native
// kernels (cuDNN fused attention, which Transformer Engine runs on Hopper, or FlashAttention-3).
enum class AttentionKernel { flash_attention_1, flash_attention_2, hopper_fused };
// The names the configs and the command line use, in the order of the enum.
const std::vector<std::string>& attention_kernel_names();
// The kernel of a name from attention_kernel_names(); nullopt for any other.
std::optional<AttentionKernel> attention_kernel_named(std::string_view name);
// What a layer keeps for backward. fused: Megatron-style kernels (Transformer Engine, fused
// norms and activations) keep the GEMM inputs and a few statistics (training_memory.cpp). eager:
// plain PyTorch modules, each op keeping what autograd saves for it, as Lit-GPT writes a Llama
// block (hand-written RMSNorm, RoPE and SwiGLU, FlashAttention through SDPA, LoRA adapters with
// dropout); the list is in training_memory.cpp, measured op by op with PyTorch 2.1's
// saved_tensors_hooks (scripts/measure_eager_activations.py). Memory only: the step time is the same.
enum class ActivationKernels { fused, eager };
// The names the configs and the command line use, in the order of the enum; the kernels of a name.
const std::vector<std::string>& activation_kernels_names();
std::optional<ActivationKernels> activation_kernels_named(std::string_view name);
enum class PipelineSchedule { one_f_one_b, interleaved, zero_bubble, dualpipe };
// How tokens reach the experts. learned: the router's own choice, the busiest GPU carrying
// moe_load_imbalance times the mean (efficiency.hpp). forced_balance: benchmarks that override the
// router to spread tokens evenly (Megatron-Core's --moe-router-force-load-balancing), imbalance 1.
enum class ExpertRouting { learned, forced_balance };
// The precision of the gradients a data-parallel reduce-scatter (or all-reduce) moves. bf16: 2 bytes
// a gradient. fp32: 4 bytes, what Megatron-LM does for every BF16 run unless told otherwise
// ("# bfloat16 requires gradient accumulation and all-reduce to be done in fp32", NVIDIA/Megatron-LM
// megatron/training/arguments.py @000c4ac2; off only with --grad-reduce-in-bf16), and what
// Megatron-Bridge's MixedPrecisionConfig and torchtitan's FSDP2 default to.
enum class GradientReduce { bf16, fp32 };

// What a run trains. full: every weight (pre-training, full fine-tuning). lora: low-rank adapters
// W + BA on frozen BF16 weights (Hu et al. 2021, "LoRA", §4.1). qlora: the same adapters on a base
// stored in 4-bit NormalFloat with double quantization and dequantized to BF16 for each GEMM
// (Dettmers et al. 2023, "QLoRA", §3).
enum class FinetuneMethod { full, lora, qlora };
// The linear layers that get adapters: qv (the LoRA paper's choice, §7.1), every attention
// projection, or every linear layer of the blocks (QLoRA's choice, §4: "LoRA on all linear
// transformer block layers are required to match full finetuning performance").
enum class AdapterTargets { qv, attention, all_linear };

struct Adapters {
  FinetuneMethod method = FinetuneMethod::full;
  std::int64_t rank = 16;
  AdapterTargets targets = AdapterTargets::all_linear;
  bool frozen_base() const { return method != FinetuneMethod::full; }
};

const char* to_string(PrecisionRecipe p);
const char* to_string(OptimizerStates o);
const char* to_string(Recompute r);
const char* to_string(AttentionKernel k);
const char* to_string(ActivationKernels k);
const char* to_string(PipelineSchedule s);
const char* to_string(ExpertRouting r);
const char* to_string(GradientReduce g);
const char* to_string(TokenDispatcher d);
const char* to_string(FinetuneMethod m);
const char* to_string(AdapterTargets t);

struct Parallelism {
  std::int64_t dp = 0;  // data-parallel degree; 0 = gpus / (tp * pp * cp)
  std::int64_t tp = 1;
  std::int64_t pp = 1;
  std::int64_t cp = 1;  // context parallelism: the sequence split over cp GPUs (ring attention)
  std::int64_t ep = 1;  // expert parallelism, carved out of dp * tp * cp
  std::int64_t micro_batch = 1;  // sequences per micro-batch
  std::int64_t virtual_stages = 2;  // model chunks per GPU for the interleaved schedule
  int zero_stage = 1;
  // Tensor-parallel all-gathers and reduce-scatters pipelined with the layer's GEMMs in tp chunks
  // (Transformer Engine userbuffers, Megatron's tp_comm_overlap); off: each collective waits.
  bool tp_comm_overlap = false;
  TokenDispatcher ep_dispatcher = TokenDispatcher::deepep;
  // Expert all-to-all of one micro-batch hidden behind another's computation in the 1F1B steady
  // state (Megatron-Core's overlap_moe_expert_parallel_comm); off: each all-to-all waits.
  bool ep_comm_overlap = false;
  PipelineSchedule schedule = PipelineSchedule::one_f_one_b;
  // Where the layers, embedding, output head and MTP modules sit on the pipeline ranks:
  // "even", "ends-as-layers" or a Megatron layout string (pipeline_layout.hpp).
  std::string pipeline_layout = "even";
  bool automatic = false;  // let the planner choose (see planner.hpp)
};

struct TrainingStage {
  std::string name;
  double tokens = 0;
  std::int64_t seq_len = 4096;
  std::int64_t global_batch = 1024;  // sequences per optimizer step
  // A stage may train with its own parallelism (long-context stages usually do); absent: the run's.
  std::optional<Parallelism> parallel;
};


struct TrainingRun {
  ModelConfig model;
  GpuSpec gpu;
  std::int64_t gpus = 2048;
  double price_per_gpu_hour = 2.0;  // dollars; V3 report Table 1 assumes $2 for an H800
  double overhead = 0.0;  // extra wall time for failures, restarts and evaluation, as a fraction
  PrecisionRecipe precision = PrecisionRecipe::bf16;
  OptimizerStates optimizer_states = OptimizerStates::fp32;
  Recompute recompute = Recompute::selective;
  AttentionKernel attention_kernel = AttentionKernel::flash_attention_2;
  ActivationKernels kernels = ActivationKernels::fused;
  ExpertRouting expert_routing = ExpertRouting::learned;
  GradientReduce gradient_reduce = GradientReduce::bf16;
  Parallelism parallel;
  Adapters adapters;  // full: every weight trains
  std::vector<TrainingStage> stages;
  std::optional<double> pinned_mfu;  // assume this BF16 MFU instead of predicting it
};

// The busiest GPU's routed tokens over the mean: 1 when the run forces balanced routing, else
// moe_load_imbalance.
double expert_load_imbalance(const TrainingRun& run, double moe_load_imbalance);

// Readers a training document and a published run's overrides share (`key` in `r`, `fallback`
// when absent; a bad value is refused naming its path): the recomputation, the ZeRO stage (0-3),
// and a parallel degree (a positive integer within bounds::parallel_degree).
Recompute recompute_of(JsonObjectReader& r, const char* key, Recompute fallback);
GradientReduce gradient_reduce_of(JsonObjectReader& r, const char* key, GradientReduce fallback);
std::string pipeline_layout_of(JsonObjectReader& r, const char* key);  // refused unless it parses
int zero_stage_of(JsonObjectReader& r, const char* key, int fallback);
std::int64_t parallel_degree_of(JsonObjectReader& r, const char* key, std::int64_t fallback);

// Parses "14.8T", "500B", "62.9e9" or a plain number of tokens. Throws ConfigError(field, ...).
double parse_token_count(const std::string& text, const std::string& field);

// The run described by a config document: its model plus the optional cluster, training,
// parallelism and hardware sections (defaults where a section is absent: 2048 H800 at $2,
// one 1T-token stage at 4K x 1024 sequences, BF16, planner-chosen parallelism).
TrainingRun training_run_from_document(const nlohmann::json& doc, const std::vector<GpuSpec>& extra_gpus = {});
// The same, read from FILE; errors carry the file name: "FILE: cluster.gpus: ...".
TrainingRun training_run_from_file(const std::string& file, const std::vector<GpuSpec>& extra_gpus = {});

// Refuses a run whose parts contradict each other (degrees vs GPU count, EP vs experts, batch vs
// micro-batch x DP, ...), naming the field. Parallelism marked automatic is not checked here.
void validate_training_run(const TrainingRun& run);

// The parallelism stage `i` trains with, and the path its fields are named by in errors.
const Parallelism& stage_parallelism(const TrainingRun& run, std::size_t i);
std::string stage_parallelism_path(const TrainingRun& run, std::size_t i);

}  // namespace frugal::sim
