// Calibration from measured GPU figures (calibration.hpp).
#include "frugal/sim/calibration.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "frugal/config/config_error.hpp"
#include "frugal/config/json_reader.hpp"

namespace frugal::sim {

namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

}  // namespace

GpuMeasurements measurements_from_gpu_check(const nlohmann::json& report, const std::string& path) {
  if (!report.is_object() || !report.contains("benchmarks") || !report["benchmarks"].is_array())
    throw ConfigError(path, "not a gpu-check.json (scripts/gpu-check.sh): no \"benchmarks\" array");
  GpuMeasurements m;
  m.device = report.value("device", std::string());
  // gpu-check.json keeps GB/s and TFLOP/s as Google Benchmark's counters gave them.
  if (report.contains("copy_bandwidth_GB/s") && report["copy_bandwidth_GB/s"].is_number())
    m.copy_bandwidth = report["copy_bandwidth_GB/s"].get<double>() * 1e9;
  double memory_bound = 0;
  int kernels = 0;
  for (const nlohmann::json& b : report["benchmarks"]) {
    const std::string name = b.value("name", std::string());
    const bool ok = !b.contains("error") || b["error"].is_null();
    if (!ok) continue;
    if ((name.starts_with("BM_Gating/2") || name.starts_with("BM_Permute/2") || name.starts_with("BM_Combine/2")) &&
        b.contains("GB/s") && b["GB/s"].is_number()) {
      memory_bound += b["GB/s"].get<double>() * 1e9;
      ++kernels;
    }
    if (name.starts_with("BM_GroupedGemm/0/4096") && b.contains("TFLOP/s") && b["TFLOP/s"].is_number())
      m.gemm_bf16_flops = b["TFLOP/s"].get<double>() * 1e12;
    if (name.starts_with("BM_Fp8Gemm/1/0/") && b.contains("TFLOP/s") && b["TFLOP/s"].is_number())
      m.gemm_fp8_flops = b["TFLOP/s"].get<double>() * 1e12;
  }
  if (kernels > 0) m.memory_bound_bandwidth = memory_bound / kernels;
  if (!m.copy_bandwidth && !m.memory_bound_bandwidth && !m.gemm_bf16_flops && !m.gemm_fp8_flops)
    throw ConfigError(path, "holds no measurement to calibrate with (no copy bandwidth, memory-bound kernel or cuBLAS GEMM): "
                            "was it written on a machine without a GPU?");
  return m;
}

std::optional<GpuSpec> gpu_from_device_name(const std::string& device) {
  const std::string name = upper(device);
  std::optional<GpuSpec> best;
  for (const GpuSpec& g : known_gpus())  // the longest name that matches: "H100" before "H10"
    if (name.find(upper(g.name)) != std::string::npos && (!best || g.name.size() > best->name.size())) best = g;
  return best;
}

Calibration calibrate(const GpuMeasurements& m, const GpuSpec& gpu, const EfficiencyConstants& defaults) {
  Calibration c{gpu.name, defaults, {}};
  // gemm_time is 2mnk x groups / (peak x base x wave utilisation x K/(K + k0)), plus the grouped
  // GEMM's fixed time per expert: solve for the base that gives the measured rate on the measured
  // shape. (Where the fixed time would take most of the measured time, it is left out of the solve.)
  auto base_efficiency = [&](const GemmShape& shape, GemmPrecision precision, double measured, double peak) {
    EfficiencyConstants unit = defaults;
    unit.gemm_bf16 = unit.gemm_fp8 = 1.0;
    const double flops = 2.0 * shape.m * shape.n * shape.k * shape.groups;
    const double measured_s = flops / measured;
    const double fixed_s = shape.groups > 1 ? shape.groups * defaults.grouped_gemm_per_expert_s : 0.0;
    const double compute_s = fixed_s < 0.5 * measured_s ? measured_s - fixed_s : measured_s;
    return flops / compute_s / (peak * gemm_efficiency(shape, precision, gpu, unit));
  };
  if (m.gemm_bf16_flops) {
    c.constants.gemm_bf16 = base_efficiency(m.gemm_shape, GemmPrecision::bf16, *m.gemm_bf16_flops, gpu.bf16_flops);
    c.changed.push_back({"gemm_bf16", defaults.gemm_bf16, c.constants.gemm_bf16,
                         fmt::format("cuBLAS bf16 at 8 × {:g} tokens × K {:g} × N {:g}: {:.0f} TFLOP/s of {:.0f}", m.gemm_shape.m,
                                     m.gemm_shape.k, m.gemm_shape.n, *m.gemm_bf16_flops / 1e12, gpu.bf16_flops / 1e12)});
  }
  if (m.gemm_fp8_flops && gpu.fp8_flops > 0) {
    c.constants.gemm_fp8 = base_efficiency(m.fp8_gemm_shape, GemmPrecision::fp8, *m.gemm_fp8_flops, gpu.fp8_flops);
    c.changed.push_back({"gemm_fp8", defaults.gemm_fp8, c.constants.gemm_fp8,
                         fmt::format("cuBLASLt fp8 at M {:g} × N {:g} × K {:g}: {:.0f} TFLOP/s of {:.0f}", m.fp8_gemm_shape.m,
                                     m.fp8_gemm_shape.n, m.fp8_gemm_shape.k, *m.gemm_fp8_flops / 1e12, gpu.fp8_flops / 1e12)});
  }
  if (m.copy_bandwidth) {
    c.constants.decode_hbm = *m.copy_bandwidth / gpu.hbm_bandwidth;
    c.changed.push_back({"decode_hbm", defaults.decode_hbm, c.constants.decode_hbm,
                         fmt::format("device copy: {:.0f} GB/s of {:.0f}", *m.copy_bandwidth / 1e9, gpu.hbm_bandwidth / 1e9)});
  }
  if (m.memory_bound_bandwidth) {
    c.constants.hbm = *m.memory_bound_bandwidth / gpu.hbm_bandwidth;
    c.changed.push_back({"hbm", defaults.hbm, c.constants.hbm,
                         fmt::format("gating, permute, combine: {:.0f} GB/s of {:.0f} (mean)", *m.memory_bound_bandwidth / 1e9,
                                     gpu.hbm_bandwidth / 1e9)});
  }
  return c;
}

nlohmann::json calibration_json(const Calibration& c, const std::string& device) {
  nlohmann::json j = {{"gpu", c.gpu}, {"device", device}};
  for (const CalibratedConstant& k : c.changed) j[k.name] = k.calibrated;
  return j;
}

EfficiencyConstants efficiency_from_json(const nlohmann::json& j, const std::string& path, const EfficiencyConstants& defaults) {
  JsonObjectReader r(j, path);
  r.ignore({"gpu", "device"});
  EfficiencyConstants c = defaults;
  auto fraction = [&](const char* key, double& field) {
    if (!r.has(key)) return;
    field = r.number(key);
    if (!(field > 0 && field <= 1.5))
      throw ConfigError(r.path_of(key), fmt::format("must be an efficiency in (0, 1.5], got {}", field));
  };
  fraction("gemm_bf16", c.gemm_bf16);
  fraction("gemm_fp8", c.gemm_fp8);
  fraction("hbm", c.hbm);
  fraction("decode_hbm", c.decode_hbm);
  fraction("gemm_stream_hbm", c.gemm_stream_hbm);
  r.finish();
  return c;
}

}  // namespace frugal::sim
