// Fused loss benchmarks, part of bench_kernels: cross-entropy and distillation, forward
// and backward, at DeepSeek-V3's vocabulary (129,280) for 4,096 and 16,384 rows, in GB/s of the
// minimal traffic — the logits read once and the gradient written over them once (distillation:
// the teacher's logits read once too) — so that scripts/gpu-check.sh reports the fraction of the
// copy bandwidth (target: ≥ 70%, kernels/README.md). v2 reads the logits twice (losses.hpp), so its
// ceiling on this measure is 2/3 of the copy rate for cross-entropy and 3/5 for distillation; v3
// (sm_90) moves the minimal traffic. traffic_GB/s counts what each really moves (losses.hpp's
// table). The versions come from kLossVersions. Skipped without a GPU.
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
  CUDA_CHECK(cudaMemcpy(targets, host.data(), host.size() * sizeof(int), cudaMemcpyHostToDevice));
  return targets;
}

// The version of kLossVersions numbered by argument 0, labelled; nullptr (skipped, with the
// reason) without a GPU or where it cannot run on `shape`.
const LossVersion* loss_version(benchmark::State& state, const LossShape& shape) {
  if (skip_without_gpu(state)) return nullptr;
  const LossVersion& version = version_numbered(kLossVersions, static_cast<int>(state.range(0)), "loss");
  state.SetLabel(version.name);
  return skip_unless_runnable(state, version, shape) ? nullptr : &version;
}

void BM_CrossEntropy(benchmark::State& state) {
  const int rows = static_cast<int>(state.range(1));
  const LossShape shape{rows, kVocabulary};
  const LossVersion* version = loss_version(state, shape);
  if (!version) return;
  const std::size_t n = static_cast<std::size_t>(rows) * kVocabulary;
  float *logits = random_normal(n, 1, 2.0f), *loss = device_alloc<float>(static_cast<std::size_t>(rows)), *lse = device_alloc<float>(static_cast<std::size_t>(rows));
  int *targets = targets_for(rows), *valid = device_alloc<int>(1);
  const CrossEntropyOutputs out{loss, lse, valid};
  run_timed(state, 2.0 * 4.0 * static_cast<double>(n), [&] { version->cross_entropy(shape, logits, targets, 1.0f, out, nullptr); });
  // What actually crosses HBM (losses.hpp's table).
  state.counters["traffic_GB/s"] = benchmark::Counter(static_cast<double>(version->cross_entropy_passes) * 4.0 * static_cast<double>(n) *
                                                          static_cast<double>(state.iterations()) / 1e9,
                                                      benchmark::Counter::kIsRate);
  device_free(logits, loss, lse, targets, valid);
}
BENCHMARK(BM_CrossEntropy)
    ->Apply([](benchmark::internal::Benchmark* b) { add_versions(b, kLossVersions, {4096, 16384}, {4096}); })
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

void BM_Distillation(benchmark::State& state) {
  const int rows = static_cast<int>(state.range(1));
  const LossShape shape{rows, kVocabulary};
  const LossVersion* version = loss_version(state, shape);
  if (!version) return;
  const std::size_t n = static_cast<std::size_t>(rows) * kVocabulary;
  float *student = random_normal(n, 2, 2.0f), *teacher = random_normal(n, 3, 2.0f);
  float *soft = device_alloc<float>(static_cast<std::size_t>(rows)), *hard = device_alloc<float>(static_cast<std::size_t>(rows)),
        *lse = device_alloc<float>(3 * static_cast<std::size_t>(rows));
  int *targets = targets_for(rows), *valid = device_alloc<int>(1);
  const DistillationOutputs out{soft, hard, lse, valid};
  run_timed(state, 3.0 * 4.0 * static_cast<double>(n),
            [&] { version->distillation(shape, student, teacher, targets, {2.0f, 0.5f}, out, nullptr); });
  // What actually crosses HBM (losses.hpp's table).
  state.counters["traffic_GB/s"] = benchmark::Counter(static_cast<double>(version->distillation_passes) * 4.0 * static_cast<double>(n) *
                                                          static_cast<double>(state.iterations()) / 1e9,
                                                      benchmark::Counter::kIsRate);
  device_free(student, teacher, soft, hard, lse, targets, valid);
}
BENCHMARK(BM_Distillation)
    ->Apply([](benchmark::internal::Benchmark* b) { add_versions(b, kLossVersions, {4096, 16384}, {4096}); })
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
