// The transformer's building blocks, forward and backward (declarations and conventions in
// layers.hpp). Instantiated for float (training) and double (finite-difference tests).
#include "frugal/core/layers.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <type_traits>

namespace frugal::core {

// out[t, :] = table[token_t, :]
template <class T>
void embedding_forward(Matrix<T>& out, const std::vector<int>& tokens, ConstMatrixMap<T> table) {
  out.resize(static_cast<Index>(tokens.size()), table.cols());
  for (std::size_t t = 0; t < tokens.size(); ++t) out.row(static_cast<Index>(t)) = table.row(tokens[t]);
}

// dtable[token_t, :] += dout[t, :]
template <class T>
void embedding_backward(MatrixMap<T> dtable, const std::vector<int>& tokens, const Matrix<T>& dout) {
  for (std::size_t t = 0; t < tokens.size(); ++t) dtable.row(tokens[t]) += dout.row(static_cast<Index>(t));
}

// y = g ⊙ x / rms(x),  rms(x) = sqrt(mean_j x_j² + ε)    (Zhang & Sennrich 2019, eq. 4)
template <class T>
void rmsnorm_forward(Matrix<T>& out, RmsNormCache<T>& cache, const Matrix<T>& x, ConstMatrixMap<T> gain) {
  const Index rows = x.rows(), cols = x.cols();
  cache.inv_rms.resize(static_cast<std::size_t>(rows));
  Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> inv(cache.inv_rms.data(), rows);
  inv = (x.rowwise().squaredNorm().array() / static_cast<T>(cols) + static_cast<T>(kRmsNormEpsilon)).rsqrt();
  cache.normalized = (x.array().colwise() * inv).matrix();
  out = (cache.normalized.array().rowwise() * gain.row(0).array()).matrix();
}

// With x̂ = x/rms and dŷ = g ⊙ dy:
//   dg += Σ_rows dy ⊙ x̂
//   dx  = (dŷ − x̂ · mean_j(dŷ_j x̂_j)) / rms
template <class T>
void rmsnorm_backward(Matrix<T>& dx, MatrixMap<T> dgain, const Matrix<T>& dout, const RmsNormCache<T>& cache,
                      ConstMatrixMap<T> gain) {
  const Index rows = dout.rows(), cols = dout.cols();
  dgain.row(0) += dout.cwiseProduct(cache.normalized).colwise().sum();
  const Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>> inv(cache.inv_rms.data(), rows);
  const Matrix<T> dnormalized = (dout.array().rowwise() * gain.row(0).array()).matrix();
  const Eigen::Array<T, Eigen::Dynamic, 1> mean_dot =
      dnormalized.cwiseProduct(cache.normalized).rowwise().sum().array() / static_cast<T>(cols);
  dx = ((dnormalized.array() - cache.normalized.array().colwise() * mean_dot).colwise() * inv).matrix();
}

// The scales one GEMM of a Linear layer quantises its operands with (V3 §3.3.2, Figure 7a), or one
// per operand when the recipe says per_tensor.
static Fp8GemmOptions with_tiles(Fp8GemmOptions o, TileShape a, TileShape b) {
  o.a_tile = o.per_tensor ? kPerTensor : a;
  o.b_tile = o.per_tensor ? kPerTensor : b;
  return o;
}

template <class T>
void linear_forward(Matrix<T>& y, const Matrix<T>& x, ConstMatrixMap<T> w, const Fp8GemmOptions* fp8) {
  if constexpr (std::is_same_v<T, float>) {
    if (fp8 && fp8->forward) {
      // fprop: activations in 1×128 tiles along the input channels, weights in 128×128 blocks.
      fp8_gemm(y, x, Matrix<float>(w), with_tiles(*fp8, kTile1x128, kBlock128x128));
      return;
    }
  }
  y.resize(x.rows(), w.cols());
  gemm(y, x, w);
}

// The backward GEMMs of an FP8 recipe: each in FP8 or FP32 as the recipe says.
static void fp8_linear_backward(Matrix<float>* dx, MatrixMap<float> dw, const Matrix<float>& dy, const Matrix<float>& x,
                                ConstMatrixMap<float> w, bool accumulate_dx, const Fp8GemmOptions& fp8) {
  if (fp8.wgrad) {
    // wgrad: both operands are activations (gradients): tiles along the token dimension, K.
    Matrix<float> dw_step;
    fp8_gemm(dw_step, Matrix<float>(x.transpose()), dy, with_tiles(fp8, kTile1x128, kTile128x1));
    dw += dw_step;
  } else {
    gemm(dw, x.transpose(), dy, /*accumulate=*/true);
  }
  if (dx == nullptr) return;
  if (fp8.dgrad) {
    // dgrad: output gradients in 1×128 tiles, the transposed weight in 128×128 blocks.
    fp8_gemm(*dx, dy, Matrix<float>(w.transpose()), with_tiles(fp8, kTile1x128, kBlock128x128), accumulate_dx);
    return;
  }
  if (!accumulate_dx) dx->resize(dy.rows(), w.rows());
  gemm(*dx, dy, w.transpose(), accumulate_dx);
}

// y = x·W  ⇒  dW = xᵀ·dy,  dx = dy·Wᵀ
template <class T>
void linear_backward(Matrix<T>* dx, MatrixMap<T> dw, const Matrix<T>& dy, const Matrix<T>& x, ConstMatrixMap<T> w,
                     bool accumulate_dx, const Fp8GemmOptions* fp8) {
  if constexpr (std::is_same_v<T, float>) {
    if (fp8) {
      fp8_linear_backward(dx, dw, dy, x, w, accumulate_dx, *fp8);
      return;
    }
  }
  gemm(dw, x.transpose(), dy, /*accumulate=*/true);
  if (dx == nullptr) return;
  if (!accumulate_dx) dx->resize(dy.rows(), w.rows());
  gemm(*dx, dy, w.transpose(), accumulate_dx);
}

// Plain RoPE: ω_i = base^(−2i/d), i = 0 … d/2 − 1 (RoFormer eq. 15).
// YaRN (Peng et al. 2023, §3.2 "NTK-by-parts"), as DeepSeek-V3's inference/model.py
// precompute_freqs_cis computes it with L = original_seq_len and s = factor:
//   correction_dim(r) = d · ln(L / (2π r)) / (2 ln base)
//       "dim * math.log(max_seq_len / (num_rotations * 2 * math.pi)) / (2 * math.log(base))"
//   low  = max(floor(correction_dim(beta_fast)), 0),  high = min(ceil(correction_dim(beta_slow)), d − 1)
//       "return max(low, 0), min(high, dim-1)"   (d − 1, not d/2 − 1: model.py's bound, kept)
//   ramp_i = clamp((i − low) / (high − low), 0, 1), with high += 0.001 when low == high
//   smooth_i = 1 − ramp_i
//   ω_i ← ω_i / s · (1 − smooth_i) + ω_i · smooth_i
//       "freqs = freqs / factor * (1 - smooth) + freqs * smooth"
// Fast-turning pairs (i < low) keep their frequency, slow ones (i > high) are interpolated by s.
std::vector<double> rope_inverse_frequencies(Index dim, double base, const std::optional<YarnConfig>& yarn) {
  const Index pairs = dim / 2;
  std::vector<double> omega(static_cast<std::size_t>(pairs));
  for (Index i = 0; i < pairs; ++i)
    omega[static_cast<std::size_t>(i)] = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(dim));
  if (!yarn) return omega;
  const double d = static_cast<double>(dim), original = static_cast<double>(yarn->original_seq_len);
  auto correction_dim = [&](double rotations) {
    return d * std::log(original / (rotations * 2.0 * std::numbers::pi)) / (2.0 * std::log(base));
  };
  const double low = std::max(std::floor(correction_dim(yarn->beta_fast)), 0.0);
  double high = std::min(std::ceil(correction_dim(yarn->beta_slow)), d - 1.0);
  if (low == high) high += 0.001;
  for (Index i = 0; i < pairs; ++i) {
    const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
    const double smooth = 1.0 - ramp;
    double& w = omega[static_cast<std::size_t>(i)];
    w = w / yarn->factor * (1.0 - smooth) + w * smooth;
  }
  return omega;
}

