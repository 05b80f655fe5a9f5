// The documented range of every size a config may give (docs/CONFIG_BOUNDS.md lists them all).
// A value outside its range is refused with the field's path and the range, so that no input can
// make a program compute for minutes or allocate without bound. Each range is wide of every
// published model, by the figure quoted beside it.
#pragma once

#include <cstdint>
#include <string>

#include "frugal/config/config_error.hpp"

namespace frugal::bounds {

struct Range {
  std::int64_t min;
  std::int64_t max;
  const char* largest_published;  // why the maximum is enough
};

// Model shapes.
inline constexpr Range layers{1, 1000, "the deepest published model has 126 layers (Llama 3.1 405B)"};
inline constexpr Range hidden{1, 131072, "the widest published model has 18,432 (Nemotron-4 340B)"};
inline constexpr Range heads{1, 4096, "published models have at most 128 query heads (DeepSeek-V3)"};
inline constexpr Range head_dim{1, 4096, "published models use at most 256 (Gemma 2)"};
inline constexpr Range latent_rank{0, 65536, "DeepSeek-V3's largest latent rank is 1,536"};
inline constexpr Range intermediate{0, 1048576, "the widest published FFN is 73,728 (Nemotron-4 340B)"};
inline constexpr Range experts{0, 65536, "the most routed experts published are 384 (Kimi K2)"};
inline constexpr Range shared_experts{0, 1024, "published models have at most 2 shared experts"};
inline constexpr Range vocab{1, 4194304, "the largest published vocabulary is 262,144 (Gemma 3)"};
inline constexpr Range sequence{1, 16777216, "the longest published context is 10M tokens (Llama 4 Scout)"};
inline constexpr Range mtp_depth{0, 64, "DeepSeek-V3 has 1 MTP module"};
inline constexpr Range layer_period{1, 1000, "a period beyond the layer count means nothing"};

// Clusters and runs.
inline constexpr Range gpus{1, 1048576, "the largest published runs use 24,576 GPUs (Llama 3)"};
inline constexpr Range gpus_per_node{1, 1024, "NVL72 racks have 72 GPUs in one NVLink domain"};
inline constexpr Range parallel_degree{1, 1048576, "no degree can exceed the GPU count"};
inline constexpr Range adapter_rank{1, 65536, "published LoRA ranks run from 1 to a few hundred (LoRA §7.2; QLoRA uses 64)"};
inline constexpr Range batch_sequences{1, 1LL << 30, "DeepSeek-V3 used 15,360 sequences per batch"};
inline constexpr double kMaxTrainingTokens = 1.0e16;  // the largest published runs: 36T (Qwen3), 40T (Llama 4 Scout)
inline constexpr double kMaxPricePerGpuHour = 1.0e4;  // published on-demand prices are a few dollars

// Serving simulations step once per engine iteration and keep every request.
inline constexpr Range requests{1, 1000000, "a simulated day of a busy deployment is a few hundred thousand requests"};
inline constexpr double kMaxSimulatedOutputTokens = 1.0e9;  // bench_sim's million requests decode 3e8
// A pathological request mix stops here after 4.3 s (release build, 2 cores).
inline constexpr std::int64_t kMaxSimulatedEvents = 30000000;

inline std::string describe(const Range& r) {
  return "between " + std::to_string(r.min) + " and " + std::to_string(r.max) + "; " + r.largest_published;
}

// Refuses `value` outside `r`: "PATH: must be between MIN and MAX (why), got VALUE".
inline void require_in(std::int64_t value, const Range& r, const std::string& path) {
  if (value < r.min || value > r.max)
    throw ConfigError(path, "must be " + describe(r) + ", got " + std::to_string(value));
}

}  // namespace frugal::bounds
