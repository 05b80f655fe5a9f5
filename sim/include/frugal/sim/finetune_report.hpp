// frugal-sim finetune's output: the estimate as a table for people and as JSON.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "frugal/sim/finetune.hpp"

namespace frugal::sim {

// Keys: gpu_hours, hours, cost_usd, memory_per_gpu_bytes, fits, max_micro_batch, plus the job,
// the chosen layout, step time, tokens/s/GPU, the memory breakdown and, when it does not fit,
// suggestions. A run that does not fit has null time and cost.
nlohmann::json finetune_report_json(const FinetuneEstimate& e);
std::string finetune_report_table(const FinetuneEstimate& e);

}  // namespace frugal::sim
