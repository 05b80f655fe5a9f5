// Time of a GEMM on one GPU from its shape: the slower of the compute roofline (at an efficiency
// set by precision, wave quantisation and K) and the memory roofline.
#pragma once

#include "frugal/sim/efficiency.hpp"
#include "frugal/sim/hardware.hpp"

namespace frugal::sim {

enum class GemmPrecision { bf16, fp8 };

struct GemmShape {
  double m = 0;       // rows (tokens)
  double n = 0;       // output features
  double k = 0;       // reduction
  double groups = 1;  // independent GEMMs of this shape launched together (grouped GEMM, experts)
};

// Fraction of the dense peak a large, well-shaped GEMM reaches before wave and K effects. FP8:
// gemm_fp8. BF16: gemm_bf16 x the chip's maximum achievable share of its peak (MAMF / peak from
// gpus.json, or bf16_matmul_fraction_unmeasured where none is published).
double gemm_base_efficiency(GemmPrecision p, const GpuSpec& gpu, const EfficiencyConstants& c);

// What a GEMM's shape leaves of its kernel's base efficiency: wave utilisation x K / (K + k0), where
// wave utilisation = tiles / (waves x SMs) with 128 x 128 output tiles (the last wave runs part-empty).
double gemm_shape_factor(const GemmShape& s, const GpuSpec& gpu, const EfficiencyConstants& c);

// Fraction of the peak reached: base efficiency x gemm_shape_factor.
double gemm_efficiency(const GemmShape& s, GemmPrecision p, const GpuSpec& gpu, const EfficiencyConstants& c);

// Seconds: max(2mnk x groups / (peak x efficiency), bytes moved / (HBM bandwidth x hbm efficiency)).
double gemm_time(const GemmShape& s, GemmPrecision p, const GpuSpec& gpu, const EfficiencyConstants& c);

// A serving engine's GEMM (serving_step.cpp): the compute roofline at `base_efficiency` of `peak`
// times the shape factor, or streaming A, B and the BF16 output at gemm_stream_hbm of the HBM
// bandwidth, the slower. `in_bytes` per element of A and B (FP8: 1, BF16: 2).
double serving_gemm_time(const GemmShape& s, double peak, double base_efficiency, double in_bytes, const GpuSpec& gpu,
                         const EfficiencyConstants& c);

}  // namespace frugal::sim
