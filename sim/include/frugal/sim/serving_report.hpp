// `frugal-sim serve` output, its side-by-side comparisons, and `serve --validate` against
// DeepSeek's published serving day (sim/data/published_serving.json).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/sim/excluded_measurement.hpp"
#include "frugal/sim/serving.hpp"

namespace frugal::sim {

// A deployment that holds the model: the smallest power-of-two instance (up to 256 GPUs) whose
// weights take at most 60% of its HBM; MoE experts spread over all of it, attention
// tensor-parallel within a node for dense models.
ServingDeployment default_deployment(const ModelConfig& m, const GpuSpec& gpu, bool fp8_weights);

nlohmann::json serving_result_json(const ServingResult& r);
std::string serving_result_table(const ModelConfig& m, const ServingDeployment& d, const ServingWorkload& w,
                                 const ServingResult& r);

struct ServingVariant {
  std::string label;
  std::string model;
  ServingResult result;
};

// The same workload: as given; with MTP toggled; with prefix caching toggled (0 <-> 0.5);
// with FP8 weights toggled; and `dense_preset` (a dense GQA model) on the same number of GPUs.
std::vector<ServingVariant> serving_comparisons(const ModelConfig& m, const ServingDeployment& d,
                                                const ServingWorkload& w, const std::string& dense_preset);
std::string serving_comparisons_table(const std::vector<ServingVariant>& variants);
nlohmann::json serving_comparisons_json(const std::vector<ServingVariant>& variants);

// `serve --capacity`: one instance's steady-state decode (at a batch and context) and prefill (at a
// prompt length) capacity, with where the step goes; with `aggregated`, also both on the same GPUs.
nlohmann::json capacity_json(const DecodeCapacity& decode, const PrefillCapacity& prefill,
                             const AggregatedCapacity* aggregated = nullptr);
std::string capacity_table(const ModelConfig& m, const ServingDeployment& d, const DecodeCapacity& decode,
                           const PrefillCapacity& prefill, const AggregatedCapacity* aggregated = nullptr);

// Refuses an EP that does not divide the expert slots (routed + redundant), naming the nearest
// EP degrees that do: ConfigError("--ep", ...).
void check_expert_slots(const ModelConfig& m, const ServingDeployment& d);

// ", EPLB placement" where EPLB places the experts without redundant slots (with them it always
// does, and the slot count says so); empty otherwise.
std::string eplb_without_slots_note(const ServingDeployment& d);

// Refuses FP8 attention without an FP8 KV cache or FP8 Tensor Cores: ConfigError("--fp8-attention", ...).
void check_fp8_attention(const ServingDeployment& d);

struct ServingCheck {
  std::string name;
  double published = 0, predicted = 0, rel_error = 0;
  std::string how;     // how the prediction is made, and what the model lacks for it
  std::string source;  // where the published figure is
};

// serving_validation.cpp. DeepSeek's serving day reproduced: nodes from the token rates and the
// per-node throughput the model predicts for the published prefill and decode deployments, daily
// cost, revenue and those throughputs; then published reproductions of the deployment.
std::vector<ServingCheck> validate_published_serving(const EfficiencyConstants& c = default_efficiency());

// Published serving figures found but not compared, each with why (published_serving.json's
// "not_included"); serving_checks_table lists them after the sources.
const std::vector<ExcludedMeasurement>& serving_figures_not_compared();
std::string serving_checks_table(const std::vector<ServingCheck>& checks);
nlohmann::json serving_checks_json(const std::vector<ServingCheck>& checks);

}  // namespace frugal::sim
