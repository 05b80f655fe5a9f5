#include "frugal/sim/gemm_model.hpp"

#include <algorithm>
#include <cmath>

namespace frugal::sim {

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
  const double flops = 2.0 * s.m * s.n * s.k * s.groups;
  // A grouped GEMM's fixed cost per expert (efficiency.hpp, grouped_gemm_per_expert_s).
  const double per_expert = s.groups > 1 ? s.groups * c.grouped_gemm_per_expert_s : 0.0;
  const double compute = flops / (peak * gemm_efficiency(s, p, gpu, c)) + per_expert;
  const double in_bytes = p == GemmPrecision::fp8 ? 1.0 : 2.0;
  const double bytes = s.groups * ((s.m * s.k + s.k * s.n) * in_bytes + s.m * s.n * 2.0);
  const double memory = bytes / (gpu.hbm_bandwidth * c.hbm);
  return std::max(compute, memory);
}

double serving_gemm_time(const GemmShape& s, double peak, double base_efficiency, double weight_bytes,
                         double activation_bytes, const GpuSpec& gpu, const EfficiencyConstants& c) {
  if (s.m <= 0 || s.n <= 0 || s.k <= 0) return 0.0;
  const double compute = 2.0 * s.m * s.n * s.k * s.groups / (peak * base_efficiency * gemm_shape_factor(s, gpu, c));
  const double bytes = s.groups * (s.k * s.n * weight_bytes + s.m * s.k * activation_bytes + s.m * s.n * 2.0);
  return std::max(compute, bytes / (gpu.hbm_bandwidth * c.gemm_stream_hbm));
}

}  // namespace frugal::sim
