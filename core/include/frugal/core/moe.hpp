// The DeepSeekMoE layer (V3 report §2.1.2, eq. 12):
//   h'_t = u_t + Σ_{i=1..N_s} FFN^(s)_i(u_t) + Σ_{i=1..N_r} g_{i,t} FFN^(r)_i(u_t)
// (the residual u_t is added by the transformer block). Tokens are gathered per expert, each
// expert runs once on its rows, and the outputs are scattered back weighted by g — the
// dispatch / combine that kernels/ and the MPI version do at scale.
#pragma once

#include <memory>
#include <vector>

#include "frugal/core/expert_dispatch.hpp"
#include "frugal/core/feed_forward.hpp"
#include "frugal/core/router.hpp"

namespace frugal::core {

template <class T>
class MoeLayer {
 public:
  // With `fp8`, the experts' GEMMs run in emulated FP8; the router's gate stays FP32 (V3 §3.3.1).
  MoeLayer(const MoeConfig& moe, const RouterOptions& options, Index hidden, Parameters<T>& params,
           const std::string& prefix, const std::optional<Fp8GemmOptions>& fp8 = std::nullopt);
  void init(Parameters<T>& params, Rng& rng, double std, Index num_layers) const;

  // Returns the balance loss (α-weighted) of this layer.
  double forward(Matrix<T>& out, const Matrix<T>& x, Index batch, Index seq_len, const Parameters<T>& params);
  void backward(Matrix<T>& dx, const Matrix<T>& dout, Parameters<T>& params);

  Router<T>& router() { return router_; }
  const Router<T>& router() const { return router_; }
  const MoeConfig& config() const { return moe_; }

  // Where the routed experts run (expert_dispatch.hpp); LocalExperts unless set.
  void set_dispatch(std::unique_ptr<ExpertDispatch<T>> dispatch) { dispatch_ = std::move(dispatch); }
  ExpertDispatch<T>& dispatch() { return *dispatch_; }

 private:
  MoeConfig moe_;
  Router<T> router_;
  std::vector<FeedForward<T>> shared_;
  std::vector<FeedForward<T>> routed_;
  std::unique_ptr<ExpertDispatch<T>> dispatch_ = std::make_unique<LocalExperts<T>>();
};

}  // namespace frugal::core
