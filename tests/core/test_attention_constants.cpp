// The two constants that finite-difference checks cannot see, since forward and backward agree
// whatever their value: the attention softmax scale 1/sqrt(d_qk) (Vaswani et al. 2017, eq. 1;
// DeepSeek-V3 inference/model.py "self.softmax_scale = self.qk_head_dim ** -0.5") and the RMSNorm ε
// of 1e-6 (V3 config.json "rms_norm_eps": 1e-06; model.py RMSNorm "eps: float = 1e-6").
// Each is pinned by a case small enough to work out by hand, forward and backward.
#include <gtest/gtest.h>

#include <cmath>

#include "frugal/core/layers.hpp"

namespace frugal::core {
namespace {

// Two tokens, one head, d_qk = 4, d_v = 1. With c = ln(3)/2:
//   q_0 = [1, 0, 0, 0], q_1 = [1, 1, 1, 1];  k_0 = [0, 0, 0, 0], k_1 = [c, c, c, c];  v = [1, 5]
// Token 1 sees both keys: q_1·k_0 = 0, q_1·k_1 = 4c = 2 ln 3; scaled by 1/sqrt(4) = 1/2 → [0, ln 3],
//   p_1 = softmax([0, ln 3]) = [1/4, 3/4],  out_1 = 1/4·1 + 3/4·5 = 4.
// (With 1/d = 1/4 instead: logits [0, ln(3)/2], p_1 = [1/(1+√3), √3/(1+√3)], out_1 = 3.54.)
// Token 0 sees only itself: p_0 = [1, 0], out_0 = v_0 = 1.
struct TwoTokenAttention {
  AttentionShape shape{1, 2, 1, 1, 4, 1};
  Matrix<double> q{2, 4}, k{2, 4}, v{2, 1};
  TwoTokenAttention() {
    const double c = std::log(3.0) / 2;
    q << 1, 0, 0, 0, 1, 1, 1, 1;
    k << 0, 0, 0, 0, c, c, c, c;
    v << 1, 5;
  }
};

TEST(AttentionConstants, SoftmaxScaleIsInverseSqrtOfQkDimForward) {
  TwoTokenAttention a;
  Matrix<double> out;
  AttentionCache<double> cache;
  attention_forward(out, cache, a.q, a.k, a.v, a.shape);
  EXPECT_NEAR(cache.probs[0](1, 0), 0.25, 1e-15);
  EXPECT_NEAR(cache.probs[0](1, 1), 0.75, 1e-15);
  EXPECT_NEAR(out(0, 0), 1.0, 1e-15);
  EXPECT_NEAR(out(1, 0), 4.0, 1e-14);
}

// With dO = [0, 1] (only token 1's output matters), by hand:
//   dV = Pᵀ·dO:            dv_0 = p_10 = 1/4, dv_1 = p_11 = 3/4
//   dP_1 = dO_1·vᵀ = [1, 5];  Σ_j p_1j dP_1j = 1/4 + 15/4 = 4
//   dS_1 = p_1 ⊙ (dP_1 − 4) · (1/2) = [1/4·(−3), 3/4·1] / 2 = [−3/8, 3/8];  dS_0 = 0
//   dq_1 = Σ_j dS_1j k_j = 3/8·k_1 = (3c/8)·[1, 1, 1, 1];  dq_0 = 0
//   dk_0 = dS_10 q_1 = −3/8·[1, 1, 1, 1],  dk_1 = dS_11 q_1 = 3/8·[1, 1, 1, 1]
// The scale appears once in dS: a backward pass with 1/d alone would halve dq and dk.
TEST(AttentionConstants, SoftmaxScaleIsInverseSqrtOfQkDimBackward) {
  TwoTokenAttention a;
  Matrix<double> out, dq, dk, dv;
  AttentionCache<double> cache;
  attention_forward(out, cache, a.q, a.k, a.v, a.shape);
  Matrix<double> dout(2, 1);
  dout << 0, 1;
  attention_backward(dq, dk, dv, dout, cache, a.q, a.k, a.v, a.shape);
  const double c = std::log(3.0) / 2;
  EXPECT_NEAR(dv(0, 0), 0.25, 1e-15);
  EXPECT_NEAR(dv(1, 0), 0.75, 1e-15);
  for (int j = 0; j < 4; ++j) {
    EXPECT_NEAR(dq(0, j), 0.0, 1e-15);
    EXPECT_NEAR(dq(1, j), 3 * c / 8, 1e-15);
    EXPECT_NEAR(dk(0, j), -3.0 / 8, 1e-15);
    EXPECT_NEAR(dk(1, j), 3.0 / 8, 1e-15);
  }
}

// x = [a, −a] with a = 1e-3, gain 1: mean x² = 1e-6, the same size as ε, so ε is visible.
//   rms = sqrt(1e-6 + 1e-6) = sqrt(2)·1e-3,  y = x / rms = [1/√2, −1/√2]
// (ε = 0 would give [1, −1]; ε = 1e-2 would give [0.0099995, −0.0099995].)
// Backward, dy = [1, 0]: ∂y_j/∂x_k = (δ_jk − x_j x_k / (n·rms²)) / rms with n = 2, rms² = 2e-6:
//   dx_0 = (1 − a²/(4e-6)) / rms = 0.75 / rms,  dx_1 = −(x_0 x_1)/(4e-6) / rms = 0.25 / rms
//   (ε = 0: both 500.)
TEST(AttentionConstants, RmsNormEpsilonIsOneMillionth) {
  const double a = 1e-3, rms = std::sqrt(2.0) * 1e-3;
  Matrix<double> x(1, 2), gain = Matrix<double>::Ones(1, 2), y, dx, dgain = Matrix<double>::Zero(1, 2);
  x << a, -a;
  RmsNormCache<double> cache;
  rmsnorm_forward(y, cache, x, ConstMatrixMap<double>(gain.data(), 1, 2));
  EXPECT_NEAR(y(0, 0), 1 / std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(y(0, 1), -1 / std::sqrt(2.0), 1e-12);

  Matrix<double> dy(1, 2);
  dy << 1, 0;
  rmsnorm_backward(dx, MatrixMap<double>(dgain.data(), 1, 2), dy, cache, ConstMatrixMap<double>(gain.data(), 1, 2));
  EXPECT_NEAR(dx(0, 0), 0.75 / rms, 1e-9);
  EXPECT_NEAR(dx(0, 1), 0.25 / rms, 1e-9);
  EXPECT_NEAR(dgain(0, 0), 1 / std::sqrt(2.0), 1e-12);  // dg = dy ⊙ x̂
}

}  // namespace
}  // namespace frugal::core
