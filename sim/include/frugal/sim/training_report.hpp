// `frugal-sim train` output: the estimate of a run, its step and memory breakdowns, and the same
// run for dense baselines. Every number comes from simulate_training.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/sim/training_sim.hpp"

namespace frugal::sim {

struct Baseline {
  std::string label;  // "dense, equal total parameters", ...
  ModelConfig model;
  TrainingEstimate estimate;
};

// The dense models a run is compared with, each with its label: one of equal total parameters,
// one of equal activated parameters, and the preset `named_dense`.
std::vector<std::pair<std::string, ModelConfig>> dense_baseline_models(const ModelConfig& m, const std::string& named_dense);

// `run` with another model: same cluster, stages and recipe, parallelism left to the planner.
TrainingRun baseline_run(const TrainingRun& run, const ModelConfig& model);

// The same run (cluster, stages, recipe; parallelism planned per stage) for each dense baseline model.
std::vector<Baseline> dense_baselines(const TrainingRun& run, const std::string& named_dense,
                                      const EfficiencyConstants& c = default_efficiency());

nlohmann::json parallelism_json(const Parallelism& p);
nlohmann::json training_estimate_json(const TrainingEstimate& e);
nlohmann::json training_report_json(const TrainingEstimate& e, const std::vector<Baseline>& baselines);
std::string training_report_table(const TrainingEstimate& e, const std::vector<Baseline>& baselines);
std::string training_report_csv(const TrainingEstimate& e);

// Short human lines, shared by the train and main reports.
std::string describe_run(const TrainingEstimate& e);
std::string step_breakdown_text(const StageEstimate& s);
std::string memory_breakdown_text(const StageEstimate& s);
std::string baselines_table(const TrainingEstimate& e, const std::vector<Baseline>& baselines);

}  // namespace frugal::sim
