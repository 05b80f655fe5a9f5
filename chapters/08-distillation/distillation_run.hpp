// Chapter 8's run, shared by the chapter and its test: the tiny run (common/tiny_run.hpp) as the
// teacher, distilled by core's experiment.
#pragma once

#include "../common/tiny_run.hpp"
#include "frugal/core/experiments.hpp"

namespace frugal::chapters {

inline TinyRun distillation_setup(bool quick) {
  TinyRun run = tiny_run(quick);
  // The teacher writes every sampled token with a full forward pass over its prefix (no KV cache):
  // the quick run asks it for 16 sequences instead of one per training sequence (120), which keeps
  // the chapter's test under a minute under the sanitizers.
  if (quick) run.options.distillation.samples = 16;
  return run;
}

// The sequence-KD sweep (core's run_sequence_kd) at the chapter's size: the quick run's 120
// training sequences against 16 real ones and unlimited; the full run's 9,600 against 64 and 512
// (each read 150 and 19 times) and unlimited.
inline core::SequenceKdSweep sequence_kd_sweep(bool quick) {
  core::SequenceKdSweep sweep;
  if (quick) {
    sweep.real_sequences = {16, 0};
    sweep.few_samples = 16;
  }
  return sweep;
}

}  // namespace frugal::chapters
