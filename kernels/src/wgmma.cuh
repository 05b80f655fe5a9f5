// Hopper's warpgroup MMA (wgmma, sm_90a), shared by the FP8 GEMM (fp8_gemm.cu, v3) and the bf16
// grouped GEMM (grouped_gemm.cu, v4): shared-memory operand descriptors and the ordering
// instructions around the asynchronous MMAs. Everything here compiles to nothing (or a trap) for
// other targets; the launchers refuse devices other than compute capability 9.0.
#pragma once

#include <cstdint>

namespace frugal::kernels {

// Descriptor of a no-swizzle operand in shared memory (PTX ISA, "Matrix Descriptor Format"):
// bits 0–13 start address / 16, 16–29 leading byte offset / 16, 32–45 stride byte offset / 16.
// Without swizzling an operand is made of "core matrices" of 8 rows × 16 bytes, each stored as
// 128 contiguous bytes; the two offsets say where the neighbouring core matrices are (PTX ISA,
// "Canonical Layouts"):
//   K-major  (K contiguous):      leading = to the next 16 bytes along K, stride = to the next 8 rows of M/N;
//   MN-major (M or N contiguous): leading = to the next 8 rows of K,      stride = to the next 16 bytes along M/N.
__device__ __forceinline__ std::uint64_t operand_descriptor(const void* shared, int leading_bytes, int stride_bytes) {
  const std::uint64_t address = static_cast<std::uint64_t>(__cvta_generic_to_shared(shared));
  return ((address & 0x3FFFF) >> 4) | (static_cast<std::uint64_t>((leading_bytes & 0x3FFFF) >> 4) << 16) |
         (static_cast<std::uint64_t>((stride_bytes & 0x3FFFF) >> 4) << 32);
}

// The warpgroup MMA's ordering instructions (sm_90a only, like the MMA itself).
__device__ __forceinline__ void make_shared_writes_visible_to_wgmma() {  // cp.async (generic proxy) → wgmma (async proxy)
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void wgmma_fence() {  // accumulator registers written before are ready for the MMAs
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void wgmma_commit_and_wait() {  // the MMAs issued so far have finished
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
  asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
#endif
}

}  // namespace frugal::kernels
