#include "frugal/sim/gemm_model.hpp"

#include <algorithm>
#include <cmath>

namespace frugal::sim {

namespace {

// The roofline both GEMM times share: 2mnk x groups FLOPs at `rate` plus a fixed time, or A and B
// in `in_bytes` per element and the BF16 output over `bandwidth`, the slower.
double roofline_time(const GemmShape& s, double rate, double fixed_s, double in_bytes, double bandwidth) {
  const double compute = 2.0 * s.m * s.n * s.k * s.groups / rate + fixed_s;
  const double bytes = s.groups * ((s.m * s.k + s.k * s.n) * in_bytes + s.m * s.n * 2.0);
  return std::max(compute, bytes / bandwidth);
}

}  // namespace

double gemm_base_efficiency(GemmPrecision p, const GpuSpec& gpu, const EfficiencyConstants& c) {
  if (p == GemmPrecision::fp8) return c.gemm_fp8;
  const double achievable =
      gpu.bf16_matmul_flops > 0 ? gpu.bf16_matmul_flops / gpu.bf16_flops : c.bf16_matmul_fraction_unmeasured;
  return c.gemm_bf16 * achievable;
}

double gemm_shape_factor(const GemmShape& s, const GpuSpec& gpu, const EfficiencyConstants& c) {
  const double tile = static_cast<double>(c.gemm_tile);
  const double tiles = std::ceil(s.m / tile) * std::ceil(s.n / tile) * s.groups;
  const double sms = static_cast<double>(gpu.sms);
  const double waves = std::ceil(tiles / sms);
  const double wave_utilisation = tiles / (waves * sms);
  const double k_factor = s.k / (s.k + c.gemm_k_overhead);
  return wave_utilisation * k_factor;
}

double gemm_efficiency(const GemmShape& s, GemmPrecision p, const GpuSpec& gpu, const EfficiencyConstants& c) {
  return gemm_base_efficiency(p, gpu, c) * gemm_shape_factor(s, gpu, c);
}

double gemm_time(const GemmShape& s, GemmPrecision p, const GpuSpec& gpu, const EfficiencyConstants& c) {
  if (s.m <= 0 || s.n <= 0 || s.k <= 0) return 0.0;
  const double peak = p == GemmPrecision::fp8 ? gpu.fp8_flops : gpu.bf16_flops;
  // A grouped GEMM's fixed cost per expert (efficiency.hpp, grouped_gemm_per_expert_s).
  const double per_expert = s.groups > 1 ? s.groups * c.grouped_gemm_per_expert_s : 0.0;
  return roofline_time(s, peak * gemm_efficiency(s, p, gpu, c), per_expert, p == GemmPrecision::fp8 ? 1.0 : 2.0,
                       gpu.hbm_bandwidth * c.hbm);
}

double serving_gemm_time(const GemmShape& s, double peak, double base_efficiency, double in_bytes, const GpuSpec& gpu,
                         const EfficiencyConstants& c) {
  if (s.m <= 0 || s.n <= 0 || s.k <= 0) return 0.0;
  return roofline_time(s, peak * base_efficiency * gemm_shape_factor(s, gpu, c), 0.0, in_bytes,
                       gpu.hbm_bandwidth * c.gemm_stream_hbm);
}

}  // namespace frugal::sim
