// The grouped GEMM over experts against a double-precision loop on the same bf16 values (bound
// 1e-5: only the fp32 accumulation order differs) and on the unrounded fp32 values (docs/ARCHITECTURE.md's
// bf16 bound, 1e-2), with uneven segments, an empty expert and padding rows, for every version of
// kGroupedGemmVersions. Skipped without a GPU; the refusal of a shape a version's tiles do not
// cover runs everywhere.
#include <gtest/gtest.h>

#include <cuda_bf16.h>

#include <algorithm>

#include "frugal/core/random.hpp"
#include "frugal/kernels/grouped_gemm_problem.hpp"
#include "frugal/kernels/moe_layout.hpp"
#include "gpu_test_support.hpp"

namespace frugal::kernels {
namespace {
using testing::DeviceBuffer;
using testing::relative_error;

constexpr int kExperts = 6, kK = 128;

// tile: the segment padding (the version's row_tile, at least 32); n: the expert width, two of
// the version's N tiles (at least 96).
int tile_for(const GroupedGemmVersion& v) { return std::max(32, v.row_tile); }
int width_for(const GroupedGemmVersion& v) { return 2 * std::max(48, v.n_multiple); }

void check_grouped_gemm(GroupedGemmLauncher gemm, int tile, int n) {
  const int experts = kExperts, k = kK;
  std::vector<int> chosen;  // copies per expert: 37, 0, 64, 5, 100, 16
  for (int e = 0; e < experts; ++e)
    for (int c = 0; c < std::vector<int>{37, 0, 64, 5, 100, 16}[static_cast<std::size_t>(e)]; ++c) chosen.push_back(e);
  const DispatchPlan plan = plan_dispatch(chosen, experts, tile);
  const int rows = plan.padded_rows();
  core::Rng rng(5);
  std::vector<float> x(static_cast<std::size_t>(rows) * k, 0.0f), w(static_cast<std::size_t>(experts) * k * n);
  for (int e = 0; e < experts; ++e)  // real rows random, padding rows zero (as permute leaves them)
    for (int r = plan.offsets[static_cast<std::size_t>(e)]; r < plan.offsets[static_cast<std::size_t>(e)] + plan.counts[static_cast<std::size_t>(e)]; ++r)
      for (int j = 0; j < k; ++j) x[static_cast<std::size_t>(r) * k + j] = static_cast<float>(2 * rng.uniform() - 1);
  for (float& v : w) v = static_cast<float>(0.2 * rng.uniform() - 0.1);
  std::vector<__nv_bfloat16> xb(x.size()), wb(w.size());
  for (std::size_t i = 0; i < x.size(); ++i) xb[i] = __float2bfloat16(x[i]);
  for (std::size_t i = 0; i < w.size(); ++i) wb[i] = __float2bfloat16(w[i]);

  DeviceBuffer<__nv_bfloat16> d_x(xb), d_w(wb);
  DeviceBuffer<int> d_offsets(plan.offsets);
  DeviceBuffer<float> d_y(static_cast<std::size_t>(rows) * n);
  gemm(GroupedGemmShape{experts, rows, k, n}, d_offsets.get(), d_x.get(), d_w.get(), d_y.get(), nullptr);
  testing::expect_no_cuda_error();
  const std::vector<float> y = d_y.host();

  std::vector<float> on_bf16(y.size()), on_fp32(y.size());
  for (int e = 0; e < experts; ++e)
    for (int r = plan.offsets[static_cast<std::size_t>(e)]; r < plan.offsets[static_cast<std::size_t>(e) + 1]; ++r)
      for (int c = 0; c < n; ++c) {
        double rounded = 0, exact = 0;
        for (int j = 0; j < k; ++j) {
          const std::size_t xi = static_cast<std::size_t>(r) * k + j, wi = (static_cast<std::size_t>(e) * k + j) * n + c;
          rounded += static_cast<double>(__bfloat162float(xb[xi])) * __bfloat162float(wb[wi]);
          exact += static_cast<double>(x[xi]) * w[wi];
        }
        on_bf16[static_cast<std::size_t>(r) * n + c] = static_cast<float>(rounded);
        on_fp32[static_cast<std::size_t>(r) * n + c] = static_cast<float>(exact);
      }
  EXPECT_LT(relative_error(y, on_bf16), 1e-5);
  EXPECT_LT(relative_error(y, on_fp32), 1e-2);
}

class GroupedGemmGpuVersion : public ::testing::TestWithParam<GroupedGemmVersion> {};

TEST_P(GroupedGemmGpuVersion, MatchesADoublePrecisionLoop) {
  const GroupedGemmVersion& v = GetParam();
  FRUGAL_SKIP_UNLESS_RUNNABLE(v, (GroupedGemmShape{kExperts, tile_for(v), kK, width_for(v)}));
  check_grouped_gemm(v.launch, tile_for(v), width_for(v));
}

// K, N or the padded rows off the version's tiles: refused by name before anything touches the
// GPU (so before v4 asks for a Hopper): runs without one.
TEST_P(GroupedGemmGpuVersion, RefusesAShapeItsTilesDoNotCover) {
  const GroupedGemmVersion& v = GetParam();
  const GroupedGemmShape fits{2, 2 * v.row_tile, 2 * v.k_multiple, 2 * v.n_multiple};
  EXPECT_EQ(shape_error(v, fits), "");
  if (v.k_multiple == 1 && v.n_multiple == 1 && v.row_tile == 1) GTEST_SKIP() << v.name << " takes any shape";
  GroupedGemmShape off_k = fits, off_n = fits, off_rows = fits;
  off_k.k += v.k_multiple / 2;
  off_n.n += v.n_multiple / 2;
  off_rows.padded_rows += v.row_tile / 2;
  for (const GroupedGemmShape& shape : {off_k, off_n, off_rows}) {
    if (shape.k == fits.k && shape.n == fits.n && shape.padded_rows == fits.padded_rows) continue;  // a limit of 1
    EXPECT_NE(shape_error(v, shape), "");
    EXPECT_THROW(v.launch(shape, nullptr, nullptr, nullptr, nullptr, nullptr), std::invalid_argument);
  }
}

// A version that needs a GPU feature this GPU lacks refuses with std::runtime_error.
TEST_P(GroupedGemmGpuVersion, RefusesWithoutTheFeatureItNeeds) {
  const GroupedGemmVersion& v = GetParam();
  if (v.needs == GpuFeature::none) GTEST_SKIP() << v.name << " needs nothing beyond a CUDA GPU";
  FRUGAL_SKIP_WITHOUT_GPU();
  if (gpu_feature_available(v.needs)) GTEST_SKIP() << "this GPU has " << gpu_feature_name(v.needs);
  const GroupedGemmShape fits{2, 2 * v.row_tile, 2 * v.k_multiple, 2 * v.n_multiple};
  EXPECT_THROW(v.launch(fits, nullptr, nullptr, nullptr, nullptr, nullptr), std::runtime_error);
}

INSTANTIATE_TEST_SUITE_P(, GroupedGemmGpuVersion, ::testing::ValuesIn(kGroupedGemmVersions), testing::VersionTestName{});

}  // namespace
}  // namespace frugal::kernels

