// Chapter 3's runs, shared by the chapter and its test: the tiny run (common/tiny_run.hpp) trained
// three ways by core's balancing experiment.
#pragma once

#include "../common/tiny_run.hpp"
#include "frugal/core/experiments.hpp"

namespace frugal::chapters {

inline TinyRun balancing_setup(bool quick) {
  TinyRun run = tiny_run(quick);
  // 30 steps move a bias by at most 30γ: with V3's γ = 0.001 that is too little to see it work,
  // so the quick run uses γ = 0.01 (the full run keeps the config's 0.001).
  if (quick) run.options.router.bias_update_speed = 0.01;
  return run;
}

}  // namespace frugal::chapters
