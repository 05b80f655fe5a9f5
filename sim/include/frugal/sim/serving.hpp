// Serving economics: a discrete-event simulation of requests through continuous-batching engine
// instances whose iteration times come from rooflines (prefill compute-bound, decode memory-bound
// on weights and KV cache, MoE experts touched, expert all-to-all). Outputs latency percentiles,
// throughput and cost. The model is written up in sim/README.md, "Serving".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "frugal/config/model_config.hpp"
#include "frugal/sim/efficiency.hpp"
#include "frugal/sim/hardware.hpp"
#include "frugal/sim/layer_linears.hpp"
#include "frugal/sim/model_accountant.hpp"

namespace frugal::sim {

struct ServingDeployment {
  GpuSpec gpu;
  std::int64_t gpus_per_instance = 8;  // one model replica; experts spread over `ep` of its GPUs
  std::int64_t instances = 1;          // replicas (decode replicas when disaggregated)
  std::int64_t tp = 1;                 // attention tensor parallelism; the rest is attention data-parallel
  std::int64_t ep = 8;
  double price_per_gpu_hour = 2.0;
  bool fp8_weights = false;
  KvDtype kv_dtype = KvDtype::bf16;
  // Prefill and decode on separate instances (DeepSeek's deployment, V3 report §3.4).
  bool disaggregated = false;
  std::int64_t prefill_instances = 1;
  std::int64_t prefill_gpus_per_instance = 8;
  // The prefill instances' redundant experts; unset: as prefill_deployment() derives them.
  std::optional<std::int64_t> prefill_redundant_experts;
  // Tokens one engine iteration may process on each attention-data-parallel rank (continuous
  // batching). TensorRT-LLM's max_num_tokens reads as a rank's (its H200 run: 1151 = one 1,024-token
  // prompt beside 127 of a rank's 128 sequences); SGLang's --chunked-prefill-size is the whole
  // instance's, which it divides among the ranks ("self.chunked_prefill_size =
  // self.chunked_prefill_size // self.dp_size", python/sglang/srt/server_args.py).
  std::int64_t token_budget = 8192;
  std::int64_t max_batch = 256;      // running sequences per attention-data-parallel rank
  double mtp_acceptance = 0.0;       // > 0: MTP speculative decoding, one draft token (V3 report §5.4.3)
  // Extra expert slots holding copies of the busiest experts (DeepSeek: 32, Day6 post; V3 report
  // §3.4): routed + redundant slots are spread over the EP GPUs, which must divide them.
  std::int64_t redundant_experts = 0;
  // EPLB places the experts by their measured loads even without redundant slots (its
  // balanced_packing alone; SGLang's --enable-eplb with --ep-num-redundant-experts 0). Redundant
  // slots always come with it.
  bool eplb = false;
  bool placed_by_load() const { return eplb || redundant_experts > 0; }
  // Two micro-batches per iteration, one's dispatch and combine beside the other's computation
  // (V3 report §3.4; deepseek-ai/profile-data README). Off: each layer's all-to-all waits its turn
  // (SGLang without --enable-two-batch-overlap, LMSYS's ablation).
  bool two_batch_overlap = true;
  // Decode's dispatch and combine (DeepEP's low-latency kernels) carry the copies bound for GPUs of
  // the same node over NVLink and only the rest through the NIC, as DeepEP does since 2025-06-05
  // ('low-latency kernels now leverage NVLink as much as possible', deepseek-ai/DeepEP README, #173).
  // Off: every copy that leaves the GPU goes through the NIC, as its first release's 'low-latency
  // kernels with pure RDMA' did (the deployments published before that date).
  bool low_latency_nvlink = true;
  // Attention scores in FP8 (FP8 queries and KV cache on FP8 Tensor Cores: Ant Group's FlashMLA FP8
  // for decode and FA3-FP8 for prefill, LMSYS blog 2025-09-26), priced at the FP8 peak with the share
  // the BF16 kernels reach. Needs kv_dtype fp8 and a GPU with FP8 Tensor Cores.
  bool fp8_attention = false;

