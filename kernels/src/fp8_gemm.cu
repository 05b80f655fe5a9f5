// FP8 GEMM with fine-grained scaling (fp8_gemm.hpp).
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <stdexcept>
#include <string>

#include "async_copy.cuh"
#include "wgmma.cuh"
#include "expert_of_row.cuh"
#include "shared_memory.cuh"
#include "frugal/kernels/cuda_check.hpp"
#include "frugal/kernels/device.hpp"
#include "frugal/kernels/fp8_gemm.hpp"
#include "frugal/kernels/wgmma_layout.hpp"

namespace frugal::kernels {

namespace {

__device__ __forceinline__ float decode_e4m3(std::uint8_t code) {
  return __half2float(__half(__nv_cvt_fp8_to_halfraw(code, __NV_E4M3)));
}

// Where one block's operands start: its expert's B and scales (grouped), its row of scales.
struct ExpertOperands {
  const std::uint8_t* b;
  const float* b_scales;
};
__device__ ExpertOperands expert_operands(const Fp8GemmShape& s, const Fp8GemmOperands& op, int row) {
  const int e = op.offsets ? expert_of_row(op.offsets, s.experts, row) : 0;
  const long long n_blocks = (s.n + kFp8Tile - 1) / kFp8Tile, k_blocks = s.k / kFp8Tile;
  return {op.b + static_cast<long long>(e) * s.n * s.k, op.b_scales + e * n_blocks * k_blocks};
}

// Stages K-slice `slice` (128 bytes of K) of the block's A rows [row0, row0 + 64) and B rows
// [col0, col0 + 128) by cp.async, 16-byte chunks, 8 per row; rows past M (or past N) are
// zero-filled. `place(local_row, chunk)` is the chunk's byte offset in its tile: each version's
// shared-memory layout. 64 rows of A per block in both tiled versions.
constexpr int kTileRowsA = 64, kTileRowsB = kFp8Tile;
template <int kBlockThreads, class Place>
__device__ void stage_slice(const Fp8GemmShape& s, const std::uint8_t* a, const std::uint8_t* b, int row0, int col0, int slice,
                            std::uint8_t* a_tile, std::uint8_t* b_tile, Place place) {
  constexpr int kChunksPerRow = kFp8Tile / 16;
  for (int chunk = threadIdx.x; chunk < (kTileRowsA + kTileRowsB) * kChunksPerRow; chunk += kBlockThreads) {
    const int row = chunk / kChunksPerRow, c = chunk % kChunksPerRow;
    const bool of_a = row < kTileRowsA;
    const int local = of_a ? row : row - kTileRowsA, global_row = (of_a ? row0 : col0) + local;
    const bool valid = global_row < (of_a ? s.m : s.n);
    const std::uint8_t* source = (of_a ? a : b) + (valid ? static_cast<long long>(global_row) * s.k + slice * kFp8Tile + c * 16 : 0);
    copy_16_bytes_async((of_a ? a_tile : b_tile) + place(local, c), source, valid);
  }
}

// The factor that promotes row `row`'s partial sums of K-slice `slice`: a_scale[row][slice] ·
// b_scale (0 past M, where nothing is stored).
__device__ __forceinline__ float promotion_scale(const Fp8GemmShape& s, const Fp8GemmOperands& op, int row, int slice, float b_scale) {
  return row < s.m ? op.a_scales[static_cast<long long>(row) * (s.k / kFp8Tile) + slice] * b_scale : 0.0f;
}

// C[row][col], C[row][col + 1] in bf16, inside C only (N is even, so col < N implies col + 1 < N).
__device__ __forceinline__ void store_pair(const Fp8GemmShape& s, __nv_bfloat16* c, int row, int col, float first, float second) {
  if (row < s.m && col < s.n)
    *reinterpret_cast<__nv_bfloat162*>(c + static_cast<long long>(row) * s.n + col) = __floats2bfloat162_rn(first, second);
}

// v1: one thread per C[r][c]; per 128-slice g of K, partial = Σ_j decode(A[r][j]) · decode(B[c][j]),
// then acc += partial · a_scale[r][g] · b_scale[c/128][g].
__global__ void fp8_gemm_naive(Fp8GemmShape s, Fp8GemmOperands op) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<long long>(s.m) * s.n) return;
  const int r = static_cast<int>(i / s.n), c = static_cast<int>(i % s.n), k_blocks = s.k / kFp8Tile;
  const ExpertOperands e = expert_operands(s, op, r);
  const std::uint8_t* a_row = op.a + static_cast<long long>(r) * s.k;
  const std::uint8_t* b_row = e.b + static_cast<long long>(c) * s.k;
  const float* a_scale = op.a_scales + static_cast<long long>(r) * k_blocks;
  const float* b_scale = e.b_scales + static_cast<long long>(c / kFp8Tile) * k_blocks;
  float acc = 0.0f;
  for (int g = 0; g < k_blocks; ++g) {
    float partial = 0.0f;
    for (int j = g * kFp8Tile; j < (g + 1) * kFp8Tile; ++j) partial += decode_e4m3(a_row[j]) * decode_e4m3(b_row[j]);
    acc += partial * (a_scale[g] * b_scale[g]);
  }
  op.c[i] = __float2bfloat16(acc);
}

