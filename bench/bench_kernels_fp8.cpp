// FP8 kernel benchmarks, part of bench_kernels:
//   BM_Fp8Quantize       — quantise 4096 × 7168 fp32 to E4M3 (1×128 tiles, 128×128 blocks), GB/s
//                          against the copy bandwidth (BM_DeviceCopy);
//   BM_Fp8Gemm           — the same shapes through cuBLAS BF16, cuBLASLt FP8 with per-tensor scales
//                          (with FP32 promotion, and with CUBLASLT_MATMUL_DESC_FAST_ACCUM: none), and
//                          this project's fine-grained FP8 GEMM v1 and v2: DeepSeek-V3's shapes (M = 4096;
//                          N×K = 7168×16384, 4096×7168, 2112×7168 — the N, K of DeepGEMM's README table)
//                          and decode shapes (M = 64, 128), v3 (wgmma) on a Hopper. TFLOP/s, and the numerics: each result's
//                          error against the exact product of the fp32 operands on 16 × 16 sampled
//                          outputs, beside the CPU emulation's on the same samples (core's decode of
//                          the same codes, exact sums: FP8's own error) and, on cuBLASLt's run without
//                          promotion, core's accumulator model (ISCA'25 §3.1.1) with and without it;
//   BM_Fp8GemmGrouped    — 8 experts' gate+up projections (N = 4096, K = 7168) in the contiguous layout:
//                          v2 and v3 grouped against cuBLASLt FP8 called once per expert.
// Operands are N(0, 1) from cuRAND, quantised on the device by fp8_quantize_v2. Our versions come
// from kFp8QuantizeVersions and kFp8GemmVersions. Skipped without a GPU, as is a version this GPU
// cannot run (with the reason).
#include <benchmark/benchmark.h>
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "frugal/core/fp8_format.hpp"
#include "frugal/core/fp8_gemm.hpp"
#include "frugal/kernels/convert.hpp"
#include "frugal/kernels/fp8_gemm.hpp"
#include "frugal/kernels/fp8_quantize.hpp"
#include "gpu_bench_support.hpp"

namespace {
using namespace frugal::kernels;
using namespace frugal::bench;

template <class T>
std::vector<T> to_host(const T* device, std::size_t n) {
  std::vector<T> host(n);
  CUDA_CHECK(cudaMemcpy(host.data(), device, n * sizeof(T), cudaMemcpyDeviceToHost));
  return host;
}

// One operand, fp32 and its FP8 forms: fine-grained codes and scales (`tiling`), per-tensor codes
// with their one scale (the largest tile scale is amax / 448 of the whole tensor), and bf16.
struct Operand {
  int rows, cols;
  float* fp32;
  std::uint8_t* codes;
  float* scales;
  std::uint8_t* tensor_codes;
  float* tensor_scale;  // device, one float
  float tensor_scale_host = 1;
  __nv_bfloat16* bf16;
  Fp8QuantizeShape shape;

