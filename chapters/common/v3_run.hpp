// DeepSeek-V3's training run as config/models/deepseek-v3.json describes it: 2048 H800 at
// $2/GPU-hour (V3 report Table 1), the FP8 recipe, the three stages of §4. The chapters that price
// things start from it.
#pragma once

#include "frugal/config/presets.hpp"
#include "frugal/sim/training_config.hpp"

namespace frugal::chapters {

inline sim::TrainingRun deepseek_v3_run() { return sim::training_run_from_document(frugal::find_preset("deepseek-v3").document); }

}  // namespace frugal::chapters
