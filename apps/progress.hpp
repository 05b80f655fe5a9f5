// frugal-train's progress display: one line per report, redrawn in place on a terminal.
#pragma once

#include <string>

#include "frugal/core/metrics.hpp"

namespace frugal::core::cli {

// "step  120/300 [########------------] loss 2.345 eval 2.401 floor 1.012 | 15.2K tok/s | MaxVio 0.31"
std::string progress_line(const StepMetrics& m, std::int64_t total_steps, double floor, double last_eval, bool moe);

}  // namespace frugal::core::cli
