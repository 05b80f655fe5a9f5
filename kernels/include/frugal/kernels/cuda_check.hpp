// CUDA_CHECK(expr): every CUDA runtime call and every kernel launch in kernels/, the tests, the
// benchmarks and chapter 9 goes through it. A call that returns anything but cudaSuccess throws
// std::runtime_error naming the expression, file:line and cudaGetErrorString, e.g.
//   CUDA_CHECK(cudaMemcpy(...)) failed at kernels/src/x.cu:12: invalid argument
// A launch (kernel<<<…>>>) returns nothing: the launch's own error (a bad configuration, too much
// shared memory) is read by the cudaGetLastError that follows it,
//   kernel<<<blocks, threads, 0, stream>>>(…);
//   CUDA_CHECK(cudaGetLastError());
// and a kernel that fails while running shows up at the next synchronising call.
// Destructors, which must not throw, use CUDA_CHECK_IN_DESTRUCTOR: it prints the same line to
// stderr and carries on.
#pragma once

#include <cuda_runtime.h>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace frugal::kernels {

inline std::string cuda_error_message(cudaError_t status, const char* expression, const char* file, int line) {
  return std::string("CUDA_CHECK(") + expression + ") failed at " + file + ":" + std::to_string(line) + ": " + cudaGetErrorString(status);
}

inline void check_cuda(cudaError_t status, const char* expression, const char* file, int line) {
  if (status != cudaSuccess) throw std::runtime_error(cuda_error_message(status, expression, file, line));
}

inline void report_cuda_error(cudaError_t status, const char* expression, const char* file, int line) noexcept {
  if (status != cudaSuccess) std::fprintf(stderr, "%s\n", cuda_error_message(status, expression, file, line).c_str());
}

}  // namespace frugal::kernels

#define CUDA_CHECK(expression) ::frugal::kernels::check_cuda((expression), #expression, __FILE__, __LINE__)
#define CUDA_CHECK_IN_DESTRUCTOR(expression) ::frugal::kernels::report_cuda_error((expression), #expression, __FILE__, __LINE__)
