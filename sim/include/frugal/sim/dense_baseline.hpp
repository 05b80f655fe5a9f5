// Dense baselines for an MoE model: "a dense model with the same activated parameters" and "a
// dense model with the same total parameters" (issue: training cost simulator, dense comparison).
#pragma once

#include <string>

#include "frugal/config/model_config.hpp"

namespace frugal::sim {

enum class ParamMatch { active, total };

// A Llama-shaped dense model (GQA with 128-dim heads and 8 KV heads, SwiGLU) with the same
// width, depth and vocabulary as `like`, whose FFN width is solved so that its active (or total)
// parameter count is as close as a multiple of 128 allows to `target_params`.
ModelConfig dense_baseline(const ModelConfig& like, double target_params, ParamMatch match, std::string name);

}  // namespace frugal::sim