// ---- v2: mma.sync.m16n8k32 E4M3 ---------------------------------------------------------------
constexpr int kBlockM = kTileRowsA, kBlockN = kTileRowsB, kBlockK = kFp8Tile;  // one B scale, one scale group
constexpr int kWarpsM = 2, kWarpsN = 2, kThreads = 32 * kWarpsM * kWarpsN;
constexpr int kWarpM = kBlockM / kWarpsM, kWarpN = kBlockN / kWarpsN;  // 32 × 64
constexpr int kMmaM = 16, kMmaN = 8, kMmaK = 32;
constexpr int kTilesM = kWarpM / kMmaM, kTilesN = kWarpN / kMmaN;     // 2 × 8 MMAs per k-step
constexpr int kRowBytes = kBlockK + 16;                               // 144: conflict-free fragment loads
constexpr int kStageBytes = (kBlockM + kBlockN) * kRowBytes;
constexpr int kStages = 2;
constexpr int kSharedBytes = kStages * kStageBytes;                   // 55,296: above the 48 KB default

// D += A·B on one 16×8×32 tile. Fragments (PTX ISA, "Matrix Fragments for mma.m16n8k32"), with
// g = lane / 4 and t = lane % 4: A's four words hold rows g, g+8, g, g+8 at k = 4t…4t+3, 4t…4t+3,
// 16+4t…, 16+4t…; B's two words hold column g at k = 4t…4t+3 and 16+4t…; D holds rows g, g, g+8,
// g+8 at columns 2t, 2t+1, 2t, 2t+1.
__device__ __forceinline__ void mma_e4m3_16x8x32(float (&d)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  __trap();  // never launched there: fp8_gemm_v2 refuses devices below 8.9
#endif
}

__device__ __forceinline__ std::uint32_t load_word(const std::uint8_t* shared) { return *reinterpret_cast<const std::uint32_t*>(shared); }

__global__ void __launch_bounds__(kThreads) fp8_gemm_mma(Fp8GemmShape s, Fp8GemmOperands op) {
  extern __shared__ __align__(16) std::uint8_t shared[];
  const int row0 = blockIdx.y * kBlockM, col0 = blockIdx.x * kBlockN, k_blocks = s.k / kBlockK;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int warp_row = (warp / kWarpsN) * kWarpM, warp_col = (warp % kWarpsN) * kWarpN;
  const ExpertOperands e = expert_operands(s, op, row0);  // 64 | 128: one expert per block
  const float* b_scale = e.b_scales + static_cast<long long>(blockIdx.x) * k_blocks;

  float acc[kTilesM][kTilesN][4] = {};      // the FP32 accumulators promotion adds into
  float partial[kTilesM][kTilesN][4] = {};  // the tensor core's sums over one 128-slice

  auto a_tile = [&](int stage) { return shared + stage * kStageBytes; };
  auto b_tile = [&](int stage) { return shared + stage * kStageBytes + kBlockM * kRowBytes; };
  auto padded_rows = [](int row, int chunk) { return row * kRowBytes + chunk * 16; };
  stage_slice<kThreads>(s, op.a, e.b, row0, col0, 0, a_tile(0), b_tile(0), padded_rows);
  commit_async_copies();
  for (int slice = 0; slice < k_blocks; ++slice) {
    const int stage = slice % kStages;
    if (slice + 1 < k_blocks) stage_slice<kThreads>(s, op.a, e.b, row0, col0, slice + 1, a_tile(1 - stage), b_tile(1 - stage), padded_rows);
    commit_async_copies();  // an empty group on the last slice keeps the wait below uniform
    wait_for_all_but_newest_copy_group();
    __syncthreads();

    const std::uint8_t* a_s = a_tile(stage);
    const std::uint8_t* b_s = b_tile(stage);
    for (int k = 0; k < kBlockK; k += kMmaK) {
      std::uint32_t a_frag[kTilesM][4], b_frag[kTilesN][2];
      for (int i = 0; i < kTilesM; ++i) {
        const std::uint8_t* top = a_s + (warp_row + i * kMmaM + g) * kRowBytes + k + 4 * t;
        a_frag[i][0] = load_word(top);
        a_frag[i][1] = load_word(top + 8 * kRowBytes);
        a_frag[i][2] = load_word(top + 16);
        a_frag[i][3] = load_word(top + 8 * kRowBytes + 16);
      }
      for (int j = 0; j < kTilesN; ++j) {
        const std::uint8_t* column = b_s + (warp_col + j * kMmaN + g) * kRowBytes + k + 4 * t;
        b_frag[j][0] = load_word(column);
        b_frag[j][1] = load_word(column + 16);
      }
      for (int i = 0; i < kTilesM; ++i)
        for (int j = 0; j < kTilesN; ++j) mma_e4m3_16x8x32(partial[i][j], a_frag[i], b_frag[j]);
    }

    // Promotion: acc += partial · a_scale[row][slice] · b_scale[slice], then partial = 0.
    const float sb = b_scale[slice];
    for (int i = 0; i < kTilesM; ++i) {
      const int top = row0 + warp_row + i * kMmaM + g;
      const float s_top = promotion_scale(s, op, top, slice, sb), s_bottom = promotion_scale(s, op, top + 8, slice, sb);
      for (int j = 0; j < kTilesN; ++j) {
        acc[i][j][0] += partial[i][j][0] * s_top;
        acc[i][j][1] += partial[i][j][1] * s_top;
        acc[i][j][2] += partial[i][j][2] * s_bottom;
        acc[i][j][3] += partial[i][j][3] * s_bottom;
        for (float& p : partial[i][j]) p = 0.0f;
      }
    }
    __syncthreads();  // every warp is done with this stage before it is loaded again
  }

  for (int i = 0; i < kTilesM; ++i)
    for (int j = 0; j < kTilesN; ++j) {
      const int row = row0 + warp_row + i * kMmaM + g, col = col0 + warp_col + j * kMmaN + 2 * t;
      store_pair(s, op.c, row, col, acc[i][j][0], acc[i][j][1]);
      store_pair(s, op.c, row + 8, col, acc[i][j][2], acc[i][j][3]);
    }
}

