// Pipeline-parallel bubbles per schedule (V3 report Table 2; deepseek-ai/DualPipe README).
// F: forward time of one micro-batch on one stage; B: its full backward; W: the weight-gradient
// part of B. The bubble is the idle time per step that no micro-batch fills.
#pragma once

#include <cstdint>

#include "frugal/sim/training_config.hpp"

namespace frugal::sim {

//   1F1B:        (PP - 1)(F + B)
//   interleaved: (PP - 1)(F + B) / v   (v model chunks per GPU; Narayanan et al. 2021, §2.2.2)
//   zero-bubble: (PP - 1)(F + B - 2W)  (ZB1P)
//   DualPipe:    (PP/2 - 1)(F&B + B - 3W), F&B taken as F + B (overlap hides communication,
//                not computation)
double bubble_time(PipelineSchedule schedule, std::int64_t pp, std::int64_t virtual_stages, double f, double b,
                   double w);

// Micro-batches whose activations a stage holds at once (V3 report Table 2: PP for 1F1B-like
// schedules, PP + 1 for DualPipe), and how many copies of its parameters (2 for DualPipe).
double activations_in_flight(PipelineSchedule schedule, std::int64_t pp, std::int64_t virtual_stages);
double parameter_copies(PipelineSchedule schedule, std::int64_t pp);

// Model chunks per rank: virtual_stages under the interleaved schedule, else one.
std::int64_t pipeline_chunks_per_rank(const Parallelism& p);

}  // namespace frugal::sim