// mscale = 0.1 · mscale · ln(s) + 1;  softmax_scale ← softmax_scale · mscale²
//   "mscale = 0.1 * args.mscale * math.log(args.rope_factor) + 1.0
//    self.softmax_scale = self.softmax_scale * mscale * mscale"   (model.py MLA.__init__)
double yarn_softmax_scale_factor(const YarnConfig& yarn) {
  const double mscale = 0.1 * yarn.mscale * std::log(yarn.factor) + 1.0;
  return mscale * mscale;
}

// For position p and pair i, θ_i = p · ω_i (ω from rope_inverse_frequencies) and a = YaRN's
// rope_attention_factor (1 without YaRN):
//   [y_2i, y_2i+1] = a · [x_2i cos θ_i − x_2i+1 sin θ_i,  x_2i sin θ_i + x_2i+1 cos θ_i]
// `direction` −1 applies the transpose, a·R(−θ) (the backward pass). The angles depend only on
// (position, pair), so they are computed once per call for the seq_len positions, not once per row.
template <class T>
static void rope_rotate(Matrix<T>& x, const RopeSlices& s, double direction) {
  const Index pairs = s.dim / 2;
  const std::vector<double> omega = rope_inverse_frequencies(s.dim, s.base, s.yarn);
  const double magnitude = s.yarn ? s.yarn->rope_attention_factor : 1.0;
  std::vector<T> cosines(static_cast<std::size_t>(s.seq_len * pairs)), sines(cosines.size());
  for (Index position = 0; position < s.seq_len; ++position)
    for (Index pair = 0; pair < pairs; ++pair) {
      const double theta = static_cast<double>(s.first_position + position) * omega[static_cast<std::size_t>(pair)];
      cosines[static_cast<std::size_t>(position * pairs + pair)] = static_cast<T>(magnitude * std::cos(theta));
      sines[static_cast<std::size_t>(position * pairs + pair)] = static_cast<T>(magnitude * direction * std::sin(theta));
    }
  for (Index r = 0; r < x.rows(); ++r) {
    const T* c = &cosines[static_cast<std::size_t>((r % s.seq_len) * pairs)];
    const T* sn = &sines[static_cast<std::size_t>((r % s.seq_len) * pairs)];
    for (Index h = 0; h < s.heads; ++h) {
      T* row = &x(r, s.offset + h * s.stride);
      for (Index pair = 0; pair < pairs; ++pair) {
        const T a = row[2 * pair], b = row[2 * pair + 1];
        row[2 * pair] = a * c[pair] - b * sn[pair];
        row[2 * pair + 1] = a * sn[pair] + b * c[pair];
      }
    }
  }
}
template <class T>
void rope_forward(Matrix<T>& x, const RopeSlices& s) {
  rope_rotate(x, s, +1.0);
}
template <class T>
void rope_backward(Matrix<T>& dx, const RopeSlices& s) {
  rope_rotate(dx, s, -1.0);
}

