// One pre-norm decoder block (V3 report Figure 2):
//   x ← x + Attention(RMSNorm(x));  x ← x + FFN_or_MoE(RMSNorm(x))
// The main model stacks them; each Multi-Token Prediction module runs one more (V3 §2.2).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "frugal/config/model_config.hpp"
#include "frugal/core/attention.hpp"
#include "frugal/core/moe.hpp"

namespace frugal::core {

template <class T>
class DecoderBlock {
 public:
  DecoderBlock(const ModelConfig& config, bool moe, const RouterOptions& router_options, Parameters<T>& params,
               const std::string& prefix, const std::optional<Fp8GemmOptions>& fp8);
  void init(Parameters<T>& params, Rng& rng, double std, Index num_layers);

  // x holds the residual stream and is updated in place; returns the MoE balance loss (0 if dense).
  double forward(Matrix<T>& x, Index batch, Index seq_len, const Parameters<T>& params);
  // dx: ∂L/∂(block output) in, ∂L/∂(block input) out.
  void backward(Matrix<T>& dx, Parameters<T>& params);
  // Decoding: x holds one new token per sequence at `position`; attention reads and extends `cache`.
  void decode(Matrix<T>& x, Index batch, Index position, KvCache<T>& cache, const Parameters<T>& params);

  MoeLayer<T>* moe() { return moe_.get(); }
  const MoeLayer<T>* moe() const { return moe_.get(); }

 private:
  int attn_norm_ = -1, ffn_norm_ = -1;
  std::unique_ptr<AttentionBlock<T>> attention_;
  std::unique_ptr<FeedForward<T>> dense_;
  std::unique_ptr<MoeLayer<T>> moe_;
  RmsNormCache<T> attn_norm_cache_, ffn_norm_cache_;
};

}  // namespace frugal::core
