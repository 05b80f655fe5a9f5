// The tiny DeepSeek-style decoder (model.hpp).
#include "frugal/core/model.hpp"

#include <stdexcept>

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
  // Features the simulator prices from today's families but the CPU reference does not implement.
  if (a.local != LocalAttention::none)
    throw ConfigError("model.attention.local", "the CPU reference implements global attention only");
  if (a.qk_norm != QkNorm::none) throw ConfigError("model.attention.qk_norm", "the CPU reference has no QK-norm");
  if (a.sinks) throw ConfigError("model.attention.sinks", "the CPU reference has no attention sinks");
  if (c.post_norms) throw ConfigError("model.post_norms", "the CPU reference has two norms per layer");
  const MoeConfig& m = c.moe;
  if (m.layer_phase != 0) throw ConfigError("model.moe.layer_phase", "the CPU reference places MoE layers at phase 0");
  if (m.shared_expert_intermediate_size > 0 || m.shared_expert_gate)
    throw ConfigError("model.moe.shared_expert_intermediate_size", "the CPU reference's shared experts are routed-expert sized and ungated");
  if (m.router_bias) throw ConfigError("model.moe.router_bias", "the CPU reference's router has no bias");
  if (!m.selection_bias) throw ConfigError("model.moe.selection_bias", "the CPU reference's sigmoid router has V3's selection bias");
  const Index rope_dim = a.kind == AttentionKind::mla ? a.qk_rope_head_dim : a.head_dim;
  if (rope_dim % 2 != 0)
    throw ConfigError(a.kind == AttentionKind::mla ? "model.attention.qk_rope_head_dim" : "model.attention.head_dim",
                      "must be even: RoPE rotates pairs of dimensions");
}

template <class T>
Transformer<T>::Transformer(const ModelConfig& config, const RouterOptions& router_options,
                            const std::optional<Fp8GemmOptions>& fp8, double mtp_weight)
    : config_(config), mtp_weight_(mtp_weight) {
  check_trainable(config);
  const Index C = config.hidden_size;
  embedding_ = params_.add("embedding", config.vocab_size, C);
  blocks_.reserve(static_cast<std::size_t>(config.num_layers));
  for (Index l = 0; l < config.num_layers; ++l)
    blocks_.emplace_back(config, config.is_moe_layer(l), router_options, params_, "layers." + std::to_string(l), fp8);
  final_norm_ = params_.add("final_norm", 1, C, false);
  if (!config.tie_embeddings) head_ = params_.add("head", C, config.vocab_size);
  if (mtp_weight > 0 && config.mtp_depth > 0) {
    if (config.tie_embeddings)
      throw ConfigError("model.tie_embeddings", "Multi-Token Prediction in the CPU reference needs an untied output head");
    const Index before = params_.size();
    mtp_.reserve(static_cast<std::size_t>(config.mtp_depth));
    for (Index k = 1; k <= config.mtp_depth; ++k)
      mtp_.emplace_back(config, router_options, params_, "mtp." + std::to_string(k), fp8);
    mtp_parameters_ = params_.size() - before;
  }
  params_.allocate();
}

template <class T>
void Transformer<T>::init(std::uint64_t seed, double std) {
  Rng rng(seed);
  fill_normal(params_.mutable_value(embedding_), rng, std);
  for (auto& b : blocks_) b.init(params_, rng, std, config_.num_layers);
  params_.mutable_value(final_norm_).setOnes();
  if (head_ >= 0) fill_normal(params_.mutable_value(head_), rng, std);
  for (auto& m : mtp_) m.init(params_, rng, std, config_.num_layers);  // after the main model: its weights do not move
}

// Embedding, the blocks, final norm and head: x ends as h^0 (the last hidden state), logits_ as the
// main model's logits. Returns the blocks' balance loss.
template <class T>
double Transformer<T>::main_forward(Matrix<T>& x, const std::vector<int>& inputs, Index batch, Index seq_len) {
  double balance = 0;
  embedding_forward(x, inputs, params_.value(embedding_));
  for (auto& b : blocks_) balance += b.forward(x, batch, seq_len, params_);
  head_forward(x);
  return balance;
}

