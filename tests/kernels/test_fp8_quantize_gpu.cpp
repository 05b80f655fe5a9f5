// The FP8 quantise kernels against core's quantize(): codes and scales bit-identical, for 1×128
// tiles and 128×128 blocks, FP32 and UE8M0 scales, every version of kFp8QuantizeVersions. The input spans 24 orders of
// magnitude tile by tile, has partial tiles at its right and bottom edges, a tile of zeros, a tile
// holding Inf, values that land exactly on ±448 after scaling, and float subnormals. Then the
// per-tensor path with a given scale, where values beyond the range saturate. Skipped without a GPU;
// the refusal of a width a version cannot take runs everywhere.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "frugal/core/fp8_quantize.hpp"
#include "frugal/core/random.hpp"
#include "frugal/kernels/fp8_quantize.hpp"
#include "gpu_test_support.hpp"

namespace frugal::kernels {
namespace {
using testing::DeviceBuffer;

core::Matrix<float> awkward_input(int rows, int cols) {
  core::Rng rng(7);
  core::Matrix<float> x(rows, cols);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const int magnitude = ((r / 3) * 7 + (c / 128) * 5) % 25 - 12;  // 1e-12 … 1e12, constant per tile and row group
      x(r, c) = static_cast<float>(rng.normal() * std::pow(10.0, magnitude));
    }
  for (int c = 0; c < 128; ++c) x(1, c) = 0.0f;  // a 1×128 tile of zeros: scale 1
  x(2, 5) = INFINITY;                            // a tile with Inf: scale 1, every other value saturates or rounds
  x(4, 130) = 3.0e38f;                           // near FLT_MAX
  x(5, 3) = 1.0e-42f;                            // a float subnormal
  x(6, 0) = 448.0f;                              // amax exactly 448 → scale 1 with FP32 scales
  x(6, 1) = -448.0f;
  return x;
}

constexpr int kRows = 131, kCols = 200;  // partial tiles on both edges (cols a multiple of 4 for v2)

void check_against_core(Fp8QuantizeLauncher quantize, Fp8Tiling tiling, Fp8ScaleFormat scale_format) {
  const int rows = kRows, cols = kCols;
  const core::Matrix<float> x = awkward_input(rows, cols);
  const core::Fp8Matrix expected = core::quantize(
      x, {core::kE4M3, tiling == Fp8Tiling::tile_1x128 ? core::kTile1x128 : core::kBlock128x128,
          scale_format == Fp8ScaleFormat::fp32 ? core::ScaleFormat::fp32 : core::ScaleFormat::ue8m0});
  const Fp8QuantizeShape shape{rows, cols, tiling, scale_format};
  DeviceBuffer<float> d_x(std::vector<float>(x.data(), x.data() + x.size()));
  DeviceBuffer<std::uint8_t> d_codes(static_cast<std::size_t>(x.size()));
  DeviceBuffer<float> d_scales(static_cast<std::size_t>(fp8_scale_rows(shape)) * fp8_scale_cols(shape));
  quantize(shape, d_x.get(), d_codes.get(), d_scales.get(), nullptr);
  testing::expect_no_cuda_error();

  const std::vector<float> scales = d_scales.host();
  ASSERT_EQ(expected.scales.rows(), fp8_scale_rows(shape));
  ASSERT_EQ(expected.scales.cols(), fp8_scale_cols(shape));
  for (int i = 0; i < static_cast<int>(scales.size()); ++i)
    ASSERT_EQ(scales[static_cast<std::size_t>(i)], expected.scales.data()[i]) << "scale " << i;
  const std::vector<std::uint8_t> codes = d_codes.host();
  int mismatches = 0;
  for (std::size_t i = 0; i < codes.size(); ++i)
    if (codes[i] != expected.codes[i] && mismatches++ < 5)
      ADD_FAILURE() << "code at (" << i / cols << ", " << i % cols << ") of x = " << x.data()[i] << ": GPU "
                    << int{codes[i]} << ", core " << int{expected.codes[i]};
  EXPECT_EQ(mismatches, 0);
}

class Fp8QuantizeGpuVersion : public ::testing::TestWithParam<Fp8QuantizeVersion> {};

TEST_P(Fp8QuantizeGpuVersion, BitIdenticalToCore) {
  FRUGAL_SKIP_UNLESS_RUNNABLE(GetParam(), (Fp8QuantizeShape{kRows, kCols}));
  for (Fp8Tiling tiling : {Fp8Tiling::tile_1x128, Fp8Tiling::block_128x128})
    for (Fp8ScaleFormat format : {Fp8ScaleFormat::fp32, Fp8ScaleFormat::ue8m0}) check_against_core(GetParam().launch, tiling, format);
}

// A width off the version's loads is refused by name before anything touches the GPU: runs without one.
TEST_P(Fp8QuantizeGpuVersion, RefusesColumnsItCannotLoad) {
  const Fp8QuantizeVersion& v = GetParam();
  if (v.cols_multiple == 1) GTEST_SKIP() << v.name << " takes any width";
  const Fp8QuantizeShape shape{8, 32 * v.cols_multiple + 1, Fp8Tiling::tile_1x128};
  EXPECT_NE(shape_error(v, shape), "");
  EXPECT_THROW(v.launch(shape, nullptr, nullptr, nullptr, nullptr), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(, Fp8QuantizeGpuVersion, ::testing::ValuesIn(kFp8QuantizeVersions), testing::VersionTestName{});

TEST(Fp8QuantizeGpu, GivenScaleSaturatesLikeCore) {
  FRUGAL_SKIP_WITHOUT_GPU();
  const core::Matrix<float> x = awkward_input(64, 256);
  const float scale = 0.01f;  // most of the input lies far beyond 448 · 0.01
  const core::Fp8Matrix expected = core::quantize_with_scale(x, scale, core::kE4M3);
  DeviceBuffer<float> d_x(std::vector<float>(x.data(), x.data() + x.size()));
  DeviceBuffer<std::uint8_t> d_codes(static_cast<std::size_t>(x.size()));
  fp8_quantize_with_scale(x.size(), d_x.get(), scale, d_codes.get());
  testing::expect_no_cuda_error();
  EXPECT_EQ(d_codes.host(), expected.codes);
}

}  // namespace
}  // namespace frugal::kernels
