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
#include "frugal/core/mtp.hpp"

namespace frugal::core {

// Refuses what the CPU reference does not implement (GELU FFNs, LayerNorm, learned positions,
// biases), naming the field. MTP modules (mtp_depth) are accepted and not built here.
void check_trainable(const ModelConfig& config);

struct LossParts {
  double cross_entropy = 0;            // the main model's next-token loss on the hard labels
  double distillation = 0;             // T² · KL(teacher ‖ student) at temperature T, when distilling
  double main = 0;                     // what the main model trains on: cross_entropy, or α·distillation + (1 − α)·cross_entropy
  double balance = 0;                  // Σ over MoE layers of their α-weighted balance loss
  double mtp = 0;                      // (λ/D) Σ_k L^k_MTP (V3 eq. 25)
  std::vector<double> mtp_per_depth;   // L^k for k = 1 … D, unweighted
  double total() const { return main + balance + mtp; }
};

// Logit distillation (Hinton et al. 2015): the teacher's logits for the same positions, and how
// the main loss mixes them with the hard labels (layers.hpp, distillation_loss).
template <class T>
struct SoftTargets {
  const Matrix<T>* teacher_logits = nullptr;  // batch·seq_len × vocabulary
  double temperature = 2.0;
  double alpha = 0.5;
};

template <class T>
class Transformer {
 public:
  // With `fp8`, every Linear layer (attention projections, FFNs, experts) runs its forward, dgrad
  // and wgrad GEMMs in emulated FP8; embedding, output head, router gate, norms and the attention
  // core stay in higher precision (V3 report §3.3.1, Figure 6).
  // With mtp_weight λ > 0 and config.mtp_depth D > 0, D Multi-Token Prediction modules are built
  // and trained with weight λ (V3 §2.2; §4.2 uses λ = 0.3, then 0.1).
  Transformer(const ModelConfig& config, const RouterOptions& router_options,
              const std::optional<Fp8GemmOptions>& fp8 = std::nullopt, double mtp_weight = 0.0);
  Transformer(const Transformer&) = delete;
  Transformer& operator=(const Transformer&) = delete;

  // Normal(0, std) weights (residual projections scaled down), unit norm gains, zero router bias.
  void init(std::uint64_t seed, double std = 0.02);

  // inputs and targets: batch·seq_len tokens each, sequence-major. Caches what backward needs.
  // With `soft`, the main loss is the distillation loss against the teacher's logits.
  LossParts forward(const std::vector<int>& inputs, const std::vector<int>& targets, Index batch, Index seq_len,
                    const SoftTargets<T>* soft = nullptr);
  // The main model's logits for batch·seq_len inputs (no loss, nothing kept for backward).
  const Matrix<T>& infer(const std::vector<int>& inputs, Index batch, Index seq_len);
  // Decoding with a KV cache: the logits (batch rows) after one new token per sequence at
  // `position`, every earlier position's keys and values read from `caches` (one per layer, from
  // new_kv_caches) rather than recomputed. Position 0 first, then 1, 2, …: the rows equal infer's
  // at those positions. Not for token-dropping routers (capacity_factor > 0), whose drops depend
  // on every token of the batch at once: throws.
  const Matrix<T>& decode_step(const std::vector<int>& tokens, Index position, std::vector<KvCache<T>>& caches);
  std::vector<KvCache<T>> new_kv_caches(Index max_len) const;
  bool drops_tokens() const;  // any MoE layer with a capacity factor
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
  Index activated_parameter_count() const;  // main model only (MTP modules excluded, as V3 counts)
  Index mtp_parameter_count() const { return mtp_parameters_; }
  Index mtp_depth() const { return static_cast<Index>(mtp_.size()); }

  // For decoding: the main model's logits at every position and its last hidden state h^0,
  // for one sequence.
  void forward_inference(const std::vector<int>& tokens, Matrix<T>& logits, Matrix<T>& hidden);
  // The first MTP module's logits at the last position, given h^0 of the sequence and the token
  // that follows it (the main model's prediction): the draft for the token after that.
  RowVector<T> mtp_draft_logits(const std::vector<int>& tokens, const Matrix<T>& hidden, int next_token);

 private:
  ModelConfig config_;
  Parameters<T> params_;
  int embedding_ = -1, final_norm_ = -1, head_ = -1;
  std::vector<DecoderBlock<T>> blocks_;
  std::vector<MtpModule<T>> mtp_;
  double mtp_weight_ = 0;
  Index mtp_parameters_ = 0;
  // MTP forward state, per depth k: rows of the previous depth each position reads, h^k, and
  // (λ/D)·∂L^k/∂logits.
  std::vector<std::vector<Index>> mtp_rows_;
  std::vector<Matrix<T>> mtp_hidden_, mtp_dlogits_;

  double main_forward(Matrix<T>& x, const std::vector<int>& inputs, Index batch, Index seq_len);
  void head_forward(const Matrix<T>& x);

  std::vector<int> inputs_;
  RmsNormCache<T> final_norm_cache_;
  Matrix<T> final_normed_, logits_, dlogits_;
};

}  // namespace frugal::core
