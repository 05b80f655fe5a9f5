// Where a DeepSeekMoE layer's routed experts run. The layer routes its tokens and runs its shared
// experts itself, then hands the routed part to a dispatch:
//   forward:  out_t += Σ_j g_{t,j} · FFN_{e(t,j)}(x_t)       over the kept (token t, slot j) pairs
//   backward: dx_t  += Σ_j ∂/∂x_t of the same,  dweights(t, j) = dout_t · FFN_{e(t,j)}(x_t)
// and the experts' parameter gradients. LocalExperts runs every expert in this process (gather
// each expert's rows, run it once, scatter back weighted by g); ExpertParallel (core/mpi/) sends
// each row to the MPI rank that owns its expert and brings the result back.
#pragma once

#include <utility>
#include <vector>

#include "frugal/core/feed_forward.hpp"
#include "frugal/core/router.hpp"

namespace frugal::core {

template <class T>
class ExpertDispatch {
 public:
  virtual ~ExpertDispatch() = default;
  virtual void forward(Matrix<T>& out, const Matrix<T>& x, const Router<T>& router, std::vector<FeedForward<T>>& experts,
                       const Parameters<T>& params) = 0;
  virtual void backward(Matrix<T>& dx, Matrix<T>& dweights, const Matrix<T>& dout, const Router<T>& router,
                        std::vector<FeedForward<T>>& experts, Parameters<T>& params) = 0;
};

// Every routed expert in this process.
template <class T>
class LocalExperts : public ExpertDispatch<T> {
 public:
  void forward(Matrix<T>& out, const Matrix<T>& x, const Router<T>& router, std::vector<FeedForward<T>>& experts,
               const Parameters<T>& params) override;
  void backward(Matrix<T>& dx, Matrix<T>& dweights, const Matrix<T>& dout, const Router<T>& router,
                std::vector<FeedForward<T>>& experts, Parameters<T>& params) override;

 private:
  // Per routed expert: the (token, slot) assignments it processed and its output rows.
  std::vector<std::vector<std::pair<Index, Index>>> assignments_;
  std::vector<Matrix<T>> expert_out_;
};

}  // namespace frugal::core
