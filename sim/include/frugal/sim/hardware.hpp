// GPUs: peak FLOP/s by precision, memory, links (sim/data/gpus.json, compiled in; users add
// their own). Stored in SI units: FLOP/s, bytes, bytes/s, watts.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace frugal::sim {

// NVIDIA's memory sizes are binary: an A100-SXM4-40GB reports "40536MiB" in nvidia-smi (42.5e9
// bytes, of which the driver keeps 424 MiB), an H100 80GB 81,559 MiB; "40 GB" is 40 GiB, and
// gpus.json's hbm_gb counts GiB.
inline constexpr double kBytesPerGiB = 1073741824.0;

struct GpuSpec {
  std::string name;
  double bf16_flops = 0;  // dense peak, FLOP/s
  // The highest BF16 matmul rate measured on the chip at its best shape (maximum achievable matmul
  // FLOPS, MAMF), FLOP/s; 0 where none is published (efficiency.hpp, bf16_matmul_fraction_unmeasured).
  double bf16_matmul_flops = 0;
  double fp8_flops = 0;   // 0 when the GPU has no FP8 Tensor Cores
  double fp4_flops = 0;
  double hbm_bytes = 0;
  double hbm_bandwidth = 0;      // bytes/s
  double nvlink_bandwidth = 0;   // bytes/s one way, per GPU (scale-up)
  double scaleout_bandwidth = 0; // bytes/s one way, per GPU (InfiniBand / RoCE)
  int gpus_per_node = 8;
  int sms = 132;
  double tdp_watts = 0;
  std::string source;
};

// Reads one GPU object (keys as in gpus.json); errors name `path`.
GpuSpec gpu_from_json(const nlohmann::json& j, const std::string& path);

// The built-in GPUs.
const std::vector<GpuSpec>& known_gpus();

// Reads a user's GPU file: {"gpus": [...]} or one GPU object.
std::vector<GpuSpec> read_gpu_file(const std::string& file);

// The GPU called `name` (case-insensitive) among `extra` and the built-in ones; throws
// ConfigError(field, "unknown GPU ... (known: ...)").
GpuSpec find_gpu(const std::string& name, const std::string& field, const std::vector<GpuSpec>& extra = {});

}  // namespace frugal::sim
