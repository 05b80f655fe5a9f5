#include "frugal/sim/corpus_fit.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace frugal::sim {

const std::vector<FittedConstant>& fitted_constants() {
  static const std::vector<FittedConstant> constants = {
      // name, field, grid low, high, step, where the search starts
      {"gemm_bf16", &EfficiencyConstants::gemm_bf16, 0.50, 1.00, 0.01, 0.80},
      {"grouped_gemm_per_expert_s", &EfficiencyConstants::grouped_gemm_per_expert_s, 0.0, 80e-6, 1e-6, 0.0},
      {"moe_layer_fixed_s", &EfficiencyConstants::moe_layer_fixed_s, 0.0, 3e-3, 0.05e-3, 0.0},
      {"overlap_shortfall", &EfficiencyConstants::overlap_shortfall, 0.0, 1.0, 0.025, 0.0},
      {"gemm_fp8", &EfficiencyConstants::gemm_fp8, 0.40, 0.90, 0.01, 0.625},
  };
  return constants;
}

double fit_objective(const std::vector<const CorpusRow*>& rows, const EfficiencyConstants& c) {
  double sum = 0;
  int count = 0;
  for (const CorpusRow* r : rows) {
    if (r->row_class != "step") continue;
    sum += std::fabs(std::log1p(time_rel_error(r->metric, predict_corpus_row(*r, c), r->published)));
    ++count;
  }
  return count > 0 ? sum / count : 0.0;
}

namespace {

// Nelder-Mead (the simplex method of Nelder and Mead, 1965) over the fitted constants measured in
// grid steps, each held inside its grid: it follows the valleys where two constants trade off (a
// grouped GEMM's per-expert time against an MoE layer's fixed time), which a search along one
// constant at a time stops in.
std::vector<double> simplex_minimum(const std::function<double(const std::vector<double>&)>& f, std::vector<double> x0,
                                    double size) {
  const std::size_t n = x0.size();
  std::vector<std::vector<double>> p(n + 1, x0);
  for (std::size_t i = 0; i < n; ++i) p[i + 1][i] += size;
  std::vector<double> y(n + 1);
  for (std::size_t i = 0; i <= n; ++i) y[i] = f(p[i]);
  const auto along = [&](const std::vector<double>& from, const std::vector<double>& to, double t) {
    std::vector<double> out(n);
    for (std::size_t j = 0; j < n; ++j) out[j] = from[j] + t * (to[j] - from[j]);
    return out;
  };
  for (int iteration = 0; iteration < 2000; ++iteration) {
    std::vector<std::size_t> order(n + 1);
    for (std::size_t i = 0; i <= n; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return y[a] < y[b]; });
    const std::size_t best = order.front(), worst = order.back(), second = order[n - 1];
    double spread = 0;
    for (std::size_t i = 0; i <= n; ++i)
      for (std::size_t j = 0; j < n; ++j) spread = std::max(spread, std::fabs(p[i][j] - p[best][j]));
    if (spread < 1e-3) break;
    std::vector<double> centroid(n, 0.0);
    for (std::size_t i = 0; i <= n; ++i)
      if (i != worst)
        for (std::size_t j = 0; j < n; ++j) centroid[j] += p[i][j] / static_cast<double>(n);
    const std::vector<double> reflected = along(centroid, p[worst], -1.0);
    const double yr = f(reflected);
    if (yr < y[best]) {
      const std::vector<double> expanded = along(centroid, p[worst], -2.0);
      const double ye = f(expanded);
      if (ye < yr) p[worst] = expanded, y[worst] = ye;
      else p[worst] = reflected, y[worst] = yr;
    } else if (yr < y[second]) {
      p[worst] = reflected, y[worst] = yr;
    } else {
      const std::vector<double> contracted = along(centroid, p[worst], 0.5);
      const double yc = f(contracted);
      if (yc < y[worst]) {
        p[worst] = contracted, y[worst] = yc;
      } else {  // shrink towards the best
        for (std::size_t i = 0; i <= n; ++i)
          if (i != best) p[i] = along(p[best], p[i], 0.5), y[i] = f(p[i]);
      }
    }
  }
  return p[static_cast<std::size_t>(std::min_element(y.begin(), y.end()) - y.begin())];
}

}  // namespace