  std::int64_t total_gpus() const {
    return instances * gpus_per_instance + (disaggregated ? prefill_instances * prefill_gpus_per_instance : 0);
  }
};

enum class LengthDistribution { fixed, exponential };

struct LengthSpec {
  double mean = 1;
  LengthDistribution distribution = LengthDistribution::fixed;
};

struct TraceRequest {
  double arrival_s = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t output_tokens = 0;
};

struct ServingWorkload {
  double arrival_rate = 1.0;  // requests per second, Poisson (ignored with a trace)
  LengthSpec prompt{1000, LengthDistribution::fixed};
  LengthSpec output{200, LengthDistribution::fixed};
  double prefix_hit_rate = 0.0;  // fraction of prompt tokens whose KV is already cached
  std::int64_t requests = 10000;
  std::uint64_t seed = 1;
  std::vector<TraceRequest> trace;  // when non-empty, replaces the Poisson arrivals
};

// Reads "arrival_s prompt_tokens output_tokens" per line ('#' comments, blank lines skipped);
// refuses unsorted or malformed lines with "FILE:LINE: ...".
std::vector<TraceRequest> read_trace_file(const std::string& file);

// The work of one engine iteration on one instance.
struct IterationLoad {
  double decode_sequences = 0;  // sequences producing tokens this iteration
  double decode_context = 0;    // sum of their context lengths (KV tokens read)
  double prefill_tokens = 0;    // prompt tokens computed this iteration (cache hits excluded)
  double prefill_context = 0;   // sum over those tokens of the keys each attends to
  // The most prompt tokens one attention-data-parallel rank computes (a prompt is computed on the
  // rank that holds its cache); 0: spread evenly over the ranks. Every rank waits for it at each
  // MoE layer's dispatch, so its projections and attention set the pace ("time_i = max_m time_i,m",
  // TensorRT-LLM docs/source/blogs/tech_blog/blog10_ADP_Balance_Strategy.md).
  double prefill_busiest_rank = 0;
};

// Where one engine iteration's time goes, per GPU (serving_step.cpp).
struct IterationBreakdown {
  double attention_s = 0;     // attention scores: MLA absorbed decode / prefill kernels
  double experts_s = 0;       // routed-expert GEMMs of the busiest GPU
  double dense_s = 0;         // projections, dense FFNs, shared experts, output head
  double comm_s = 0;          // expert dispatch + combine, before overlap
  double exposed_comm_s = 0;  // what the two-micro-batch overlap leaves of it
  double overhead_s = 0;      // fixed per-iteration cost
  double total_s = 0;
};

// The iteration model of one model and deployment, with the model's counts computed once (the
// simulation calls it once per engine iteration). Each layer is a sum of rooflines, one per
// kernel family; the expert all-to-all overlaps the computation of the other micro-batch.
class IterationModel {
 public:
  IterationModel(const ModelConfig& m, const ServingDeployment& d, const EfficiencyConstants& c = default_efficiency());
  IterationBreakdown breakdown(std::int64_t gpus, const IterationLoad& load) const;
  double time(std::int64_t gpus, const IterationLoad& load) const { return breakdown(gpus, load).total_s; }
  // KV-cache tokens the instance holds after weights and reserve, for sequences of `context`
  // tokens (local layers keep at most their window; 0: as if every layer kept every token).
  double kv_capacity_tokens(std::int64_t gpus, std::int64_t context = 0) const;
  // The busiest GPU's routed copies over the mean, for `copies_per_gpu` routed copies a GPU in a
  // layer (expert_placement.hpp).
  double expert_imbalance(std::int64_t gpus, double copies_per_gpu) const;

