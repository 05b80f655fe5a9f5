// Element-wise fp32 → bf16 on the device (round to nearest even): the bf16 operands the cuBLAS
// baselines in bench_kernels multiply, made from the same fp32 data the FP8 kernels quantise.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace frugal::kernels {

void convert_to_bf16(long long n, const float* x, __nv_bfloat16* out, cudaStream_t stream = nullptr);

}  // namespace frugal::kernels
