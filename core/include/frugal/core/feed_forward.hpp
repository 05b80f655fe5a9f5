// A SwiGLU feed-forward block that owns its three weight matrices: a dense layer's FFN, a shared
// expert, or one routed expert.
#pragma once

#include <optional>
#include <string>

#include "frugal/core/layers.hpp"
#include "frugal/core/parameters.hpp"
#include "frugal/core/random.hpp"

namespace frugal::core {

template <class T>
class FeedForward {
 public:
  // With `fp8`, the three GEMMs of forward and backward run in emulated FP8 (V3 §3.3.1).
  FeedForward(Index hidden, Index intermediate, Parameters<T>& params, const std::string& prefix,
              const std::optional<Fp8GemmOptions>& fp8 = std::nullopt)
      : fp8_(fp8),
        gate_(params.add(prefix + ".w_gate", hidden, intermediate)),
        up_(params.add(prefix + ".w_up", hidden, intermediate)),
        down_(params.add(prefix + ".w_down", intermediate, hidden)) {}

  // Normal(0, std); W_down, which feeds the residual stream, std/sqrt(2·layers) (GPT-2 §2.3).
  void init(Parameters<T>& params, Rng& rng, double std, Index num_layers) const {
    for (int id : {gate_, up_, down_})
      fill_normal(params.mutable_value(id), rng, id == down_ ? std / std::sqrt(2.0 * static_cast<double>(num_layers)) : std);
  }

  void forward(Matrix<T>& y, const Matrix<T>& x, const Parameters<T>& params) {
    x_ = x;
    swiglu_forward(y, cache_, x, weights(params), fp8_ ? &*fp8_ : nullptr);
  }
  void backward(Matrix<T>& dx, const Matrix<T>& dy, Parameters<T>& params) {
    swiglu_backward(dx, SwigluGrads<T>{params.grad(gate_), params.grad(up_), params.grad(down_)}, dy, cache_, x_,
                    weights(params), fp8_ ? &*fp8_ : nullptr);
  }

 private:
  SwigluWeights<T> weights(const Parameters<T>& params) const {
    return {params.value(gate_), params.value(up_), params.value(down_)};
  }
  std::optional<Fp8GemmOptions> fp8_;
  int gate_, up_, down_;
  Matrix<T> x_;
  SwigluCache<T> cache_;
};

}  // namespace frugal::core
