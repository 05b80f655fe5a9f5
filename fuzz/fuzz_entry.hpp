// One fuzzing input through everything that reads a config: the model readers (FrugalLM's keys and
// every Hugging Face family), the training run (clusters, stages, parallelism, overrides, the
// planner), serving (deployment, a short simulated workload, decode capacity) and calibration
// files. Refusals (ConfigError) are the expected answer to bad input; anything else escaping, a
// sanitizer report or a run past libFuzzer's -timeout is a bug.
#pragma once

#include <cstddef>
#include <cstdint>

namespace frugal::fuzz {

// Returns 0 whatever the input; throws only what the programs would not catch.
int run_one_input(const std::uint8_t* data, std::size_t size);

}  // namespace frugal::fuzz