// The softmax scale c = f / sqrt(d_qk): Vaswani et al. 2017 eq. 1 ("we scale the dot products by
// 1/sqrt(d_k)"); model.py "self.softmax_scale = self.qk_head_dim ** -0.5", f = YaRN's mscale² or 1.
template <class T>
static T softmax_scale(const AttentionShape& s) {
  return static_cast<T>(s.softmax_scale_factor) / std::sqrt(static_cast<T>(s.qk_dim));
}

// p = softmax(c · s) over one row of scores (the max subtracted first), written into `p`.
template <class Out, class In, class T>
static void scaled_softmax(Out&& p, const In& s, T scale) {
  p = ((s.array() - s.maxCoeff()) * scale).exp().matrix();
  p /= p.sum();
}

// For each sequence and head (Vaswani et al. 2017, eq. 1, with a causal mask):
//   S = c · Q·Kᵀ,  P = softmax_row(S with S_ij = −∞ for j > i),  O = P·V
template <class T>
void attention_forward(Matrix<T>& out, AttentionCache<T>& cache, const Matrix<T>& q, const Matrix<T>& k,
                       const Matrix<T>& v, const AttentionShape& s) {
  const Index L = s.seq_len, group = s.heads / s.kv_heads;
  const T scale = softmax_scale<T>(s);
  out.resize(s.batch * L, s.heads * s.v_dim);
  cache.probs.resize(static_cast<std::size_t>(s.batch * s.heads));
  Matrix<T> scores(L, L);
  for (Index b = 0; b < s.batch; ++b) {
    for (Index h = 0; h < s.heads; ++h) {
      const Index kvh = h / group;
      gemm(scores, q.block(b * L, h * s.qk_dim, L, s.qk_dim), k.block(b * L, kvh * s.qk_dim, L, s.qk_dim).transpose());
      Matrix<T>& p = cache.probs[static_cast<std::size_t>(b * s.heads + h)];
      p.resize(L, L);
      for (Index i = 0; i < L; ++i) {
        scaled_softmax(p.row(i).head(i + 1), scores.row(i).head(i + 1), scale);
        p.row(i).tail(L - i - 1).setZero();  // the future: masked
      }
      auto out_block = out.block(b * L, h * s.v_dim, L, s.v_dim);
      gemm(out_block, p, v.block(b * L, kvh * s.v_dim, L, s.v_dim));
    }
  }
}

