// Calibration: efficiencies measured on one's own GPU (scripts/gpu-check.sh's JSON) replace the
// simulator's defaults (efficiency.hpp), so that a class can price a DeepSeek-V3-scale run from what
// its own GPU measured. Four constants are measured:
//   gemm_bf16  — the base GEMM efficiency that makes gemm_time() reproduce cuBLAS's measured TFLOP/s
//                on the grouped expert GEMM (8 × 4096 tokens, K 7168, N 2048);
//   gemm_fp8   — the same for FP8, from cuBLASLt's FP8 GEMM (per-tensor scales, FP32 promotion) on
//                DeepGEMM's first shape, M 4096, N 7168, K 16384 (BM_Fp8Gemm/1/0), on GPUs with FP8;
//   decode_hbm — a device-to-device copy's bandwidth over the GPU's HBM bandwidth (streaming reads);
//   hbm        — the mean bandwidth of the memory-bound MoE kernels (gating, permute, combine: v2 of each)
//                over the HBM bandwidth (unfused element-wise work).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/sim/efficiency.hpp"
#include "frugal/sim/gemm_model.hpp"
#include "frugal/sim/hardware.hpp"

namespace frugal::sim {

struct GpuMeasurements {
  std::string device;                          // as the machine reported it
  std::optional<double> copy_bandwidth;        // bytes/s
  std::optional<double> memory_bound_bandwidth; // bytes/s, mean over the MoE kernels measured
  std::optional<double> gemm_bf16_flops;       // FLOP/s of cuBLAS on `gemm_shape`
  GemmShape gemm_shape{4096, 2048, 7168, 8};
  std::optional<double> gemm_fp8_flops;        // FLOP/s of cuBLASLt FP8 on `fp8_gemm_shape`
  GemmShape fp8_gemm_shape{4096, 7168, 16384, 1};
};

// Reads gpu-check.json (scripts/gpu-check.sh); throws ConfigError naming `path` when it holds none
// of the three measurements.
GpuMeasurements measurements_from_gpu_check(const nlohmann::json& report, const std::string& path);

// The known GPU whose name the reported device contains ("NVIDIA H200 …" → H200); nullopt if none.
std::optional<GpuSpec> gpu_from_device_name(const std::string& device);

struct CalibratedConstant {
  std::string name;
  double default_value = 0, calibrated = 0;
  std::string from;  // the measurement it comes from, in words
};

struct Calibration {
  std::string gpu;
  EfficiencyConstants constants;
  std::vector<CalibratedConstant> changed;
};

Calibration calibrate(const GpuMeasurements& m, const GpuSpec& gpu, const EfficiencyConstants& defaults = default_efficiency());

// {"gpu": …, "device": …, "gemm_bf16": …, "hbm": …, "decode_hbm": …}: what `calibrate --save`
// writes and `train --efficiency FILE` reads (only the keys present replace the defaults).
nlohmann::json calibration_json(const Calibration& c, const std::string& device);
EfficiencyConstants efficiency_from_json(const nlohmann::json& j, const std::string& path,
                                         const EfficiencyConstants& defaults = default_efficiency());

}  // namespace frugal::sim