 private:
  const ModelConfig& m_;
  const ServingDeployment& d_;
  const EfficiencyConstants& c_;
  double attention_weights_ = 0;  // per layer, projections (MLA up-projections absorbed or not)
  double dense_ffn_ = 0;          // per dense layer
  double shared_ = 0;             // shared experts + router, per MoE layer
  double expert_ = 0;             // one routed expert
  double vocab_weights_ = 0;      // embedding and output head, BF16
  double moe_layers_ = 0, dense_layers_ = 0;
  double local_moe_layers_ = 0, local_dense_layers_ = 0;  // of those, attending within a window
  double kv_bytes_per_layer_ = 0;  // per token
  double placement_imbalance_ = 1;  // the busiest GPU's expected load over the mean on d.ep GPUs
  std::vector<LayerLinear> dense_linears_, moe_linears_;  // one layer's GEMMs of each kind, as launched
};

// Seconds one iteration takes on an instance of `gpus` GPUs.
double iteration_time(const ModelConfig& m, const ServingDeployment& d, std::int64_t gpus, const IterationLoad& load,
                      const EfficiencyConstants& c = default_efficiency());

// Distinct routed experts a batch of `tokens` tokens touches in one MoE layer with uniform
// routing: E (1 - (1 - k/E)^tokens).
double expected_experts_touched(const ModelConfig& m, double tokens);

// KV-cache tokens an instance of `gpus` GPUs holds after its weights and reserve.
double kv_capacity_tokens(const ModelConfig& m, const ServingDeployment& d, std::int64_t gpus,
                          const EfficiencyConstants& c = default_efficiency(), std::int64_t context = 0);

// One MoE layer's decode dispatch and combine on DeepEP's low-latency kernels, bandwidth only, for
// `tokens` tokens a GPU (without the busiest GPU's excess or the kernels' latency). Each token sends
// top-k copies of `bytes_per_copy` (dispatch and combine together) to the EP GPUs holding its
// experts, spread evenly over the `ep` GPUs: 1/ep stay on the GPU, (per_node - 1)/ep go to the
// GPU's node, the rest to other nodes. With d.low_latency_nvlink the node's share rides NVLink
// beside the NIC's and the slower sets the time; without it, everything leaving the GPU goes
// through the NIC, inside one node too (DeepEP's first 'pure RDMA' kernels).
double low_latency_all_to_all_s(const ModelConfig& m, const ServingDeployment& d, std::int64_t ep, double tokens,
                                double bytes_per_copy, const EfficiencyConstants& c = default_efficiency());

// Tokens one sequence gains per decode iteration: 1, or 1 + acceptance with one MTP draft.
double tokens_per_decode_step(const ServingDeployment& d);

// Rows a decoding sequence puts through the model per iteration: 1, or 2 with MTP (the draft token
// is verified alongside the next).
double rows_per_decode_step(const ServingDeployment& d);

// Steady-state capacity of one instance (serving_capacity.cpp), without queueing: every GPU
// holds batch_per_gpu sequences of `context` KV tokens (decode), or runs token_budget prompt
// tokens per attention-DP rank per iteration (prefill).
struct DecodeCapacity {
  IterationBreakdown step;
  double batch_per_gpu = 0;
  double context = 0;
  double tpot_s = 0;  // step / tokens per step
  double tokens_per_s_per_gpu = 0, tokens_per_s_per_node = 0;
  bool kv_limited = false;  // the batch is what the KV cache holds
};
struct PrefillCapacity {
  IterationBreakdown step;
  double prompt = 0, prefix_hit_rate = 0;
  double computed_tokens_per_s_per_node = 0;  // prompt tokens computed (cache hits excluded)
  double input_tokens_per_s_per_node = 0;     // cache hits included, as DeepSeek counts them
};
// Aggregated serving (prefill and decode on the same GPUs, continuous batching): every attention-DP
// rank keeps batch_per_gpu x TP sequences running, each a prompt of `prompt` tokens then `output`
// tokens, and a finished sequence's place is taken by a new prompt. In the steady state a rank
// starts batch / (output / tokens per step) prompts per iteration; their tokens ride in
// `mixed_fraction` of the iterations, token_budget minus the decode rows of them each.
struct AggregatedCapacity {
  IterationBreakdown decode_step;  // an iteration that only decodes
  IterationBreakdown mixed_step;   // an iteration that also computes a prompt chunk
  double batch_per_gpu = 0, prompt = 0, output = 0, prefix_hit_rate = 0;
  double mixed_fraction = 0;  // of the iterations, those carrying prompt tokens
  double prompt_chunk = 0;    // prompt tokens a rank computes in a mixed iteration
  bool prefill_bound = false;  // the prompts need every iteration: fewer sequences than the batch decode
  double mean_iteration_s = 0;
  double tokens_per_s_per_gpu = 0, tokens_per_s_per_node = 0;  // output tokens
  // The same when each rank starts its prompts on its own (round robin, as the event simulation
  // deals them), so that k ~ Binomial(ranks, mixed_fraction) ranks carry a chunk in an iteration
  // and all wait for the busiest: E[t] = t_decode + P(k >= 1) (t_one - t_decode)
  // + E[(k - 1)+] / (ranks - 1) (t_all - t_one), t_one and t_all with one and every rank's chunk.
  IterationBreakdown one_rank_step;  // an iteration where one rank computes a prompt chunk
  double unsynchronised_iteration_s = 0;
  double unsynchronised_tokens_per_s_per_gpu = 0;
};
AggregatedCapacity aggregated_capacity(const ModelConfig& m, const ServingDeployment& d, double batch_per_gpu, double prompt,
                                       double output, double prefix_hit_rate = 0,
                                       const EfficiencyConstants& c = default_efficiency());
// batch_per_gpu <= 0: the largest batch the KV cache holds and, with tpot_slo > 0, that meets it.
// Throws ConfigError("--tpot-slo", ...) naming the best TPOT reachable when none meets the SLO.
DecodeCapacity decode_capacity(const ModelConfig& m, const ServingDeployment& d, double batch_per_gpu, double context,
                               double tpot_slo = 0, const EfficiencyConstants& c = default_efficiency());
PrefillCapacity prefill_capacity(const ModelConfig& m, const ServingDeployment& d, double prompt, double prefix_hit_rate = 0,
                                 const EfficiencyConstants& c = default_efficiency());

struct Percentiles {
  double p50 = 0, p95 = 0, p99 = 0, mean = 0;
};

struct ServingResult {
  std::int64_t completed = 0;
  double duration_s = 0;  // first arrival to last completion
  Percentiles ttft_s, tpot_s, e2e_s;
  double arrival_rate = 0;          // completed / duration
  double mean_in_system = 0;        // time-average number of requests in the system
  double mean_decoding = 0;         // time-average number of sequences being decoded
  double input_tokens = 0, output_tokens = 0;
  double input_tokens_per_s_per_gpu = 0, output_tokens_per_s_per_gpu = 0;
  double input_tokens_per_s_per_node = 0, output_tokens_per_s_per_node = 0;
  double utilisation = 0;           // busy fraction of instance time
  double max_running = 0;           // most sequences one instance held at once
  double kv_capacity_tokens = 0;    // per (decode) instance
  double cost_usd = 0;              // GPUs x duration x price
  double cost_per_1k_requests_usd = 0;
  double cost_per_m_input_tokens_usd = 0;   // all cost over input tokens
  double cost_per_m_output_tokens_usd = 0;  // all cost over output tokens
  double daily_cost_usd = 0;
};

// The deployment of a disaggregated deployment's prefill instances, which the simulation runs and the
// planner sizes: `prefill_gpus_per_instance` GPUs each. A MoE model's experts spread over all of them
// when the decode instances spread theirs over all of theirs (EP = instance: DeepSeek's decode EP144
// beside prefill EP32, Day-6 post), else over at most `ep`; the decode instances' redundant experts
// where that EP divides the slots, else the fewest that make it divide; `prefill_redundant_experts`
// when given (ConfigError naming it when that EP does not divide its slots). Placed by EPLB when the
// decode instances' are or when it has redundant slots.
ServingDeployment prefill_deployment(const ModelConfig& m, const ServingDeployment& d);

ServingResult simulate_serving(const ModelConfig& m, const ServingDeployment& d, const ServingWorkload& w,
                               const EfficiencyConstants& c = default_efficiency());

}  // namespace frugal::sim
