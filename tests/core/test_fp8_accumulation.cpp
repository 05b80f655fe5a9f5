// The tensor core's limited-precision accumulation (fp8_gemm.hpp, ISCA'25 §3.1.1: groups of 32
// products aligned to the largest exponent, the register's included; 13 fraction bits kept by
// truncation; FP22 register), against sums worked out by hand, a first-order estimate of the
// truncation loss, and the V3 report's measurement (§3.3.2: "a maximum relative error of nearly
// 2%" at K = 4096 without promotion, H800, "two random matrices" of unnamed distribution).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "frugal/core/fp8_gemm.hpp"
#include "frugal/core/random.hpp"

namespace frugal::core {
namespace {

constexpr AccumulatorModel kNoPromotion{13, 32, 0};
constexpr AccumulatorModel kPromotionEvery128{13, 32, 128};  // N_C = 128, V3 report §3.3.2

// Σ_{k<K} value·1 through the accumulator model.
double sum_of_copies(float value, Index k, const AccumulatorModel& model) {
  const std::vector<float> a(static_cast<std::size_t>(k), value), b(static_cast<std::size_t>(k), 1.0f);
  return limited_precision_dot(a.data(), b.data(), k, 1, model);
}

// K copies of 1.5, by hand. While the register holds less than 2^13, its quantum 2^(e−13) is at
// most 2^-1 and 1.5 = 1.1b is kept whole: 32 products add 48. The 171st group starts at
// 170·48 = 8160 (< 2^13, still exact) and ends at 8208 ≥ 2^13; from then on the quantum is 1,
// each 1.5 is truncated to 1 and a group adds 32. K = 8192 is 256 groups:
// 8208 + 85·32 = 10928, where the exact sum is 12288 (an 11.07% loss, all in one direction).
TEST(AccumulatorTruncation, SumOfCopiesMatchesTheHandComputedValue) {
  EXPECT_EQ(sum_of_copies(1.5f, 8192, kNoPromotion), 10928.0);
  // Promoted every 128: each chunk sums to 192 < 2^13 exactly, and FP32 adds 64 of them exactly.
  EXPECT_EQ(sum_of_copies(1.5f, 8192, kPromotionEvery128), 12288.0);
  // Ones stop counting at 2^14: there the quantum is 2, and a 1 falls entirely below the 14 kept bits.
  EXPECT_EQ(sum_of_copies(1.0f, 32768, kNoPromotion), 16384.0);
  EXPECT_EQ(sum_of_copies(1.0f, 16384, kNoPromotion), 16384.0);
}

// First-order estimate of the relative error for positive products (an independent reference for
// the model's magnitude): after k products the sum is S_k ≈ k·E[ab]; each product is truncated to a
// quantum q = 2^(⌊log2 S_k⌋ − 13) and loses q/2 on average if its low bits are uniform; over a binade
// E[q/S] = 2^-13 ∫₀¹ 2^-t dt = 2^-13 / (2 ln 2). Summed over k and divided by S_K:
//   error ≈ Σ_k q_k/2 / S_K ≈ (2^-14 / (2 ln 2)) · K / 2.
// It overestimates: an E4M3×E4M3 product has at most 8 significant bits, and loses nothing while
// the quantum is below its last one; products below the quantum lose less than q/2 on average.
double positive_inputs_first_order_error(Index k) {
  return std::ldexp(1.0, -14) / (2.0 * std::log(2.0)) * static_cast<double>(k) / 2.0;
}

// Positive inputs (U[0, 1), torch.rand's distribution) at the report's K: the partial sum grows like
// K and the truncated bits are lost in the same direction every time. The model gives 6.8% (16×16
// outputs, seed 1), 0.76 of the first-order estimate (9.0%): the band [0.5, 1.0] × the estimate.
// That is above the report's "nearly 2%" (read as 1%–3%) — the published accumulator on positive
// inputs loses more than the report measured; on zero-mean inputs it loses less (next test).
TEST(AccumulationStudy, PositiveInputsLoseTheTruncatedBitsEveryTime) {
  const AccumulationError positive = accumulation_error(16, 16, 4096, kNoPromotion, 1, AccumulationInputs::positive);
  const double estimate = positive_inputs_first_order_error(4096);
  EXPECT_NEAR(estimate, 0.090, 0.001);
  EXPECT_GT(positive.max_relative_error, 0.5 * estimate);
  EXPECT_LT(positive.max_relative_error, estimate);
  EXPECT_GT(positive.max_relative_error, 0.03);  // above the report's figure
  // All outputs are alike (Σ of 4096 positive products): the maximum is close to the typical error.
  EXPECT_NEAR(positive.max_relative_error, positive.relative_error, 0.2 * positive.relative_error);
}

// Zero-mean inputs (N(0, 1)): products of both signs, the partial sum wanders like √k and stays
// near the size of one product, and truncation errs both ways. The model gives 0.3% at K = 4096:
// below the report's figure, and far below the positive inputs' error.
TEST(AccumulationStudy, ZeroMeanInputsLoseFarLessAndBracketTheReportWithPositiveOnes) {
  const AccumulationError zero_mean = accumulation_error(16, 16, 4096, kNoPromotion, 1, AccumulationInputs::zero_mean);
  const AccumulationError positive = accumulation_error(16, 16, 4096, kNoPromotion, 1, AccumulationInputs::positive);
  EXPECT_GT(zero_mean.max_relative_error, 1e-3);  // visible…
  EXPECT_LT(zero_mean.max_relative_error, 0.01);  // …and below the report's "nearly 2%" (1%–3%)
  EXPECT_LT(zero_mean.max_relative_error, positive.max_relative_error / 5);
}

// Promotion every N_C = 128 makes every accumulation a 128-long one, then adds in FP32 (2^-24
// relative per add): both input distributions stay below the positive inputs' first-order error at
// K = 128 (0.28%), whatever K is.
TEST(AccumulationStudy, PromotionEvery128BoundsBothDistributions) {
  const double chunk_bound = positive_inputs_first_order_error(128);
  for (AccumulationInputs inputs : {AccumulationInputs::zero_mean, AccumulationInputs::positive}) {
    const AccumulationError promoted = accumulation_error(16, 16, 4096, kPromotionEvery128, 1, inputs);
    const AccumulationError never = accumulation_error(16, 16, 4096, kNoPromotion, 1, inputs);
    EXPECT_LT(promoted.max_relative_error, chunk_bound) << static_cast<int>(inputs);
    EXPECT_LT(promoted.max_relative_error, never.max_relative_error / 5) << static_cast<int>(inputs);
  }
}

// For positive inputs the loss per product grows with the sum, so the relative error grows like K
// (the first-order estimate is linear in K): it rises at every doubling, by about 2×.
TEST(AccumulationStudy, PositiveInputsErrorGrowsWithK) {
  auto positive_error = [](Index k) {
    return accumulation_error(16, 16, k, kNoPromotion, 1, AccumulationInputs::positive).max_relative_error;
  };
  double previous = positive_error(512);
  for (Index k : {1024, 2048, 4096}) {
    const double e = positive_error(k);
    EXPECT_GT(e, 1.5 * previous) << "K = " << k;
    EXPECT_LT(e, 3.0 * previous) << "K = " << k;
    previous = e;
  }
}

// The fast register that training uses without promotion (limited_accumulation_gemm: whole rows in
// float, truncation as bit masks) against the scalar reference in double, on E4M3 inputs with
// power-of-two scales (each product exact in float): equal output for output, both distributions,
// K not a multiple of the group. Positive inputs make every group's truncation matter.
TEST(AccumulatorTruncation, TheFastRegisterEqualsTheReferenceOutputForOutput) {
  for (const bool positive : {false, true}) {
    Rng rng(positive ? 5 : 6);
    Matrix<float> a(7, 300), b(300, 9);
    for (Matrix<float>* m : {&a, &b}) {
      if (positive)
        for (Index i = 0; i < m->size(); ++i) m->data()[i] = static_cast<float>(rng.uniform());
      else
        fill_normal(*m, rng, 1.0);
      *m = quantize_dequantize(*m, {kE4M3, kPerTensor, ScaleFormat::ue8m0});
    }
    const Matrix<double> reference = limited_precision_gemm(a, b, kNoPromotion);
    const Matrix<float> fast = limited_accumulation_gemm(a, b, kNoPromotion);
    for (Index i = 0; i < reference.size(); ++i) ASSERT_EQ(static_cast<double>(fast.data()[i]), reference.data()[i]) << i;
    // …and it did truncate: the exact product differs.
    if (positive) {
      EXPECT_GT(((a.cast<double>() * b.cast<double>()) - reference).cwiseAbs().maxCoeff(), 0.0);
    }
  }
}

// fp8_gemm without promotion is that register: the hand-computed sum of copies (10928 for 8192
// copies of 1.5, above) comes out of the GEMM a training step calls.
TEST(AccumulatorTruncation, Fp8GemmWithoutPromotionUsesTheRegister) {
  const Matrix<float> a = Matrix<float>::Constant(1, 8192, 1.5f), b = Matrix<float>::Constant(8192, 1, 1.0f);
  Fp8GemmOptions o;
  o.a_tile = o.b_tile = kPerTensor;
  o.scale_format = ScaleFormat::ue8m0;
  Matrix<float> c;
  fp8_gemm(c, a, b, o);
  EXPECT_EQ(c(0, 0), 12288.0f);  // promoted (FP32 accumulation)
  o.promotion = false;
  fp8_gemm(c, a, b, o);
  EXPECT_EQ(c(0, 0), 10928.0f);
}

}  // namespace
}  // namespace frugal::core
