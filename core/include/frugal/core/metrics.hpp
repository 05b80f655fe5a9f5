// What a training run records at every step, and its CSV / JSON forms for plotting.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace frugal::core {

struct StepMetrics {
  std::int64_t step = 0;           // optimizer steps done, 1-based
  double loss = 0;                 // cross-entropy of this step's batch, nats/token
  double balance_loss = 0;         // α-weighted balance losses, summed over MoE layers
  double mtp_loss = std::numeric_limits<double>::quiet_NaN();  // depth-1 MTP cross-entropy, when trained
  double distillation_loss = std::numeric_limits<double>::quiet_NaN();  // T²·KL to the teacher, logit distillation
  double eval_loss = std::numeric_limits<double>::quiet_NaN();  // held-out, when evaluated
  double learning_rate = 0;
  double grad_norm = 0;            // before clipping
  double tokens_per_second = 0;
  double max_violation = 0;        // MaxVio of this batch, mean over MoE layers
  double dropped_fraction = 0;     // routed assignments dropped by the capacity limit
  double flops = 0;                // executed matmul FLOPs since step 0, forward + backward
  double teacher_flops = 0;        // the teacher's matmul FLOPs so far (its logits, its samples), not in flops
  double all_to_all_bytes = 0;     // expert parallelism: token-row bytes one rank sent to others this step, mean over ranks
  double remote_copies_per_token = 0;  // expert parallelism: routed copies per token that left their rank
  std::vector<std::vector<std::int64_t>> expert_load;  // per MoE layer, tokens per routed expert
};

nlohmann::json to_json(const StepMetrics& m);
StepMetrics step_metrics_from_json(const nlohmann::json& j);

// One row per step: step,loss,balance_loss,eval_loss,learning_rate,grad_norm,tokens_per_second,
// max_violation,dropped_fraction,flops,mtp_loss,distillation_loss,teacher_flops,all_to_all_bytes (a
// loss that was not computed at that step is empty).
std::string metrics_csv(const std::vector<StepMetrics>& history);
// {"run": run, "history": [...]} with each step's expert load.
std::string metrics_json(const std::vector<StepMetrics>& history, const nlohmann::json& run);

}  // namespace frugal::core
