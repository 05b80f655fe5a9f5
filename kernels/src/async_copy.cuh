// Asynchronous global → shared copies (cp.async, sm_80+), shared by the tiled GEMMs
// (grouped_gemm.cu, fp8_gemm.cu): 16 bytes per call straight into shared memory without a register
// round trip, committed in groups, so that the next K-slice loads while this one multiplies.
#pragma once

#include <cstdint>

namespace frugal::kernels {

// `valid` false writes 16 zero bytes instead (cp.async's src-size 0): rows past the matrix's end.
__device__ __forceinline__ void copy_16_bytes_async(void* shared, const void* global, bool valid) {
  const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(shared));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(address), "l"(global), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void commit_async_copies() { asm volatile("cp.async.commit_group;\n" ::); }
// Waits until at most the newest group is still in flight: the previous slice has landed.
__device__ __forceinline__ void wait_for_all_but_newest_copy_group() { asm volatile("cp.async.wait_group 1;\n" ::); }

}  // namespace frugal::kernels
