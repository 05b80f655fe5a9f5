// The training cost simulator: step time from per-operation rooflines, communication and
// pipeline bubbles; memory per GPU; GPU-hours, days, dollars and energy per stage.
// The model and its citations are written up in sim/README.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frugal/sim/efficiency.hpp"
#include "frugal/sim/training_config.hpp"

namespace frugal::sim {

// Memory one GPU needs, in bytes.
struct MemoryBreakdown {
  double weights = 0;
  double gradients = 0;
  double optimizer_states = 0;  // FP32 master weights and AdamW moments
  double activations = 0;
  double moe_buffers = 0;       // all-to-all send and receive buffers
  double reserve = 0;           // CUDA context, communication buffers, fragmentation
  double paged_to_host = 0;     // optimizer states a paged optimizer may evict (QLoRA); not in total
  double total = 0;
  double capacity = 0;
  bool fits() const { return total <= capacity; }
  double shortfall() const { return total > capacity ? total - capacity : 0.0; }
};

// One optimizer step on one GPU. Times in seconds.
struct StepBreakdown {
  std::int64_t micro_batches = 0;  // per pipeline per step
  // One micro-batch on one pipeline stage, with whatever communication is not hidden.
  double forward_s = 0, backward_s = 0, weight_grad_s = 0;
  // Per step, before overlap: where the computation time goes ...
  double gemm_s = 0, attention_s = 0, memory_bound_s = 0, recompute_s = 0;
  // ... and the communication each kind of parallelism needs.
  double ep_comm_s = 0, tp_comm_s = 0, cp_comm_s = 0, pp_comm_s = 0, dp_comm_s = 0;
  // The step: computation + exposed communication + bubble + optimizer.
  double compute_s = 0;
  double exposed_comm_s = 0;
  double bubble_s = 0;
  double optimizer_s = 0;
  double step_s = 0;
  double bubble_fraction() const { return step_s > 0 ? bubble_s / step_s : 0.0; }
};

struct StageEstimate {
  TrainingStage stage;
  Parallelism parallel;   // what this stage trains with (planned when it was automatic)
  std::string plan_note;  // what the planner chose, when it chose
  StepBreakdown step;
  MemoryBreakdown memory;
  double steps = 0;
  double model_flops_per_token = 0;  // main model at this sequence length (the MFU convention)
  double tokens_per_s_per_gpu = 0;
  double mfu_bf16 = 0;  // model FLOPs / (time x GPUs x dense BF16 peak)
  double mfu_fp8 = 0;   // ... against the dense FP8 peak (0 when the GPU has none)
  double gpu_hours = 0;
  double days = 0;
  double cost_usd = 0;
  double energy_kwh = 0;  // GPU board power at TDP; no host, network or cooling
};

struct TrainingEstimate {
  TrainingRun run;  // as given; each stage's parallelism is in stages[i].parallel
  std::vector<StageEstimate> stages;
  double gpu_hours = 0, days = 0, cost_usd = 0, energy_kwh = 0;
  double mfu_bf16 = 0, mfu_fp8 = 0;  // over all stages: total model FLOPs / (GPU-seconds x peak)
  double tokens_per_s_per_gpu = 0;
  double step_time_s = 0;             // of the first stage
  double memory_per_gpu_bytes = 0;    // the largest over stages
  bool fits = true;
  bool mfu_assumed = false;  // true when the user pinned MFU instead of letting it be predicted
};

// The step and memory of one stage under run.parallel (which must not be automatic).
StepBreakdown step_time(const TrainingRun& run, const TrainingStage& stage, const EfficiencyConstants& c);
MemoryBreakdown memory_per_gpu(const TrainingRun& run, const TrainingStage& stage, const EfficiencyConstants& c);

// Prices every stage; plans a stage's parallelism first when it is automatic. Throws
// ConfigError for an invalid run.
TrainingEstimate simulate_training(const TrainingRun& run, const EfficiencyConstants& c = default_efficiency());

// Parameters one GPU holds before ZeRO sharding: non-expert ones split by TP x PP, routed-expert
// ones by EP x PP (MTP modules included), doubled under DualPipe (V3 report Table 2).
// Under LoRA / QLoRA only the adapters train: trainable_* count them (each split as the layer it
// adapts), and weight_bytes_* price the stored base (QLoRA: its linears in NF4).
struct ParametersPerGpu {
  double dense = 0;
  double expert = 0;
  double trainable_dense = 0, trainable_expert = 0;
  double weight_bytes_dense = 0, weight_bytes_expert = 0;
};
ParametersPerGpu parameters_per_gpu(const TrainingRun& run);

// The data-parallel degree a parallelism implies for `gpus` GPUs.
std::int64_t resolved_dp(const Parallelism& p, std::int64_t gpus);
// GPUs holding the same non-expert parameters (data- and context-parallel replicas), over which
// gradients are reduced and ZeRO shards; and the same for routed-expert parameters.
std::int64_t gradient_group(const Parallelism& p, std::int64_t gpus);
std::int64_t expert_gradient_group(const Parallelism& p, std::int64_t gpus);

// The fraction of the BF16 peak an attention kernel reaches, forward and backward (efficiency.hpp).
struct AttentionEfficiency {
  double forward = 0, backward = 0;
};
AttentionEfficiency attention_efficiency(AttentionKernel kernel, const EfficiencyConstants& c);

}  // namespace frugal::sim
