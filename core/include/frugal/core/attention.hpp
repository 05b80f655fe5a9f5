// Attention blocks: the token mixers of the transformer, forward and backward.
//   MHA/GQA — Vaswani et al. 2017; Ainslie et al. 2023 (query heads share K/V heads).
//   MLA     — DeepSeek-V3 report §2.1.1, eq. 1–11: keys and values come from one low-rank latent
//             c_KV (only it and the shared RoPE key would be cached at inference), queries from a
//             second latent c_Q, and a decoupled RoPE key k^R shared by all heads.
#pragma once

#include <optional>
#include <string>

#include "frugal/config/model_config.hpp"
#include "frugal/core/layers.hpp"
#include "frugal/core/parameters.hpp"
#include "frugal/core/random.hpp"

namespace frugal::core {

// Decoding's cache for one layer: each sequence's keys and values so far, RoPE applied (sequence
// b's position p in row b·max_len + p). MLA keeps the per-head keys and values it computes from
// c_KV, the numbers training's forward uses; inference/model.py keeps the latent c_KV and k^R
// instead and absorbs W^UK, W^UV into the query and output, which saves memory, not arithmetic
// this reference needs to show.
template <class T>
struct KvCache {
  Index max_len = 0;
  Matrix<T> k, v;
};

template <class T>
class AttentionBlock {
 public:
  // Registers this block's tensors under `prefix` ("layers.0.attn"). With `fp8`, its projections
  // run in emulated FP8; the attention core (QKᵀ, softmax, PV) stays in higher precision (V3 §3.3.1).
  AttentionBlock(const AttentionConfig& config, Index hidden, Parameters<T>& params, const std::string& prefix,
                 Index num_layers, const std::optional<Fp8GemmOptions>& fp8 = std::nullopt);

  void init(Parameters<T>& params, Rng& rng, double std) const;
  void forward(Matrix<T>& out, const Matrix<T>& x, Index batch, Index seq_len, const Parameters<T>& params);
  // Adds parameter gradients; writes dx.
  void backward(Matrix<T>& dx, const Matrix<T>& dout, Parameters<T>& params);
  // Decoding (no backward): x holds one new token per sequence (batch rows) at `position`; its
  // keys and values join `cache` (allocated at position 0 for cache.max_len positions), and its
  // query attends over positions 0…position. Equals forward's row for that position.
  void decode(Matrix<T>& out, const Matrix<T>& x, Index batch, Index position, KvCache<T>& cache,
              const Parameters<T>& params);

 private:
  // q_, k_, v_ of x's rows (RoPE at first_position_ + row mod seq_len), and shape_'s head sizes.
  void project_mha(const Matrix<T>& x, const Parameters<T>& params);
  void project_mla(const Matrix<T>& x, const Parameters<T>& params);
  void backward_mha(Matrix<T>& dx, const Matrix<T>& dout, Parameters<T>& params);
  void backward_mla(Matrix<T>& dx, const Matrix<T>& dout, Parameters<T>& params);

  const Fp8GemmOptions* fp8() const { return fp8_ ? &*fp8_ : nullptr; }
  RopeSlices rope_slices(Index heads, Index stride, Index offset, Index dim) const;

  AttentionConfig config_;
  Index hidden_ = 0;
  Index num_layers_ = 1;
  std::optional<Fp8GemmOptions> fp8_;
  // MHA / GQA
  int w_q_ = -1, w_k_ = -1, w_v_ = -1;
  // MLA
  int w_dq_ = -1, q_norm_ = -1, w_uq_ = -1;     // query latent (w_q_ when q_lora_rank == 0)
  int w_dkv_ = -1, kv_norm_ = -1, w_uk_ = -1, w_uv_ = -1, w_kr_ = -1;
  int w_o_ = -1;

  // Saved by forward for backward.
  AttentionShape shape_;
  Index first_position_ = 0;
  Matrix<T> x_, q_, k_, v_, attn_out_;
  AttentionCache<T> attn_cache_;
  Matrix<T> c_q_, c_q_normed_, c_kv_, c_kv_normed_;
  RmsNormCache<T> q_norm_cache_, kv_norm_cache_;
};

}  // namespace frugal::core
