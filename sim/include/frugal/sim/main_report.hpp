// The report `frugal-sim` prints with no arguments: DeepSeek-V3 next to dense baselines.
#pragma once

#include <string>
#include <vector>

#include "frugal/config/model_config.hpp"
#include "frugal/sim/model_accountant.hpp"
#include "frugal/sim/published.hpp"

namespace frugal::sim {

// One computed-vs-published comparison for a model in the report.
struct FigureCheck {
  PublishedFigure figure;
  double predicted = 0;
  double rel_error = 0;
};

// Every published figure about `model`, computed under the conditions it was published with.
std::vector<FigureCheck> check_published_figures(const ModelConfig& model);

// Formats a metric value for people ("671.0B", "250.4 GFLOP", "70,272 B").
std::string format_metric(const std::string& metric, double value);

// The models of the main report: DeepSeek-V3, Llama-3.1-405B, a dense model with V3's activated
// parameter count, and DeepSeek 67B.
std::vector<ModelConfig> main_report_models();

std::string main_report_text();

}  // namespace frugal::sim
