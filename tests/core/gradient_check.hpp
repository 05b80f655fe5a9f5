// Finite-difference gradient checking in double precision: the independent reference for every
// hand-written backward pass in core/.
#pragma once

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "frugal/core/parameters.hpp"
#include "frugal/core/random.hpp"
#include "frugal/core/tensor.hpp"

namespace frugal::core::testing {

// Central difference (f(θ+ε) − f(θ−ε)) / 2ε for the entries `indices` of `values`.
inline std::vector<double> numeric_gradient(const std::function<double()>& loss, double* values,
                                            const std::vector<Index>& indices, double eps = 1e-6) {
  std::vector<double> out;
  for (Index i : indices) {
    const double saved = values[i];
    values[i] = saved + eps;
    const double plus = loss();
    values[i] = saved - eps;
    const double minus = loss();
    values[i] = saved;
    out.push_back((plus - minus) / (2 * eps));
  }
  return out;
}

// ‖analytic − numeric‖ / ‖numeric‖ over the checked entries.
inline double relative_error(const std::vector<double>& analytic, const std::vector<double>& numeric) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < numeric.size(); ++i) {
    diff += (analytic[i] - numeric[i]) * (analytic[i] - numeric[i]);
    norm += numeric[i] * numeric[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-300);
}

// Up to `count` distinct indices in [0, size), spread by a seeded generator (all when size ≤ count).
inline std::vector<Index> sample_indices(Index size, Index count, std::uint64_t seed) {
  std::vector<Index> out;
  if (size <= count) {
    for (Index i = 0; i < size; ++i) out.push_back(i);
    return out;
  }
  Rng rng(seed);
  for (Index i = 0; i < count; ++i) out.push_back(static_cast<Index>(rng.below(static_cast<std::uint64_t>(size))));
  return out;
}

// Checks ∂loss/∂values[i] against `analytic[i]` on sampled entries; `what` names the tensor.
// Returns false when the loss does not depend on those entries (an expert no token chose): then
// the analytic gradient must be exactly zero too.
inline bool expect_gradient(const std::string& what, const std::function<double()>& loss, double* values,
                            const double* analytic, Index size, Index samples = 24, double tolerance = 1e-4) {
  const auto indices = sample_indices(size, samples, static_cast<std::uint64_t>(size) * 7919u + what.size());
  std::vector<double> a;
  for (Index i : indices) a.push_back(analytic[i]);
  const auto n = numeric_gradient(loss, values, indices);
  double norm = 0;
  for (double v : n) norm += v * v;
  if (norm == 0) {
    for (double v : a) EXPECT_EQ(v, 0.0) << what << ": the loss does not depend on it, its gradient must be 0";
    return false;
  }
  EXPECT_LT(relative_error(a, n), tolerance) << what;
  return true;
}

inline Matrix<double> random_matrix(Index rows, Index cols, Rng& rng, double scale = 1.0) {
  Matrix<double> m(rows, cols);
  fill_normal(m, rng, scale);
  return m;
}

// Σ R ⊙ Y: a loss whose gradient with respect to Y is the fixed random R.
inline double project(const Matrix<double>& y, const Matrix<double>& r) { return y.cwiseProduct(r).sum(); }

// Checks every tensor; at least 80% must have a non-zero gradient (only experts that no token
// chose may have none), so that the check is not vacuous.
inline void expect_all_parameter_gradients(Parameters<double>& params, const std::function<double()>& loss, Index samples = 12) {
  int checked = 0;
  const int tensors = static_cast<int>(params.tensors().size());
  for (int id = 0; id < tensors; ++id) {
    const TensorInfo& t = params.info(id);
    checked += expect_gradient(t.name, loss, params.values().data() + t.offset, params.grads().data() + t.offset,
                               t.size(), samples)
                   ? 1
                   : 0;
  }
  EXPECT_GE(checked, tensors * 4 / 5) << "too many tensors without a gradient";
}

}  // namespace frugal::core::testing