  Operand(int r, int c, Fp8Tiling tiling, unsigned long long seed) : rows(r), cols(c), shape{r, c, tiling, Fp8ScaleFormat::fp32} {
    const std::size_t n = static_cast<std::size_t>(r) * c, n_scales = static_cast<std::size_t>(fp8_scale_rows(shape)) * fp8_scale_cols(shape);
    fp32 = random_normal(n, seed);
    codes = device_alloc<std::uint8_t>(n);
    tensor_codes = device_alloc<std::uint8_t>(n);
    scales = device_alloc<float>(n_scales);
    tensor_scale = device_alloc<float>(1);
    bf16 = device_alloc<__nv_bfloat16>(n);
    fp8_quantize_v2(shape, fp32, codes, scales);
    const std::vector<float> host_scales = to_host(scales, n_scales);
    tensor_scale_host = *std::max_element(host_scales.begin(), host_scales.end());
    CUDA_CHECK(cudaMemcpy(tensor_scale, &tensor_scale_host, sizeof(float), cudaMemcpyHostToDevice));
    fp8_quantize_with_scale(static_cast<long long>(n), fp32, tensor_scale_host, tensor_codes);
    convert_to_bf16(static_cast<long long>(n), fp32, bf16);
  }
  ~Operand() {
    for (void* p : {static_cast<void*>(fp32), static_cast<void*>(codes), static_cast<void*>(scales), static_cast<void*>(tensor_codes),
                    static_cast<void*>(tensor_scale), static_cast<void*>(bf16)})
      CUDA_CHECK_IN_DESTRUCTOR(cudaFree(p));
  }
  Operand(const Operand&) = delete;
  Operand& operator=(const Operand&) = delete;
};

// ---- quantise ---------------------------------------------------------------------------------
// Argument 0: the version's number in kFp8QuantizeVersions; argument 1: 0 for 1×128 tiles, 1 for 128×128 blocks.
void BM_Fp8Quantize(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const Fp8QuantizeVersion& version = version_numbered(kFp8QuantizeVersions, static_cast<int>(state.range(0)), "FP8 quantise");
  const Fp8QuantizeShape shape{4096, 7168, state.range(1) == 0 ? Fp8Tiling::tile_1x128 : Fp8Tiling::block_128x128};
  state.SetLabel(std::string(version.name) + (state.range(1) == 0 ? ", 1x128" : ", 128x128"));
  if (skip_unless_runnable(state, version, shape)) return;
  const std::size_t n = static_cast<std::size_t>(shape.rows) * shape.cols, n_scales = static_cast<std::size_t>(fp8_scale_rows(shape)) * fp8_scale_cols(shape);
  float* x = random_normal(n, 1);
  std::uint8_t* codes = device_alloc<std::uint8_t>(n);
  float* scales = device_alloc<float>(n_scales);
  run_timed(state, 5.0 * static_cast<double>(n) + 4.0 * static_cast<double>(n_scales),
            [&] { version.launch(shape, x, codes, scales, nullptr); });
  device_free(x, codes, scales);
}
BENCHMARK(BM_Fp8Quantize)
    ->Apply([](benchmark::internal::Benchmark* b) { add_versions(b, kFp8QuantizeVersions, {0, 1}, {0, 1}); })
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// ---- cuBLASLt FP8 with per-tensor scales ------------------------------------------------------
// Row-major C (M×N) = A (M×K) · Bᵀ (B: N×K) is column-major Cᵀ (N×M) = op(B') · A' with B' the
// column-major K×N view of B transposed ("TN", the only layout cuBLASLt's FP8 kernels take).
class CublasLtFp8Gemm {
 public:
  CublasLtFp8Gemm(int m, int n, int k, bool fast_accumulation) {
    cublasLtCreate(&handle_);
    cublasLtMatmulDescCreate(&op_, CUBLAS_COMPUTE_32F, CUDA_R_32F);
    const cublasOperation_t transpose = CUBLAS_OP_T, keep = CUBLAS_OP_N;
    cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof transpose);
    cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_TRANSB, &keep, sizeof keep);
    const std::int8_t fast = fast_accumulation ? 1 : 0;
    cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &fast, sizeof fast);
    cublasLtMatrixLayoutCreate(&a_, CUDA_R_8F_E4M3, k, n, k);
    cublasLtMatrixLayoutCreate(&b_, CUDA_R_8F_E4M3, k, m, k);
    cublasLtMatrixLayoutCreate(&c_, CUDA_R_16BF, n, m, n);
    CUDA_CHECK(cudaMalloc(&workspace_, kWorkspace));
    cublasLtMatmulPreference_t preference;
    cublasLtMatmulPreferenceCreate(&preference);
    cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &kWorkspace, sizeof kWorkspace);
    int found = 0;
    cublasLtMatmulAlgoGetHeuristic(handle_, op_, a_, b_, c_, c_, preference, 1, &heuristic_, &found);
    available_ = found > 0;
    cublasLtMatmulPreferenceDestroy(preference);
  }
  ~CublasLtFp8Gemm() {
    CUDA_CHECK_IN_DESTRUCTOR(cudaFree(workspace_));
    cublasLtMatrixLayoutDestroy(a_);
    cublasLtMatrixLayoutDestroy(b_);
    cublasLtMatrixLayoutDestroy(c_);
    cublasLtMatmulDescDestroy(op_);
    cublasLtDestroy(handle_);
  }
  CublasLtFp8Gemm(const CublasLtFp8Gemm&) = delete;
  CublasLtFp8Gemm& operator=(const CublasLtFp8Gemm&) = delete;
  bool available() const { return available_; }

  // a: M×K codes, b: N×K codes, each with its device scale; c: M×N bf16.
  cublasStatus_t run(const std::uint8_t* a, const float* a_scale, const std::uint8_t* b, const float* b_scale, __nv_bfloat16* c) {
    cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &b_scale, sizeof b_scale);
    cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &a_scale, sizeof a_scale);
    const float one = 1.0f, zero = 0.0f;
    return cublasLtMatmul(handle_, op_, &one, b, a_, a, b_, &zero, c, c_, c, c_, &heuristic_.algo, workspace_, kWorkspace, nullptr);
  }

 private:
  static constexpr std::size_t kWorkspace = std::size_t{32} << 20;
  cublasLtHandle_t handle_ = nullptr;
  cublasLtMatmulDesc_t op_ = nullptr;
  cublasLtMatrixLayout_t a_ = nullptr, b_ = nullptr, c_ = nullptr;
  cublasLtMatmulHeuristicResult_t heuristic_{};
  void* workspace_ = nullptr;
  bool available_ = false;
};

