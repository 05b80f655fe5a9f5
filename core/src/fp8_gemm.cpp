// FP8 GEMM emulation (fp8_gemm.hpp).
#include "frugal/core/fp8_gemm.hpp"

#include <cmath>

#include "frugal/core/random.hpp"

namespace frugal::core {

void fp8_gemm(Matrix<float>& out, const Matrix<float>& a, const Matrix<float>& b, const Fp8GemmOptions& o, bool accumulate) {
  const Matrix<float> aq = quantize_dequantize(a, {o.format, o.a_tile, o.scale_format});
  const Matrix<float> bq = quantize_dequantize(b, {o.format, o.b_tile, o.scale_format});
  if (!accumulate) out.resize(a.rows(), b.cols());
  gemm(out, aq, bq, accumulate);
}

// Truncate toward zero to a multiple of `quantum` (a power of two).
static double truncate_to(double v, double quantum) { return std::trunc(v / quantum) * quantum; }

double limited_precision_dot(const float* a, const float* b, Index k, Index b_stride, const AccumulatorModel& m) {
  double reg = 0;    // the tensor core's FP22 register
  float fp32 = 0;    // the CUDA-core accumulator promotion adds into
  double products[64];
  for (Index start = 0; start < k; start += m.group) {
    const Index n = std::min<Index>(m.group, k - start);
    int e_max = reg != 0 ? std::ilogb(reg) : INT32_MIN;
    for (Index i = 0; i < n; ++i) {
      products[i] = static_cast<double>(a[start + i]) * static_cast<double>(b[(start + i) * b_stride]);
      if (products[i] != 0) e_max = std::max(e_max, std::ilogb(products[i]));
    }
    if (e_max != INT32_MIN) {
      // Align to the largest exponent and keep `fraction_bits` bits below its leading one.
      const double quantum = std::ldexp(1.0, e_max - m.fraction_bits);
      double sum = truncate_to(reg, quantum);
      for (Index i = 0; i < n; ++i) sum += truncate_to(products[i], quantum);
      reg = sum == 0 ? 0 : truncate_to(sum, std::ldexp(1.0, std::ilogb(sum) - m.fraction_bits));  // FP22
    }
    const Index done = start + n;
    if (m.promotion_interval > 0 && (done % m.promotion_interval == 0 || done == k)) {
      fp32 += static_cast<float>(reg);
      reg = 0;
    }
  }
  return m.promotion_interval > 0 ? static_cast<double>(fp32) : reg;
}

Matrix<double> limited_precision_gemm(const Matrix<float>& a, const Matrix<float>& b, const AccumulatorModel& m) {
  Matrix<double> c(a.rows(), b.cols());
  for (Index i = 0; i < a.rows(); ++i)
    for (Index j = 0; j < b.cols(); ++j) c(i, j) = limited_precision_dot(&a(i, 0), &b(0, j), a.cols(), b.cols(), m);
  return c;
}

// Random inputs (N(0, 1) or U[0, 1), see AccumulationInputs), E4M3 with a power-of-two per-tensor
// scale (so that the products are exact and only accumulation errs); the reference is the exact
// (double) product of those inputs.
AccumulationError accumulation_error(Index m, Index n, Index k, const AccumulatorModel& model, std::uint64_t seed,
                                     AccumulationInputs inputs) {
  Rng rng(seed);
  Matrix<float> a(m, k), b(k, n);
  if (inputs == AccumulationInputs::zero_mean) {
    fill_normal(a, rng, 1.0);
    fill_normal(b, rng, 1.0);
  } else {
    for (Index i = 0; i < a.size(); ++i) a.data()[i] = static_cast<float>(rng.uniform());
    for (Index i = 0; i < b.size(); ++i) b.data()[i] = static_cast<float>(rng.uniform());
  }
  const QuantizeOptions per_tensor{kE4M3, kPerTensor, ScaleFormat::ue8m0};
  a = quantize_dequantize(a, per_tensor);
  b = quantize_dequantize(b, per_tensor);
  const Matrix<double> exact = a.cast<double>() * b.cast<double>();
  const Matrix<double> limited = limited_precision_gemm(a, b, model);
  AccumulationError e;
  e.k = k;
  e.relative_error = (limited - exact).norm() / exact.norm();
  const double rms = exact.norm() / std::sqrt(static_cast<double>(exact.size()));
  for (Index i = 0; i < exact.size(); ++i)
    if (std::abs(exact.data()[i]) >= rms)
      e.max_relative_error = std::max(e.max_relative_error, std::abs(limited.data()[i] - exact.data()[i]) / std::abs(exact.data()[i]));
  return e;
}

}  // namespace frugal::core
