// The model and training run most chapters use: deepseek-v3-tiny as core/configs describes it,
// trained 600 steps — or 30 steps of 4 sequences with --quick (seconds, and under a minute even
// under the sanitizers, where the chapters' tests run them too).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "frugal/config/config_file.hpp"
#include "frugal/core/train_options.hpp"

namespace frugal::chapters {

struct TinyRun {
  ModelConfig model;
  core::TrainOptions options;
};

// Where core/configs is: the FRUGAL_CORE_CONFIGS_DIR environment variable when it is set (a chapter
// run from a copy of the repository other than the one it was built in, as scripts/gpu-check.sh
// runs the prebuilt GPU bundle), else the source tree the chapter was built from.
inline std::string core_configs_dir() {
  const char* moved = std::getenv("FRUGAL_CORE_CONFIGS_DIR");
  return moved != nullptr && *moved != '\0' ? std::string(moved) : std::string(FRUGAL_CORE_CONFIGS_DIR);
}

// deepseek-v3-tiny's document; a missing or unreadable one ends the chapter with one line, status 2.
inline nlohmann::json tiny_config_document() {
  try {
    return read_json_file(core_configs_dir() + "/deepseek-v3-tiny.json");
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "chapter: %s (FRUGAL_CORE_CONFIGS_DIR names the repository's core/configs)\n", e.what());
    std::exit(2);
  }
}

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

}  // namespace frugal::chapters
