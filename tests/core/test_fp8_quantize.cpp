// FP8 quantisation granularities, the fast rounding path, the emulated FP8 GEMM, and the
// limited-precision accumulator against exact arithmetic.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "frugal/core/fp8_gemm.hpp"
#include "frugal/core/layers.hpp"
#include "frugal/core/random.hpp"

namespace frugal::core {
namespace {

Matrix<float> random_matrix(Index rows, Index cols, std::uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  Matrix<float> m(rows, cols);
  fill_normal(m, rng, scale);
  return m;
}

TEST(Fp8RoundFast, EqualsTheExactEncoderForEveryKindOfFloat) {
  Rng rng(3);
  for (const Fp8Format& f : {kE4M3, kE5M2}) {
    std::vector<float> probes;
    for (int i = 0; i < 20000; ++i) probes.push_back(static_cast<float>(std::ldexp(rng.uniform() * 2 - 1, static_cast<int>(rng.below(44)) - 26)));
    for (int code = 0; code < 127; ++code) {  // every value, and just around it
      const double v = fp8_decode(static_cast<std::uint8_t>(code), f);
      if (!std::isfinite(v)) continue;
      for (double d : {-1e-7, 0.0, 1e-7}) probes.push_back(static_cast<float>(v * (1 + d)));
      const double next = fp8_decode(static_cast<std::uint8_t>(code + 1), f);
      if (std::isfinite(next)) probes.push_back(static_cast<float>((v + next) / 2));  // ties
    }
    probes.push_back(1e30f);
    probes.push_back(std::numeric_limits<float>::infinity());
    EXPECT_TRUE(std::isnan(fp8_round_fast(std::numeric_limits<float>::quiet_NaN(), f)));
    EXPECT_TRUE(std::isnan(fp8_round_fast(-std::numeric_limits<float>::quiet_NaN(), f)));
    for (float x : probes) {
      EXPECT_EQ(fp8_round_fast(x, f), static_cast<float>(fp8_round(x, f))) << f.name << " " << x;
      EXPECT_EQ(fp8_round_fast(-x, f), static_cast<float>(fp8_round(-x, f))) << f.name << " " << -x;
    }
  }
}

TEST(Fp8Quantize, FastPathIsBitIdenticalToCodesAndScales) {
  const Matrix<float> x = random_matrix(70, 300, 4, 3.0);
  for (TileShape t : {kPerTensor, kTile1x128, kBlock128x128, kTile128x1})
    for (ScaleFormat s : {ScaleFormat::fp32, ScaleFormat::ue8m0}) {
      const QuantizeOptions o{kE4M3, t, s};
      EXPECT_TRUE(quantize_dequantize(x, o) == dequantize(quantize(x, o))) << t.rows << "x" << t.cols;
    }
}

TEST(Fp8Quantize, EachTilesLargestValueLandsOnTheFormatsLargest) {
  const Matrix<float> x = random_matrix(3, 300, 5);
  const Fp8Matrix q = quantize(x, {kE4M3, kTile1x128, ScaleFormat::fp32});
  ASSERT_EQ(q.scales.rows(), 3);
  ASSERT_EQ(q.scales.cols(), 3);  // 128 + 128 + 44 columns
  for (Index r = 0; r < 3; ++r)
    for (Index t = 0; t < 3; ++t) {
      const Index c0 = t * 128, w = std::min<Index>(128, 300 - c0);
      EXPECT_FLOAT_EQ(q.scales(r, t), x.block(r, c0, 1, w).cwiseAbs().maxCoeff() / 448.0f);
      double largest = 0;
      for (Index c = c0; c < c0 + w; ++c) largest = std::max(largest, std::abs(fp8_decode(q.codes[static_cast<std::size_t>(r * 300 + c)], kE4M3)));
      EXPECT_EQ(largest, 448.0);
    }
}

TEST(Fp8Quantize, Ue8m0ScalesArePowersOfTwoThatKeepTheTileInRange) {
  const Matrix<float> x = random_matrix(256, 256, 6, 7.0);
  const Fp8Matrix q = quantize(x, {kE4M3, kBlock128x128, ScaleFormat::ue8m0});
  for (Index i = 0; i < q.scales.size(); ++i) {
    const float s = q.scales.data()[i];
    EXPECT_EQ(std::exp2(std::round(std::log2(s))), s);
  }
  EXPECT_EQ(measure_quantization(x, q).saturated_fraction, 0.0);
}

// One large outlier: a per-tensor scale sized for it pushes ordinary values into E4M3's
// subnormals and zero; 1×128 tiles confine the damage to the outlier's own tile.
TEST(Fp8Quantize, AnOutlierBreaksPerTensorScalingButNotTiles) {
  Matrix<float> x = random_matrix(64, 1024, 7);
  x(5, 17) = 1e6f;  // E4M3 spans 448 / 2^-9 ≈ 2.3e5: ordinary values fall below its smallest step
  const auto per_tensor = measure_quantization(x, quantize(x, {kE4M3, kPerTensor, ScaleFormat::fp32}));
  const auto tiles = measure_quantization(x, quantize(x, {kE4M3, kTile1x128, ScaleFormat::fp32}));
  EXPECT_GT(per_tensor.underflow_fraction, 0.5);
  EXPECT_LT(tiles.underflow_fraction, 0.01);
  // Away from the outlier's own 1×128 tile (row 5, columns 0–127):
  Matrix<float> err_tensor = dequantize(quantize(x, {kE4M3, kPerTensor, ScaleFormat::fp32})) - x;
  Matrix<float> err_tiles = dequantize(quantize(x, {kE4M3, kTile1x128, ScaleFormat::fp32})) - x;
  Matrix<float> elsewhere = x;
  for (Matrix<float>* m : {&err_tensor, &err_tiles, &elsewhere}) m->block(5, 0, 1, 128).setZero();
  EXPECT_GT(err_tensor.norm() / elsewhere.norm(), 0.5);  // most ordinary values are lost
  EXPECT_LT(err_tiles.norm() / elsewhere.norm(), 0.05);  // E4M3's own rounding, about 3%
}

TEST(DelayedScaling, ScaleFollowsTheLargestRecentAmaxAndNewPeaksSaturate) {
  DelayedScaling d(3);
  EXPECT_EQ(d.scale(), 1.0f);
  for (float amax : {4.48f, 8.96f, 2.24f}) d.record(amax);
  EXPECT_FLOAT_EQ(d.scale(), 8.96f / 448.0f);
  d.record(1.0f);
  d.record(1.0f);  // 8.96 leaves the 3-step history
  EXPECT_FLOAT_EQ(d.scale(), 2.24f / 448.0f);
  Matrix<float> spike = Matrix<float>::Constant(1, 4, 1.0f);
  spike(0, 0) = 10.0f;  // a new peak above the history's range
  const auto e = measure_quantization(spike, quantize_with_scale(spike, d.scale(), kE4M3));
  EXPECT_EQ(e.saturated_fraction, 0.25);
}

TEST(Fp8Gemm, IsTheProductOfTheQuantisedOperands) {
  const Matrix<float> a = random_matrix(40, 256, 8), b = random_matrix(256, 130, 9);
  Matrix<float> c;
  fp8_gemm(c, a, b, {});
  const Matrix<float> expected = quantize_dequantize(a, {kE4M3, kTile1x128}) * quantize_dequantize(b, {kE4M3, kBlock128x128});
  EXPECT_LT((c - expected).norm() / expected.norm(), 1e-6);
  const Matrix<float> exact = a * b;
  const double error = (c - exact).norm() / exact.norm();
  EXPECT_GT(error, 1e-3);  // FP8 rounding is visible…
  EXPECT_LT(error, 0.05);  // …and bounded by E4M3's step (2^-4 relative per operand)
}

TEST(AccumulatorModel, WideRegisterIsExactAndPromotionBoundsTheError) {
  const Matrix<float> a = random_matrix(4, 512, 10), b = random_matrix(512, 4, 11);
  AccumulatorModel wide;
  wide.fraction_bits = 52;
  const Matrix<double> exact = a.cast<double>() * b.cast<double>();
  EXPECT_LT((limited_precision_gemm(a, b, wide) - exact).norm() / exact.norm(), 1e-14);

  AccumulatorModel none, promoted;
  promoted.promotion_interval = 128;
  const auto short_k = accumulation_error(16, 16, 512, none, 1);
  const auto long_k = accumulation_error(16, 16, 8192, none, 1);
  const auto long_k_promoted = accumulation_error(16, 16, 8192, promoted, 1);
  EXPECT_GT(long_k.relative_error, 2 * short_k.relative_error);        // without promotion, error grows with K
  EXPECT_LT(long_k_promoted.relative_error, long_k.relative_error / 5);  // N_C = 128 keeps it small
}

}  // namespace
}  // namespace frugal::core

