// AdamW (Loshchilov & Hutter 2019, Algorithm 2) over the flat parameter buffer, with global-norm
// gradient clipping and a warmup + cosine learning-rate schedule.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "frugal/core/parameters.hpp"

namespace frugal::core {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.95;  // V3 report §4.2
  double epsilon = 1e-8;
  double weight_decay = 0.1;  // V3 report §4.2
  bool bf16_moments = false;  // store m and v in BF16, as V3 trains (§3.3.3); master weights stay FP32
};

// Linear warmup to `peak` over `warmup` steps, then cosine decay to peak·min_ratio at `total`.
inline double learning_rate_at(std::int64_t step, std::int64_t total, std::int64_t warmup, double peak,
                               double min_ratio) {
  if (step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double progress = total > warmup ? static_cast<double>(step - warmup) / static_cast<double>(total - warmup) : 1.0;
  const double cosine = 0.5 * (1.0 + std::cos(3.141592653589793 * std::min(progress, 1.0)));
  return peak * (min_ratio + (1.0 - min_ratio) * cosine);
}

// ‖g‖₂ over every parameter (in double: 10⁵–10⁶ terms).
double gradient_norm(const AlignedVector<float>& grads);
// Global-norm clipping (Pascanu et al. 2013): the factor min(1, max_norm / norm) that AdamW
// applies to the gradient as it reads it (1 when max_norm is 0: no clipping).
inline double clip_scale(double norm, double max_norm) { return max_norm > 0 && norm > max_norm ? max_norm / norm : 1.0; }

class AdamW {
 public:
  explicit AdamW(const AdamWOptions& options = {}) : options_(options) {}

  // With g = grad_scale · ∇ (the clipped gradient):
  //   m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  m̂ = m/(1−β1ᵗ);  v̂ = v/(1−β2ᵗ)
  //   θ ← θ − lr (m̂ / (sqrt(v̂) + ε) + λ θ)      (λ only on tensors marked for decay)
  void step(Parameters<float>& params, double learning_rate, double grad_scale = 1.0);

  std::int64_t steps_taken() const { return t_; }
  const AlignedVector<float>& first_moment() const { return m_; }
  const AlignedVector<float>& second_moment() const { return v_; }
  void restore(std::int64_t steps, const std::vector<float>& m, const std::vector<float>& v) {
    t_ = steps;
    m_.assign(m.begin(), m.end());
    v_.assign(v.begin(), v.end());
  }

 private:
  AdamWOptions options_;
  std::int64_t t_ = 0;
  AlignedVector<float> m_, v_;
};

}  // namespace frugal::core
