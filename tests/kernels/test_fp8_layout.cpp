// The FP8 kernels' host-side layout, on the CPU: scale-grid sizes, the shapes the FP8 GEMM takes,
// and the tile-scale rule the quantise kernels run, against core's quantize() on the same tile.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>

#include "frugal/core/fp8_quantize.hpp"
#include "frugal/core/random.hpp"
#include "frugal/kernels/fp8_layout.hpp"

namespace frugal::kernels {
namespace {

TEST(Fp8Layout, ScaleGridSizes) {
  EXPECT_EQ(fp8_scale_rows({4096, 7168, Fp8Tiling::tile_1x128}), 4096);
  EXPECT_EQ(fp8_scale_cols({4096, 7168, Fp8Tiling::tile_1x128}), 56);
  EXPECT_EQ(fp8_scale_rows({2112, 7168, Fp8Tiling::block_128x128}), 17);  // 16.5 blocks of N: the last is half
  EXPECT_EQ(fp8_scale_cols({130, 200, Fp8Tiling::block_128x128}), 2);
  EXPECT_EQ(fp8_scale_rows({130, 200, Fp8Tiling::block_128x128}), 2);
}

// The kernels' scale for a tile of amax `a` equals the scale core's quantize() gives a 1×128 tile
// whose largest magnitude is `a`, to the bit, from denormal to FLT_MAX, for FP32 and UE8M0 scales.
TEST(Fp8Layout, TileScaleMatchesCoreQuantize) {
  core::Rng rng(11);
  for (int i = 0; i < 2000; ++i) {
    const float amax = static_cast<float>(std::ldexp(1.0 + rng.uniform(), static_cast<int>(rng.uniform() * 276) - 149));
    if (!std::isfinite(amax) || amax == 0.0f) continue;
    core::Matrix<float> tile = core::Matrix<float>::Constant(1, 128, amax / 3);
    tile(0, 77) = -amax;
    for (auto [format, core_format] : {std::pair{Fp8ScaleFormat::fp32, core::ScaleFormat::fp32}, std::pair{Fp8ScaleFormat::ue8m0, core::ScaleFormat::ue8m0}}) {
      const float expected = core::quantize(tile, {core::kE4M3, core::kTile1x128, core_format}).scales(0, 0);
      ASSERT_EQ(std::bit_cast<std::uint32_t>(fp8_tile_scale(amax, format)), std::bit_cast<std::uint32_t>(expected))
          << "amax " << amax << (format == Fp8ScaleFormat::ue8m0 ? " (UE8M0)" : " (FP32)");
    }
  }
  EXPECT_EQ(fp8_tile_scale(0.0f, Fp8ScaleFormat::fp32), 1.0f);
  EXPECT_EQ(fp8_tile_scale(INFINITY, Fp8ScaleFormat::ue8m0), 1.0f);
  EXPECT_EQ(fp8_tile_scale(448.0f, Fp8ScaleFormat::fp32), 1.0f);
  EXPECT_EQ(fp8_tile_scale(449.0f, Fp8ScaleFormat::ue8m0), 2.0f);  // rounded up to the next power of two
  EXPECT_EQ(fp8_tile_scale(224.0f, Fp8ScaleFormat::ue8m0), 0.5f);  // already one
}

TEST(Fp8Layout, GemmShapesTheKernelsTake) {
  EXPECT_EQ(fp8_gemm_shape_error({4096, 7168, 16384}), "");
  EXPECT_EQ(fp8_gemm_shape_error({64, 2112, 7168}), "");  // DeepSeek's MLA down-projection: N not a multiple of 128
  EXPECT_NE(fp8_gemm_shape_error({64, 128, 100}).find("K = 100 is not a multiple of 128"), std::string::npos);
  EXPECT_NE(fp8_gemm_shape_error({64, 127, 128}).find("N = 127 is odd"), std::string::npos);
  EXPECT_NE(fp8_gemm_shape_error({0, 128, 128}).find("positive"), std::string::npos);
  EXPECT_EQ(fp8_gemm_shape_error({384, 256, 256, 3}, {0, 128, 128, 384}), "");  // an empty expert
  EXPECT_NE(fp8_gemm_shape_error({384, 256, 256, 3}, {0, 128, 384}).find("3 offsets for 3 experts"), std::string::npos);
  EXPECT_NE(fp8_gemm_shape_error({384, 256, 256, 3}, {0, 100, 128, 384}).find("offset 100 of expert 1"), std::string::npos);
  EXPECT_NE(fp8_gemm_shape_error({384, 256, 256, 2}, {0, 128, 256}).find("from 0 to M = 384"), std::string::npos);
}

}  // namespace
}  // namespace frugal::kernels
