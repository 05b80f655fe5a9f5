// The expert whose segment of an expert-contiguous buffer holds `row` (moe_layout.hpp): the last e
// with offsets[e] ≤ row, by binary search. An empty expert's segment has no rows, so the search
// passes over it. Shared by the grouped GEMMs (grouped_gemm.cu, fp8_gemm.cu).
#pragma once

namespace frugal::kernels {

__device__ __forceinline__ int expert_of_row(const int* offsets, int experts, int row) {
  int low = 0, high = experts - 1;
  while (low < high) {
    const int mid = (low + high + 1) / 2;
    if (offsets[mid] <= row) low = mid;
    else high = mid - 1;
  }
  return low;
}

}  // namespace frugal::kernels
