// Fused loss benchmarks (issue 12), part of bench_kernels: cross-entropy and distillation, forward
// and backward, at DeepSeek-V3's vocabulary (129,280) for 4,096 and 16,384 rows, in GB/s of the
// minimal traffic — the logits read once and the gradient written over them once (distillation:
// the teacher's logits read once too) — so that scripts/gpu-check.sh reports the fraction of the
// copy bandwidth (issue 12's target: ≥ 70%). v2 reads the logits twice (losses.hpp), so its
// ceiling on this measure is 2/3 of the copy rate for cross-entropy and 3/5 for distillation; v3
// (sm_90) moves the minimal traffic. traffic_GB/s counts what each really moves.
// Skipped without a GPU.
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "frugal/kernels/losses.hpp"
#include "gpu_bench_support.hpp"

namespace {
using namespace frugal::kernels;
using namespace frugal::bench;

constexpr int kVocabulary = 129280;  // DeepSeek-V3 config.json: vocab_size

int* targets_for(int rows) {
  std::vector<int> host;
  for (int r = 0; r < rows; ++r) host.push_back((r * 7919) % kVocabulary);
  int* targets = device_alloc<int>(host.size());
  cudaMemcpy(targets, host.data(), host.size() * sizeof(int), cudaMemcpyHostToDevice);
  return targets;
}

// True (the benchmark skipped, with the reason) without a GPU, or for v3 without clusters.
bool skip_version(benchmark::State& state, int version) {
  if (skip_without_gpu(state)) return true;
  std::string why;
  if (version != 3 || thread_block_clusters_available(&why)) return false;
  state.SkipWithError(why.c_str());
  return true;
}

void BM_CrossEntropy(benchmark::State& state) {
  const int version = static_cast<int>(state.range(0)), rows = static_cast<int>(state.range(1));
  if (skip_version(state, version)) return;
  const LossShape shape{rows, kVocabulary};
  const std::size_t n = static_cast<std::size_t>(rows) * kVocabulary;
  float *logits = random_normal(n, 1, 2.0f), *loss = device_alloc<float>(static_cast<std::size_t>(rows)), *lse = device_alloc<float>(static_cast<std::size_t>(rows));
  int *targets = targets_for(rows), *valid = device_alloc<int>(1);
  const CrossEntropyOutputs out{loss, lse, valid};
  const auto cross_entropy = version == 1 ? cross_entropy_v1 : version == 2 ? cross_entropy_v2 : cross_entropy_v3;
  run_timed(state, 2.0 * 4.0 * static_cast<double>(n), [&] { cross_entropy(shape, logits, targets, 1.0f, out, nullptr); });
  // What actually crosses HBM: v1 reads each row three times and writes it once, v2 reads twice, v3 once.
  state.counters["traffic_GB/s"] = benchmark::Counter(static_cast<double>(version == 1 ? 4 : version == 2 ? 3 : 2) * 4.0 * static_cast<double>(n) *
                                                          static_cast<double>(state.iterations()) / 1e9,
                                                      benchmark::Counter::kIsRate);
  const char* const labels[] = {"", "v1 thread per row", "v2 online, block per row", "v3 cluster of 8 holds the row"};
  state.SetLabel(labels[version]);
  for (void* p : {static_cast<void*>(logits), static_cast<void*>(loss), static_cast<void*>(lse), static_cast<void*>(targets), static_cast<void*>(valid)})
    cudaFree(p);
}
BENCHMARK(BM_CrossEntropy)->ArgsProduct({{2, 3}, {4096, 16384}})->Args({1, 4096})->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_Distillation(benchmark::State& state) {
  const int version = static_cast<int>(state.range(0)), rows = static_cast<int>(state.range(1));
  if (skip_version(state, version)) return;
  const LossShape shape{rows, kVocabulary};
  const std::size_t n = static_cast<std::size_t>(rows) * kVocabulary;
  float *student = random_normal(n, 2, 2.0f), *teacher = random_normal(n, 3, 2.0f);
  float *soft = device_alloc<float>(static_cast<std::size_t>(rows)), *hard = device_alloc<float>(static_cast<std::size_t>(rows)),
        *lse = device_alloc<float>(3 * static_cast<std::size_t>(rows));
  int *targets = targets_for(rows), *valid = device_alloc<int>(1);
  const DistillationOutputs out{soft, hard, lse, valid};
  const auto distillation = version == 1 ? distillation_v1 : version == 2 ? distillation_v2 : distillation_v3;
  run_timed(state, 3.0 * 4.0 * static_cast<double>(n), [&] { distillation(shape, student, teacher, targets, {2.0f, 0.5f}, out, nullptr); });
  // v1 reads the student and teacher twice for the statistics and once more for the gradient; v2 once
  // and once; v3 once.
  state.counters["traffic_GB/s"] = benchmark::Counter(static_cast<double>(version == 1 ? 7 : version == 2 ? 5 : 3) * 4.0 * static_cast<double>(n) *
                                                          static_cast<double>(state.iterations()) / 1e9,
                                                      benchmark::Counter::kIsRate);
  const char* const labels[] = {"", "v1 thread per row", "v2 online, block per row", "v3 cluster of 8 holds the rows"};
  state.SetLabel(labels[version]);
  for (void* p : {static_cast<void*>(student), static_cast<void*>(teacher), static_cast<void*>(soft), static_cast<void*>(hard),
                  static_cast<void*>(lse), static_cast<void*>(targets), static_cast<void*>(valid)})
    cudaFree(p);
}
BENCHMARK(BM_Distillation)->ArgsProduct({{2, 3}, {4096, 16384}})->Args({1, 4096})->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