// One query row per sequence: s = c · q·K[0, length)ᵀ, p = softmax(s), o = p·V[0, length) (nothing
// to mask: the cache holds only the past and the new token).
template <class T>
void attention_decode(Matrix<T>& out, const Matrix<T>& q, const Matrix<T>& k_cache, const Matrix<T>& v_cache,
                      const AttentionShape& s, Index length, Index max_len) {
  const Index group = s.heads / s.kv_heads;
  const T scale = softmax_scale<T>(s);
  out.resize(s.batch, s.heads * s.v_dim);
  RowVector<T> scores(length);
  for (Index b = 0; b < s.batch; ++b) {
    for (Index h = 0; h < s.heads; ++h) {
      const Index kvh = h / group;
      gemm(scores, q.block(b, h * s.qk_dim, 1, s.qk_dim), k_cache.block(b * max_len, kvh * s.qk_dim, length, s.qk_dim).transpose());
      RowVector<T> p(length);
      scaled_softmax(p, scores, scale);
      auto out_block = out.block(b, h * s.v_dim, 1, s.v_dim);
      gemm(out_block, p, v_cache.block(b * max_len, kvh * s.v_dim, length, s.v_dim));
    }
  }
}

//   dV += Pᵀ·dO,  dP = dO·Vᵀ,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),
//   dQ = c · dS·K,  dK += c · dSᵀ·Q
template <class T>
void attention_backward(Matrix<T>& dq, Matrix<T>& dk, Matrix<T>& dv, const Matrix<T>& dout, const AttentionCache<T>& cache,
                        const Matrix<T>& q, const Matrix<T>& k, const Matrix<T>& v, const AttentionShape& s) {
  const Index L = s.seq_len, group = s.heads / s.kv_heads;
  const T scale = softmax_scale<T>(s);
  // dQ is written head by head; dK and dV sum over the `group` query heads that share them.
  dq.resize(q.rows(), q.cols());
  dk.resize(k.rows(), k.cols());
  dv.resize(v.rows(), v.cols());
  Matrix<T> dp(L, L), ds(L, L);
  for (Index b = 0; b < s.batch; ++b) {
    for (Index h = 0; h < s.heads; ++h) {
      const Index kvh = h / group;
      const Matrix<T>& p = cache.probs[static_cast<std::size_t>(b * s.heads + h)];
      const auto d_o = dout.block(b * L, h * s.v_dim, L, s.v_dim);
      const bool first_of_group = h % group == 0;
      auto dv_block = dv.block(b * L, kvh * s.v_dim, L, s.v_dim);
      gemm(dv_block, p.transpose(), d_o, /*accumulate=*/!first_of_group);
      gemm(dp, d_o, v.block(b * L, kvh * s.v_dim, L, s.v_dim).transpose());
      for (Index i = 0; i < L; ++i) {
        const T row_dot = dp.row(i).head(i + 1).dot(p.row(i).head(i + 1));
        ds.row(i) = (p.row(i).array() * (dp.row(i).array() - row_dot)).matrix() * scale;
      }
      auto dq_block = dq.block(b * L, h * s.qk_dim, L, s.qk_dim);
      gemm(dq_block, ds, k.block(b * L, kvh * s.qk_dim, L, s.qk_dim));
      auto dk_block = dk.block(b * L, kvh * s.qk_dim, L, s.qk_dim);
      gemm(dk_block, ds.transpose(), q.block(b * L, h * s.qk_dim, L, s.qk_dim), /*accumulate=*/!first_of_group);
    }
  }
}

