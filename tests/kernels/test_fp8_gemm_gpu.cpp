// The FP8 GEMM kernels against three references (docs/ARCHITECTURE.md's pairing pattern):
//   1. the same quantised operands multiplied in double — the kernel may differ only by FP32
//      summation order and the bf16 rounding of its output (bound 4e-3 ≈ 2 bf16 half-ulps);
//   2. core's fp8_gemm() (CPU emulation of DeepSeek's recipe) on the unquantised operands — the
//      same quantisation, so the same bound;
//   3. the exact product of the unquantised operands — FP8's own error, which the kernel must not
//      make worse than the CPU emulation does (it promotes to FP32 every 128 of K, as core models).
// Shapes with a partial 64-row block, a partial 128-column block, and a grouped GEMM with an empty
// expert; then K = 4096, where promotion matters: every version of kFp8GemmVersions, each skipped
// (saying why) where this GPU lacks what it needs (v2 FP8 tensor cores, compute capability 8.9+;
// v3 wgmma, 9.0). Skipped without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "frugal/core/fp8_gemm.hpp"
#include "frugal/core/random.hpp"
#include "frugal/kernels/fp8_gemm.hpp"
#include "gpu_test_support.hpp"

namespace frugal::kernels {
namespace {
using testing::DeviceBuffer;
using testing::relative_error;
using Gemm = Fp8GemmLauncher;

// A: activations, N(0, 1) with a different magnitude per row (what 1×128 scales are for).
core::Matrix<float> activations(int m, int k, core::Rng& rng) {
  core::Matrix<float> a(m, k);
  for (int r = 0; r < m; ++r)
    for (int c = 0; c < k; ++c) a(r, c) = static_cast<float>(rng.normal() * std::pow(4.0, r % 5 - 2));
  return a;
}

struct GemmResult {
  std::vector<float> gpu, same_codes, core_emulation, exact;
};

// C = A · Bᵀ for each expert's rows; B is experts × N × K.
GemmResult run(Gemm gemm, const Fp8GemmShape& shape, const std::vector<int>& offsets, std::uint64_t seed) {
  EXPECT_EQ(fp8_gemm_shape_error(shape, shape.experts > 1 ? offsets : std::vector<int>{}), "");
  core::Rng rng(seed);
  const core::Matrix<float> a = activations(shape.m, shape.k, rng);
  const core::Fp8Matrix a_q = core::quantize(a, {core::kE4M3, core::kTile1x128});
  const core::Matrix<float> a_back = core::dequantize(a_q);
  std::vector<std::uint8_t> b_codes;
  std::vector<float> b_scales;
  GemmResult result;
  result.same_codes.assign(static_cast<std::size_t>(shape.m) * shape.n, 0.0f);
  result.core_emulation = result.exact = result.same_codes;
  for (int e = 0; e < shape.experts; ++e) {
    core::Matrix<float> b(shape.n, shape.k);
    core::fill_normal(b, rng, 0.05);
    const core::Fp8Matrix b_q = core::quantize(b, {core::kE4M3, core::kBlock128x128});
    b_codes.insert(b_codes.end(), b_q.codes.begin(), b_q.codes.end());
    b_scales.insert(b_scales.end(), b_q.scales.data(), b_q.scales.data() + b_q.scales.size());
    const int r0 = shape.experts > 1 ? offsets[static_cast<std::size_t>(e)] : 0;
    const int r1 = shape.experts > 1 ? offsets[static_cast<std::size_t>(e) + 1] : shape.m;
    if (r1 == r0) continue;
    const core::Matrix<float> b_back = core::dequantize(b_q);
    const core::Matrix<float> bt = b.transpose();  // core's B is K × N
    core::Matrix<float> emulated;
    core::fp8_gemm(emulated, a.middleRows(r0, r1 - r0), bt, {});
    for (int r = r0; r < r1; ++r)
      for (int c = 0; c < shape.n; ++c) {
        double same = 0, exact = 0;
        for (int j = 0; j < shape.k; ++j) {
          same += static_cast<double>(a_back(r, j)) * b_back(c, j);
          exact += static_cast<double>(a(r, j)) * b(c, j);
        }
        const std::size_t i = static_cast<std::size_t>(r) * shape.n + c;
        result.same_codes[i] = static_cast<float>(same);
        result.exact[i] = static_cast<float>(exact);
        result.core_emulation[i] = emulated(r - r0, c);
      }
  }
  DeviceBuffer<std::uint8_t> d_a(a_q.codes), d_b(b_codes);
  DeviceBuffer<float> d_a_scales(std::vector<float>(a_q.scales.data(), a_q.scales.data() + a_q.scales.size()));
  DeviceBuffer<float> d_b_scales(b_scales);
  DeviceBuffer<int> d_offsets(offsets.empty() ? std::vector<int>{0} : offsets);
  DeviceBuffer<__nv_bfloat16> d_c(static_cast<std::size_t>(shape.m) * shape.n);  // poisoned: NaN
  gemm(shape, {d_a.get(), d_a_scales.get(), d_b.get(), d_b_scales.get(), shape.experts > 1 ? d_offsets.get() : nullptr, d_c.get()},
       nullptr);
  testing::expect_no_cuda_error();
  for (const __nv_bfloat16 v : d_c.host()) result.gpu.push_back(__bfloat162float(v));
  return result;
}

void check(const GemmResult& r) {
  EXPECT_LT(relative_error(r.gpu, r.same_codes), 4e-3);
  EXPECT_LT(relative_error(r.gpu, r.core_emulation), 4e-3);
  const double fp8_error = relative_error(r.core_emulation, r.exact);
  EXPECT_GT(fp8_error, 1e-3);  // the test's inputs do exercise FP8's rounding
  EXPECT_LT(relative_error(r.gpu, r.exact), fp8_error * 1.05 + 4e-3);
}

class Fp8GemmGpuVersion : public ::testing::TestWithParam<Fp8GemmVersion> {};

void check_version(const Fp8GemmVersion& v, const Fp8GemmShape& shape, const std::vector<int>& offsets) {
  SCOPED_TRACE(::testing::Message() << v.name << ": M " << shape.m << ", N " << shape.n << ", K " << shape.k << ", experts " << shape.experts);
  check(run(v.launch, shape, offsets, 3));
}

TEST_P(Fp8GemmGpuVersion, PartialBlocks) {
  const Fp8GemmShape shape{200, 192, 384};
  FRUGAL_SKIP_UNLESS_RUNNABLE(GetParam(), shape);
  check_version(GetParam(), shape, {});
}

TEST_P(Fp8GemmGpuVersion, GroupedContiguousLayoutWithAnEmptyExpert) {
  const Fp8GemmShape shape{384, 256, 256, 3};
  FRUGAL_SKIP_UNLESS_RUNNABLE(GetParam(), shape);
  check_version(GetParam(), shape, {0, 128, 128, 384});
}

TEST_P(Fp8GemmGpuVersion, PromotionKeepsLargeKAccurate) {
  const Fp8GemmShape shape{64, 128, 4096};
  FRUGAL_SKIP_UNLESS_RUNNABLE(GetParam(), shape);
  check_version(GetParam(), shape, {});
}

// A version that needs a GPU feature this GPU lacks refuses with std::runtime_error.
TEST_P(Fp8GemmGpuVersion, RefusesWithoutTheFeatureItNeeds) {
  const Fp8GemmVersion& v = GetParam();
  if (v.needs == GpuFeature::none) GTEST_SKIP() << v.name << " needs nothing beyond a CUDA GPU";
  FRUGAL_SKIP_WITHOUT_GPU();
  if (gpu_feature_available(v.needs)) GTEST_SKIP() << "this GPU has " << gpu_feature_name(v.needs);
  EXPECT_THROW(v.launch({64, 128, 128}, {}, nullptr), std::runtime_error);
}

INSTANTIATE_TEST_SUITE_P(, Fp8GemmGpuVersion, ::testing::ValuesIn(kFp8GemmVersions), testing::VersionTestName{});

}  // namespace
}  // namespace frugal::kernels
