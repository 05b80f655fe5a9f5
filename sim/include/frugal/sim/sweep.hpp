// `frugal-sim sweep`: a grid over any inputs (experts x top-k x GPU count x price, ...), one
// training estimate per point. Points that are invalid (EP not dividing the experts, ...) are kept
// with their error instead of stopping the sweep.
#pragma once

#include <string>
#include <vector>

#include "frugal/sim/efficiency.hpp"
#include "frugal/sim/training_sim.hpp"

namespace frugal::sim {

struct SweepAxis {
  std::string key;  // see sweep_keys()
  std::vector<std::string> values;
};

// The keys a sweep can vary.
const std::vector<std::string>& sweep_keys();

// Parses "experts=64,128,256"; throws ConfigError("--set", ...) for an unknown key or no value.
SweepAxis parse_sweep_axis(const std::string& text);

struct SweepPoint {
  std::vector<std::string> values;  // one per axis
  bool ok = false;
  std::string error;  // when !ok
  double gpu_hours = 0, cost_usd = 0, days = 0, mfu_bf16 = 0, mfu_fp8 = 0, tokens_per_s_per_gpu = 0;
  double memory_per_gpu_bytes = 0;
  bool fits = false;
};

// Every combination of the axes' values applied to `base`, in row-major order (last axis
// fastest), evaluated on `threads` threads.
std::vector<SweepPoint> run_sweep(const TrainingRun& base, const std::vector<SweepAxis>& axes, unsigned threads = 1,
                                  const EfficiencyConstants& c = default_efficiency());

std::string sweep_csv(const std::vector<SweepAxis>& axes, const std::vector<SweepPoint>& points);
std::string sweep_json(const std::vector<SweepAxis>& axes, const std::vector<SweepPoint>& points);

}  // namespace frugal::sim
