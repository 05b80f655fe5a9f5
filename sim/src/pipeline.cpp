#include "frugal/sim/pipeline.hpp"

#include <algorithm>

namespace frugal::sim {

double bubble_time(PipelineSchedule schedule, std::int64_t pp, std::int64_t virtual_stages, double f, double b,
                   double w) {
  if (pp <= 1) return 0.0;
  const double stages = static_cast<double>(pp);
  switch (schedule) {
    case PipelineSchedule::one_f_one_b: return (stages - 1) * (f + b);
    case PipelineSchedule::interleaved:
      return (stages - 1) * (f + b) / static_cast<double>(std::max<std::int64_t>(1, virtual_stages));
    case PipelineSchedule::zero_bubble: return (stages - 1) * std::max(0.0, f + b - 2 * w);
    case PipelineSchedule::dualpipe: return std::max(0.0, stages / 2 - 1) * std::max(0.0, (f + b) + b - 3 * w);
  }
  return 0.0;
}

double activations_in_flight(PipelineSchedule schedule, std::int64_t pp, std::int64_t virtual_stages) {
  if (pp <= 1) return 1.0;
  const double stages = static_cast<double>(pp);
  switch (schedule) {
    case PipelineSchedule::dualpipe: return stages + 1;
    case PipelineSchedule::interleaved:  // Narayanan et al. 2021: (1 + (p-1)/(p v)) x p
      return stages * (1.0 + (stages - 1) / (stages * static_cast<double>(std::max<std::int64_t>(1, virtual_stages))));
    default: return stages;
  }
}

std::int64_t pipeline_chunks_per_rank(const Parallelism& p) {
  return p.schedule == PipelineSchedule::interleaved ? std::max<std::int64_t>(1, p.virtual_stages) : 1;
}

double parameter_copies(PipelineSchedule schedule, std::int64_t pp) {
  return schedule == PipelineSchedule::dualpipe && pp > 1 ? 2.0 : 1.0;
}

}  // namespace frugal::sim
