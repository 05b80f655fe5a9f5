// `frugal-sim serve --ladder A,B,C`: "start with the smallest model that works: 7B -> 13-16B ->
// 70B+" priced side by side. Each model gets the planner's cheapest deployment for one workload
// and SLOs (serving_planner.hpp), its latency percentiles from the event simulation, its cost per
// 1K requests, and the benchmark scores its makers published (sim/data/published_scores.json),
// labelled as published: FrugalLM computes costs, never quality.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/config/model_config.hpp"
#include "frugal/sim/serving_planner.hpp"

namespace frugal::sim {

struct PublishedScore {
  std::string benchmark;
  std::optional<int> shots;  // absent where the source does not say
  double score = 0;
  std::string variant, source, quote;
};

// Scores published for `name` (a preset name or a config file's stem); empty when none.
std::vector<PublishedScore> published_scores(const std::string& name);

struct LadderRung {
  std::string name;  // preset name or config file stem
  ModelConfig model;
};

struct LadderRow {
  std::string name;
  double total_params = 0, active_params = 0;
  std::optional<PlanCandidate> best;  // absent when no deployment meets the SLOs
  std::string no_plan;                // why, then (the planner's message, naming the best reachable)
  std::vector<PublishedScore> scores;
};

std::vector<LadderRow> serving_ladder(const std::vector<LadderRung>& rungs, const std::vector<PricedGpu>& gpus,
                                      const ServingWorkload& w, const ServingSlo& slo,
                                      const EfficiencyConstants& c = default_efficiency());

nlohmann::json serving_ladder_json(const std::vector<LadderRow>& rows);
std::string serving_ladder_table(const std::vector<LadderRow>& rows, const ServingWorkload& w, const ServingSlo& slo);

}  // namespace frugal::sim
