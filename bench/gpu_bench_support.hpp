// What the GPU benchmarks share (bench_kernels.cpp, bench_kernels_fp8.cpp, bench_kernels_losses.cpp):
// the skip without a GPU or of a version that cannot run here, the registration of a family's
// versions from its table (kernel_version.hpp), timing with CUDA events into Google Benchmark's
// manual time, zeroed and random device buffers. Every CUDA call goes through CUDA_CHECK.
#pragma once

#include <benchmark/benchmark.h>
#include <cuda_runtime.h>
#include <curand.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "frugal/kernels/cuda_check.hpp"
#include "frugal/kernels/device.hpp"
#include "frugal/kernels/kernel_version.hpp"

namespace frugal::bench {

inline bool skip_without_gpu(benchmark::State& state) {
  std::string why;
  if (frugal::kernels::gpu_available(&why)) return false;
  state.SkipWithError(why.c_str());
  return true;
}

// True (the benchmark skipped, with why_cannot_run's reason) when `version` cannot run here on `shape`.
template <class Version, class Shape>
bool skip_unless_runnable(benchmark::State& state, const Version& version, const Shape& shape) {
  const std::string why = frugal::kernels::why_cannot_run(version, shape);
  if (why.empty()) return false;
  state.SkipWithError(why.c_str());
  return true;
}

// Registers a run per version of `table`: argument 0 is `first_argument` − 1 + the version's
// number (by default the number itself), argument 1 each of `sizes` — for version 1, each
// family's obvious and slow reference, only `first_version_sizes`. Without sizes, one argument.
template <class Table>
void add_versions(benchmark::internal::Benchmark* b, const Table& table, const std::vector<std::int64_t>& sizes = {},
                  const std::vector<std::int64_t>& first_version_sizes = {}, std::int64_t first_argument = 1) {
  for (const auto& version : table) {
    const std::int64_t argument = first_argument - 1 + version.number;
    if (sizes.empty()) {
      b->Arg(argument);
      continue;
    }
    for (std::int64_t size : version.number == 1 ? first_version_sizes : sizes) b->Args({argument, size});
  }
}

// Times `launch` with CUDA events, reports GB/s for `bytes` per iteration.
template <class Launch>
void run_timed(benchmark::State& state, double bytes, Launch launch) {
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  launch();  // warm-up
  for (auto _ : state) {
    CUDA_CHECK(cudaEventRecord(start));
    launch();
    CUDA_CHECK(cudaEventRecord(stop));
    CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(ms / 1e3);
  }
  state.counters["GB/s"] = benchmark::Counter(bytes * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
  state.counters["bytes"] = bytes;
  CUDA_CHECK(cudaEventDestroy(start));
  CUDA_CHECK(cudaEventDestroy(stop));
}

template <class T>
T* device_alloc(std::size_t n) {
  T* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, n * sizeof(T)));
  CUDA_CHECK(cudaMemset(p, 0, n * sizeof(T)));
  return p;
}

// Frees every pointer (CUDA_CHECK on each).
template <class... Pointers>
void device_free(Pointers... pointers) {
  (CUDA_CHECK(cudaFree(const_cast<void*>(static_cast<const void*>(pointers)))), ...);
}

// n fp32 values N(0, std²) on the device, from cuRAND (n even, as its normal generator needs).
inline float* random_normal(std::size_t n, unsigned long long seed, float std = 1.0f) {
  float* x = device_alloc<float>(n);
  // cuRAND reports through its own status type, not cudaError_t: checked here, by name.
  auto check = [](curandStatus_t status, const char* call) {
    if (status != CURAND_STATUS_SUCCESS) throw std::runtime_error(std::string(call) + " failed: cuRAND status " + std::to_string(status));
  };
  curandGenerator_t generator;
  check(curandCreateGenerator(&generator, CURAND_RNG_PSEUDO_DEFAULT), "curandCreateGenerator");
  check(curandSetPseudoRandomGeneratorSeed(generator, seed), "curandSetPseudoRandomGeneratorSeed");
  check(curandGenerateNormal(generator, x, n, 0.0f, std), "curandGenerateNormal");
  check(curandDestroyGenerator(generator), "curandDestroyGenerator");
  return x;
}

}  // namespace frugal::bench