// ---- numerics on sampled outputs --------------------------------------------------------------
// 16 rows × 16 columns spread over C; errors are ‖ĉ − c‖ / ‖c‖ over those 256 outputs.
struct Samples {
  std::vector<int> rows, cols;
  std::vector<double> exact;  // from the fp32 operands, in double
  std::vector<double> fp8;    // from the fine-grained codes and scales, decoded by core, in double

  Samples(const Operand& a, const Operand& b) {
    for (int i = 0; i < 16; ++i) {
      rows.push_back(static_cast<int>((static_cast<long long>(a.rows) * (2 * i + 1)) / 32));
      cols.push_back(static_cast<int>((static_cast<long long>(b.rows) * (2 * i + 1)) / 32));
    }
    const std::vector<SampledRow> a_rows = sampled_rows(a, rows), b_rows = sampled_rows(b, cols);
    for (const SampledRow& x : a_rows)
      for (const SampledRow& y : b_rows) {
        double exact = 0, fp8 = 0;
        for (std::size_t j = 0; j < x.fp32.size(); ++j) {
          exact += x.fp32[j] * y.fp32[j];
          fp8 += x.dequantised[j] * y.dequantised[j];
        }
        this->exact.push_back(exact);
        this->fp8.push_back(fp8);
      }
  }

  // One operand row, fetched once: its fp32 values and its fine-grained FP8 values (core's decode of
  // each code times its tile's scale).
  struct SampledRow {
    std::vector<double> fp32, dequantised;
  };
  static std::vector<SampledRow> sampled_rows(const Operand& o, const std::vector<int>& which) {
    const int k = o.cols, scale_cols = fp8_scale_cols(o.shape);
    const std::vector<float> scales = to_host(o.scales, static_cast<std::size_t>(fp8_scale_rows(o.shape)) * scale_cols);
    std::vector<SampledRow> out;
    for (int row : which) {
      const std::vector<float> x = to_host(o.fp32 + static_cast<std::size_t>(row) * k, static_cast<std::size_t>(k));
      const std::vector<std::uint8_t> codes = to_host(o.codes + static_cast<std::size_t>(row) * k, static_cast<std::size_t>(k));
      const int scale_row = o.shape.tiling == Fp8Tiling::tile_1x128 ? row : row / kFp8Tile;
      SampledRow r;
      for (int j = 0; j < k; ++j) {
        r.fp32.push_back(x[static_cast<std::size_t>(j)]);
        r.dequantised.push_back(frugal::core::fp8_decode(codes[static_cast<std::size_t>(j)], frugal::core::kE4M3) *
                                scales[static_cast<std::size_t>(scale_row * scale_cols + j / kFp8Tile)]);
      }
      out.push_back(std::move(r));
    }
    return out;
  }

