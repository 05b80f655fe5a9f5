// The claims check of the main report: popular claims about DeepSeek-V3's cost, each with what
// the simulator computes and what the published sources say (docs/facts.md §9).
#pragma once

#include <string>
#include <vector>

#include "frugal/sim/training_report.hpp"

namespace frugal::sim {

struct Claim {
  std::string claim;
  std::string simulator;  // what the simulator computes
  std::string sources;    // what the published sources say, with the source
  std::string verdict;
};

// `v3`: the DeepSeek-V3 preset run; `v3_bf16`: the same run with the BF16 recipe;
// `baselines`: dense_baselines(v3 run, "llama-3.1-405b").
std::vector<Claim> claims_check(const TrainingEstimate& v3, const TrainingEstimate& v3_bf16,
                                const std::vector<Baseline>& baselines);

std::string claims_text(const std::vector<Claim>& claims);

}  // namespace frugal::sim
