// AdamW and gradient clipping (optimizer.hpp).
#include "frugal/core/optimizer.hpp"

#include "frugal/core/fp8_format.hpp"

namespace frugal::core {

double gradient_norm(const AlignedVector<float>& grads) {
  const Eigen::Map<const Eigen::ArrayXf> g(grads.data(), static_cast<Index>(grads.size()));
  return std::sqrt(g.cast<double>().square().sum());
}

void AdamW::step(Parameters<float>& params, double learning_rate, double grad_scale) {
  AlignedVector<float>& theta = params.values();
  const AlignedVector<float>& g = params.grads();
  if (m_.size() != theta.size()) {
    m_.assign(theta.size(), 0.0f);
    v_.assign(theta.size(), 0.0f);
  }
  ++t_;
  const float b1 = static_cast<float>(options_.beta1), b2 = static_cast<float>(options_.beta2);
  const float correction1 = static_cast<float>(1.0 - std::pow(options_.beta1, static_cast<double>(t_)));
  const float correction2 = static_cast<float>(1.0 - std::pow(options_.beta2, static_cast<double>(t_)));
  const float lr = static_cast<float>(learning_rate), eps = static_cast<float>(options_.epsilon);
  const float scale = static_cast<float>(grad_scale);
  for (const TensorInfo& tensor : params.tensors()) {
    const float decay = tensor.weight_decay ? static_cast<float>(options_.weight_decay) : 0.0f;
    const auto offset = static_cast<std::size_t>(tensor.offset);
    Eigen::Map<Eigen::ArrayXf> value(theta.data() + offset, tensor.size()), m(m_.data() + offset, tensor.size()),
        v(v_.data() + offset, tensor.size());
    const auto grad = Eigen::Map<const Eigen::ArrayXf>(g.data() + offset, tensor.size()) * scale;
    m = b1 * m + (1 - b1) * grad;
    v = b2 * v + (1 - b2) * grad.square();
    if (options_.bf16_moments) {
      m = m.unaryExpr([](float x) { return round_to_bf16(x); });
      v = v.unaryExpr([](float x) { return round_to_bf16(x); });
    }
    value -= lr * ((m / correction1) / ((v / correction2).sqrt() + eps) + decay * value);
  }
}

}  // namespace frugal::core
