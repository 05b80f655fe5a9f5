// Kernels that stage more than 48 KB of shared memory per block must say so before their first
// launch (cudaFuncAttributeMaxDynamicSharedMemorySize); shared by the tiled GEMMs and the losses.
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "frugal/kernels/cuda_check.hpp"

namespace frugal::kernels {

// Allows `kernel` `bytes` of dynamic shared memory, or throws std::runtime_error naming `who` and
// the failed call (CUDA_CHECK's message).
// Returns true, so that a launcher can do it once: static const bool ready = allow_...(…);
template <class Kernel>
bool allow_dynamic_shared_memory(Kernel kernel, std::size_t bytes, const char* who) {
  try {
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(who) + ": " + std::to_string(bytes) + " bytes of shared memory per block: " + e.what());
  }
  return true;
}

}  // namespace frugal::kernels
