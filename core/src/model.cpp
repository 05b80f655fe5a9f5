// The tiny DeepSeek-style decoder (model.hpp).
#include "frugal/core/model.hpp"

#include "frugal/config/config_error.hpp"

namespace frugal::core {

void check_trainable(const ModelConfig& c) {
  if (c.ffn_activation != FfnActivation::swiglu)
    throw ConfigError("model.ffn.activation", "the CPU reference implements swiglu only");
  if (c.norm != NormKind::rmsnorm) throw ConfigError("model.norm", "the CPU reference implements rmsnorm only");
  if (c.position_embedding != PositionEmbedding::rope)
    throw ConfigError("model.position_embedding", "the CPU reference implements rope only");
  if (c.attention.qkv_bias || c.attention.out_bias)
    throw ConfigError("model.attention", "the CPU reference has no attention biases");
  if (c.mlp_bias) throw ConfigError("model.ffn.bias", "the CPU reference has no FFN biases");
  const AttentionConfig& a = c.attention;
  const Index rope_dim = a.kind == AttentionKind::mla ? a.qk_rope_head_dim : a.head_dim;
  if (rope_dim % 2 != 0)
    throw ConfigError(a.kind == AttentionKind::mla ? "model.attention.qk_rope_head_dim" : "model.attention.head_dim",
                      "must be even: RoPE rotates pairs of dimensions");
}

template <class T>
Transformer<T>::Transformer(const ModelConfig& config, const RouterOptions& router_options,
                            const std::optional<Fp8GemmOptions>& fp8)
    : config_(config) {
  check_trainable(config);
  const Index C = config.hidden_size;
  embedding_ = params_.add("embedding", config.vocab_size, C);
  for (Index l = 0; l < config.num_layers; ++l) {
    const std::string prefix = "layers." + std::to_string(l);
    Block b;
    b.attn_norm = params_.add(prefix + ".attn_norm", 1, C, false);
    b.attention = std::make_unique<AttentionBlock<T>>(config.attention, C, params_, prefix + ".attn", config.num_layers, fp8);
    b.ffn_norm = params_.add(prefix + ".ffn_norm", 1, C, false);
    if (config.is_moe_layer(l))
      b.moe = std::make_unique<MoeLayer<T>>(config.moe, router_options, C, params_, prefix + ".moe", fp8);
    else
      b.dense = std::make_unique<FeedForward<T>>(C, config.ffn_intermediate_size, params_, prefix + ".ffn", fp8);
    blocks_.push_back(std::move(b));
  }
  final_norm_ = params_.add("final_norm", 1, C, false);
  if (!config.tie_embeddings) head_ = params_.add("head", C, config.vocab_size);
  params_.allocate();
}

template <class T>
void Transformer<T>::init(std::uint64_t seed, double std) {
  Rng rng(seed);
  auto fill = [&](int id, double s) {
    auto w = params_.mutable_value(id);
    for (Index i = 0; i < w.size(); ++i) w.data()[i] = static_cast<T>(s * rng.normal());
  };
  fill(embedding_, std);
  for (auto& b : blocks_) {
    params_.mutable_value(b.attn_norm).setOnes();
    params_.mutable_value(b.ffn_norm).setOnes();
    b.attention->init(params_, rng, std);
    if (b.dense) b.dense->init(params_, rng, std, config_.num_layers);
    if (b.moe) {
      b.moe->init(params_, rng, std, config_.num_layers);
      std::fill(b.moe->router().bias().begin(), b.moe->router().bias().end(), T(0));
    }
  }
  params_.mutable_value(final_norm_).setOnes();
  if (head_ >= 0) fill(head_, std);
}

template <class T>
LossParts Transformer<T>::forward(const std::vector<int>& inputs, const std::vector<int>& targets, Index batch,
                                  Index seq_len) {
  inputs_ = inputs;
  targets_ = targets;
  batch_ = batch;
  seq_len_ = seq_len;
  LossParts loss;
  Matrix<T> x, normed, sublayer_out;
  embedding_forward(x, inputs, params_.value(embedding_));
  for (auto& b : blocks_) {
    rmsnorm_forward(normed, b.attn_norm_cache, x, params_.value(b.attn_norm));
    b.attention->forward(sublayer_out, normed, batch, seq_len, params_);
    x += sublayer_out;
    rmsnorm_forward(normed, b.ffn_norm_cache, x, params_.value(b.ffn_norm));
    if (b.moe) loss.balance += b.moe->forward(sublayer_out, normed, batch, seq_len, params_);
    else b.dense->forward(sublayer_out, normed, params_);
    x += sublayer_out;
  }
  rmsnorm_forward(final_normed_, final_norm_cache_, x, params_.value(final_norm_));
  if (head_ >= 0) linear_forward(logits_, final_normed_, params_.value(head_));
  else {
    logits_.resize(x.rows(), config_.vocab_size);
    gemm(logits_, final_normed_, params_.value(embedding_).transpose());
  }
  loss.cross_entropy = cross_entropy(logits_, targets);
  return loss;
}

// The forward pass read backwards; each residual connection passes its gradient through unchanged
// and adds the sublayer's.
template <class T>
void Transformer<T>::backward() {
  Matrix<T> dlogits, dx, dnormed, dsub, dresidual;
  cross_entropy(logits_, targets_, &dlogits);
  if (head_ >= 0) {
    linear_backward(&dnormed, params_.grad(head_), dlogits, final_normed_, params_.value(head_));
  } else {
    dnormed.resize(dlogits.rows(), config_.hidden_size);
    gemm(dnormed, dlogits, params_.value(embedding_));
    gemm(params_.grad(embedding_), dlogits.transpose(), final_normed_, true);
  }
  rmsnorm_backward(dx, params_.grad(final_norm_), dnormed, final_norm_cache_, params_.value(final_norm_));
  for (auto it = blocks_.rbegin(); it != blocks_.rend(); ++it) {
    Block& b = *it;
    if (b.moe) b.moe->backward(dnormed, dx, params_);
    else b.dense->backward(dnormed, dx, params_);
    rmsnorm_backward(dresidual, params_.grad(b.ffn_norm), dnormed, b.ffn_norm_cache, params_.value(b.ffn_norm));
    dx += dresidual;
    b.attention->backward(dnormed, dx, params_);
    rmsnorm_backward(dresidual, params_.grad(b.attn_norm), dnormed, b.attn_norm_cache, params_.value(b.attn_norm));
    dx += dresidual;
  }
  embedding_backward(params_.grad(embedding_), inputs_, dx);
}

template <class T>
std::vector<MoeLayer<T>*> Transformer<T>::moe_layers() {
  std::vector<MoeLayer<T>*> out;
  for (auto& b : blocks_)
    if (b.moe) out.push_back(b.moe.get());
  return out;
}
template <class T>
std::vector<const MoeLayer<T>*> Transformer<T>::moe_layers() const {
  std::vector<const MoeLayer<T>*> out;
  for (const auto& b : blocks_)
    if (b.moe) out.push_back(b.moe.get());
  return out;
}

template <class T>
void Transformer<T>::update_router_biases() {
  for (auto* m : moe_layers()) m->router().update_bias();
}

template <class T>
Index Transformer<T>::activated_parameter_count() const {
  Index count = params_.size();
  if (head_ >= 0) count -= params_.info(embedding_).size();  // a lookup, not a matmul
  const Index per_expert = 3 * config_.hidden_size * config_.moe.expert_intermediate_size;
  count -= static_cast<Index>(moe_layers().size()) * (config_.moe.routed_experts - config_.moe.top_k) * per_expert;
  return count;
}

template class Transformer<float>;
template class Transformer<double>;

}  // namespace frugal::core
