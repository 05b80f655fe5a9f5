// Chapter 9 · GPU utilisation: the roofline (Williams, Waterman & Patterson 2009) of an H800 and of
// this CPU, V3's operations placed on it, MFU and what DeepSeek reports, and — when a GPU is here —
// the grouped-GEMM kernels timed against the CPU.
#include <fmt/format.h>

#include <chrono>
#include <string>
#include <vector>

#include "../common/narrator.hpp"
#include "../common/published_bill.hpp"
#include "../common/tiny_run.hpp"
#include "frugal/core/random.hpp"
#include "frugal/core/timing.hpp"
#include "frugal/core/trainer.hpp"
#include "frugal/sim/efficiency.hpp"
#include "frugal/sim/format.hpp"
#include "frugal/sim/gemm_model.hpp"
#include "frugal/sim/text_table.hpp"
#ifdef FRUGAL_CHAPTER_HAS_CUDA
#include "frugal/kernels/device.hpp"
#include "frugal/kernels/grouped_gemm.hpp"
#include "frugal/kernels/grouped_gemm_problem.hpp"
#endif

using namespace frugal;
using namespace frugal::chapters;
using namespace frugal::sim;

namespace {

struct CpuRoofline {
  double gemm_flops = 0;        // FLOP/s of an n × n × n float GEMM (Eigen)
  double copy_bandwidth = 0;    // bytes/s of a large float copy (read + write)
  double training_flops = 0;    // FLOP/s the tiny model's training steps execute
  std::int64_t gemm_size = 0;
  std::int64_t model_hidden = 0;
};

CpuRoofline measure_cpu(bool quick) {
  CpuRoofline r;
  r.gemm_size = quick ? 256 : 512;
  core::Rng rng(9);
  core::Matrix<float> a(r.gemm_size, r.gemm_size), b(r.gemm_size, r.gemm_size), c;
  core::fill_normal(a, rng, 1.0);
  core::fill_normal(b, rng, 1.0);
  const double n = static_cast<double>(r.gemm_size);
  r.gemm_flops = 2 * n * n * n / core::seconds_per_call([&] { c.noalias() = a * b; }, quick ? 0.05 : 0.3);
  std::vector<float> from(std::size_t{16} << 20, 1.0f), to(from.size());  // 64 MiB each: beyond the caches
  r.copy_bandwidth = 2.0 * 4.0 * static_cast<double>(from.size()) /
                     core::seconds_per_call([&] { std::copy(from.begin(), from.end(), to.begin()); }, quick ? 0.05 : 0.3);
  // The tiny model's training steps: executed matmul FLOPs over wall time.
  const TinyRun run = tiny_run(true);
  r.model_hidden = run.model.hidden_size;
  core::Trainer trainer(run.model, run.options);
  trainer.step();  // warm-up
  const double flops_before = trainer.flops();
  const int steps = quick ? 3 : 20;
  const auto start = std::chrono::steady_clock::now();
  for (int s = 0; s < steps; ++s) trainer.step();
  r.training_flops = (trainer.flops() - flops_before) / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// Arithmetic intensity (FLOP per byte of HBM traffic) of an m × k × n GEMM in bf16 with bf16 output:
// 2mkn / (2(mk + kn + mn)).
double gemm_intensity(double m, double k, double n) { return 2 * m * k * n / (2 * (m * k + k * n + m * n)); }

std::string roofline_table(const GpuSpec& gpu) {
  const EfficiencyConstants& c = default_efficiency();
  TextTable t({"operation (V3 shapes)", "FLOP/byte", "bound", "roofline TFLOP/s", "frugal-sim predicts"});
  t.set_left_aligned({2});
  auto row = [&](const std::string& name, double intensity, const std::string& predicted) {
    const double attainable = std::min(gpu.bf16_flops, intensity * gpu.hbm_bandwidth);
    t.add_row({name, fmt::format("{:.1f}", intensity), intensity * gpu.hbm_bandwidth < gpu.bf16_flops ? "memory" : "compute",
               fmt::format("{:.{}f}", attainable / 1e12, attainable < 10e12 ? 2 : 0), predicted});
  };
  for (double tokens : {4096.0, 512.0, 128.0, 8.0}) {
    const GemmShape shape{tokens, 2048, 7168, 1};
    const double seconds = gemm_time(shape, GemmPrecision::bf16, gpu, c);
    row(fmt::format("expert GEMM, {:g} tokens × 7168 × 2048", tokens), gemm_intensity(tokens, 7168, 2048),
        fmt::format("{:.0f} TFLOP/s", 2 * tokens * 7168 * 2048 / seconds / 1e12));
  }
  // y = x + r in bf16: 1 FLOP per element, 2 reads and 1 write of 2 bytes.
  row("residual add (element-wise)", 1.0 / 6.0, "—");
  return t.render();
}

}  // namespace

int main(int argc, char** argv) {
  const ChapterOptions options = parse_chapter_flags(argc, argv, "Chapter 9 · GPU utilisation");
  Narrator n = console_narrator(options);
  n.title("Chapter 9 · GPU utilisation",
          "Goal: read a roofline, place DeepSeek-V3's operations on an H800's, know what MFU measures and what "
          "\"50% MFU\" would have meant for V3's bill — and measure the same things on the machine in front of you.");

  n.step("The roofline");
  const GpuSpec gpu = find_gpu("H800", "gpu");
  n.say(fmt::format("A kernel is limited either by arithmetic or by memory traffic. The H800 does {:.0f} dense BF16 "
                    "TFLOP/s ({:.0f} in FP8) and reads HBM at {:.2f} TB/s (sim/data/gpus.json gives the sources). A "
                    "kernel doing I FLOPs per byte it "
                    "moves runs at most at min(peak, I × bandwidth): below the ridge point I = {:.0f} FLOP/byte "
                    "(BF16) it is memory-bound, whatever its code.",
                    gpu.bf16_flops / 1e12, gpu.fp8_flops / 1e12, gpu.hbm_bandwidth / 1e12,
                    gpu.bf16_flops / gpu.hbm_bandwidth));
  n.show(roofline_table(gpu));
  n.say("An expert's GEMM is compute-bound only when it gets enough tokens: at 8 tokens (decoding) it is a "
        "matrix-vector product and the tensor cores wait on HBM. That is why V3 trains with large batches per "
        "expert, why serving batches many requests per expert (chapter 11), and why element-wise work is fused "
        "into the GEMMs wherever it can be. The simulator's column adds wave quantisation and a K-dependent "
        "efficiency (sim/README.md).");

  n.step("MFU: the fraction of the peak the model's FLOPs use");
  const BackOfEnvelope e = back_of_envelope();
  n.say(fmt::format("MFU = model FLOPs per token × tokens per second ÷ (GPUs × peak). It counts only the model's "
                    "own arithmetic (6 × activated parameters + attention), not recomputation or communication: a "
                    "GPU busy re-computing activations is busy, but not useful. DeepSeek-V3's pre-training ran at "
                    "{:.2f}% of the BF16 peak ({}) — though most of its GEMMs ran in FP8, whose peak is twice as high.",
                    100 * e.published_mfu, e.mfu_source));
  const double at_half = e.total_flops / (e.peak_flops * 0.5) / 3600.0;
  n.say(fmt::format("\"50% MFU\" is the figure often quoted for a well-tuned dense run. For V3's {:.2e} pre-training "
                    "FLOPs it would have meant {} GPU-hours instead of the published {} — {:.0f}% of the cost. A "
                    "sparse MoE model reaching 39% on BF16 while moving every token to 8 experts across nodes is the "
                    "achievement; chapter 10 shows the traffic it hides.",
                    e.total_flops, format_thousands(at_half), format_thousands(e.published_gpu_hours),
                    100 * at_half / e.published_gpu_hours));

  n.step("This CPU's roofline, measured");
  const CpuRoofline cpu = measure_cpu(options.quick);
  n.say(fmt::format("The same questions about the machine you are on. A {0} × {0} × {0} float GEMM (Eigen) runs at "
                    "{1:.1f} GFLOP/s; copying 64 MiB moves {2:.1f} GB/s; the ridge point is {3:.1f} FLOP/byte. The "
                    "tiny model's training steps execute {4:.1f} GFLOP/s of matmuls: {5:.0f}% of what the GEMM "
                    "reaches — its \"MFU\" against a measured, not a datasheet, peak. Small matrices (hidden size "
                    "{6}), the router's gathers and the element-wise work keep it down, as on a GPU.",
                    cpu.gemm_size, cpu.gemm_flops / 1e9, cpu.copy_bandwidth / 1e9, cpu.gemm_flops / cpu.copy_bandwidth,
                    cpu.training_flops / 1e9, 100 * cpu.training_flops / cpu.gemm_flops, cpu.model_hidden));

  n.step("The GPU kernels");
  std::string why = "the CUDA kernels were not built (no nvcc when this was configured)";
#ifdef FRUGAL_CHAPTER_HAS_CUDA
  if (kernels::gpu_available(&why)) {
    const int experts = 8, per_expert = options.quick ? 128 : 512, k = 7168, width = 2048;
    const kernels::GroupedGemmProblem problem(experts, per_expert, k, width);
    core::Rng rng(3);
    core::Matrix<float> x(per_expert, k), w(k, width), y;
    core::fill_normal(x, rng, 1.0);
    core::fill_normal(w, rng, 0.02);
    const double cpu_seconds = experts * core::seconds_per_call([&] { y.noalias() = x * w; }, 0.2);
    TextTable t({"grouped GEMM, 8 experts", "time", "TFLOP/s", "vs this CPU"});
    t.add_row({"CPU (Eigen, float)", fmt::format("{:.2f} ms", 1e3 * cpu_seconds), fmt::format("{:.4f}", problem.flops() / cpu_seconds / 1e12), "1×"});
    // Every version of the grouped GEMM's table (grouped_gemm.hpp); one this GPU cannot run says why.
    for (const kernels::GroupedGemmVersion& version : kernels::kGroupedGemmVersions) {
      const std::string label = fmt::format("GPU {}", version.name);
      if (const std::string why_not = kernels::why_cannot_run(version, problem.shape()); !why_not.empty()) {
        t.add_row({label, "—", "—", fmt::format("not here: {}", why_not)});
        continue;
      }
      const double s = kernels::time_grouped_gemm(problem, version.number);
      t.add_row({label, fmt::format("{:.3f} ms", 1e3 * s), fmt::format("{:.1f}", problem.flops() / s / 1e12),
                 fmt::format("{:.0f}×", cpu_seconds / s)});
    }
    n.say(fmt::format("On this machine's {}: {} experts × {} tokens, K = {}, N = {} (bf16 in, fp32 accumulate).",
                      kernels::device_name(), experts, per_expert, k, width));
    n.show(t.render());
    n.say("kernels/README.md explains each version; `scripts/gpu-check.sh` compares them with cuBLAS.");
  } else
#endif
    n.say(fmt::format("No GPU here ({}). On a machine with one, this step times the grouped-GEMM kernels of "
                      "kernels/ on V3's expert shapes against this CPU; `scripts/gpu-check.sh` records every kernel "
                      "version against the measured roofline and cuBLAS.",
                      why));

  n.exercises({"Where is the ridge point of an H800 in FP8, and how many tokens must an expert GEMM get to be "
               "compute-bound there?",
               "Decoding one request reads every activated weight once per token. With V3's 37B activated parameters "
               "in FP8 and one H800's bandwidth, what is the upper bound on its tokens per second — and what does "
               "batching change?",
               "Run `./build/dev/bench/bench_core` and compare its matmul efficiency with step 3's numbers."});
  return 0;
}
