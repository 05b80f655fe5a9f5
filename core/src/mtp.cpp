// Multi-Token Prediction modules (mtp.hpp).
#include "frugal/core/mtp.hpp"

namespace frugal::core {

template <class T>
MtpModule<T>::MtpModule(const ModelConfig& config, const RouterOptions& router_options, Parameters<T>& params,
                        const std::string& prefix, const std::optional<Fp8GemmOptions>& fp8)
    : hidden_size_(config.hidden_size),
      hnorm_(params.add(prefix + ".hnorm", 1, config.hidden_size, false)),
      enorm_(params.add(prefix + ".enorm", 1, config.hidden_size, false)),
      projection_(params.add(prefix + ".eh_proj", 2 * config.hidden_size, config.hidden_size)),
      final_norm_(-1),
      block_(config, config.is_moe(), router_options, params, prefix + ".block", fp8) {
  final_norm_ = params.add(prefix + ".final_norm", 1, config.hidden_size, false);
}

template <class T>
void MtpModule<T>::init(Parameters<T>& params, Rng& rng, double std, Index num_layers) {
  for (int id : {hnorm_, enorm_, final_norm_}) params.mutable_value(id).setOnes();
  fill_normal(params.mutable_value(projection_), rng, std);
  block_.init(params, rng, std, num_layers);
}

template <class T>
double MtpModule<T>::forward(Matrix<T>& hidden, Matrix<T>& logits, const Matrix<T>& previous, const std::vector<int>& next_tokens,
                             Index batch, Index seq_len, int embedding, int head, const Parameters<T>& params) {
  const Index C = hidden_size_;
  next_tokens_ = next_tokens;
  Matrix<T> normed_previous, embedded, normed_embedded;
  rmsnorm_forward(normed_previous, hnorm_cache_, previous, params.value(hnorm_));
  embedding_forward(embedded, next_tokens, params.value(embedding));
  rmsnorm_forward(normed_embedded, enorm_cache_, embedded, params.value(enorm_));
  concatenated_.resize(previous.rows(), 2 * C);
  concatenated_.leftCols(C) = normed_previous;
  concatenated_.rightCols(C) = normed_embedded;
  linear_forward(hidden, concatenated_, params.value(projection_));
  const double balance = block_.forward(hidden, batch, seq_len, params);
  hidden_ = hidden;
  rmsnorm_forward(final_normed_, final_norm_cache_, hidden, params.value(final_norm_));
  linear_forward(logits, final_normed_, params.value(head));
  return balance;
}

template <class T>
void MtpModule<T>::backward(Matrix<T>& dprevious, const Matrix<T>& dlogits, const Matrix<T>& dhidden, int embedding, int head,
                            Parameters<T>& params) {
  const Index C = hidden_size_;
  Matrix<T> dnormed, dh, dconcatenated, dembedded;
  linear_backward(&dnormed, params.grad(head), dlogits, final_normed_, params.value(head));
  rmsnorm_backward(dh, params.grad(final_norm_), dnormed, final_norm_cache_, params.value(final_norm_));
  if (dhidden.size() > 0) dh += dhidden;
  block_.backward(dh, params);
  linear_backward(&dconcatenated, params.grad(projection_), dh, concatenated_, params.value(projection_));
  const Matrix<T> dnormed_previous = dconcatenated.leftCols(C), dnormed_embedded = dconcatenated.rightCols(C);
  rmsnorm_backward(dprevious, params.grad(hnorm_), dnormed_previous, hnorm_cache_, params.value(hnorm_));
  rmsnorm_backward(dembedded, params.grad(enorm_), dnormed_embedded, enorm_cache_, params.value(enorm_));
  embedding_backward(params.grad(embedding), next_tokens_, dembedded);
}

template class MtpModule<float>;
template class MtpModule<double>;

}  // namespace frugal::core
