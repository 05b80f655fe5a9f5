// CUDA_CHECK (cuda_check.hpp), on any machine with the CUDA toolkit: a failing call throws
// std::runtime_error naming the expression, this file and line, and the CUDA runtime's own
// description of the error; a successful one does not throw.
#include <gtest/gtest.h>

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "frugal/kernels/cuda_check.hpp"

namespace frugal::kernels {
namespace {

cudaError_t returns(cudaError_t status) { return status; }

TEST(CudaCheck, ThrowsNamingTheExpressionWhereAndWhy) {
  int line = 0;
  try {
    line = __LINE__ + 1;
    CUDA_CHECK(returns(cudaErrorInvalidValue));
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("returns(cudaErrorInvalidValue)"), std::string::npos) << message;
    EXPECT_NE(message.find(std::string("test_cuda_check.cpp:") + std::to_string(line)), std::string::npos) << message;
    EXPECT_NE(message.find("invalid argument"), std::string::npos) << message;  // cudaGetErrorString(cudaErrorInvalidValue)
  }
}

TEST(CudaCheck, SuccessPassesThrough) { EXPECT_NO_THROW(CUDA_CHECK(returns(cudaSuccess))); }

// A real call that cannot succeed anywhere: a copy of 4 bytes to and from null.
TEST(CudaCheck, AFailingRuntimeCallThrows) {
  EXPECT_THROW(CUDA_CHECK(cudaMemcpy(nullptr, nullptr, 4, cudaMemcpyHostToDevice)), std::runtime_error);
  cudaGetLastError();  // leave no error behind for the next test
}

}  // namespace
}  // namespace frugal::kernels
