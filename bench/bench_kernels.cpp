// GPU kernel benchmarks (kernels/): each version's achieved GB/s on DeepSeek-V3's shapes, next to
// the measured roofline — a device-to-device copy, BM_DeviceCopy — so that scripts/gpu-check.sh can
// report the fraction of HBM bandwidth (target: ≥ 60% for gating and permute/combine, kernels/README.md).
// Bytes counted are the minimal traffic: each input read once, each output written once.
// Each family's versions come from its table (kernel_version.hpp): argument 0 is the version's
// number. Without a GPU every benchmark skips with the reason, as does a version this GPU cannot run.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "frugal/kernels/device.hpp"
#include "frugal/kernels/dispatch.hpp"
#include "frugal/kernels/gating.hpp"
#include "frugal/kernels/grouped_gemm_problem.hpp"
#include "frugal/kernels/moe_layout.hpp"
#include "gpu_bench_support.hpp"

namespace {
using namespace frugal::kernels;
using namespace frugal::bench;

// The roofline: read + write of a 1 GiB buffer.
void BM_DeviceCopy(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const std::size_t n = std::size_t{1} << 30;
  char *a = device_alloc<char>(n), *b = device_alloc<char>(n);
  run_timed(state, 2.0 * static_cast<double>(n), [&] { CUDA_CHECK(cudaMemcpyAsync(b, a, n, cudaMemcpyDeviceToDevice)); });
  device_free(a, b);
}
BENCHMARK(BM_DeviceCopy)->UseManualTime()->Unit(benchmark::kMicrosecond);

// Gating at V3's shape: 16,384 tokens × 256 experts, 8 groups, keep 4, top-8.
void BM_Gating(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const GatingShape shape{16384, 256, 8, 4, 8, true, true, 2.5f};
  const GatingVersion& version = version_numbered(kGatingVersions, static_cast<int>(state.range(0)), "gating");
  state.SetLabel(version.name);
  if (skip_unless_runnable(state, version, shape)) return;
  const std::size_t scores_n = static_cast<std::size_t>(shape.tokens) * shape.experts, picks = static_cast<std::size_t>(shape.tokens) * shape.top_k;
  float *logits = device_alloc<float>(scores_n), *bias = device_alloc<float>(256), *scores = device_alloc<float>(scores_n),
        *weights = device_alloc<float>(picks);
  int* chosen = device_alloc<int>(picks);
  const double bytes = 2.0 * static_cast<double>(scores_n) * 4 + static_cast<double>(picks) * 8 + 256 * 4;
  run_timed(state, bytes, [&] { version.launch(shape, logits, bias, scores, chosen, weights, nullptr); });
  device_free(logits, bias, scores, weights, chosen);
}
BENCHMARK(BM_Gating)
    ->Apply([](benchmark::internal::Benchmark* b) { add_versions(b, kGatingVersions); })
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// Permute and combine at V3's shape: 4,096 tokens × top-8, hidden 7168, fp32 rows, tile 128.
constexpr DispatchShape kPermuteShape{4096, 8, 7168};
struct PermuteData {
  int tokens = kPermuteShape.tokens, k = kPermuteShape.k, hidden = kPermuteShape.hidden, experts = 256;
  float *x = nullptr, *rows = nullptr, *weights = nullptr, *out = nullptr;
  int* positions = nullptr;
  PermuteData() {
    std::vector<int> chosen;
    for (int t = 0; t < tokens; ++t)
      for (int j = 0; j < k; ++j) chosen.push_back((t * 37 + j * 101) % experts);
    const DispatchPlan plan = plan_dispatch(chosen, experts, 128);
    const std::vector<int> host_positions = dispatch_positions(chosen, plan);
    positions = device_alloc<int>(host_positions.size());
    CUDA_CHECK(cudaMemcpy(positions, host_positions.data(), host_positions.size() * sizeof(int), cudaMemcpyHostToDevice));
    x = device_alloc<float>(static_cast<std::size_t>(tokens) * hidden);
    out = device_alloc<float>(static_cast<std::size_t>(tokens) * hidden);
    rows = device_alloc<float>(static_cast<std::size_t>(plan.padded_rows()) * hidden);
    weights = device_alloc<float>(static_cast<std::size_t>(tokens) * k);
  }
  ~PermuteData() {
    for (void* p : {static_cast<void*>(x), static_cast<void*>(rows), static_cast<void*>(weights), static_cast<void*>(out),
                    static_cast<void*>(positions)})
      CUDA_CHECK_IN_DESTRUCTOR(cudaFree(p));
  }
  PermuteData(const PermuteData&) = delete;
  PermuteData& operator=(const PermuteData&) = delete;
};

// The version of kDispatchVersions numbered by argument 0, labelled; nullptr (skipped, with the
// reason) when it cannot run here on V3's shape.
const DispatchVersion* dispatch_version(benchmark::State& state) {
  if (skip_without_gpu(state)) return nullptr;
  const DispatchVersion& version = version_numbered(kDispatchVersions, static_cast<int>(state.range(0)), "dispatch");
  state.SetLabel(version.name);
  return skip_unless_runnable(state, version, kPermuteShape) ? nullptr : &version;
}

void BM_Permute(benchmark::State& state) {
  const DispatchVersion* version = dispatch_version(state);
  if (!version) return;
  PermuteData d;
  const double bytes = static_cast<double>(d.tokens) * d.hidden * 4 * (1 + d.k) + d.tokens * d.k * 4.0;
  run_timed(state, bytes, [&] { version->permute(d.tokens, d.k, d.hidden, d.x, d.positions, d.rows, nullptr); });
}
BENCHMARK(BM_Permute)
    ->Apply([](benchmark::internal::Benchmark* b) { add_versions(b, kDispatchVersions); })
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

void BM_Combine(benchmark::State& state) {
  const DispatchVersion* version = dispatch_version(state);
  if (!version) return;
  PermuteData d;
  const double bytes = static_cast<double>(d.tokens) * d.hidden * 4 * (1 + d.k) + d.tokens * d.k * 8.0;
  run_timed(state, bytes, [&] { version->combine(d.tokens, d.k, d.hidden, d.rows, d.positions, d.weights, d.out, nullptr); });
}
BENCHMARK(BM_Combine)
    ->Apply([](benchmark::internal::Benchmark* b) { add_versions(b, kDispatchVersions); })
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// The grouped GEMM on DeepSeek-V3's expert shapes: 8 experts × `tokens per expert` rows, hidden
// K = 7168, expert width N = 2048 (V3 report §4.2), bf16 in, fp32 accumulate. Implementation 0 is
// cuBLAS called once per expert (cublasGemmEx, bf16 × bf16 → fp32, fp32 compute), the throughput to
// reach half of; 1, 2, … are this project's versions, by their number in kGroupedGemmVersions (each
// where this GPU can run it); 9 is cuBLAS's grouped API (cublasGemmGroupedBatchedEx, CUDA 12.5+:
// every expert in one call).
constexpr int kCublasPerExpert = 0, kCublasGrouped = 9;
static_assert(kGroupedGemmVersions.size() < kCublasGrouped, "a version number would take cuBLAS grouped's argument");

void BM_GroupedGemm(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const int implementation = static_cast<int>(state.range(0));
  const bool ours = implementation != kCublasPerExpert && implementation != kCublasGrouped;
  const int per_expert = static_cast<int>(state.range(1));
  const int experts = 8, k = 7168, n = 2048;
  std::string label = implementation == kCublasPerExpert ? "cuBLAS per expert" : "cuBLAS grouped API";
  if (ours) {
    const GroupedGemmVersion& version = version_numbered(kGroupedGemmVersions, implementation, "grouped GEMM");
    label = version.name;
    state.SetLabel(label);
    if (skip_unless_runnable(state, version, GroupedGemmShape{experts, experts * per_expert, k, n})) return;
  }
  state.SetLabel(label);
  const GroupedGemmProblem p(experts, per_expert, k, n);  // per_expert: multiples of 128, no padding
  cublasHandle_t handle = nullptr;
  if (!ours && cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) return state.SkipWithError("cublasCreate failed");
  const float one = 1.0f, zero = 0.0f;
  // Row-major Y = X·W is column-major Yᵀ = Wᵀ·Xᵀ: cuBLAS's m = N, n = tokens per expert, k = K.
  const void* const* a_pointers = nullptr;
  const void* const* b_pointers = nullptr;
  void* const* c_pointers = nullptr;
  void** pointers = nullptr;
  if (implementation == kCublasGrouped) {  // one group of `experts` equal GEMMs: device arrays of operand pointers
    std::vector<void*> host;
    for (int e = 0; e < experts; ++e) host.push_back(const_cast<__nv_bfloat16*>(p.w()) + static_cast<std::size_t>(e) * k * n);
    for (int e = 0; e < experts; ++e) host.push_back(const_cast<__nv_bfloat16*>(p.x()) + static_cast<std::size_t>(e) * per_expert * k);
    for (int e = 0; e < experts; ++e) host.push_back(p.y() + static_cast<std::size_t>(e) * per_expert * n);
    pointers = device_alloc<void*>(host.size());
    CUDA_CHECK(cudaMemcpy(pointers, host.data(), host.size() * sizeof(void*), cudaMemcpyHostToDevice));
    a_pointers = pointers;
    b_pointers = pointers + experts;
    c_pointers = pointers + 2 * experts;
  }
  const cublasOperation_t no_transpose = CUBLAS_OP_N;
  const int group_m = n, group_n = per_expert, group_k = k, lda = n, ldb = k, ldc = n, group_size = experts;
  auto launch = [&]() -> cublasStatus_t {
    if (ours) {
      p.launch(implementation);
      return CUBLAS_STATUS_SUCCESS;
    }
    switch (implementation) {
      case kCublasGrouped:
        return cublasGemmGroupedBatchedEx(handle, &no_transpose, &no_transpose, &group_m, &group_n, &group_k, &one, a_pointers, CUDA_R_16BF,
                                          &lda, b_pointers, CUDA_R_16BF, &ldb, &zero, c_pointers, CUDA_R_32F, &ldc, 1, &group_size,
                                          CUBLAS_COMPUTE_32F);
      case kCublasPerExpert:
        for (int e = 0; e < experts; ++e) {
          const cublasStatus_t status = cublasGemmEx(
              handle, CUBLAS_OP_N, CUBLAS_OP_N, n, per_expert, k, &one, p.w() + static_cast<std::size_t>(e) * k * n, CUDA_R_16BF, n,
              p.x() + static_cast<std::size_t>(e) * per_expert * k, CUDA_R_16BF, k, &zero, p.y() + static_cast<std::size_t>(e) * per_expert * n,
              CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
          if (status != CUBLAS_STATUS_SUCCESS) return status;
        }
        return CUBLAS_STATUS_SUCCESS;
    }
    return CUBLAS_STATUS_INVALID_VALUE;
  };
  if (const cublasStatus_t status = launch(); status != CUBLAS_STATUS_SUCCESS) {
    state.SkipWithError((label + ": " + cublasGetStatusString(status)).c_str());
  } else {
    run_timed(state, p.bytes(), [&] { launch(); });
    state.counters["TFLOP/s"] = benchmark::Counter(p.flops() * static_cast<double>(state.iterations()) / 1e12, benchmark::Counter::kIsRate);
  }
  if (handle) cublasDestroy(handle);
  device_free(pointers);
}
BENCHMARK(BM_GroupedGemm)
    ->ArgsProduct({{kCublasPerExpert, kCublasGrouped}, {128, 512, 4096}})
    // every version at each shape, v1 (naive, 100× slower) at the smallest only
    ->Apply([](benchmark::internal::Benchmark* b) { add_versions(b, kGroupedGemmVersions, {128, 512, 4096}, {128}); })
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
