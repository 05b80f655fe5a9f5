// The CPU reference's speed targets (core/README.md, "Speed"), measured in one run so that the ratios are fair on
// a shared, noisy machine:
//   - Eigen's fp32 GEMM on a large square product: this machine's practical single-core peak;
//   - a training step of deepseek-v3-tiny (MoE) and of its dense counterpart: tokens/s, the matmul
//     FLOP rate inside the step, and the share of time spent outside matmuls;
//   - matmul_vs_large_gemm: the step's matmul rate as a fraction of the large GEMM's (target ≥ 0.6);
//   - the emulated FP8 GEMM (quantise A in 1×128 tiles and B in 128×128 blocks, then FP32 GEMM)
//     against the FP32 GEMM of the same shape: fp8_over_fp32 time ratio (target: ≤ 4);
//   - one FFN layer, forward + backward, dense against DeepSeekMoE at equal activated parameters
//     (frugal-bench compare ffn-layer), and the CPU reference of the GPU gating kernel on V3's
//     shape (4096 tokens × 256 experts, 8 groups keep 4, top-8) and of its dispatch (permute,
//     combine) and grouped GEMM: the baselines kernels/ is compared with (frugal-bench compare
//     *-cpu-vs-gpu, grouped-gemm).
#include <benchmark/benchmark.h>

#include <chrono>

#include "frugal/core/experiments.hpp"
#include "frugal/core/feed_forward.hpp"
#include "frugal/core/fp8_gemm.hpp"
#include "frugal/core/moe.hpp"
#include "frugal/core/random.hpp"
#include "frugal/core/router.hpp"
#include "frugal/core/timing.hpp"
#include "frugal/core/trainer.hpp"
#include "frugal/kernels/moe_layout.hpp"
#include "frugal/config/presets.hpp"

namespace {
using namespace frugal::core;
using frugal::ModelConfig;
using frugal::MoeConfig;

// FLOP/s of C = A·B for n×n×n in fp32, as Eigen runs it on one core.
double large_gemm_rate(Index n, int repetitions) {
  Matrix<float> a = Matrix<float>::Random(n, n), b = Matrix<float>::Random(n, n), c(n, n);
  c.noalias() = a * b;  // warm up
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < repetitions; ++r) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return 2.0 * static_cast<double>(n * n * n) * repetitions / seconds;
}

void BM_LargeSgemm(benchmark::State& state) {
  const Index n = state.range(0);
  Matrix<float> a = Matrix<float>::Random(n, n), b = Matrix<float>::Random(n, n), c(n, n);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(n * n * n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_LargeSgemm)->Arg(256)->Arg(1024)->Unit(benchmark::kMillisecond);

TrainOptions step_options() {
  TrainOptions o;
  o.steps = 1000000;  // never finishes: the benchmark decides how many steps
  o.batch_size = 16;
  o.seq_len = 64;
  o.eval_every = 0;
  return o;
}

ModelConfig tiny(bool moe) {
  const ModelConfig m = frugal::preset_model("deepseek-v3-tiny");
  return moe ? m : dense_counterpart(m);
}

// One optimizer step of the tiny model: forward, backward, clipping, AdamW, bias update.
void train_step_benchmark(benchmark::State& state, bool moe, bool compare_with_large_gemm) {
  Trainer trainer(tiny(moe), step_options());
  trainer.step();  // warm up (allocations)
  MatmulMeter& meter = matmul_meter();
  meter.timing = true;
  meter.reset();
  double step_seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    trainer.step();
    step_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  meter.timing = false;
  const double matmul_rate = meter.flops / meter.seconds;
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(trainer.tokens_per_step()), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["matmul_FLOP/s"] = matmul_rate;
  state.counters["outside_matmul"] = 1.0 - meter.seconds / step_seconds;
  if (compare_with_large_gemm) {
    const double peak = large_gemm_rate(1024, 5);
    state.counters["large_gemm_FLOP/s"] = peak;
    state.counters["matmul_vs_large_gemm"] = matmul_rate / peak;
  }
}
void BM_TrainStepMoe(benchmark::State& state) { train_step_benchmark(state, true, state.range(0) != 0); }
void BM_TrainStepDense(benchmark::State& state) { train_step_benchmark(state, false, state.range(0) != 0); }
BENCHMARK(BM_TrainStepMoe)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainStepDense)->Arg(1)->Unit(benchmark::kMillisecond);