// a = x·W_gate, u = x·W_up, h = silu(a) ⊙ u, y = h·W_down      (Shazeer 2020, eq. 6)
// with silu(a) = a·σ(a). σ(a) is kept for the backward pass.
template <class T>
void swiglu_forward(Matrix<T>& y, SwigluCache<T>& cache, const Matrix<T>& x, const SwigluWeights<T>& w,
                    const Fp8GemmOptions* fp8) {
  linear_forward(cache.gate_pre, x, w.gate, fp8);
  linear_forward(cache.up, x, w.up, fp8);
  cache.sigmoid = (T(1) + (-cache.gate_pre.array()).exp()).inverse().matrix();
  cache.hidden = (cache.gate_pre.array() * cache.sigmoid.array() * cache.up.array()).matrix();
  linear_forward(y, cache.hidden, w.down, fp8);
}

//   dh = dy·W_downᵀ,  du = dh ⊙ silu(a),  da = dh ⊙ u ⊙ silu'(a),  dx = da·W_gateᵀ + du·W_upᵀ
// with silu'(a) = σ(a)·(1 + a·(1 − σ(a))).
template <class T>
void swiglu_backward(Matrix<T>& dx, const SwigluGrads<T>& dw, const Matrix<T>& dy, const SwigluCache<T>& cache,
                     const Matrix<T>& x, const SwigluWeights<T>& w, const Fp8GemmOptions* fp8) {
  Matrix<T> dhidden;
  linear_backward(&dhidden, dw.down, dy, cache.hidden, w.down, false, fp8);
  const auto a = cache.gate_pre.array();
  const auto s = cache.sigmoid.array();
  const Matrix<T> dup = (dhidden.array() * a * s).matrix();
  const Matrix<T> dgate = (dhidden.array() * cache.up.array() * s * (T(1) + a * (T(1) - s))).matrix();
  linear_backward(&dx, dw.gate, dgate, x, w.gate, false, fp8);
  linear_backward(&dx, dw.up, dup, x, w.up, /*accumulate_dx=*/true, fp8);
}

// loss = −(1/N) Σ_t log softmax(z_t)[y_t];  ∂loss/∂z_t = (softmax(z_t) − onehot(y_t)) / N
template <class T>
double cross_entropy(const Matrix<T>& logits, const std::vector<int>& targets, Matrix<T>* dlogits, double scale) {
  const Index rows = logits.rows();
  if (dlogits) dlogits->resize(rows, logits.cols());
  double total = 0;
  RowVector<T> exponentials(logits.cols());
  for (Index r = 0; r < rows; ++r) {
    const T row_max = logits.row(r).maxCoeff();
    exponentials = (logits.row(r).array() - row_max).exp().matrix();
    const double sum = static_cast<double>(exponentials.sum());
    const int target = targets[static_cast<std::size_t>(r)];
    total += std::log(sum) + static_cast<double>(row_max) - static_cast<double>(logits(r, target));
    if (dlogits) {
      const double factor = scale / static_cast<double>(rows);
      dlogits->row(r) = exponentials * static_cast<T>(factor / sum);
      (*dlogits)(r, target) -= static_cast<T>(factor);
    }
  }
  return total / static_cast<double>(rows);
}

