// FP8 GEMM, emulated on the CPU, two ways.
//
// 1. The DeepSeek recipe as training uses it (V3 report §3.3.2): C = A·B with A (M×K, activations
//    or activation gradients) in 1×128 tiles along K and B (K×N) in 128×128 blocks — or in 128×1
//    tiles when B is itself an activation gradient (the weight-gradient GEMM) — both E4M3 with
//    online scales, products accumulated in FP32. On the GPU the tensor core's partial sums are
//    promoted to FP32 every N_C = 128 elements; within those 128 the tensor core keeps ~14 bits,
//    an error far below E4M3's own rounding (2^-4): the study below measures it.
//
// 2. The tensor core's limited accumulation, modelled after ISCA'25 §3.1.1 ("Insights into
//    DeepSeek-V3"): within each group of 32 products (one WGMMA k-step for FP8), the products and
//    the running sum are aligned to the largest exponent among them and every bit below
//    2^(e_max − 13) is truncated; the sum is held in an FP22 register (13 fraction bits). With
//    promotion, every N_C products the register is added to an FP32 accumulator and cleared.
#pragma once

#include "frugal/core/fp8_quantize.hpp"

namespace frugal::core {

struct Fp8GemmOptions {
  Fp8Format format = kE4M3;
  TileShape a_tile = kTile1x128;      // A is M×K: tiles along K
  TileShape b_tile = kBlock128x128;   // B is K×N
  ScaleFormat scale_format = ScaleFormat::fp32;
  // The recipe's parts, so that an ablation can take them one at a time (experiment fp8-ablation).
  // Which of a Linear layer's three GEMMs run in FP8 (V3 §3.3.1: "all three GEMMs associated with
  // the Linear operator, namely Fprop, Dgrad and Wgrad, are executed in FP8"); the others in FP32.
  bool forward = true, dgrad = true, wgrad = true;
  bool per_tensor = false;  // one scale per operand instead of V3's 1×128 tiles and 128×128 blocks
  // true: products accumulate in FP32, which stands for V3's promotion every N_C = 128 (the
  // register's error within 128 products is ~2^-13, against E4M3's 2^-4). false: the tensor core's
  // 13-fraction-bit register accumulates all of K (AccumulatorModel with promotion_interval 0).
  bool promotion = true;
};

// out = quantize(A)·quantize(B) (or += with accumulate): FP32 accumulation, or, without promotion,
// limited_accumulation_gemm.
void fp8_gemm(Matrix<float>& out, const Matrix<float>& a, const Matrix<float>& b, const Fp8GemmOptions& options,
              bool accumulate = false);

struct AccumulatorModel {
  int fraction_bits = 13;        // ISCA'25 §3.1.1; V3 report §3.3.2: "around 14 bits" with the implicit 1
  int group = 32;                // products aligned together (one FP8 WGMMA k-step)
  int promotion_interval = 0;    // N_C: 0 = never (all of K in the register), 128 = DeepSeek-V3
};

// Σ_k a_k·b_k as modelled above. a and b are exact FP8 values (times power-of-two scales), so
// every product is exact in double; the only errors are the modelled truncations and FP32 adds.
double limited_precision_dot(const float* a, const float* b, Index k, Index b_stride, const AccumulatorModel& model);
Matrix<double> limited_precision_gemm(const Matrix<float>& a, const Matrix<float>& b, const AccumulatorModel& model);
// The same register without promotion (promotion_interval 0), fast enough to train with: whole
// M×N planes at a time, in float (exact: products of FP8 values with power-of-two scales have ≤ 8
// significant bits, and a group's aligned sum ≤ 21), truncation as bit masks. Equal to
// limited_precision_gemm for such inputs (a test holds it); with FP32 scales a product's own
// rounding to float may move a truncation by one quantum.
Matrix<float> limited_accumulation_gemm(const Matrix<float>& a, const Matrix<float>& b, const AccumulatorModel& model);

// The random inputs of the accumulation study. The V3 report (§3.3.2) measured "two random
// matrices" without naming their distribution, and the distribution decides the error:
// - zero_mean: N(0, 1). Products of both signs: the partial sum wanders like √k, stays near the
//   size of one product, and truncation loses few of their bits.
// - positive: U[0, 1) (what torch.rand draws). Every product is positive: the partial sum grows
//   like k·E[ab], each new product is aligned to the sum's ever larger exponent, and the bits
//   truncated away are lost in the same direction every time, so the error grows like K.
enum class AccumulationInputs { zero_mean, positive };

// Accumulation error of random E4M3 GEMMs of inner dimension K, against the exact product of the
// same quantised inputs: the V3 report's experiment (§3.3.2: "maximum relative error of nearly 2%"
// at K = 4096 without promotion).
struct AccumulationError {
  Index k = 0;
  double max_relative_error = 0;   // max over outputs of |C − C_exact| / |C_exact|, outputs with |C_exact| ≥ its RMS
  double relative_error = 0;       // ‖C − C_exact‖ / ‖C_exact‖ (Frobenius)
};
AccumulationError accumulation_error(Index m, Index n, Index k, const AccumulatorModel& model, std::uint64_t seed,
                                     AccumulationInputs inputs = AccumulationInputs::zero_mean);

}  // namespace frugal::core
