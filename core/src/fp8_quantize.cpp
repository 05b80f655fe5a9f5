// FP8 quantisation at tile, block and tensor granularity (fp8_quantize.hpp).
#include "frugal/core/fp8_quantize.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace frugal::core {

static TileShape resolve(TileShape t, Index rows, Index cols) {
  return {t.rows > 0 ? std::min(t.rows, rows) : rows, t.cols > 0 ? std::min(t.cols, cols) : cols};
}

// scale = amax / max_finite, or the power of two at or above it (UE8M0); 1 for an all-zero tile.
static float scale_for(float amax, const QuantizeOptions& o) {
  if (!(amax > 0) || !std::isfinite(amax)) return 1.0f;
  const double s = static_cast<double>(amax) / o.format.max_finite;
  return o.scale_format == ScaleFormat::ue8m0 ? static_cast<float>(ue8m0_decode(ue8m0_encode_up(s))) : static_cast<float>(s);
}

// One online scale per tile of the resolved shape t. Row-block by row-block: the amax of every
// column over the block's rows at once (row-major friendly for 128×1 tiles too), then per tile.
static Matrix<float> tile_scales(const Matrix<float>& x, TileShape t, const QuantizeOptions& o) {
  Matrix<float> scales((x.rows() + t.rows - 1) / t.rows, (x.cols() + t.cols - 1) / t.cols);
  for (Index r0 = 0; r0 < x.rows(); r0 += t.rows) {
    const RowVector<float> column_amax = x.middleRows(r0, std::min(t.rows, x.rows() - r0)).cwiseAbs().colwise().maxCoeff();
    for (Index c0 = 0; c0 < x.cols(); c0 += t.cols)
      scales(r0 / t.rows, c0 / t.cols) = scale_for(column_amax.segment(c0, std::min(t.cols, x.cols() - c0)).maxCoeff(), o);
  }
  return scales;
}

Fp8Matrix quantize(const Matrix<float>& x, const QuantizeOptions& o) {
  Fp8Matrix q;
  q.rows = x.rows();
  q.cols = x.cols();
  q.format = o.format;
  q.tile = resolve(o.tile, x.rows(), x.cols());
  q.codes.resize(static_cast<std::size_t>(x.size()));
  q.scales = tile_scales(x, q.tile, o);
  for (Index r = 0; r < x.rows(); ++r)
    for (Index c = 0; c < x.cols(); ++c)
      q.codes[static_cast<std::size_t>(r * x.cols() + c)] =
          fp8_encode(static_cast<double>(x(r, c) / q.scales(r / q.tile.rows, c / q.tile.cols)), o.format);
  return q;
}

Fp8Matrix quantize_with_scale(const Matrix<float>& x, float scale, const Fp8Format& format) {
  Fp8Matrix q;
  q.rows = x.rows();
  q.cols = x.cols();
  q.format = format;
  q.tile = {x.rows(), x.cols()};
  q.scales = Matrix<float>::Constant(1, 1, scale);
  q.codes.resize(static_cast<std::size_t>(x.size()));
  for (Index i = 0; i < x.size(); ++i) q.codes[static_cast<std::size_t>(i)] = fp8_encode(static_cast<double>(x.data()[i] / scale), format);
  return q;
}

Matrix<float> dequantize(const Fp8Matrix& q) {
  Matrix<float> x(q.rows, q.cols);
  for (Index r = 0; r < q.rows; ++r)
    for (Index c = 0; c < q.cols; ++c)
      x(r, c) = static_cast<float>(fp8_decode(q.codes[static_cast<std::size_t>(r * q.cols + c)], q.format)) *
                q.scales(r / q.tile.rows, c / q.tile.cols);
  return x;
}

// out = round(in / s) · s over one row; the pointers do not alias, which lets the loop vectorise.
static void round_row(float* __restrict out, const float* __restrict in, const float* __restrict s, Index n, const Fp8Rounder round) {
  for (Index c = 0; c < n; ++c) out[c] = round(in[c] / s[c]) * s[c];
}

// The tile scales spread over each row-block's columns, then one pass that divides, rounds and
// multiplies back.
Matrix<float> quantize_dequantize(const Matrix<float>& x, const QuantizeOptions& o) {
  const TileShape t = resolve(o.tile, x.rows(), x.cols());
  const Matrix<float> tiles = tile_scales(x, t, o);
  Matrix<float> out(x.rows(), x.cols());
  RowVector<float> scales(x.cols());
  const Fp8Rounder round(o.format);
  for (Index r0 = 0; r0 < x.rows(); r0 += t.rows) {
    const Index h = std::min(t.rows, x.rows() - r0);
    for (Index c0 = 0; c0 < x.cols(); c0 += t.cols)
      scales.segment(c0, std::min(t.cols, x.cols() - c0)).setConstant(tiles(r0 / t.rows, c0 / t.cols));
    for (Index r = r0; r < r0 + h; ++r) round_row(&out(r, 0), &x(r, 0), scales.data(), x.cols(), round);
  }
  return out;
}

QuantizationError measure_quantization(const Matrix<float>& x, const Fp8Matrix& q) {
  const Matrix<float> back = dequantize(q);
  QuantizationError e;
  const double norm = x.cast<double>().norm();
  e.relative_error = norm > 0 ? (back - x).cast<double>().norm() / norm : 0.0;
  e.max_abs_error = static_cast<double>((back - x).cwiseAbs().maxCoeff());
  Index nonzero = 0, underflow = 0, saturated = 0;
  for (Index r = 0; r < x.rows(); ++r)
    for (Index c = 0; c < x.cols(); ++c) {
      const float scale = q.scales(r / q.tile.rows, c / q.tile.cols);
      if (x(r, c) != 0) {
        ++nonzero;
        if (back(r, c) == 0) ++underflow;
      }
      if (std::fabs(x(r, c) / scale) > q.format.max_finite * (1 + std::ldexp(1.0, -q.format.mantissa_bits - 1))) ++saturated;
    }
  e.underflow_fraction = nonzero ? static_cast<double>(underflow) / static_cast<double>(nonzero) : 0.0;
  e.saturated_fraction = static_cast<double>(saturated) / static_cast<double>(x.size());
  return e;
}

float DelayedScaling::scale() const {
  if (amax_.empty()) return 1.0f;
  const float amax = *std::max_element(amax_.begin(), amax_.end());
  return amax > 0 ? static_cast<float>(amax / format_.max_finite) : 1.0f;
}

void DelayedScaling::record(float amax) {
  amax_.push_back(amax);
  while (static_cast<int>(amax_.size()) > history_) amax_.pop_front();
}

}  // namespace frugal::core
