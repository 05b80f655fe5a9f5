// Training checkpoints: everything a run needs to continue bit-identically — weights, AdamW
// moments, router biases, the step count, the metrics so far — in one binary file with a checksum.
//
// Layout (little-endian): "FRUGALCK" | u32 version | u64 payload bytes | u64 FNV-1a of payload |
// payload. The payload starts with the model's tensor layout ("name rows×cols" per tensor), so a
// checkpoint of another model is refused with the first tensor that differs.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "frugal/core/parameters.hpp"

namespace frugal::core {

struct CheckpointError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct CheckpointState {
  std::string layout;  // parameter_layout() of the model
  std::int64_t step = 0;
  std::uint64_t seed = 0;
  double flops = 0;
  std::vector<float> params, adam_m, adam_v;
  std::vector<std::vector<float>> router_bias;  // per MoE layer
  std::string history_json;
};

// One line per tensor: "embedding 256x64".
std::string parameter_layout(const Parameters<float>& params);

// FNV-1a, 64-bit (Fowler, Noll, Vo).
std::uint64_t fnv1a64(const void* data, std::size_t bytes);

// Written to PATH.tmp and renamed into place.
void write_checkpoint(const std::string& path, const CheckpointState& state);
// Throws CheckpointError("PATH: reason") for a missing, truncated, corrupt or foreign file.
CheckpointState read_checkpoint(const std::string& path);
// Throws CheckpointError naming the first tensor whose name or shape differs.
void check_layout_matches(const std::string& path, const std::string& checkpoint_layout, const std::string& model_layout);

}  // namespace frugal::core