// Row by row, in double: the soft term from the two tempered softmaxes, the hard term from
// cross_entropy (which also writes its gradient, scaled by 1 − α).
template <class T>
DistillationLoss distillation_loss(const Matrix<T>& student_logits, const Matrix<T>& teacher_logits,
                                   const std::vector<int>& targets, double temperature, double alpha, Matrix<T>* dstudent) {
  const Index rows = student_logits.rows();
  const double hard = cross_entropy(student_logits, targets, dstudent, 1.0 - alpha);
  double soft = 0;
  for (Index r = 0; r < rows; ++r) {
    const Eigen::ArrayXd zs = student_logits.row(r).transpose().template cast<double>().array() / temperature;
    const Eigen::ArrayXd zt = teacher_logits.row(r).transpose().template cast<double>().array() / temperature;
    const Eigen::ArrayXd log_ps = zs - (std::log((zs - zs.maxCoeff()).exp().sum()) + zs.maxCoeff());
    const Eigen::ArrayXd log_pt = zt - (std::log((zt - zt.maxCoeff()).exp().sum()) + zt.maxCoeff());
    const Eigen::ArrayXd pt = log_pt.exp();
    soft += (pt * (log_pt - log_ps)).sum();  // KL(p_t ‖ p_s)
    if (dstudent) {
      const Eigen::ArrayXd grad = alpha * temperature * (log_ps.exp() - pt) / static_cast<double>(rows);
      dstudent->row(r) += grad.transpose().template cast<T>().matrix();
    }
  }
  DistillationLoss loss;
  loss.cross_entropy = hard;
  loss.soft = temperature * temperature * soft / static_cast<double>(rows);
  loss.total = alpha * loss.soft + (1.0 - alpha) * hard;
  return loss;
}

#define FRUGAL_INSTANTIATE_LAYERS(T)                                                                                  \
  template void embedding_forward<T>(Matrix<T>&, const std::vector<int>&, ConstMatrixMap<T>);                         \
  template void embedding_backward<T>(MatrixMap<T>, const std::vector<int>&, const Matrix<T>&);                      \
  template void rmsnorm_forward<T>(Matrix<T>&, RmsNormCache<T>&, const Matrix<T>&, ConstMatrixMap<T>);                \
  template void rmsnorm_backward<T>(Matrix<T>&, MatrixMap<T>, const Matrix<T>&, const RmsNormCache<T>&,               \
                                    ConstMatrixMap<T>);                                                               \
  template void linear_forward<T>(Matrix<T>&, const Matrix<T>&, ConstMatrixMap<T>, const Fp8GemmOptions*);            \
  template void linear_backward<T>(Matrix<T>*, MatrixMap<T>, const Matrix<T>&, const Matrix<T>&, ConstMatrixMap<T>,   \
                                   bool, const Fp8GemmOptions*);                                                      \
  template void rope_forward<T>(Matrix<T>&, const RopeSlices&);                                                       \
  template void rope_backward<T>(Matrix<T>&, const RopeSlices&);                                                      \
  template void attention_forward<T>(Matrix<T>&, AttentionCache<T>&, const Matrix<T>&, const Matrix<T>&,              \
                                     const Matrix<T>&, const AttentionShape&);                                        \
  template void attention_decode<T>(Matrix<T>&, const Matrix<T>&, const Matrix<T>&, const Matrix<T>&,                  \
                                    const AttentionShape&, Index, Index);                                             \
  template void attention_backward<T>(Matrix<T>&, Matrix<T>&, Matrix<T>&, const Matrix<T>&, const AttentionCache<T>&, \
                                      const Matrix<T>&, const Matrix<T>&, const Matrix<T>&, const AttentionShape&);   \
  template void swiglu_forward<T>(Matrix<T>&, SwigluCache<T>&, const Matrix<T>&, const SwigluWeights<T>&,            \
                                  const Fp8GemmOptions*);                                                             \
  template void swiglu_backward<T>(Matrix<T>&, const SwigluGrads<T>&, const Matrix<T>&, const SwigluCache<T>&,        \
                                   const Matrix<T>&, const SwigluWeights<T>&, const Fp8GemmOptions*);                 \
  template double cross_entropy<T>(const Matrix<T>&, const std::vector<int>&, Matrix<T>*, double);                     \
  template DistillationLoss distillation_loss<T>(const Matrix<T>&, const Matrix<T>&, const std::vector<int>&, double, \
                                                 double, Matrix<T>*);

FRUGAL_INSTANTIATE_LAYERS(float)
FRUGAL_INSTANTIATE_LAYERS(double)

}  // namespace frugal::core
