// `frugal-sim validate`: every published run in sim/data/published_runs.json, predicted with the
// one set of efficiency constants, beside its published figure and source.
#pragma once

#include <string>
#include <vector>

#include "frugal/sim/efficiency.hpp"
#include "frugal/sim/run_overrides.hpp"
#include "frugal/sim/training_sim.hpp"

namespace frugal::sim {

struct PublishedRun {
  std::string name;
  std::string preset;
  RunOverrides overrides;
  std::vector<std::string> stages;  // empty: all stages
  std::string metric;  // gpu_hours, gpu_hours_per_trillion_tokens, mfu_bf16 or total_flops
  double published = 0;
  std::string source;
  std::string note;
};

struct ValidationRow {
  PublishedRun run;
  double predicted = 0;
  double rel_error = 0;
  bool fits = true;  // whether the predicted plan fits in memory
};

const std::vector<PublishedRun>& published_runs();
// The published run called `name`; throws ConfigError("published_runs.json", ...) when there is none.
const PublishedRun& find_published_run(const std::string& name);

// The run a published entry describes, and the figure it publishes computed from an estimate.
TrainingRun published_run_config(const PublishedRun& p);
double published_metric(const PublishedRun& p, const TrainingEstimate& e);

// Every published run, or only those of `preset` when it is not empty.
std::vector<ValidationRow> validate_published_runs(const EfficiencyConstants& c = default_efficiency(),
                                                   const std::string& preset = "");
double median_abs_rel_error(const std::vector<ValidationRow>& rows);

}  // namespace frugal::sim
