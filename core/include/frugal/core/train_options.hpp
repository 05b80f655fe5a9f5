// How the CPU reference trains: the "cpu_training" section of a config file (the "model"
// section is the same ModelConfig that frugal-sim prices). Every field has a default; an unknown
// or out-of-range one is refused with its path, e.g. "cpu_training.router.balancing".
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "frugal/core/data.hpp"
#include "frugal/core/fp8_gemm.hpp"
#include "frugal/core/optimizer.hpp"
#include "frugal/core/router.hpp"

namespace frugal::core {

struct DataOptions {
  enum class Kind { markov, text };
  Kind kind = Kind::markov;
  MarkovOptions markov;
  std::string text_path;  // kind == text
  // The real training data as a fixed set of this many sequences, drawn once and read in order
  // (each once per pass): a student with little data of its own. 0: a fresh batch every step.
  std::int64_t train_sequences = 0;
};

// Numeric precision of training (V3 report §3.3): "linear": "fp8" runs every Linear layer's three
// GEMMs in emulated FP8 (E4M3, 1×128 activation tiles, 128×128 weight blocks, online scales).
// The recipe's parts can be taken away one at a time (experiment fp8-ablation): "fp8_gemms"
// ("forward", "forward+dgrad", "all"), "scales" ("tile_wise", "per_tensor"), "scale_format"
// ("fp32", "ue8m0") and "accumulation" ("promoted", or "register_only": no promotion to FP32).
struct PrecisionOptions {
  bool fp8_linear = false;
  Fp8GemmOptions recipe;  // default: all of V3's
  std::optional<Fp8GemmOptions> gemm() const {
    if (!fp8_linear) return std::nullopt;
    return recipe;
  }
};

// Learning from a trained teacher (distillation.hpp). The teacher is the model of another config
// file, built as that file's "cpu_training" says, with the weights of a frugal-train checkpoint.
struct DistillationOptions {
  enum class Kind { none, logit, sequence };
  Kind kind = Kind::none;
  std::string teacher_config;      // the teacher's config file
  std::string teacher_checkpoint;  // its checkpoint
  double temperature = 2.0;        // logit: T of both softmaxes (Hinton et al. 2015 §2)
  double alpha = 0.5;              // logit: weight of the soft-target loss; 1 − α on the hard labels
  std::int64_t samples = 0;        // sequence: sequences the teacher writes; 0: one per teacher-written batch row of every step
  double sample_temperature = 1.0; // sequence: the teacher samples softmax(z / τ); 0 takes the argmax
  double mix = 1.0;                // sequence: the share of each batch's sequences the teacher wrote; the rest real
};

struct TrainOptions {
  std::int64_t steps = 300;
  std::int64_t batch_size = 16;
  std::int64_t seq_len = 64;
  std::uint64_t seed = 1;  // initial weights and batches
  double learning_rate = 3e-3;
  double min_lr_ratio = 0.1;
  std::int64_t warmup_steps = 20;
  double grad_clip = 1.0;  // V3 report §4.2
  double init_std = 0.02;
  // Every initial weight × (1 + init_nudge): a change far below any rounding FP8 makes, for measuring
  // how far two runs drift apart from rounding alone (the FP8 experiments' fp32-twin arm). Not read
  // from config files.
  double init_nudge = 0;
  double mtp_weight = 0.0;  // λ of the MTP loss; > 0 builds the config's mtp_depth modules (V3 §4.2: 0.3)
  AdamWOptions adamw;
  RouterOptions router;
  DataOptions data;
  PrecisionOptions precision;
  DistillationOptions distillation;
  std::int64_t eval_every = 50;  // 0: only at the end
  std::int64_t eval_batches = 4;
  std::int64_t log_every = 10;
  std::string checkpoint_path;         // empty: no checkpoints
  std::int64_t checkpoint_every = 0;   // 0: only at the end (when a path is set)
  std::string metrics_csv, metrics_json;
};

// Reads a "cpu_training" object; `path` prefixes error paths. Throws ConfigError.
TrainOptions parse_train_options(const nlohmann::json& section, const std::string& path);

// The options of a config document: its "cpu_training" section, or all defaults when absent.
TrainOptions train_options_from_document(const nlohmann::json& doc);

std::unique_ptr<TokenSource> make_token_source(const DataOptions& data, std::int64_t seq_len);

}  // namespace frugal::core