// ---- v3: wgmma (sm_90a) --------------------------------------------------------------------------
// One warpgroup (4 warps) computes 64×128 of C with Hopper's warpgroup MMAs, which read both
// operands straight from shared memory through 64-bit descriptors: no fragment loads into
// registers, and one instruction covers 64×128×32. Each 128-slice of K is staged by cp.async in
// the descriptors' no-swizzle "core matrix" layout — 8 rows × 16 bytes stored as 128 contiguous
// bytes; the 8 such blocks along K of a row group follow each other (leading byte offset 128), row
// groups are 1024 bytes apart (stride byte offset) — double-buffered as in v2. Each slice is four
// wgmmas (the first overwrites the partial sums, the rest accumulate), waited for, then promoted
// into the FP32 accumulators with the slice's scales, as in v2.
constexpr int kWgmmaBlockM = kTileRowsA, kWgmmaThreads = 128;
using Staging = wgmma::Fp8Staging;  // where each chunk goes, and the descriptors' offsets (wgmma_layout.hpp)
static_assert(Staging::stride == kFp8Tile / 16 * wgmma::kCoreBytes, "wgmma_layout.hpp's Fp8Staging is laid out for 128 bytes of K per stage");
constexpr int kWgmmaStageBytes = (kWgmmaBlockM + kBlockN) * kFp8Tile;              // 8 KB of A + 16 KB of B
constexpr int kWgmmaSharedBytes = 2 * kWgmmaStageBytes;

// D (64×128, fp32, this warpgroup's registers) = A·Bᵀ (+ D when `accumulate`) for one 32-wide K step:
// wgmma.mma_async m64n128k32 with E4M3 operands read from shared memory through their descriptors.
// Accumulator layout (PTX ISA, "wgmma .m64nNk32 register fragment"): warp w, lane (g = lane/4,
// t = lane%4) holds d[4j + i] = D[16w + g + 8·(i/2)][8j + 2t + (i%2)], j = 0 … 15.
template <bool kAccumulate>
__device__ __forceinline__ void wgmma_e4m3_64x128x32(float (&d)[64], std::uint64_t a_descriptor, std::uint64_t b_descriptor) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile(
      "{\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, %66, 1, 1;\n"
      "}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
      : "l"(a_descriptor), "l"(b_descriptor), "n"(kAccumulate ? 1 : 0));
#else
  __trap();  // never launched there: fp8_gemm_v3 refuses other devices
#endif
}

