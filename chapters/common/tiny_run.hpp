// The model and training run most chapters use: deepseek-v3-tiny as core/configs describes it,
// trained 600 steps — or 30 steps of 4 sequences with --quick (seconds, and under a minute even
// under the sanitizers, where the chapters' tests run them too).
#pragma once

#include <string>

#include "frugal/config/config_file.hpp"
#include "frugal/core/train_options.hpp"

namespace frugal::chapters {

struct TinyRun {
  ModelConfig model;
  core::TrainOptions options;
};

inline TinyRun tiny_run(bool quick) {
  const nlohmann::json doc = read_json_file(std::string(FRUGAL_CORE_CONFIGS_DIR) + "/deepseek-v3-tiny.json");
  TinyRun run{model_from_document(doc), core::train_options_from_document(doc)};
  if (quick) {
    run.options.steps = 30;
    run.options.batch_size = 4;
    run.options.eval_every = 15;
  }
  return run;
}

}  // namespace frugal::chapters