// logits = RMSNorm(x)·W_head (the embedding's transpose when tied).
template <class T>
void Transformer<T>::head_forward(const Matrix<T>& x) {
  rmsnorm_forward(final_normed_, final_norm_cache_, x, params_.value(final_norm_));
  if (head_ >= 0) linear_forward(logits_, final_normed_, params_.value(head_));
  else {
    logits_.resize(x.rows(), config_.vocab_size);
    gemm(logits_, final_normed_, params_.value(embedding_).transpose());
  }
}

// The losses, and their gradients with respect to the logits (so backward need not redo the softmax).
template <class T>
LossParts Transformer<T>::forward(const std::vector<int>& inputs, const std::vector<int>& targets, Index batch,
                                  Index seq_len, const SoftTargets<T>* soft) {
  inputs_ = inputs;
  LossParts loss;
  Matrix<T> x;
  loss.balance = main_forward(x, inputs, batch, seq_len);
  if (soft) {
    const DistillationLoss d = distillation_loss(logits_, *soft->teacher_logits, targets, soft->temperature, soft->alpha, &dlogits_);
    loss.cross_entropy = d.cross_entropy;
    loss.distillation = d.soft;
    loss.main = d.total;
  } else {
    loss.cross_entropy = loss.main = cross_entropy(logits_, targets, &dlogits_);
  }

  // MTP depth k reads h^{k−1} at positions i < T − k and predicts t_{i+k+1} from Emb(t_{i+k}).
  mtp_rows_.assign(mtp_.size(), {});
  mtp_hidden_.resize(mtp_.size());
  mtp_dlogits_.resize(mtp_.size());
  Matrix<T> depth_logits;
  const Matrix<T>* previous = &x;
  for (std::size_t d = 0; d < mtp_.size(); ++d) {
    const Index k = static_cast<Index>(d) + 1, length = seq_len - k, previous_length = seq_len - k + 1;
    if (length <= 0) break;
    std::vector<int> next_tokens, depth_targets;
    Matrix<T> gathered(batch * length, config_.hidden_size);
    for (Index b = 0; b < batch; ++b)
      for (Index i = 0; i < length; ++i) {
        const Index row = b * previous_length + i;
        mtp_rows_[d].push_back(row);
        gathered.row(b * length + i) = previous->row(row);
        next_tokens.push_back(inputs[static_cast<std::size_t>(b * seq_len + i + k)]);
        depth_targets.push_back(targets[static_cast<std::size_t>(b * seq_len + i + k)]);
      }
    loss.balance += mtp_[d].forward(mtp_hidden_[d], depth_logits, gathered, next_tokens, batch, length, embedding_, head_, params_);
    const double depth_loss =
        cross_entropy(depth_logits, depth_targets, &mtp_dlogits_[d], mtp_weight_ / static_cast<double>(mtp_.size()));
    loss.mtp_per_depth.push_back(depth_loss);
    loss.mtp += mtp_weight_ / static_cast<double>(mtp_.size()) * depth_loss;
    previous = &mtp_hidden_[d];
  }
  return loss;
}

// The forward pass read backwards; each residual connection passes its gradient through unchanged
// and adds the sublayer's.
template <class T>
void Transformer<T>::backward() {
  Matrix<T> dx, dnormed;
  if (head_ >= 0) {
    linear_backward(&dnormed, params_.grad(head_), dlogits_, final_normed_, params_.value(head_));
  } else {
    dnormed.resize(dlogits_.rows(), config_.hidden_size);
    gemm(dnormed, dlogits_, params_.value(embedding_));
    gemm(params_.grad(embedding_), dlogits_.transpose(), final_normed_, true);
  }
  rmsnorm_backward(dx, params_.grad(final_norm_), dnormed, final_norm_cache_, params_.value(final_norm_));

  // MTP, deepest first: each depth's ∂L/∂h^{k−1} lands on the rows it read.
  Matrix<T> dfrom_deeper;  // ∂L/∂h^k from depth k + 1, in depth k's rows
  for (std::size_t d = mtp_rows_.size(); d-- > 0;) {
    if (mtp_rows_[d].empty()) continue;
    Matrix<T> dprevious;
    mtp_[d].backward(dprevious, mtp_dlogits_[d], dfrom_deeper, embedding_, head_, params_);
    Matrix<T>& target = d == 0 ? dx : dfrom_deeper;
    if (d > 0) target.setZero(mtp_hidden_[d - 1].rows(), config_.hidden_size);
    for (std::size_t r = 0; r < mtp_rows_[d].size(); ++r) target.row(mtp_rows_[d][r]) += dprevious.row(static_cast<Index>(r));
  }
  for (auto it = blocks_.rbegin(); it != blocks_.rend(); ++it) it->backward(dx, params_);
  embedding_backward(params_.grad(embedding_), inputs_, dx);
}

