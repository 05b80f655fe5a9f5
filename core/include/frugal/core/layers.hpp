// The transformer's building blocks, forward and backward side by side (llm.c style). Each
// function is written out by hand; the equation it computes is above it in layers.cpp.
// Activations are row-major (tokens × features); a batch of B sequences of length T is B·T rows,
// sequence b occupying rows [b·T, (b+1)·T).
//
// Backward functions *add* into parameter gradients (a weight may be used by several tokens or,
// for the shared embedding, several layers) and *write* input gradients unless told to accumulate.
#pragma once

#include <optional>
#include <vector>

#include "frugal/config/model_config.hpp"
#include "frugal/core/fp8_gemm.hpp"
#include "frugal/core/tensor.hpp"

namespace frugal::core {

// ---- embedding: out[t] = table[token_t] --------------------------------------------------------
template <class T>
void embedding_forward(Matrix<T>& out, const std::vector<int>& tokens, ConstMatrixMap<T> table);
template <class T>
void embedding_backward(MatrixMap<T> dtable, const std::vector<int>& tokens, const Matrix<T>& dout);

// ---- RMSNorm (Zhang & Sennrich 2019) -----------------------------------------------------------
template <class T>
struct RmsNormCache {
  Matrix<T> normalized;      // x / rms(x)
  std::vector<T> inv_rms;    // 1 / rms(x) per row
};
// ε of every RMSNorm: DeepSeek-V3's config.json "rms_norm_eps": 1e-06 and inference/model.py
// "def __init__(self, dim: int, eps: float = 1e-6)" (tests/core/test_attention_constants.cpp pins it).
inline constexpr double kRmsNormEpsilon = 1e-6;
template <class T>
void rmsnorm_forward(Matrix<T>& out, RmsNormCache<T>& cache, const Matrix<T>& x, ConstMatrixMap<T> gain);
template <class T>
void rmsnorm_backward(Matrix<T>& dx, MatrixMap<T> dgain, const Matrix<T>& dout, const RmsNormCache<T>& cache,
                      ConstMatrixMap<T> gain);

// ---- linear: y = x·W (W is in × out) -----------------------------------------------------------
// With `fp8` (float only), the three GEMMs run in emulated FP8 with DeepSeek-V3's scaling
// (§3.3.2): forward x[1×128 tiles]·W[128×128 blocks]; dgrad dy[1×128]·Wᵀ[128×128];
// wgrad xᵀ[1×128 along tokens]·dy[128×1 along tokens]. Without it, FP32.
template <class T>
void linear_forward(Matrix<T>& y, const Matrix<T>& x, ConstMatrixMap<T> w, const Fp8GemmOptions* fp8 = nullptr);
// dW += xᵀ·dy; dx = dy·Wᵀ (or += with accumulate_dx; skipped when dx is null).
template <class T>
void linear_backward(Matrix<T>* dx, MatrixMap<T> dw, const Matrix<T>& dy, const Matrix<T>& x, ConstMatrixMap<T> w,
                     bool accumulate_dx = false, const Fp8GemmOptions* fp8 = nullptr);

// ---- rotary position embedding (Su et al. 2021, RoFormer eq. 34) ------------------------------
// Rotates, in every row, `heads` slices of `dim` columns starting at column `offset + h·stride`;
// the row's position is first_position + row % seq_len. Pairs are adjacent columns (2i, 2i+1),
// as in DeepSeek-V3's inference/model.py (apply_rotary_emb views them as complex numbers). With
// `yarn`, the frequencies are YaRN's (rope_inverse_frequencies) and cos/sin carry its
// rope_attention_factor.
struct RopeSlices {
  Index seq_len = 0;
  Index heads = 1;
  Index stride = 0;
  Index offset = 0;
  Index dim = 0;
  double base = 10000.0;
  std::optional<YarnConfig> yarn = std::nullopt;
  Index first_position = 0;  // row r sits at position first_position + r mod seq_len (decoding: the new token's)
};
// ω_i for the dim/2 pairs of a `dim`-wide RoPE slice: base^(−2i/dim), corrected by YaRN when given.
std::vector<double> rope_inverse_frequencies(Index dim, double base, const std::optional<YarnConfig>& yarn);
// YaRN's factor on the attention softmax scale, (0.1·mscale·ln s + 1)² (model.py MLA.__init__).
double yarn_softmax_scale_factor(const YarnConfig& yarn);
template <class T>
void rope_forward(Matrix<T>& x, const RopeSlices& s);
// Its backward is the transpose: the rotation by −θ (times YaRN's cos/sin factor, when set).
template <class T>
void rope_backward(Matrix<T>& dx, const RopeSlices& s);

// ---- causal scaled dot-product attention (Vaswani et al. 2017, eq. 1) -------------------------
struct AttentionShape {
  Index batch = 0;
  Index seq_len = 0;
  Index heads = 0;
  Index kv_heads = 0;  // heads / kv_heads query heads share one K/V head (GQA)
  Index qk_dim = 0;
  Index v_dim = 0;
  double softmax_scale_factor = 1.0;  // multiplies 1/sqrt(qk_dim): YaRN's mscale² in MLA, else 1
};
template <class T>
struct AttentionCache {
  std::vector<Matrix<T>> probs;  // per (sequence, head): T × T softmax, zero above the diagonal
};
// q: rows × heads·qk_dim, k: rows × kv_heads·qk_dim, v: rows × kv_heads·v_dim → out: rows × heads·v_dim
template <class T>
void attention_forward(Matrix<T>& out, AttentionCache<T>& cache, const Matrix<T>& q, const Matrix<T>& k,
                       const Matrix<T>& v, const AttentionShape& s);
template <class T>
void attention_backward(Matrix<T>& dq, Matrix<T>& dk, Matrix<T>& dv, const Matrix<T>& dout, const AttentionCache<T>& cache,
                        const Matrix<T>& q, const Matrix<T>& k, const Matrix<T>& v, const AttentionShape& s);
// Decoding: one new query per sequence (q: s.batch rows) against the first `length` positions of
// its cached keys and values (sequence b's position p in row b·max_len + p of k_cache / v_cache),
// the new token's own included. The same S, P and O as attention_forward's last row.
template <class T>
void attention_decode(Matrix<T>& out, const Matrix<T>& q, const Matrix<T>& k_cache, const Matrix<T>& v_cache,
                      const AttentionShape& s, Index length, Index max_len);

// ---- SwiGLU feed-forward (Shazeer 2020, eq. 6): y = (silu(x·W_gate) ⊙ x·W_up)·W_down ----------
template <class T>
struct SwigluWeights {
  ConstMatrixMap<T> gate, up, down;
};
template <class T>
struct SwigluGrads {
  MatrixMap<T> gate, up, down;
};
template <class T>
struct SwigluCache {
  Matrix<T> gate_pre;  // x·W_gate
  Matrix<T> up;        // x·W_up
  Matrix<T> sigmoid;   // σ(gate_pre), kept for the backward pass
  Matrix<T> hidden;    // silu(gate_pre) ⊙ up
};
template <class T>
void swiglu_forward(Matrix<T>& y, SwigluCache<T>& cache, const Matrix<T>& x, const SwigluWeights<T>& w,
                    const Fp8GemmOptions* fp8 = nullptr);
template <class T>
void swiglu_backward(Matrix<T>& dx, const SwigluGrads<T>& dw, const Matrix<T>& dy, const SwigluCache<T>& cache,
                     const Matrix<T>& x, const SwigluWeights<T>& w, const Fp8GemmOptions* fp8 = nullptr);

// ---- softmax cross-entropy ----------------------------------------------------------------------
// Mean over rows of −log softmax(logits)[target]. With `dlogits`, also writes
// scale · ∂mean/∂logits = scale · (softmax − onehot) / rows.
template <class T>
double cross_entropy(const Matrix<T>& logits, const std::vector<int>& targets, Matrix<T>* dlogits = nullptr,
                     double scale = 1.0);

// ---- logit knowledge distillation (Hinton, Vinyals & Dean 2015, §2) ---------------------------
// With p_s^T = softmax(z_s / T), p_t^T = softmax(z_t / T) and y the hard label, per row:
//   L = α · T² · KL(p_t^T ‖ p_s^T) + (1 − α) · CE(softmax(z_s), y)
// "the magnitudes of the gradients produced by the soft targets scale as 1/T², it is important to
// multiply them by T²". Mean over rows; with `dstudent`, also ∂L/∂z_s:
//   α · T · (p_s^T − p_t^T) + (1 − α) · (softmax(z_s) − onehot(y)), divided by the row count.
struct DistillationLoss {
  double total = 0;          // α · soft + (1 − α) · cross_entropy
  double cross_entropy = 0;  // CE(softmax(z_s), y): the hard-label loss
  double soft = 0;           // T² · KL(p_t^T ‖ p_s^T), mean over rows
};
template <class T>
DistillationLoss distillation_loss(const Matrix<T>& student_logits, const Matrix<T>& teacher_logits,
                                   const std::vector<int>& targets, double temperature, double alpha,
                                   Matrix<T>* dstudent = nullptr);

}  // namespace frugal::core
