// The serving workload chapters 11 and 12 price: chat-like requests arriving at random (Poisson),
// prompts of 1000 and answers of 300 tokens on average (exponential lengths).
#pragma once

#include "frugal/sim/serving.hpp"

namespace frugal::chapters {

inline sim::ServingWorkload chat_workload(double requests_per_second, bool quick) {
  sim::ServingWorkload w;
  w.arrival_rate = requests_per_second;
  w.prompt = {1000, sim::LengthDistribution::exponential};
  w.output = {300, sim::LengthDistribution::exponential};
  w.requests = quick ? 500 : 4000;
  return w;
}

}  // namespace frugal::chapters
