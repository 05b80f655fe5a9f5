// The running reductions of the fused losses (losses.cu, v2), on the host and the device: each
// thread folds its share of a row into one of these, then the block merges them. Plain C++ too, so
// that the CPU tests can fold a row in any split and order and compare with core's two-pass sums.
//
// OnlineSoftmax: a running (max m, S = Σ e^{z − m}) — Milakov & Gimelshein 2018, "Online normalizer
// calculation for softmax" — with S_T = Σ e^{(z − m)/T} beside it for a distillation's student
// (max(z/T) = max(z)/T for T > 0). When a larger z arrives, the sums are rescaled by e^{m − z}.
// OnlineTeacher: for the teacher's tempered logits u = z_t/T, a running max, S_t = Σ e^{u − max}
// and W = Σ e^{u − max} · (z_t − z_s)/T, rescaled together, so that
//   KL(p_t ‖ p_s) = W / S_t − LSE(z_t/T) + LSE(z_s/T)        (p = softmax(z/T); losses.hpp).
#pragma once

#include <cmath>

#include "frugal/kernels/fp8_layout.hpp"  // FRUGAL_HOST_DEVICE

namespace frugal::kernels {

struct OnlineSoftmax {
  float max = -INFINITY, sum = 0.0f, sum_tempered = 0.0f;

  FRUGAL_HOST_DEVICE void add(float z, float inverse_t) {
    if (z == -INFINITY) return;  // a masked logit adds nothing
    if (z > max) {
      sum = sum * expf(max - z) + 1.0f;
      sum_tempered = sum_tempered * expf((max - z) * inverse_t) + 1.0f;
      max = z;
    } else {
      sum += expf(z - max);
      sum_tempered += expf((z - max) * inverse_t);
    }
  }
  FRUGAL_HOST_DEVICE void merge(const OnlineSoftmax& o, float inverse_t) {
    const float m = fmaxf(max, o.max);
    if (m == -INFINITY) return;
    sum = sum * expf(max - m) + o.sum * expf(o.max - m);
    sum_tempered = sum_tempered * expf((max - m) * inverse_t) + o.sum_tempered * expf((o.max - m) * inverse_t);
    max = m;
  }
  FRUGAL_HOST_DEVICE float lse() const { return max + logf(sum); }                                 // LSE(z)
  FRUGAL_HOST_DEVICE float lse_tempered(float inverse_t) const { return max * inverse_t + logf(sum_tempered); }  // LSE(z/T)
};

struct OnlineTeacher {
  float max = -INFINITY, sum = 0.0f, weighted = 0.0f;

  FRUGAL_HOST_DEVICE void add(float zt_over_t, float difference_over_t) {
    if (zt_over_t == -INFINITY) return;
    if (zt_over_t > max) {
      const float r = expf(max - zt_over_t);
      sum = sum * r + 1.0f;
      weighted = weighted * r + difference_over_t;
      max = zt_over_t;
    } else {
      const float e = expf(zt_over_t - max);
      sum += e;
      weighted += e * difference_over_t;
    }
  }
  FRUGAL_HOST_DEVICE void merge(const OnlineTeacher& o, float /*inverse_t*/ = 0.0f) {
    const float m = fmaxf(max, o.max);
    if (m == -INFINITY) return;
    const float a = expf(max - m), b = expf(o.max - m);
    sum = sum * a + o.sum * b;
    weighted = weighted * a + o.weighted * b;
    max = m;
  }
  FRUGAL_HOST_DEVICE float lse() const { return max + logf(sum); }  // LSE(z_t/T)
  // KL(p_t ‖ p_s) given the student's LSE(z_s/T).
  FRUGAL_HOST_DEVICE float kl(float student_lse_tempered) const { return weighted / sum - lse() + student_lse_tempered; }
};

}  // namespace frugal::kernels
