// GroupedGemmProblem (grouped_gemm_problem.hpp): device buffers of one grouped GEMM, and its timing.
#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "frugal/kernels/cuda_check.hpp"
#include "frugal/kernels/grouped_gemm_problem.hpp"

namespace frugal::kernels {

namespace {

template <class T>
T* zeroed_device_array(std::size_t n) {
  T* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, n * sizeof(T)));
  CUDA_CHECK(cudaMemset(p, 0, n * sizeof(T)));
  return p;
}

}  // namespace

GroupedGemmProblem::GroupedGemmProblem(int experts, int per_expert, int k, int n)
    : shape_{experts, experts * per_expert, k, n}, per_expert_(per_expert) {
  std::vector<int> offsets;
  for (int e = 0; e <= experts; ++e) offsets.push_back(e * per_expert);
  offsets_ = zeroed_device_array<int>(offsets.size());
  CUDA_CHECK(cudaMemcpy(offsets_, offsets.data(), offsets.size() * sizeof(int), cudaMemcpyHostToDevice));
  x_ = zeroed_device_array<__nv_bfloat16>(static_cast<std::size_t>(shape_.padded_rows) * k);
  w_ = zeroed_device_array<__nv_bfloat16>(static_cast<std::size_t>(experts) * k * n);
  y_ = zeroed_device_array<float>(static_cast<std::size_t>(shape_.padded_rows) * n);
}

GroupedGemmProblem::~GroupedGemmProblem() {
  CUDA_CHECK_IN_DESTRUCTOR(cudaFree(offsets_));
  CUDA_CHECK_IN_DESTRUCTOR(cudaFree(x_));
  CUDA_CHECK_IN_DESTRUCTOR(cudaFree(w_));
  CUDA_CHECK_IN_DESTRUCTOR(cudaFree(y_));
}

void GroupedGemmProblem::launch(int version) const {
  version_numbered(kGroupedGemmVersions, version, "grouped GEMM").launch(shape_, offsets_, x_, w_, y_, nullptr);
}

double GroupedGemmProblem::flops() const { return 2.0 * shape_.padded_rows * shape_.k * static_cast<double>(shape_.n); }

double GroupedGemmProblem::bytes() const {
  return 2.0 * shape_.padded_rows * shape_.k + 2.0 * shape_.experts * shape_.k * static_cast<double>(shape_.n) +
         4.0 * shape_.padded_rows * static_cast<double>(shape_.n);
}

double time_grouped_gemm(const GroupedGemmProblem& problem, int version, int repeats) {
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  problem.launch(version);  // warm-up
  std::vector<float> ms(static_cast<std::size_t>(std::max(1, repeats)));
  for (float& t : ms) {
    CUDA_CHECK(cudaEventRecord(start));
    problem.launch(version);
    CUDA_CHECK(cudaEventRecord(stop));
    CUDA_CHECK(cudaEventSynchronize(stop));
    CUDA_CHECK(cudaEventElapsedTime(&t, start, stop));
  }
  CUDA_CHECK(cudaEventDestroy(start));
  CUDA_CHECK(cudaEventDestroy(stop));
  std::nth_element(ms.begin(), ms.begin() + static_cast<std::ptrdiff_t>(ms.size() / 2), ms.end());
  return ms[ms.size() / 2] / 1e3;
}

}  // namespace frugal::kernels