// M×K times K×N: the emulated FP8 GEMM, with the FP32 GEMM of the same shape timed in the same run.
void BM_Fp8GemmVsFp32(benchmark::State& state) {
  const Index m = state.range(0), k = state.range(1), n = state.range(2);
  const Matrix<float> a = Matrix<float>::Random(m, k), b = Matrix<float>::Random(k, n);
  Matrix<float> c(m, n);
  for (auto _ : state) {
    fp8_gemm(c, a, b, {});
    benchmark::DoNotOptimize(c.data());
  }
  const double fp8 = seconds_per_call([&] { fp8_gemm(c, a, b, {}); }, 0.1);
  const double fp32 = seconds_per_call([&] { c.noalias() = a * b; }, 0.1);
  state.counters["fp8_FLOP/s"] = 2.0 * static_cast<double>(m * k * n) / fp8;
  state.counters["fp32_FLOP/s"] = 2.0 * static_cast<double>(m * k * n) / fp32;
  state.counters["fp8_over_fp32"] = fp8 / fp32;
}
BENCHMARK(BM_Fp8GemmVsFp32)
    ->Args({1024, 1024, 1024})  // a large square GEMM
    ->Args({1024, 64, 192})     // the tiny model's FFN up-projection: tokens × hidden × width
    ->Args({1024, 192, 64})     // …and its down-projection
    ->Unit(benchmark::kMillisecond);

// One FFN layer, forward + backward over `tokens` rows of width `hidden`: DeepSeekMoE (1 shared + 64
// routed experts of width 128, top-6 in 4 of 8 groups, sigmoid, aux-loss-free) against a dense
// SwiGLU FFN of width (1 + 6) × 128 = 896 — the same activated parameters, so the same matmul FLOPs
// per token: 3 matrices × 2 FLOPs × hidden × width forward, twice that backward.
constexpr Index kLayerHidden = 512, kLayerTokens = 2048, kExpertWidth = 128, kTopK = 6;

