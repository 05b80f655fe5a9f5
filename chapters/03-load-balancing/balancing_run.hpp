// Chapter 3's runs, shared by the chapter and its test: deepseek-v3-tiny (core/configs) trained
// three ways by core's balancing experiment — 600 steps, or 60 with --quick.
#pragma once

#include "frugal/config/config_file.hpp"
#include "frugal/core/experiments.hpp"

namespace frugal::chapters {

struct BalancingSetup {
  ModelConfig model;
  core::TrainOptions options;
};

inline BalancingSetup balancing_setup(bool quick) {
  const nlohmann::json doc = read_json_file(std::string(FRUGAL_CORE_CONFIGS_DIR) + "/deepseek-v3-tiny.json");
  BalancingSetup s{model_from_document(doc), core::train_options_from_document(doc)};
  if (quick) {
    // 60 steps move a bias by at most 60γ: with V3's γ = 0.001 that is too little to see it work,
    // so the quick run uses γ = 0.01 (the full run keeps the config's 0.001).
    s.options.steps = 60;
    s.options.batch_size = 8;
    s.options.eval_every = 30;
    s.options.router.bias_update_speed = 0.01;
  }
  return s;
}

}  // namespace frugal::chapters