namespace frugal::kernels {
namespace {

// The timing problem bench_kernels and chapter 9 use: its counts, a finite positive time, zeros in
// zeros out, and a version that does not exist refused by name.
TEST(GroupedGemmGpu, TimingProblem) {
  FRUGAL_SKIP_WITHOUT_GPU();
  const GroupedGemmProblem p(4, 128, 256, 128);
  EXPECT_DOUBLE_EQ(p.flops(), 2.0 * 512 * 256 * 128);
  EXPECT_DOUBLE_EQ(p.bytes(), 2.0 * 512 * 256 + 2.0 * 4 * 256 * 128 + 4.0 * 512 * 128);
  for (const GroupedGemmVersion& version : kGroupedGemmVersions) {
    if (!why_cannot_run(version, p.shape()).empty()) continue;
    SCOPED_TRACE(version.name);
    const double seconds = time_grouped_gemm(p, version.number, 3);
    EXPECT_GT(seconds, 0.0);
    EXPECT_LT(seconds, 1.0);
  }
  testing::expect_no_cuda_error();
  std::vector<float> y(512 * 128, 1.0f);
  CUDA_CHECK(cudaMemcpy(y.data(), p.y(), y.size() * sizeof(float), cudaMemcpyDeviceToHost));
  EXPECT_EQ(*std::max_element(y.begin(), y.end()), 0.0f);
  EXPECT_THROW(p.launch(0), std::invalid_argument);
  EXPECT_THROW(p.launch(static_cast<int>(kGroupedGemmVersions.size()) + 1), std::invalid_argument);
}

}  // namespace
}  // namespace frugal::kernels
