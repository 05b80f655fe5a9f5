// Kernels that stage more than 48 KB of shared memory per block must say so before their first
// launch (cudaFuncAttributeMaxDynamicSharedMemorySize); shared by the tiled GEMMs and the losses.
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace frugal::kernels {

// Allows `kernel` `bytes` of dynamic shared memory, or throws std::runtime_error naming `who`.
// Returns true, so that a launcher can do it once: static const bool ready = allow_...(…);
template <class Kernel>
bool allow_dynamic_shared_memory(Kernel kernel, std::size_t bytes, const char* who) {
  const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
  if (e != cudaSuccess)
    throw std::runtime_error(std::string(who) + ": " + std::to_string(bytes) + " bytes of shared memory per block: " + cudaGetErrorString(e));
  return true;
}

}  // namespace frugal::kernels
