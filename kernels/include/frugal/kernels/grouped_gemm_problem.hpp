// One grouped GEMM on the device, ready to time: `experts` segments of `per_expert` rows each (a
// multiple of the tile: no padding), hidden K, expert width N; zero-filled bf16 inputs (timings
// of these kernels do not depend on the values). Shared by bench_kernels and chapter 9.
#pragma once

#include <cuda_bf16.h>

#include "frugal/kernels/grouped_gemm.hpp"

namespace frugal::kernels {

class GroupedGemmProblem {
 public:
  GroupedGemmProblem(int experts, int per_expert, int k, int n);
  ~GroupedGemmProblem();
  GroupedGemmProblem(const GroupedGemmProblem&) = delete;
  GroupedGemmProblem& operator=(const GroupedGemmProblem&) = delete;

  // Launches the version numbered `version` of kGroupedGemmVersions on the default stream
  // (std::invalid_argument for a number the table does not have).
  void launch(int version) const;

  const GroupedGemmShape& shape() const { return shape_; }
  int per_expert() const { return per_expert_; }
  double flops() const;  // 2 · rows · K · N
  double bytes() const;  // X and W read once (bf16), Y written once (fp32)
  const int* offsets() const { return offsets_; }
  const __nv_bfloat16* x() const { return x_; }
  const __nv_bfloat16* w() const { return w_; }
  float* y() const { return y_; }

 private:
  GroupedGemmShape shape_;
  int per_expert_ = 0;
  int* offsets_ = nullptr;
  __nv_bfloat16* x_ = nullptr;
  __nv_bfloat16* w_ = nullptr;
  float* y_ = nullptr;
};

// Median seconds of `repeats` launches of `version`, timed with CUDA events after one warm-up.
double time_grouped_gemm(const GroupedGemmProblem& problem, int version, int repeats = 10);

}  // namespace frugal::kernels