__global__ void __launch_bounds__(kWgmmaThreads) fp8_gemm_wgmma(Fp8GemmShape s, Fp8GemmOperands op) {
  extern __shared__ __align__(128) std::uint8_t staged[];
  const int row0 = blockIdx.y * kWgmmaBlockM, col0 = blockIdx.x * kBlockN, k_blocks = s.k / kFp8Tile;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const ExpertOperands e = expert_operands(s, op, row0);
  const float* b_scale = e.b_scales + static_cast<long long>(blockIdx.x) * k_blocks;
  const int top = row0 + 16 * warp + g, bottom = top + 8;  // the two rows this thread's accumulators hold

  float acc[64] = {}, partial[64] = {};
  auto a_tile = [&](int stage) { return staged + stage * kWgmmaStageBytes; };
  auto b_tile = [&](int stage) { return staged + stage * kWgmmaStageBytes + kWgmmaBlockM * kFp8Tile; };
  auto core_matrices = [](int row, int chunk) { return Staging::chunk(row, chunk); };
  stage_slice<kWgmmaThreads>(s, op.a, e.b, row0, col0, 0, a_tile(0), b_tile(0), core_matrices);
  commit_async_copies();
  for (int slice = 0; slice < k_blocks; ++slice) {
    const int stage = slice % 2;
    if (slice + 1 < k_blocks)
      stage_slice<kWgmmaThreads>(s, op.a, e.b, row0, col0, slice + 1, a_tile(1 - stage), b_tile(1 - stage), core_matrices);
    commit_async_copies();
    wait_for_all_but_newest_copy_group();
    make_shared_writes_visible_to_wgmma();
    __syncthreads();

    // K step k (32 bytes) starts at chunk 2k.
    wgmma_fence();
    auto descriptor = [&](const std::uint8_t* tile, int k) {
      return operand_descriptor(tile + Staging::k_step_start(k), Staging::leading, Staging::stride);
    };
    wgmma_e4m3_64x128x32<false>(partial, descriptor(a_tile(stage), 0), descriptor(b_tile(stage), 0));
    for (int k = 1; k < kFp8Tile / 32; ++k) wgmma_e4m3_64x128x32<true>(partial, descriptor(a_tile(stage), k), descriptor(b_tile(stage), k));
    wgmma_commit_and_wait();

    const float s_top = promotion_scale(s, op, top, slice, b_scale[slice]), s_bottom = promotion_scale(s, op, bottom, slice, b_scale[slice]);
    for (int j = 0; j < 16; ++j) {
      acc[4 * j] += partial[4 * j] * s_top;
      acc[4 * j + 1] += partial[4 * j + 1] * s_top;
      acc[4 * j + 2] += partial[4 * j + 2] * s_bottom;
      acc[4 * j + 3] += partial[4 * j + 3] * s_bottom;
    }
    __syncthreads();  // the warpgroup is done reading this stage before it is loaded again
  }

  for (int j = 0; j < 16; ++j) {
    store_pair(s, op.c, top, col0 + 8 * j + 2 * t, acc[4 * j], acc[4 * j + 1]);
    store_pair(s, op.c, bottom, col0 + 8 * j + 2 * t, acc[4 * j + 2], acc[4 * j + 3]);
  }
}

}  // namespace

void fp8_gemm_v1(const Fp8GemmShape& shape, const Fp8GemmOperands& operands, cudaStream_t stream) {
  const long long outputs = static_cast<long long>(shape.m) * shape.n;
  fp8_gemm_naive<<<static_cast<int>((outputs + 255) / 256), 256, 0, stream>>>(shape, operands);
  CUDA_CHECK(cudaGetLastError());
}

void fp8_gemm_v2(const Fp8GemmShape& shape, const Fp8GemmOperands& operands, cudaStream_t stream) {
  std::string why;
  if (!fp8_tensor_cores_available(&why)) throw std::runtime_error("fp8_gemm_v2: " + why);
  static const bool shared_memory_ready = allow_dynamic_shared_memory(fp8_gemm_mma, kSharedBytes, "fp8_gemm_v2");
  const dim3 grid((shape.n + kBlockN - 1) / kBlockN, (shape.m + kBlockM - 1) / kBlockM);
  fp8_gemm_mma<<<grid, kThreads, kSharedBytes, stream>>>(shape, operands);
  CUDA_CHECK(cudaGetLastError());
}

void fp8_gemm_v3(const Fp8GemmShape& shape, const Fp8GemmOperands& operands, cudaStream_t stream) {
  std::string why;
  if (!wgmma_available(&why)) throw std::runtime_error("fp8_gemm_v3: " + why);
  static const bool shared_memory_ready = allow_dynamic_shared_memory(fp8_gemm_wgmma, kWgmmaSharedBytes, "fp8_gemm_v3");
  const dim3 grid((shape.n + kBlockN - 1) / kBlockN, (shape.m + kWgmmaBlockM - 1) / kWgmmaBlockM);
  fp8_gemm_wgmma<<<grid, kWgmmaThreads, kWgmmaSharedBytes, stream>>>(shape, operands);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace frugal::kernels
