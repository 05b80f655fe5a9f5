// The DeepSeekMoE layer (moe.hpp): shared experts on every token, routed experts on their tokens.
#include "frugal/core/moe.hpp"

namespace frugal::core {

template <class T>
MoeLayer<T>::MoeLayer(const MoeConfig& moe, const RouterOptions& options, Index hidden, Parameters<T>& params,
                      const std::string& prefix, const std::optional<Fp8GemmOptions>& fp8)
    : moe_(moe), router_(moe, options, hidden, params, prefix + ".router") {
  for (Index s = 0; s < moe.shared_experts; ++s)
    shared_.emplace_back(hidden, moe.expert_intermediate_size, params, prefix + ".shared." + std::to_string(s), fp8);
  for (Index e = 0; e < moe.routed_experts; ++e)
    routed_.emplace_back(hidden, moe.expert_intermediate_size, params, prefix + ".expert." + std::to_string(e), fp8);
}

template <class T>
void MoeLayer<T>::init(Parameters<T>& params, Rng& rng, double std, Index num_layers) const {
  router_.init(params, rng, std);
  for (const auto& f : shared_) f.init(params, rng, std, num_layers);
  for (const auto& f : routed_) f.init(params, rng, std, num_layers);
}

template <class T>
double MoeLayer<T>::forward(Matrix<T>& out, const Matrix<T>& x, Index batch, Index seq_len, const Parameters<T>& params) {
  const double balance_loss = router_.forward(x, batch, seq_len, params);
  out.setZero(x.rows(), x.cols());
  Matrix<T> y;
  for (auto& expert : shared_) {
    expert.forward(y, x, params);
    out += y;
  }
  dispatch_->forward(out, x, router_, routed_, params);
  return balance_loss;
}

template <class T>
void MoeLayer<T>::backward(Matrix<T>& dx, const Matrix<T>& dout, Parameters<T>& params) {
  dx.setZero(dout.rows(), dout.cols());
  Matrix<T> dexpert;
  for (auto& expert : shared_) {
    expert.backward(dexpert, dout, params);
    dx += dexpert;
  }
  Matrix<T> dweights = Matrix<T>::Zero(dout.rows(), moe_.top_k);
  dispatch_->backward(dx, dweights, dout, router_, routed_, params);
  router_.backward(dx, dweights, params);
}

// Dispatch: gather expert e's rows X_e = [u_t : t routed to e and kept]; run Y_e = FFN_e(X_e).
// Combine: out_t += g_{e,t} · Y_e[row of t].
template <class T>
void LocalExperts<T>::forward(Matrix<T>& out, const Matrix<T>& x, const Router<T>& router, std::vector<FeedForward<T>>& experts,
                              const Parameters<T>& params) {
  const Index k = router.top_k();
  assignments_.assign(experts.size(), {});
  const ConstExpertIdsMap chosen = router.chosen_ids();
  const ConstSlotFlagsMap kept = router.kept_slots();
  for (Index t = 0; t < x.rows(); ++t)
    for (Index j = 0; j < k; ++j)
      if (kept(t, j)) assignments_[static_cast<std::size_t>(chosen(t, j))].push_back({t, j});

  expert_out_.resize(experts.size());
  Matrix<T> rows;
  for (std::size_t e = 0; e < experts.size(); ++e) {
    const auto& assigned = assignments_[e];
    if (assigned.empty()) continue;
    rows.resize(static_cast<Index>(assigned.size()), x.cols());
    for (std::size_t r = 0; r < assigned.size(); ++r) rows.row(static_cast<Index>(r)) = x.row(assigned[r].first);
    experts[e].forward(expert_out_[e], rows, params);
    for (std::size_t r = 0; r < assigned.size(); ++r) {
      const auto [t, j] = assigned[r];
      out.row(t) += router.weights()(t, j) * expert_out_[e].row(static_cast<Index>(r));
    }
  }
}

//   ∂L/∂Y_e[r] = g · ∂L/∂out_t,   ∂L/∂g = ∂L/∂out_t · Y_e[r],   ∂L/∂u_t += Σ experts' dX rows
template <class T>
void LocalExperts<T>::backward(Matrix<T>& dx, Matrix<T>& dweights, const Matrix<T>& dout, const Router<T>& router,
                               std::vector<FeedForward<T>>& experts, Parameters<T>& params) {
  Matrix<T> drows, dexpert;
  for (std::size_t e = 0; e < experts.size(); ++e) {
    const auto& assigned = assignments_[e];
    if (assigned.empty()) continue;
    drows.resize(static_cast<Index>(assigned.size()), dout.cols());
    for (std::size_t r = 0; r < assigned.size(); ++r) {
      const auto [t, j] = assigned[r];
      drows.row(static_cast<Index>(r)) = router.weights()(t, j) * dout.row(t);
      dweights(t, j) = dout.row(t).dot(expert_out_[e].row(static_cast<Index>(r)));
    }
    experts[e].backward(dexpert, drows, params);
    for (std::size_t r = 0; r < assigned.size(); ++r) dx.row(assigned[r].first) += dexpert.row(static_cast<Index>(r));
  }
}

template class LocalExperts<float>;
template class LocalExperts<double>;
template class MoeLayer<float>;
template class MoeLayer<double>;

}  // namespace frugal::core