void set_layer_counters(benchmark::State& state) {
  const double flops = 18.0 * kLayerHidden * (1 + kTopK) * kExpertWidth * kLayerTokens;
  state.counters["tokens/s"] = benchmark::Counter(kLayerTokens, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["activated_FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_FfnLayerDense(benchmark::State& state) {
  Parameters<float> params;
  FeedForward<float> ffn(kLayerHidden, (1 + kTopK) * kExpertWidth, params, "ffn");
  params.allocate();
  Rng rng(3);
  ffn.init(params, rng, 0.02, 1);
  Matrix<float> x(kLayerTokens, kLayerHidden), y, dx;
  fill_normal(x, rng, 1.0);
  for (auto _ : state) {
    ffn.forward(y, x, params);
    ffn.backward(dx, y, params);
    benchmark::DoNotOptimize(dx.data());
  }
  set_layer_counters(state);
}
BENCHMARK(BM_FfnLayerDense)->Unit(benchmark::kMillisecond);

MoeConfig layer_moe() {
  MoeConfig m;
  m.routed_experts = 64;
  m.shared_experts = 1;
  m.top_k = kTopK;
  m.expert_intermediate_size = kExpertWidth;
  m.groups = 8;
  m.groups_per_token = 4;
  m.score_func = frugal::ScoreFunc::sigmoid;
  m.normalize_top_k = true;
  return m;
}

void BM_FfnLayerMoe(benchmark::State& state) {
  Parameters<float> params;
  MoeLayer<float> layer(layer_moe(), RouterOptions{}, kLayerHidden, params, "moe");
  params.allocate();
  Rng rng(3);
  layer.init(params, rng, 0.02, 1);
  Matrix<float> x(kLayerTokens, kLayerHidden), y, dx;
  fill_normal(x, rng, 1.0);
  for (auto _ : state) {
    layer.forward(y, x, 1, kLayerTokens, params);
    layer.backward(dx, y, params);
    benchmark::DoNotOptimize(dx.data());
  }
  set_layer_counters(state);
}
BENCHMARK(BM_FfnLayerMoe)->Unit(benchmark::kMillisecond);

// The CPU reference of kernels/gating: group-limited top-8 of 256 sigmoid scores (+ bias) for 4096
// tokens, V3's shape. Bytes: the scores read once, 8 ids written per token (bench_kernels counts
// the GPU versions' bytes the same way, from the logits).
void BM_CpuGatingTopK(benchmark::State& state) {
  MoeConfig moe;
  moe.routed_experts = 256;
  moe.top_k = 8;
  moe.groups = 8;
  moe.groups_per_token = 4;
  moe.score_func = frugal::ScoreFunc::sigmoid;
  const Index tokens = 4096;
  Rng rng(5);
  std::vector<float> scores(static_cast<std::size_t>(tokens * moe.routed_experts)), bias(static_cast<std::size_t>(moe.routed_experts));
  for (float& s : scores) s = static_cast<float>(rng.uniform());
  for (float& b : bias) b = static_cast<float>(0.01 * rng.normal());
  std::vector<int> chosen(static_cast<std::size_t>(tokens * moe.top_k));
  for (auto _ : state) {
    for (Index t = 0; t < tokens; ++t)
      route_top_k(scores.data() + t * moe.routed_experts, bias.data(), moe, chosen.data() + t * moe.top_k);
    benchmark::DoNotOptimize(chosen.data());
  }
  const double bytes = 4.0 * static_cast<double>(scores.size()) + 4.0 * static_cast<double>(chosen.size());
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_CpuGatingTopK)->Unit(benchmark::kMillisecond);

// The CPU reference of kernels/dispatch (the host plan and loops tests/kernels checks the GPU
// against): 4096 tokens × top-8 of 256 experts, rows of 1024 floats (the GPU benchmark's 7168 would
// need a 1 GB buffer here), no tile padding. Bytes as bench_kernels counts them: permute reads each
// token once and writes k rows, combine reads k rows and writes one, plus positions (and weights).
struct CpuDispatchData {
  static constexpr int tokens = 4096, k = 8, experts = 256;
  static constexpr Index hidden = 1024;
  Matrix<float> x, rows, out;
  std::vector<int> positions;
  std::vector<float> weights;
  CpuDispatchData() : x(tokens, hidden), rows(tokens * k, hidden), out(tokens, hidden), weights(tokens * k, 0.125f) {
    std::vector<int> chosen;
    for (int t = 0; t < tokens; ++t)
      for (int j = 0; j < k; ++j) chosen.push_back((t * 37 + j * 101) % experts);
    positions = frugal::kernels::dispatch_positions(chosen, frugal::kernels::plan_dispatch(chosen, experts, 1));
    Rng rng(4);
    fill_normal(x, rng, 1.0);
  }
};

void BM_CpuPermute(benchmark::State& state) {
  CpuDispatchData d;
  for (auto _ : state) {
    for (int t = 0; t < d.tokens; ++t)
      for (int j = 0; j < d.k; ++j) d.rows.row(d.positions[static_cast<std::size_t>(t * d.k + j)]) = d.x.row(t);
    benchmark::DoNotOptimize(d.rows.data());
  }
  const double bytes = static_cast<double>(d.tokens) * d.hidden * 4 * (1 + d.k) + d.tokens * d.k * 4.0;
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_CpuPermute)->Unit(benchmark::kMillisecond);

void BM_CpuCombine(benchmark::State& state) {
  CpuDispatchData d;
  for (auto _ : state) {
    for (int t = 0; t < d.tokens; ++t) {
      d.out.row(t).setZero();
      for (int j = 0; j < d.k; ++j) {
        const std::size_t c = static_cast<std::size_t>(t * d.k + j);
        d.out.row(t) += d.weights[c] * d.rows.row(d.positions[c]);
      }
    }
    benchmark::DoNotOptimize(d.out.data());
  }
  const double bytes = static_cast<double>(d.tokens) * d.hidden * 4 * (1 + d.k) + d.tokens * d.k * 8.0;
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_CpuCombine)->Unit(benchmark::kMillisecond);

// The CPU twin of kernels/grouped_gemm: each expert's rows times its own K × N weights (Eigen,
// FP32), on V3's expert shape (K 7168, N 2048) with 2 experts of `tokens per expert` rows (the GPU
// benchmark's 8 experts would hold 470 MB of weights here; the rate per expert is the same).
void BM_CpuGroupedGemm(benchmark::State& state) {
  const Index experts = 2, per_expert = state.range(0), k = 7168, n = 2048;
  Rng rng(8);
  std::vector<Matrix<float>> x(static_cast<std::size_t>(experts), Matrix<float>(per_expert, k)),
      w(static_cast<std::size_t>(experts), Matrix<float>(k, n)), y(static_cast<std::size_t>(experts));
  for (auto& m : x) fill_normal(m, rng, 1.0);
  for (auto& m : w) fill_normal(m, rng, 0.02);
  for (auto _ : state) {
    for (std::size_t e = 0; e < x.size(); ++e) y[e].noalias() = x[e] * w[e];
    benchmark::DoNotOptimize(y.back().data());
  }
  state.counters["TFLOP/s"] = benchmark::Counter(2e-12 * static_cast<double>(experts * per_expert * k * n),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_CpuGroupedGemm)->Arg(128)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
