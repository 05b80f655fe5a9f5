// The FP8 kernels' host-side layout (fp8_layout.hpp).
#include "frugal/kernels/fp8_layout.hpp"

namespace frugal::kernels {

static int tiles(int n) { return (n + kFp8Tile - 1) / kFp8Tile; }

int fp8_scale_rows(const Fp8QuantizeShape& s) { return s.tiling == Fp8Tiling::tile_1x128 ? s.rows : tiles(s.rows); }
int fp8_scale_cols(const Fp8QuantizeShape& s) { return tiles(s.cols); }

std::string fp8_gemm_shape_error(const Fp8GemmShape& s, const std::vector<int>& offsets) {
  if (s.m <= 0 || s.n <= 0 || s.k <= 0 || s.experts <= 0) return "FP8 GEMM: M, N, K and experts must be positive";
  if (s.k % kFp8Tile != 0) return "FP8 GEMM: K = " + std::to_string(s.k) + " is not a multiple of 128 (one scale group per 128 of K)";
  if (s.n % 2 != 0) return "FP8 GEMM: N = " + std::to_string(s.n) + " is odd (the bf16 output is written in pairs)";
  if (s.experts == 1 && offsets.empty()) return "";
  if (static_cast<int>(offsets.size()) != s.experts + 1)
    return "FP8 GEMM: " + std::to_string(offsets.size()) + " offsets for " + std::to_string(s.experts) + " experts (need experts + 1)";
  if (offsets.front() != 0 || offsets.back() != s.m) return "FP8 GEMM: offsets must run from 0 to M = " + std::to_string(s.m);
  for (std::size_t e = 0; e + 1 < offsets.size(); ++e) {
    if (offsets[e] % kFp8Tile != 0) return "FP8 GEMM: offset " + std::to_string(offsets[e]) + " of expert " + std::to_string(e) + " is not a multiple of 128";
    if (offsets[e + 1] < offsets[e]) return "FP8 GEMM: offsets decrease at expert " + std::to_string(e);
  }
  return "";
}

}  // namespace frugal::kernels