template <class T>
std::vector<MoeLayer<T>*> Transformer<T>::moe_layers() {
  std::vector<MoeLayer<T>*> out;
  for (auto& b : blocks_)
    if (b.moe()) out.push_back(b.moe());
  for (auto& m : mtp_)
    if (m.block().moe()) out.push_back(m.block().moe());
  return out;
}
template <class T>
std::vector<const MoeLayer<T>*> Transformer<T>::moe_layers() const {
  std::vector<const MoeLayer<T>*> out;
  for (const auto& b : blocks_)
    if (b.moe()) out.push_back(b.moe());
  for (const auto& m : mtp_)
    if (m.block().moe()) out.push_back(m.block().moe());
  return out;
}

template <class T>
void Transformer<T>::update_router_biases() {
  for (auto* m : moe_layers()) m->router().update_bias();
}

template <class T>
Index Transformer<T>::activated_parameter_count() const {
  Index count = params_.size() - mtp_parameters_;
  if (head_ >= 0) count -= params_.info(embedding_).size();  // a lookup, not a matmul
  const Index per_expert = 3 * config_.hidden_size * config_.moe.expert_intermediate_size;
  count -= config_.moe_layer_count() * (config_.moe.routed_experts - config_.moe.top_k) * per_expert;
  return count;
}

template <class T>
const Matrix<T>& Transformer<T>::infer(const std::vector<int>& inputs, Index batch, Index seq_len) {
  Matrix<T> hidden;
  main_forward(hidden, inputs, batch, seq_len);
  return logits_;
}

template <class T>
bool Transformer<T>::drops_tokens() const {
  for (const MoeLayer<T>* m : moe_layers())
    if (m->router().options().capacity_factor > 0) return true;
  return false;
}

template <class T>
std::vector<KvCache<T>> Transformer<T>::new_kv_caches(Index max_len) const {
  return std::vector<KvCache<T>>(blocks_.size(), KvCache<T>{max_len, {}, {}});
}

template <class T>
const Matrix<T>& Transformer<T>::decode_step(const std::vector<int>& tokens, Index position, std::vector<KvCache<T>>& caches) {
  if (drops_tokens()) throw std::invalid_argument("decode_step: a token-dropping router (capacity_factor > 0) needs the whole batch: use infer");
  if (caches.size() != blocks_.size()) throw std::invalid_argument("decode_step: one KV cache per layer (new_kv_caches)");
  const auto batch = static_cast<Index>(tokens.size());
  Matrix<T> x;
  embedding_forward(x, tokens, params_.value(embedding_));
  for (std::size_t i = 0; i < blocks_.size(); ++i) blocks_[i].decode(x, batch, position, caches[i], params_);
  head_forward(x);
  return logits_;
}

template <class T>
void Transformer<T>::forward_inference(const std::vector<int>& tokens, Matrix<T>& logits, Matrix<T>& hidden) {
  main_forward(hidden, tokens, 1, static_cast<Index>(tokens.size()));
  logits = logits_;
}

template <class T>
RowVector<T> Transformer<T>::mtp_draft_logits(const std::vector<int>& tokens, const Matrix<T>& hidden, int next_token) {
  std::vector<int> next(tokens.begin() + 1, tokens.end());
  next.push_back(next_token);
  Matrix<T> h, logits;
  mtp_.front().forward(h, logits, hidden, next, 1, static_cast<Index>(tokens.size()), embedding_, head_, params_);
  return logits.row(logits.rows() - 1);
}

template class Transformer<float>;
template class Transformer<double>;

}  // namespace frugal::core
