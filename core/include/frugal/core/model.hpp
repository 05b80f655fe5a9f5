// The tiny DeepSeek-style decoder the CPU reference trains, built from a ModelConfig:
//   x = Emb[tokens]
//   for each layer: x += Attn(RMSNorm(x));  x += FFN_or_MoE(RMSNorm(x))     (pre-norm, V3 Figure 2)
//   logits = RMSNorm(x)·W_head;  loss = CrossEntropy(logits, next tokens) + Σ balance losses
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "frugal/config/model_config.hpp"
#include "frugal/core/decoder_block.hpp"

namespace frugal::core {

// Refuses what the CPU reference does not implement (GELU FFNs, LayerNorm, learned positions,
// biases), naming the field. MTP modules (mtp_depth) are accepted and not built here.
void check_trainable(const ModelConfig& config);

struct LossParts {
  double cross_entropy = 0;
  double balance = 0;  // Σ over MoE layers of their α-weighted balance loss
  double total() const { return cross_entropy + balance; }
};

template <class T>
class Transformer {
 public:
  // With `fp8`, every Linear layer (attention projections, FFNs, experts) runs its forward, dgrad
  // and wgrad GEMMs in emulated FP8; embedding, output head, router gate, norms and the attention
  // core stay in higher precision (V3 report §3.3.1, Figure 6).
  Transformer(const ModelConfig& config, const RouterOptions& router_options,
              const std::optional<Fp8GemmOptions>& fp8 = std::nullopt);
  Transformer(const Transformer&) = delete;
  Transformer& operator=(const Transformer&) = delete;

  // Normal(0, std) weights (residual projections scaled down), unit norm gains, zero router bias.
  void init(std::uint64_t seed, double std = 0.02);

  // inputs and targets: batch·seq_len tokens each, sequence-major. Caches what backward needs.
  LossParts forward(const std::vector<int>& inputs, const std::vector<int>& targets, Index batch, Index seq_len);
  // Gradients of forward's total loss, added into params().grads() (call zero_grad first).
  void backward();

  Parameters<T>& params() { return params_; }
  const Parameters<T>& params() const { return params_; }
  const ModelConfig& config() const { return config_; }
  const Matrix<T>& logits() const { return logits_; }

  std::vector<MoeLayer<T>*> moe_layers();
  std::vector<const MoeLayer<T>*> moe_layers() const;
  void update_router_biases();

  // Parameter counts, DeepSeek's convention (README_WEIGHTS.md): "activated" excludes the input
  // embedding and the routed experts a token does not use, and includes the output head.
  Index parameter_count() const { return params_.size(); }
  Index activated_parameter_count() const;

 private:
  ModelConfig config_;
  Parameters<T> params_;
  int embedding_ = -1, final_norm_ = -1, head_ = -1;
  std::vector<DecoderBlock<T>> blocks_;

  std::vector<int> inputs_, targets_;
  Index batch_ = 0, seq_len_ = 0;
  RmsNormCache<T> final_norm_cache_;
  Matrix<T> final_normed_, logits_;
};

}  // namespace frugal::core
