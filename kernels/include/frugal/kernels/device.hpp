// Whether a CUDA GPU can run the kernels here, and why not: GPU tests skip with this reason on a
// machine without one (toolchain.md: without a driver cudaGetDeviceCount fails cleanly).
#pragma once

#include <string>

namespace frugal::kernels {

// True when a device is usable; otherwise false and `why` says what is missing.
bool gpu_available(std::string* why = nullptr);

// The name of device 0, e.g. "NVIDIA H200" (call only when gpu_available()).
std::string device_name();

// Whether device 0's compute capability is at least (or, with `exactly`, just) major.minor;
// otherwise false and `why` names the missing `feature`, e.g. "compute capability 8.0 has no FP8
// tensor cores (8.9+ has)".
bool compute_capability_at_least(int major, int minor, const char* feature, std::string* why = nullptr, bool exactly = false);

}  // namespace frugal::kernels