  static double error(const std::vector<double>& got, const std::vector<double>& want) {
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      diff += (got[i] - want[i]) * (got[i] - want[i]);
      norm += want[i] * want[i];
    }
    return std::sqrt(diff / norm);
  }
  // The sampled outputs of a bf16 C (M×N on the device).
  std::vector<double> read(const __nv_bfloat16* c, int n) const {
    std::vector<double> out;
    for (int r : rows) {
      const std::vector<__nv_bfloat16> row = to_host(c + static_cast<std::size_t>(r) * n, static_cast<std::size_t>(n));
      for (int col : cols) out.push_back(__bfloat162float(row[static_cast<std::size_t>(col)]));
    }
    return out;
  }
};

// ---- the GEMMs --------------------------------------------------------------------------------
struct GemmShape {
  int m, n, k;
};
const GemmShape kGemmShapes[] = {{4096, 7168, 16384}, {4096, 4096, 7168}, {4096, 2112, 7168}, {64, 2112, 7168}, {128, 7168, 16384}};
// Argument 0: the baselines 0 to 2, then this project's versions from kFirstOurs on (version v is
// kFirstOurs + v − 1: 3, 4, 5 for v1, v2, v3).
enum Implementation { cublas_bf16, cublaslt_fp8, cublaslt_fp8_fast_accumulation, kFirstOurs };
const char* const kBaselineNames[] = {"cuBLAS BF16", "cuBLASLt FP8 per-tensor", "cuBLASLt FP8 per-tensor, fast accumulation"};

// This project's version behind an implementation number, or nullptr for a baseline.
const Fp8GemmVersion* our_version(int implementation) {
  return implementation < kFirstOurs ? nullptr : &version_numbered(kFp8GemmVersions, implementation - kFirstOurs + 1, "FP8 GEMM");
}
std::string implementation_name(int implementation) {
  const Fp8GemmVersion* ours = our_version(implementation);
  return ours ? ours->name : kBaselineNames[implementation];
}

