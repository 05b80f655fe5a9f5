// fp32 → bf16 (convert.hpp).
#include "frugal/kernels/convert.hpp"
#include "frugal/kernels/cuda_check.hpp"

namespace frugal::kernels {

namespace {
__global__ void convert_to_bf16_kernel(long long n, const float* x, __nv_bfloat16* out) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = __float2bfloat16_rn(x[i]);
}
}  // namespace

void convert_to_bf16(long long n, const float* x, __nv_bfloat16* out, cudaStream_t stream) {
  convert_to_bf16_kernel<<<static_cast<int>((n + 255) / 256), 256, 0, stream>>>(n, x, out);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace frugal::kernels
