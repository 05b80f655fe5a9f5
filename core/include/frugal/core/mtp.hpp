// Multi-Token Prediction (V3 report §2.2, eq. 21–25). Module k (1 … D) predicts the token k + 1
// places ahead of each position, from the previous depth's representation and the embedding of
// the token k places ahead:
//   h'_i^k = M_k [RMSNorm(h_i^{k−1}) ; RMSNorm(Emb(t_{i+k}))]          eq. 21 (M_k: 2C × C)
//   h^k_{1:T−k} = TRM_k(h'^k_{1:T−k})                                   eq. 22 (one decoder block)
//   P^k_{i+k+1} = OutHead(RMSNorm(h_i^k))                                eq. 23 (head shared with the main model)
//   L^k = CrossEntropy(P^k, t_{i+k+1}),  L_MTP = (λ/D) Σ_k L^k           eq. 24–25
// The embedding and the output head are the main model's; h^0 is the main model's last hidden
// state (before its final norm). Module k sees sequences of T − k positions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "frugal/core/decoder_block.hpp"

namespace frugal::core {

template <class T>
class MtpModule {
 public:
  MtpModule(const ModelConfig& config, const RouterOptions& router_options, Parameters<T>& params, const std::string& prefix,
            const std::optional<Fp8GemmOptions>& fp8);
  void init(Parameters<T>& params, Rng& rng, double std, Index num_layers);

  // previous: h^{k−1} (batch·seq_len rows); next_tokens: t_{i+k} for each row. Writes h^k and the
  // logits over the vocabulary; returns the block's balance loss.
  double forward(Matrix<T>& hidden, Matrix<T>& logits, const Matrix<T>& previous, const std::vector<int>& next_tokens,
                 Index batch, Index seq_len, int embedding, int head, const Parameters<T>& params);
  // dlogits: ∂L/∂logits; dhidden: ∂L/∂h^k from deeper modules (may be empty). Writes
  // ∂L/∂h^{k−1}; adds the embedding and head gradients.
  void backward(Matrix<T>& dprevious, const Matrix<T>& dlogits, const Matrix<T>& dhidden, int embedding, int head,
                Parameters<T>& params);

  DecoderBlock<T>& block() { return block_; }
  const DecoderBlock<T>& block() const { return block_; }

 private:
  Index hidden_size_ = 0;
  int hnorm_ = -1, enorm_ = -1, projection_ = -1, final_norm_ = -1;
  DecoderBlock<T> block_;
  // Saved by forward.
  std::vector<int> next_tokens_;
  Matrix<T> concatenated_, hidden_, final_normed_;
  RmsNormCache<T> hnorm_cache_, enorm_cache_, final_norm_cache_;
};

}  // namespace frugal::core