std::vector<double> minimise_on_grid(const std::function<double(const std::vector<double>&)>& objective,
                                     const std::vector<FittedConstant>& axes,
                                     const std::vector<double>& start_fractions) {
  const auto grid_points = [](const FittedConstant& f) { return std::lround((f.high - f.low) / f.step); };
  // A point in grid steps -> the values (clamped to the grid's range).
  const auto values_at = [&](const std::vector<double>& x) {
    std::vector<double> v(axes.size());
    for (std::size_t i = 0; i < axes.size(); ++i)
      v[i] = axes[i].low + axes[i].step * std::clamp(x[i], 0.0, static_cast<double>(grid_points(axes[i])));
    return v;
  };
  const auto in_steps = [&](const std::vector<double>& x) { return objective(values_at(x)); };
  std::vector<double> best_values;
  double best_objective = std::numeric_limits<double>::infinity();
  for (const double fraction : start_fractions) {
    std::vector<double> x;
    for (const FittedConstant& f : axes)
      x.push_back(fraction < 0 ? (f.start - f.low) / f.step : fraction * static_cast<double>(grid_points(f)));
    // 1. The simplex search, continuous, in grid steps; restarted from where it stops with a fresh
    // simplex (the usual guard against a simplex that collapsed before the minimum).
    x = simplex_minimum(in_steps, x, 8.0);
    x = simplex_minimum(in_steps, x, 2.0);
    // 2. Onto the grid, then one constant at a time kWindow steps either side, until a round moves
    // none of them.
    for (double& v : x) v = std::round(v);
    std::vector<double> here_values = values_at(x);
    double here_objective = objective(here_values);
    constexpr int kMaxRounds = 50, kWindow = 4;
    for (int round = 0; round < kMaxRounds; ++round) {
      bool moved = false;
      for (std::size_t a = 0; a < axes.size(); ++a) {
        const long points = grid_points(axes[a]);
        const long here = std::lround((here_values[a] - axes[a].low) / axes[a].step);
        long best_index = here;
        for (long i = std::max(0L, here - kWindow); i <= std::min(points, here + kWindow); ++i) {
          if (i == here) continue;  // here_objective already holds it
          std::vector<double> trial = here_values;
          trial[a] = axes[a].low + axes[a].step * static_cast<double>(i);
          const double o = objective(trial);
          if (o < here_objective - 1e-12) {
            here_objective = o;
            best_index = i;
          }
        }
        if (best_index != here) {
          here_values[a] = axes[a].low + axes[a].step * static_cast<double>(best_index);
          moved = true;
        }
      }
      if (!moved) break;
    }
    if (here_objective < best_objective - 1e-12) {
      best_objective = here_objective;
      best_values = here_values;
    }
  }
  return best_values;
}

EfficiencyConstants fit_constants(const std::vector<const CorpusRow*>& rows, const EfficiencyConstants& base) {
  EfficiencyConstants c = base;
  std::vector<const CorpusRow*> step_rows;
  for (const CorpusRow* r : rows)
    if (r->row_class == "step") step_rows.push_back(r);
  if (step_rows.empty()) return c;
  const std::vector<FittedConstant>& fitted = fitted_constants();
  const auto set = [&](EfficiencyConstants& k, const std::vector<double>& values) {
    for (std::size_t i = 0; i < fitted.size(); ++i) k.*fitted[i].field = values[i];
  };
  const std::vector<double> best = minimise_on_grid(
      [&](const std::vector<double>& values) {
        set(c, values);
        return fit_objective(step_rows, c);
      },
      fitted, kFitStartFractions);
  set(c, best);
  return c;
}

}  // namespace frugal::sim
