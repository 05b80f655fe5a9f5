// FP8 GEMM emulation (fp8_gemm.hpp).
#include "frugal/core/fp8_gemm.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "frugal/core/random.hpp"

namespace frugal::core {

void fp8_gemm(Matrix<float>& out, const Matrix<float>& a, const Matrix<float>& b, const Fp8GemmOptions& o, bool accumulate) {
  const Matrix<float> aq = quantize_dequantize(a, {o.format, o.a_tile, o.scale_format});
  const Matrix<float> bq = quantize_dequantize(b, {o.format, o.b_tile, o.scale_format});
  if (!o.promotion) {
    MatmulMeter& meter = matmul_meter();  // the same product, counted as gemm counts it
    meter.flops += 2.0 * static_cast<double>(a.rows()) * static_cast<double>(a.cols()) * static_cast<double>(b.cols());
    ++meter.calls;
    const Matrix<float> c = limited_accumulation_gemm(aq, bq, AccumulatorModel{});
    if (accumulate) out += c;
    else out = c;
    return;
  }
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

// The largest power of two ≤ |x| for a normal x: its exponent bits alone (0 for zero and subnormals).
static float power_of_two_floor(float x) { return std::bit_cast<float>(std::bit_cast<std::uint32_t>(x) & 0x7f800000u); }
// Toward zero: through int32 for |x| < 2^23 (exact); larger floats are integers already (NaN stays).
static float truncate_float(float x) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  const bool small = (bits & 0x7fffffffu) < 0x4b000000u;  // 2^23
  const float in_range = std::bit_cast<float>(select_bits(small, bits, 0u));  // no out-of-range conversion
  return std::bit_cast<float>(select_bits(small, std::bit_cast<std::uint32_t>(static_cast<float>(static_cast<std::int32_t>(in_range))), bits));
}

// One group of products a_i·b[i, :] (i < count) into one output row's registers, with restrict
// pointers so that every loop over the row vectorises:
//   e_max   = exponent of the largest |product| in the group, or of the register
//   q       = 2^(e_max − fraction_bits); register and products truncated to multiples of q, summed
//   register = the sum truncated to fraction_bits below its own leading one (FP22): a bit mask
static void accumulate_group(float* __restrict reg, float* __restrict quantum, const float* __restrict a, const float* __restrict b,
                             Index count, Index n, float below_leading, std::uint32_t keep_fraction) {
  for (Index j = 0; j < n; ++j) quantum[j] = std::abs(reg[j]);
  for (Index i = 0; i < count; ++i)
    for (Index j = 0; j < n; ++j) quantum[j] = std::max(quantum[j], std::abs(a[i] * b[i * n + j]));
  for (Index j = 0; j < n; ++j) {
    const std::uint32_t q = std::bit_cast<std::uint32_t>(power_of_two_floor(quantum[j]) * below_leading);
    quantum[j] = std::bit_cast<float>(select_bits(q == 0, 1u, q));  // 1u: the smallest subnormal
    reg[j] = truncate_float(reg[j] / quantum[j]) * quantum[j];
  }
  for (Index i = 0; i < count; ++i)
    for (Index j = 0; j < n; ++j) reg[j] += truncate_float(a[i] * b[i * n + j] / quantum[j]) * quantum[j];
  for (Index j = 0; j < n; ++j) reg[j] = std::bit_cast<float>(std::bit_cast<std::uint32_t>(reg[j]) & keep_fraction);
}

// limited_precision_dot's register (promotion_interval 0) for every output of one row of A at once.
Matrix<float> limited_accumulation_gemm(const Matrix<float>& a, const Matrix<float>& b, const AccumulatorModel& m) {
  const Index k = a.cols(), n = b.cols();
  const float below_leading = std::ldexp(1.0f, -m.fraction_bits);
  const std::uint32_t keep_fraction = ~((1u << (23 - m.fraction_bits)) - 1u);
  Matrix<float> c = Matrix<float>::Zero(a.rows(), n);
  std::vector<float> quantum(static_cast<std::size_t>(n));
  for (Index r = 0; r < a.rows(); ++r)
    for (Index start = 0; start < k; start += m.group)
      accumulate_group(&c(r, 0), quantum.data(), &a(r, start), &b(start, 0), std::min<Index>(m.group, k - start), n, below_leading,
                       keep_fraction);
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
