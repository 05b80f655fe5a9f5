// Changes to a training run from the command line (`frugal-sim train --gpus 4096 ...`), from a
// published-run entry, or from a sweep axis: one mechanism for all three.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "frugal/sim/training_config.hpp"

namespace frugal::sim {

struct RunOverrides {
  std::optional<std::string> gpu;
  std::optional<std::int64_t> gpus;
  std::optional<double> price_per_gpu_hour;
  std::optional<double> overhead;
  std::optional<double> mfu;
  // Any of these collapses the run to one stage with these values (the others from its first stage).
  std::optional<double> tokens;
  std::optional<std::int64_t> seq_len;
  std::optional<std::int64_t> global_batch;
  std::optional<PrecisionRecipe> precision;
  std::optional<OptimizerStates> optimizer_states;
  std::optional<Recompute> recompute;
  std::optional<AttentionKernel> attention_kernel;
  std::optional<GradientReduce> gradient_reduce;
  std::optional<bool> tp_comm_overlap;  // set on the run's and every stage's parallelism
  std::optional<std::string> pipeline_layout;  // likewise (pipeline_layout.hpp)
  // Any of these fixes the parallelism of every stage (dp is re-derived unless given).
  std::optional<std::int64_t> dp, tp, pp, cp, ep, micro_batch, virtual_stages;
  std::optional<int> zero_stage;
  std::optional<PipelineSchedule> schedule;
  bool plan_auto = false;  // let the planner choose every stage's parallelism
};

// Applies `o` to `run`; an unknown GPU name is refused listing the known ones (`extra` first).
void apply_overrides(TrainingRun& run, const RunOverrides& o, const std::vector<GpuSpec>& extra = {});

// Reads overrides written as JSON keys named like the flags (gpus, tokens, seq_len, ...).
RunOverrides overrides_from_json(const nlohmann::json& j, const std::string& path);

}  // namespace frugal::sim
