// The efficiency constants fitted on the validation corpus, and the fit itself.
//
// Four constants of efficiency.hpp have no primary source that pins them down; they are fitted on
// the step rows of the corpus (sim/data/training_corpus.json) and nothing else is:
//   gemm_bf16                  the share of the chip's maximum achievable matmul rate a large BF16 GEMM reaches
//   grouped_gemm_per_expert_s  a grouped GEMM's fixed time per expert
//   moe_layer_fixed_s          an MoE layer's fixed time per micro-batch, forward and backward
//   overlap_shortfall          the share of overlappable communication that overlap fails to hide
// The fit minimises the mean |ln(predicted step time / published step time)| over the rows it is
// given: a simplex search (Nelder-Mead), then onto a grid per constant and one constant at a time
// until a round moves none, from each of three fixed start points (FittedConstant::start, and every
// constant a quarter and three quarters of the way along its grid), keeping the lowest: the
// objective's kinks and flat stretches hold a single search in local minima. `frugal-sim validate
// --leave-one-out` refits without each row's series to give the out-of-sample error.
#pragma once

#include <string>
#include <vector>

#include "frugal/sim/efficiency.hpp"
#include "frugal/sim/training_corpus.hpp"

namespace frugal::sim {

struct FittedConstant {
  std::string name;
  double EfficiencyConstants::*field;
  double low, high, step;  // the grid the fit searches
  double start;            // where the first of the fit's three searches starts: the value before
                           // any fit (0: no such cost)
};

// The fitted constants, in the order the fit visits them.
const std::vector<FittedConstant>& fitted_constants();

// Mean |ln(predicted / published step time)| over the step rows among `rows` (others are skipped).
double fit_objective(const std::vector<const CorpusRow*>& rows, const EfficiencyConstants& c);

// `base` with the fitted constants set to the grid values the search reaches from their start
// values, minimising fit_objective on `rows`. With no step row among them, `base` unchanged.
EfficiencyConstants fit_constants(const std::vector<const CorpusRow*>& rows,
                                  const EfficiencyConstants& base = default_efficiency());

}  // namespace frugal::sim
