// What the experiments' source files share (mean_and_std is in experiment_report.cpp, the rest in
// experiments.cpp).
#pragma once

#include <vector>

#include "frugal/core/experiments.hpp"

namespace frugal::core {

// Mean and sample standard deviation (0 for one value).
void mean_and_std(const std::vector<double>& values, double& mean, double& std);
// The options of seed index i: options.seed + i (weights and batches).
TrainOptions with_seed(TrainOptions options, int index);
// A report with its name, question and seed count, no arms yet.
ExperimentReport new_report(std::string name, std::string question, int seeds);
// Trains the arms (run_arms) and appends them to the report, in order.
void add_arms(ExperimentReport& report, const std::vector<ArmSpec>& arms, const ArmProgress& progress);
// The data source's floor (asked of the source, not of a model built for it) and the FLOPs every
// run reached.
void finish_report(ExperimentReport& report, const TrainOptions& options);

}  // namespace frugal::core
