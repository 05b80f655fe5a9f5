// GPU availability (device.hpp). The CUDA calls here read their status themselves rather than
// through CUDA_CHECK: a failure is the answer (false, and why), not an error.
#include "frugal/kernels/device.hpp"

#include <cuda_runtime.h>

namespace frugal::kernels {

bool gpu_available(std::string* why) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    if (why) *why = std::string("no usable CUDA device: ") + cudaGetErrorString(status);
    cudaGetLastError();  // clear the sticky error
    return false;
  }
  if (count == 0) {
    if (why) *why = "no CUDA device";
    return false;
  }
  return true;
}

std::string device_name() {
  cudaDeviceProp properties{};
  if (cudaGetDeviceProperties(&properties, 0) != cudaSuccess) return "unknown device";
  return properties.name;
}

namespace {

// Whether device 0's compute capability is at least (or, with `exactly`, just) major.minor.
bool compute_capability_at_least(int major, int minor, const char* feature, std::string* why, bool exactly = false) {
  int have_major = 0, have_minor = 0;
  if (cudaDeviceGetAttribute(&have_major, cudaDevAttrComputeCapabilityMajor, 0) != cudaSuccess ||
      cudaDeviceGetAttribute(&have_minor, cudaDevAttrComputeCapabilityMinor, 0) != cudaSuccess) {
    cudaGetLastError();
    if (why) *why = "no CUDA device";
    return false;
  }
  const int have = 10 * have_major + have_minor, need = 10 * major + minor;
  if (exactly ? have == need : have >= need) return true;
  if (why)
    *why = "compute capability " + std::to_string(have_major) + "." + std::to_string(have_minor) + " has no " + feature + " (" +
           std::to_string(major) + "." + std::to_string(minor) + (exactly ? " has" : "+ has") + ")";
  return false;
}

}  // namespace

bool fp8_tensor_cores_available(std::string* why) { return compute_capability_at_least(8, 9, "FP8 tensor cores", why); }
bool wgmma_available(std::string* why) { return compute_capability_at_least(9, 0, "wgmma (Hopper's, built as sm_90a)", why, true); }
bool thread_block_clusters_available(std::string* why) { return compute_capability_at_least(9, 0, "thread-block clusters", why); }

const char* gpu_feature_name(GpuFeature feature) {
  switch (feature) {
    case GpuFeature::none: return "a CUDA GPU";
    case GpuFeature::fp8_tensor_cores: return "FP8 tensor cores (compute capability 8.9+)";
    case GpuFeature::wgmma: return "wgmma (compute capability 9.0, built as sm_90a)";
    case GpuFeature::thread_block_clusters: return "thread-block clusters (compute capability 9.0+)";
  }
  return "an unknown feature";
}

bool gpu_feature_available(GpuFeature feature, std::string* why) {
  if (!gpu_available(why)) return false;
  switch (feature) {
    case GpuFeature::none: return true;
    case GpuFeature::fp8_tensor_cores: return fp8_tensor_cores_available(why);
    case GpuFeature::wgmma: return wgmma_available(why);
    case GpuFeature::thread_block_clusters: return thread_block_clusters_available(why);
  }
  if (why) *why = "unknown GPU feature";
  return false;
}

}  // namespace frugal::kernels