void BM_Fp8Gemm(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const int implementation = static_cast<int>(state.range(0));
  const Fp8GemmVersion* ours = our_version(implementation);
  const GemmShape shape = kGemmShapes[state.range(1)];
  state.SetLabel(implementation_name(implementation));
  if (ours && skip_unless_runnable(state, *ours, Fp8GemmShape{shape.m, shape.n, shape.k})) return;
  const Operand a(shape.m, shape.k, Fp8Tiling::tile_1x128, 11), b(shape.n, shape.k, Fp8Tiling::block_128x128, 12);
  __nv_bfloat16* c = device_alloc<__nv_bfloat16>(static_cast<std::size_t>(shape.m) * shape.n);
  const Fp8GemmShape fp8_shape{shape.m, shape.n, shape.k};
  const Fp8GemmOperands operands{a.codes, a.scales, b.codes, b.scales, nullptr, c};
  cublasHandle_t cublas = nullptr;
  if (implementation == cublas_bf16 && cublasCreate(&cublas) != CUBLAS_STATUS_SUCCESS) return state.SkipWithError("cublasCreate failed");
  CublasLtFp8Gemm lt(shape.m, shape.n, shape.k, implementation == cublaslt_fp8_fast_accumulation);
  const bool uses_lt = implementation == cublaslt_fp8 || implementation == cublaslt_fp8_fast_accumulation;
  if (uses_lt && !lt.available()) {
    state.SkipWithError("cuBLASLt has no FP8 algorithm for this GPU and shape");
  } else {
    const float one = 1.0f, zero = 0.0f;
    const double bytes = static_cast<double>(shape.m + shape.n) * shape.k * (implementation == cublas_bf16 ? 2 : 1) + 2.0 * shape.m * shape.n;
    run_timed(state, bytes, [&] {
      if (ours) return ours->launch(fp8_shape, operands, nullptr);
      switch (implementation) {
        case cublas_bf16:
          cublasGemmEx(cublas, CUBLAS_OP_T, CUBLAS_OP_N, shape.n, shape.m, shape.k, &one, b.bf16, CUDA_R_16BF, shape.k, a.bf16, CUDA_R_16BF,
                       shape.k, &zero, c, CUDA_R_16BF, shape.n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
          break;
        case cublaslt_fp8:
        case cublaslt_fp8_fast_accumulation:
          lt.run(a.tensor_codes, a.tensor_scale, b.tensor_codes, b.tensor_scale, c);
          break;
      }
    });
    state.counters["TFLOP/s"] = benchmark::Counter(2.0 * shape.m * shape.n * shape.k * static_cast<double>(state.iterations()) / 1e12,
                                                   benchmark::Counter::kIsRate);
    const Samples samples(a, b);
    state.counters["error_vs_exact"] = Samples::error(samples.read(c, shape.n), samples.exact);
    state.counters["cpu_fp8_error_vs_exact"] = Samples::error(samples.fp8, samples.exact);
    if (implementation == cublaslt_fp8_fast_accumulation) {
      // Beside the GPU's run without promotion, core's accumulator model (ISCA'25 §3.1.1) at this K,
      // with and without promotion every 128 (it depends on K only: computed once per shape).
      const frugal::core::AccumulatorModel without{13, 32, 0}, with{13, 32, 128};
      state.counters["cpu_model_error_no_promotion"] = frugal::core::accumulation_error(8, 8, shape.k, without, 5).relative_error;
      state.counters["cpu_model_error_promotion_128"] = frugal::core::accumulation_error(8, 8, shape.k, with, 5).relative_error;
    }
  }
  if (cublas) cublasDestroy(cublas);
  device_free(c);
}
BENCHMARK(BM_Fp8Gemm)
    ->ArgsProduct({{cublas_bf16, cublaslt_fp8, cublaslt_fp8_fast_accumulation}, {0, 1, 2, 3, 4}})
    // every version at each shape, v1 (dequantising, slow) at the decode shape (3) only
    ->Apply([](benchmark::internal::Benchmark* b) { add_versions(b, kFp8GemmVersions, {0, 1, 2, 3, 4}, {3}, kFirstOurs); })
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// ---- grouped: 8 experts, contiguous layout ----------------------------------------------------
void BM_Fp8GemmGrouped(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const int implementation = static_cast<int>(state.range(0));
  const Fp8GemmVersion* ours = our_version(implementation);
  const int experts = 8, per_expert = static_cast<int>(state.range(1)), m = experts * per_expert, n = 4096, k = 7168;
  state.SetLabel(ours ? std::string(ours->name) + " grouped" : "cuBLASLt FP8 per expert");
  if (ours && skip_unless_runnable(state, *ours, Fp8GemmShape{m, n, k, experts})) return;
  const Operand a(m, k, Fp8Tiling::tile_1x128, 21);
  const Operand b(experts * n, k, Fp8Tiling::block_128x128, 22);  // experts × N × K; N a multiple of 128, so blocks stay per expert
  __nv_bfloat16* c = device_alloc<__nv_bfloat16>(static_cast<std::size_t>(m) * n);
  std::vector<int> offsets;
  for (int e = 0; e <= experts; ++e) offsets.push_back(e * per_expert);
  int* d_offsets = device_alloc<int>(offsets.size());
  CUDA_CHECK(cudaMemcpy(d_offsets, offsets.data(), offsets.size() * sizeof(int), cudaMemcpyHostToDevice));
  CublasLtFp8Gemm lt(per_expert, n, k, false);
  if (!ours && !lt.available()) {
    state.SkipWithError("cuBLASLt has no FP8 algorithm for this GPU and shape");
  } else {
    run_timed(state, static_cast<double>(m + experts * n) * k + 2.0 * m * n, [&] {
      if (ours) return ours->launch({m, n, k, experts}, {a.codes, a.scales, b.codes, b.scales, d_offsets, c}, nullptr);
      for (int e = 0; e < experts; ++e)
        lt.run(a.tensor_codes + static_cast<std::size_t>(e) * per_expert * k, a.tensor_scale, b.tensor_codes + static_cast<std::size_t>(e) * n * k,
               b.tensor_scale, c + static_cast<std::size_t>(e) * per_expert * n);
    });
    state.counters["TFLOP/s"] = benchmark::Counter(2.0 * m * n * k * static_cast<double>(state.iterations()) / 1e12, benchmark::Counter::kIsRate);
  }
  device_free(c, d_offsets);
}
BENCHMARK(BM_Fp8GemmGrouped)
    ->ArgsProduct({{cublaslt_fp8}, {128, 512, 4096}})
    // every version but v1 (dequantising: far too slow at these sizes) at each size
    ->Apply([](benchmark::internal::Benchmark* b) { add_versions(b, kFp8GemmVersions, {128, 512, 4096}, {}, kFirstOurs); })
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
