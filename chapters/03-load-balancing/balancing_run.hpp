// Chapter 3's runs, shared by the chapter and its test: the tiny run (common/tiny_run.hpp), first
// with the bias update speed γ swept, then trained three ways by core's balancing experiment at the
// γ that balanced best.
#pragma once

#include <vector>

#include "../common/tiny_run.hpp"
#include "frugal/core/experiments.hpp"

namespace frugal::chapters {

// The γs the chapter sweeps (every run with chapter_seeds, tiny_run.hpp).
inline std::vector<double> chapter_gammas(bool quick) {
  // 30 quick steps move a bias by at most 30γ: too little to see V3's 0.001 work, so the quick run
  // compares 0.001 with 0.01 only.
  return quick ? std::vector<double>{0.001, 0.01} : std::vector<double>{0.0003, 0.001, 0.003, 0.01};
}

// The comparison's settings: the bias at the γ the sweep balanced best with; the auxiliary loss
// at α = 0.001, the baseline of the loss-free balancing paper (Wang et al. 2024, arXiv 2408.15664,
// §4.1: "we set the auxiliary loss coefficient α to 0.001 to achieve a reasonable trade-off between
// model performance and load balance").
inline TinyRun balancing_setup(bool quick, double gamma) {
  TinyRun run = tiny_run(quick);
  run.options.router.bias_update_speed = gamma;
  run.options.router.aux_loss_alpha = 0.001;
  return run;
}

}  // namespace frugal::chapters
