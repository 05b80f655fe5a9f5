// Whether a CUDA GPU can run the kernels here, and why not: GPU tests skip with this reason on a
// machine without one (docs/toolchain.md: without a driver cudaGetDeviceCount fails cleanly).
#pragma once

#include <string>

namespace frugal::kernels {

// True when a device is usable; otherwise false and `why` says what is missing.
bool gpu_available(std::string* why = nullptr);

// The name of device 0, e.g. "NVIDIA H200" (call only when gpu_available()).
std::string device_name();

// What device 0 offers the kernel versions that need more than sm_80; each is false (and `why` names
// the compute capability and what it lacks, e.g. "compute capability 8.0 has no FP8 tensor cores
// (8.9+ has)") where the version cannot run.
bool fp8_tensor_cores_available(std::string* why = nullptr);      // 8.9+: mma.sync on E4M3 (FP8 GEMM v2)
bool wgmma_available(std::string* why = nullptr);                 // 9.0 exactly, built as sm_90a (FP8 GEMM v3, grouped GEMM v4)
bool thread_block_clusters_available(std::string* why = nullptr); // 9.0+: clusters and distributed shared memory (losses v3)

// The same three as a value a version table (kernel_version.hpp) can hold: what a version needs
// beyond a CUDA GPU. gpu_feature_available(none) is gpu_available().
enum class GpuFeature { none, fp8_tensor_cores, wgmma, thread_block_clusters };
const char* gpu_feature_name(GpuFeature feature);  // "FP8 tensor cores (compute capability 8.9+)", …
bool gpu_feature_available(GpuFeature feature, std::string* why = nullptr);

}  // namespace frugal::kernels
