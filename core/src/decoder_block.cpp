// One pre-norm decoder block (decoder_block.hpp).
#include "frugal/core/decoder_block.hpp"

namespace frugal::core {

template <class T>
DecoderBlock<T>::DecoderBlock(const ModelConfig& config, bool moe, const RouterOptions& router_options, Parameters<T>& params,
                              const std::string& prefix, const std::optional<Fp8GemmOptions>& fp8) {
  const Index C = config.hidden_size;
  attn_norm_ = params.add(prefix + ".attn_norm", 1, C, false);
  attention_ = std::make_unique<AttentionBlock<T>>(config.attention, C, params, prefix + ".attn", config.num_layers, fp8);
  ffn_norm_ = params.add(prefix + ".ffn_norm", 1, C, false);
  if (moe) moe_ = std::make_unique<MoeLayer<T>>(config.moe, router_options, C, params, prefix + ".moe", fp8);
  else dense_ = std::make_unique<FeedForward<T>>(C, config.ffn_intermediate_size, params, prefix + ".ffn", fp8);
}

template <class T>
void DecoderBlock<T>::init(Parameters<T>& params, Rng& rng, double std, Index num_layers) {
  params.mutable_value(attn_norm_).setOnes();
  params.mutable_value(ffn_norm_).setOnes();
  attention_->init(params, rng, std);
  if (dense_) dense_->init(params, rng, std, num_layers);
  if (moe_) {
    moe_->init(params, rng, std, num_layers);
    std::fill(moe_->router().bias().begin(), moe_->router().bias().end(), T(0));
  }
}

template <class T>
double DecoderBlock<T>::forward(Matrix<T>& x, Index batch, Index seq_len, const Parameters<T>& params) {
  Matrix<T> normed, sublayer_out;
  double balance = 0;
  rmsnorm_forward(normed, attn_norm_cache_, x, params.value(attn_norm_));
  attention_->forward(sublayer_out, normed, batch, seq_len, params);
  x += sublayer_out;
  rmsnorm_forward(normed, ffn_norm_cache_, x, params.value(ffn_norm_));
  if (moe_) balance = moe_->forward(sublayer_out, normed, batch, seq_len, params);
  else dense_->forward(sublayer_out, normed, params);
  x += sublayer_out;
  return balance;
}

// The same block on one new token per sequence: norms and FFN/MoE act on each token alone, so only
// attention needs the cache.
template <class T>
void DecoderBlock<T>::decode(Matrix<T>& x, Index batch, Index position, KvCache<T>& cache, const Parameters<T>& params) {
  Matrix<T> normed, sublayer_out;
  rmsnorm_forward(normed, attn_norm_cache_, x, params.value(attn_norm_));
  attention_->decode(sublayer_out, normed, batch, position, cache, params);
  x += sublayer_out;
  rmsnorm_forward(normed, ffn_norm_cache_, x, params.value(ffn_norm_));
  if (moe_) moe_->forward(sublayer_out, normed, batch, 1, params);
  else dense_->forward(sublayer_out, normed, params);
  x += sublayer_out;
}

// Each residual connection passes its gradient through unchanged and adds the sublayer's.
template <class T>
void DecoderBlock<T>::backward(Matrix<T>& dx, Parameters<T>& params) {
  Matrix<T> dnormed, dresidual;
  if (moe_) moe_->backward(dnormed, dx, params);
  else dense_->backward(dnormed, dx, params);
  rmsnorm_backward(dresidual, params.grad(ffn_norm_), dnormed, ffn_norm_cache_, params.value(ffn_norm_));
  dx += dresidual;
  attention_->backward(dnormed, dx, params);
  rmsnorm_backward(dresidual, params.grad(attn_norm_), dnormed, attn_norm_cache_, params.value(attn_norm_));
  dx += dresidual;
}

template class DecoderBlock<float>;
template class DecoderBlock<double>;

}  // namespace frugal::core
