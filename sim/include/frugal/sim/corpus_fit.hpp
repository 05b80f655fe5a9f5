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

#include <functional>
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

// Where each of the fit's searches starts, as a fraction of every constant's grid; -1 stands for
// FittedConstant::start. The objective (a mean of |log ratios|) has kinks and flat stretches, so a
// search can rest in a local minimum that a small change to unrelated rows moves it out of: every
// fit runs from the same three points, whatever `base` holds (so that a fit without a series owes
// nothing to the fit with it), and keeps the lowest.
inline const std::vector<double> kFitStartFractions = {-1.0, 0.25, 0.75};

// The search the fit runs, on any objective of the axes' values (FittedConstant::field unused):
// from each start, a simplex search (Nelder-Mead) in grid steps, restarted once from where it
// stops; then onto the grid, and one axis at a time up to 4 steps either side until a round moves
// none. Returns the values of the lowest point any start reached (the first on a tie).
std::vector<double> minimise_on_grid(const std::function<double(const std::vector<double>&)>& objective,
                                     const std::vector<FittedConstant>& axes,
                                     const std::vector<double>& start_fractions);

// `base` with the fitted constants set to the grid values the search reaches from their start
// values, minimising fit_objective on `rows`. With no step row among them, `base` unchanged.
EfficiencyConstants fit_constants(const std::vector<const CorpusRow*>& rows,
                                  const EfficiencyConstants& base = default_efficiency());

}  // namespace frugal::sim
