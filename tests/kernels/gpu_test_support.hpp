// What the GPU tests share: a device buffer that copies to and from std::vector, output poisoned
// with NaN before a kernel runs (DESIGN.md), the relative error, and the skip without a GPU.
#pragma once

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "frugal/kernels/device.hpp"

#define FRUGAL_SKIP_WITHOUT_GPU()                                        \
  do {                                                                   \
    std::string why_no_gpu;                                              \
    if (!frugal::kernels::gpu_available(&why_no_gpu)) GTEST_SKIP() << why_no_gpu; \
  } while (0)

namespace frugal::kernels::testing {

template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t n) : n_(n) { cudaMalloc(&data_, n * sizeof(T)); poison(); }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) {
    cudaMemcpy(data_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice);
  }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() { return data_; }
  void poison() { cudaMemset(data_, 0xFF, n_ * sizeof(T)); }  // NaN for floats, −1 for ints
  void zero() { cudaMemset(data_, 0, n_ * sizeof(T)); }
  std::vector<T> host() const {
    std::vector<T> out(n_);
    cudaDeviceSynchronize();
    cudaMemcpy(out.data(), data_, n_ * sizeof(T), cudaMemcpyDeviceToHost);
    return out;
  }

 private:
  T* data_ = nullptr;
  std::size_t n_;
};

// ‖a − b‖ / ‖b‖ (NaN anywhere gives NaN, which fails every bound).
inline double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    diff += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    norm += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
}

// A launch that could not start (a bad configuration, too much shared memory) is reported by
// cudaGetLastError; a kernel that failed while running, by cudaDeviceSynchronize.
inline void expect_no_cuda_error() {
  const cudaError_t launch = cudaGetLastError();
  EXPECT_EQ(launch, cudaSuccess) << "launch: " << cudaGetErrorString(launch);
  const cudaError_t run = cudaDeviceSynchronize();
  EXPECT_EQ(run, cudaSuccess) << "run: " << cudaGetErrorString(run);
}

}  // namespace frugal::kernels::testing
