// What the GPU tests share: a device buffer that copies to and from std::vector (every CUDA call
// through CUDA_CHECK), output poisoned with NaN before a kernel runs, the relative error, the skip
// without a GPU, and what the tests over a family's version table need: the skip of a version that
// cannot run here (saying why), its test name, and its printed form.
#pragma once

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "frugal/kernels/cuda_check.hpp"
#include "frugal/kernels/device.hpp"
#include "frugal/kernels/kernel_version.hpp"

#define FRUGAL_SKIP_WITHOUT_GPU()                                        \
  do {                                                                   \
    std::string why_no_gpu;                                              \
    if (!frugal::kernels::gpu_available(&why_no_gpu)) GTEST_SKIP() << why_no_gpu; \
  } while (0)

// Skips the test with why_cannot_run's reason (no GPU, the feature the version needs, the shape
// limit it breaks) when `version` cannot run here on `shape`.
#define FRUGAL_SKIP_UNLESS_RUNNABLE(version, shape)                                      \
  do {                                                                                    \
    const std::string why_not_runnable = frugal::kernels::why_cannot_run(version, shape); \
    if (!why_not_runnable.empty()) GTEST_SKIP() << why_not_runnable;                      \
  } while (0)

namespace frugal::kernels {

// A version table's row in gtest's messages and --gtest_list_tests: its name.
template <class Version>
  requires requires(const Version& v) {
    v.number;
    v.name;
    v.needs;
  }
void PrintTo(const Version& version, std::ostream* os) {
  *os << version.name;
}

}  // namespace frugal::kernels

namespace frugal::kernels::testing {

// The test name of a value-parameterised test over a version table: the version's name as an
// identifier, e.g. GroupedGemmGpuVersion.MatchesADoublePrecisionLoop/v4_wgmma.
struct VersionTestName {
  template <class Version>
  std::string operator()(const ::testing::TestParamInfo<Version>& info) const {
    return identifier(info.param.name);
  }
};

template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t n) : n_(n) {
    CUDA_CHECK(cudaMalloc(&data_, n * sizeof(T)));
    poison();
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) {
    CUDA_CHECK(cudaMemcpy(data_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~DeviceBuffer() { CUDA_CHECK_IN_DESTRUCTOR(cudaFree(data_)); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() { return data_; }
  void poison() { CUDA_CHECK(cudaMemset(data_, 0xFF, n_ * sizeof(T))); }  // NaN for floats, −1 for ints
  void zero() { CUDA_CHECK(cudaMemset(data_, 0, n_ * sizeof(T))); }
  std::vector<T> host() const {
    std::vector<T> out(n_);
    CUDA_CHECK(cudaDeviceSynchronize());
    CUDA_CHECK(cudaMemcpy(out.data(), data_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
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
