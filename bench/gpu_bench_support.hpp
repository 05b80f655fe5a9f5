// What the GPU benchmarks share (bench_kernels.cpp, bench_kernels_fp8.cpp): the skip without a
// GPU, timing with CUDA events into Google Benchmark's manual time, zeroed and random device buffers.
#pragma once

#include <benchmark/benchmark.h>
#include <cuda_runtime.h>
#include <curand.h>

#include <string>

#include "frugal/kernels/device.hpp"

namespace frugal::bench {

inline bool skip_without_gpu(benchmark::State& state) {
  std::string why;
  if (frugal::kernels::gpu_available(&why)) return false;
  state.SkipWithError(why.c_str());
  return true;
}

// Times `launch` with CUDA events, reports GB/s for `bytes` per iteration.
template <class Launch>
void run_timed(benchmark::State& state, double bytes, Launch launch) {
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  launch();  // warm-up
  for (auto _ : state) {
    cudaEventRecord(start);
    launch();
    cudaEventRecord(stop);
    cudaEventSynchronize(stop);
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    state.SetIterationTime(ms / 1e3);
  }
  state.counters["GB/s"] = benchmark::Counter(bytes * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
  state.counters["bytes"] = bytes;
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
}

template <class T>
T* device_alloc(std::size_t n) {
  T* p = nullptr;
  cudaMalloc(&p, n * sizeof(T));
  cudaMemset(p, 0, n * sizeof(T));
  return p;
}

// n fp32 values N(0, std²) on the device, from cuRAND (n even, as its normal generator needs).
inline float* random_normal(std::size_t n, unsigned long long seed, float std = 1.0f) {
  float* x = device_alloc<float>(n);
  curandGenerator_t generator;
  curandCreateGenerator(&generator, CURAND_RNG_PSEUDO_DEFAULT);
  curandSetPseudoRandomGeneratorSeed(generator, seed);
  curandGenerateNormal(generator, x, n, 0.0f, std);
  curandDestroyGenerator(generator);
  return x;
}

}  // namespace frugal::bench
