#include "frugal/sim/hardware.hpp"

#include <algorithm>
#include <cctype>

#include "frugal/config/bounds.hpp"
#include "frugal/config/json_reader.hpp"
#include "frugal/sim/embedded_data.hpp"

namespace frugal::sim {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

double positive(JsonObjectReader& r, const char* key, double scale) {
  const double v = r.number(key);
  if (!(v > 0)) throw ConfigError(r.path_of(key), "must be positive, got " + std::to_string(v));
  return v * scale;
}

double optional_positive(JsonObjectReader& r, const char* key, double scale) {
  const double v = r.number(key, 0.0);
  if (v < 0) throw ConfigError(r.path_of(key), "must not be negative, got " + std::to_string(v));
  return v * scale;
}

std::vector<GpuSpec> gpus_from_document(const nlohmann::json& doc, const std::string& path) {
  std::vector<GpuSpec> out;
  if (doc.is_object() && doc.contains("gpus")) {
    JsonObjectReader top(doc, path);
    top.ignore({"description", "gpus"});
    top.finish();
    const nlohmann::json& list = doc["gpus"];
    if (!list.is_array()) throw ConfigError(top.path_of("gpus"), "must be an array");
    for (std::size_t i = 0; i < list.size(); ++i)
      out.push_back(gpu_from_json(list[i], top.path_of("gpus") + "[" + std::to_string(i) + "]"));
  } else {
    out.push_back(gpu_from_json(doc, path));
  }
  return out;
}

}  // namespace

GpuSpec gpu_from_json(const nlohmann::json& j, const std::string& path) {
  JsonObjectReader r(j, path);
  GpuSpec g;
  g.name = r.string("name");
  g.bf16_flops = positive(r, "bf16_tflops", 1e12);
  g.bf16_matmul_flops = optional_positive(r, "bf16_matmul_tflops", 1e12);
  if (g.bf16_matmul_flops > g.bf16_flops)
    throw ConfigError(r.path_of("bf16_matmul_tflops"), "must not exceed bf16_tflops (the dense peak), got " +
                                                          std::to_string(g.bf16_matmul_flops / 1e12));
  g.fp8_flops = optional_positive(r, "fp8_tflops", 1e12);
  g.fp4_flops = optional_positive(r, "fp4_tflops", 1e12);
  g.hbm_bytes = positive(r, "hbm_gb", kBytesPerGiB);  // binary, as NVIDIA's sizes (hardware.hpp)
  g.hbm_bandwidth = positive(r, "hbm_tb_per_s", 1e12);
  g.nvlink_bandwidth = positive(r, "nvlink_gb_per_s", 1e9);
  g.scaleout_bandwidth = positive(r, "scaleout_gb_per_s", 1e9);
  const std::int64_t per_node = r.integer("gpus_per_node", 8);
  bounds::require_in(per_node, bounds::gpus_per_node, r.path_of("gpus_per_node"));
  g.gpus_per_node = static_cast<int>(per_node);
  const std::int64_t sms = r.integer("sms", 132);
  bounds::require_in(sms, {1, 100000, "an H100 has 132 SMs"}, r.path_of("sms"));
  g.sms = static_cast<int>(sms);
  g.tdp_watts = positive(r, "tdp_watts", 1.0);
  g.source = r.string("source", std::string("user-supplied"));
  r.finish();
  return g;
}

const std::vector<GpuSpec>& known_gpus() {
  static const std::vector<GpuSpec> gpus = [] {
    std::vector<GpuSpec> out;
    for (const EmbeddedFile& f : embedded_gpu_specs()) {
      auto more = gpus_from_document(nlohmann::json::parse(f.text), std::string(f.name));
      out.insert(out.end(), more.begin(), more.end());
    }
    return out;
  }();
  return gpus;
}

std::vector<GpuSpec> read_gpu_file(const std::string& file) {
  const nlohmann::json doc = read_json_file(file);
  try {
    return gpus_from_document(doc, "");
  } catch (const ConfigError& e) {
    throw ConfigError(file, e.what());
  }
}

GpuSpec find_gpu(const std::string& name, const std::string& field, const std::vector<GpuSpec>& extra) {
  std::string known;
  for (const auto* list : {&extra, &known_gpus()})
    for (const GpuSpec& g : *list) {
      if (lower(g.name) == lower(name)) return g;
      known += (known.empty() ? "" : ", ") + g.name;
    }
  throw ConfigError(field, "unknown GPU \"" + name + "\" (known: " + known + ")");
}

}  // namespace frugal::sim
