// The `auto` parallelism planner: tries every TP (within a node, dividing the heads), PP (up to
// the layer count), EP (dividing the experts and dp x tp), micro-batch and pipeline schedule for
// the GPU count, keeps the plans that divide every stage's batch, and picks the one with the
// fewest GPU-hours among those that fit in memory (or, when none fits, the smallest shortfall).
#pragma once

#include <optional>
#include <string>

#include "frugal/sim/efficiency.hpp"
#include "frugal/sim/training_config.hpp"

namespace frugal::sim {

struct Plan {
  Parallelism parallel;
  double gpu_hours = 0;
  bool fits = false;
  int candidates = 0;  // plans evaluated
};

// `schedule`, when set, restricts the search to that pipeline schedule.
Plan plan_parallelism(const TrainingRun& run, const EfficiencyConstants& c,
                      std::optional<PipelineSchedule> schedule = std::nullopt);

std::string describe_parallelism(const Parallelism& p, std::int64_t gpus);

}  // namespace frugal::sim