namespace frugal::core {
namespace {

// The FP8 Linear layer is exactly DeepSeek's three GEMMs on the quantised operands.
TEST(Fp8Linear, ForwardDgradAndWgradAreTheRecipesGemms) {
  const Matrix<float> x = random_matrix(256, 192, 21), dy = random_matrix(256, 160, 22), w_values = random_matrix(192, 160, 23);
  const ConstMatrixMap<float> w(w_values.data(), 192, 160);
  const Fp8GemmOptions recipe;
  auto qdq = [](const Matrix<float>& m, TileShape t) { return quantize_dequantize(m, {kE4M3, t, ScaleFormat::fp32}); };

  Matrix<float> y;
  linear_forward(y, x, w, &recipe);
  const Matrix<float> y_expected = qdq(x, kTile1x128) * qdq(w_values, kBlock128x128);
  EXPECT_LT((y - y_expected).norm() / y_expected.norm(), 1e-6);

  Matrix<float> dw_values = Matrix<float>::Zero(192, 160), dx;
  linear_backward(&dx, MatrixMap<float>(dw_values.data(), 192, 160), dy, x, w, false, &recipe);
  const Matrix<float> dx_expected = qdq(dy, kTile1x128) * qdq(Matrix<float>(w_values.transpose()), kBlock128x128);
  const Matrix<float> dw_expected = qdq(Matrix<float>(x.transpose()), kTile1x128) * qdq(dy, kTile128x1);
  EXPECT_LT((dx - dx_expected).norm() / dx_expected.norm(), 1e-6);
  EXPECT_LT((dw_values - dw_expected).norm() / dw_expected.norm(), 1e-6);

  // …and close to FP32: E4M3 keeps 3 mantissa bits (≈ 2–3% per operand, averaging down in sums).
  const Matrix<float> y_fp32 = x * w_values;
  EXPECT_LT((y - y_fp32).norm() / y_fp32.norm(), 0.05);
}

}  // namespace
}  // namespace frugal::core
