// The CPU reference's speed targets (issue 6), measured in one run so that the ratios are fair on
// a shared, noisy machine:
//   - Eigen's fp32 GEMM on a large square product: this machine's practical single-core peak;
//   - a training step of deepseek-v3-tiny (MoE) and of its dense counterpart: tokens/s, the matmul
//     FLOP rate inside the step, and the share of time spent outside matmuls;
//   - matmul_vs_large_gemm: the step's matmul rate as a fraction of the large GEMM's (target ≥ 0.6).
#include <benchmark/benchmark.h>

#include <chrono>

#include "frugal/core/experiments.hpp"
#include "frugal/core/trainer.hpp"
#include "frugal/sim/presets.hpp"

namespace {
using namespace frugal::core;
using frugal::ModelConfig;

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
  const ModelConfig m = frugal::sim::preset_model("deepseek-v3-tiny");
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

}  // namespace

BENCHMARK_MAIN();
