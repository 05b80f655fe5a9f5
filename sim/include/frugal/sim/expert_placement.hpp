// How unevenly a serving batch's routed tokens land on the GPUs of an expert-parallel group, and
// what redundant experts placed by EPLB do about it.
//
// Expert loads: each routed expert's expected share of the copies is drawn from a log-normal
// whose coefficient of variation is the measured spread of the experts' loads (efficiency.hpp,
// expert_load_cv). Placement: without redundant slots, expert e sits on GPU floor(e / (E / EP)),
// blind to its load; with them, EPLB's global policy (deepseek-ai/EPLB eplb.py):
// replicate_experts gives each extra slot to the expert with the largest load per replica, and
// balanced_packing puts the slots, heaviest first, on the GPU with the least load that still has
// room. A batch's copies then fall at random around those expected loads.
#pragma once

#include <cstdint>
#include <vector>

namespace frugal::sim {

// Each GPU's load when EPLB places `redundant` extra slots for experts of the given loads on `ep`
// GPUs (replicate_experts, then balanced_packing); without extra slots, the experts in order, or,
// with `eplb`, packed by load all the same (EPLB with no redundant experts: balanced_packing alone).
std::vector<double> placed_gpu_loads(const std::vector<double>& expert_loads, std::int64_t ep, std::int64_t redundant,
                                     bool eplb = false);

// The busiest GPU's expected load over the mean, averaged over draws of the experts' loads
// (fixed seed; memoised, so the planner pays once per layout).
double placement_imbalance(std::int64_t experts, std::int64_t ep, std::int64_t redundant, double cv, bool eplb = false);

// The fewest redundant slots that let `ep` GPUs divide routed + redundant slots evenly.
std::int64_t fewest_redundant_slots(std::int64_t routed, std::int64_t ep);

// What sampling adds for `copies_per_gpu` routed copies a GPU: the busiest of `ep` GPUs is about
// sqrt(2 ln ep) standard deviations above its expectation, sqrt(n) for n copies (Poisson), so
// sqrt(2 ln ep / n) of the mean.
double sampling_excess(std::int64_t ep, double copies_per_gpu);

}  // namespace frugal::sim
