// The model and training run most chapters use: deepseek-v3-tiny as config/models describes it,
// trained 600 steps — or 30 steps of 4 sequences with --quick (seconds, and under a minute even
// under the sanitizers, where the chapters' tests run them too).
#pragma once

#include <fmt/format.h>

#include <string>

#include "frugal/config/config_file.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/core/train_options.hpp"

namespace frugal::chapters {

struct TinyRun {
  ModelConfig model;
  core::TrainOptions options;
};

// deepseek-v3-tiny's document — its model and its "cpu_training" run — as frugal::config ships it
// (config/models/deepseek-v3-tiny.json, compiled in): a chapter runs from any directory, including
// a copy of its binary on another machine (scripts/gpu-check.sh's bundle), with no file to find.
inline const nlohmann::json& tiny_config_document() { return find_preset("deepseek-v3-tiny").document; }

inline TinyRun tiny_run(bool quick) {
  const nlohmann::json doc = tiny_config_document();
  TinyRun run{model_from_document(doc), core::train_options_from_document(doc)};
  if (quick) {
    run.options.steps = 30;
    run.options.batch_size = 4;
    run.options.eval_every = 15;
  }
  return run;
}

// The seeds of a chapter's experiment: 3 in full mode, so that its sentences can tell a difference
// from the noise between seeds (mean ± standard deviation); 1 in the quick run.
inline int chapter_seeds(bool quick) { return quick ? 1 : 3; }
// "1.305 ± 0.032" over several seeds, "1.305" for one.
inline std::string with_spread(double mean, double std, int seeds) {
  return seeds > 1 ? fmt::format("{:.3f} ± {:.3f}", mean, std) : fmt::format("{:.3f}", mean);
}

}  // namespace frugal::chapters
