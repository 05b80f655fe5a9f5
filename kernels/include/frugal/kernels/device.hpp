// Whether a CUDA GPU can run the kernels here, and why not: GPU tests skip with this reason on a
// machine without one (toolchain.md: without a driver cudaGetDeviceCount fails cleanly).
#pragma once

#include <string>

namespace frugal::kernels {

// True when a device is usable; otherwise false and `why` says what is missing.
bool gpu_available(std::string* why = nullptr);

// The name of device 0, e.g. "NVIDIA H200" (call only when gpu_available()).
std::string device_name();

}  // namespace frugal::kernels
