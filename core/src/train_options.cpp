// The "cpu_training" section of a config file (train_options.hpp).
#include "frugal/core/train_options.hpp"

#include "frugal/config/json_reader.hpp"

namespace frugal::core {
namespace {

// data.train_sequences: a pool of 100,000 sequences of 64 tokens holds 26 MB; more than any run
// here needs (600 steps × 16 sequences see 9,600).
constexpr std::int64_t kMaxTrainSequences = 100'000;

std::int64_t positive(JsonObjectReader& r, std::string_view key, std::int64_t fallback) {
  const std::int64_t v = r.integer(key, fallback);
  if (v <= 0) throw ConfigError(r.path_of(key), "must be a positive integer, got " + std::to_string(v));
  return v;
}
std::int64_t non_negative(JsonObjectReader& r, std::string_view key, std::int64_t fallback) {
  const std::int64_t v = r.integer(key, fallback);
  if (v < 0) throw ConfigError(r.path_of(key), "must not be negative, got " + std::to_string(v));
  return v;
}
double in_range(JsonObjectReader& r, std::string_view key, double fallback, double low, double high, bool open_low) {
  const double v = r.number(key, fallback);
  if (!(open_low ? v > low : v >= low) || !(v <= high))
    throw ConfigError(r.path_of(key), "must be in " + std::string(open_low ? "(" : "[") + std::to_string(low) + ", " +
                                          std::to_string(high) + "], got " + std::to_string(v));
  return v;
}

int integer_in_range(JsonObjectReader& r, std::string_view key, int fallback, int low, int high) {
  const std::int64_t v = r.integer(key, fallback);
  if (v < low || v > high)
    throw ConfigError(r.path_of(key), "must be an integer in [" + std::to_string(low) + ", " + std::to_string(high) +
                                          "], got " + std::to_string(v));
  return static_cast<int>(v);
}

}  // namespace

TrainOptions parse_train_options(const nlohmann::json& section, const std::string& path) {
  TrainOptions o;
  JsonObjectReader r(section, path);
  o.steps = positive(r, "steps", o.steps);
  o.batch_size = positive(r, "batch_size", o.batch_size);
  o.seq_len = positive(r, "seq_len", o.seq_len);
  o.seed = static_cast<std::uint64_t>(non_negative(r, "seed", static_cast<std::int64_t>(o.seed)));
  o.learning_rate = in_range(r, "learning_rate", o.learning_rate, 0, 1e6, true);
  o.min_lr_ratio = in_range(r, "min_lr_ratio", o.min_lr_ratio, 0, 1, false);
  o.warmup_steps = non_negative(r, "warmup_steps", o.warmup_steps);
  o.grad_clip = in_range(r, "grad_clip", o.grad_clip, 0, 1e30, false);
  o.init_std = in_range(r, "init_std", o.init_std, 0, 10, true);
  o.mtp_weight = in_range(r, "mtp_weight", o.mtp_weight, 0, 10, false);
  o.adamw.beta1 = in_range(r, "beta1", o.adamw.beta1, 0, 1, false);
  o.adamw.beta2 = in_range(r, "beta2", o.adamw.beta2, 0, 1, false);
  o.adamw.weight_decay = in_range(r, "weight_decay", o.adamw.weight_decay, 0, 10, false);
  o.eval_every = non_negative(r, "eval_every", o.eval_every);
  o.eval_batches = positive(r, "eval_batches", o.eval_batches);
  o.log_every = positive(r, "log_every", o.log_every);
  o.checkpoint_path = r.string("checkpoint", "");
  o.checkpoint_every = non_negative(r, "checkpoint_every", o.checkpoint_every);
  o.metrics_csv = r.string("metrics_csv", "");
  o.metrics_json = r.string("metrics_json", "");

  if (const nlohmann::json* router = r.object("router")) {
    JsonObjectReader rr(*router, r.path_of("router"));
    o.router.balancing = rr.choice<Balancing>(
        "balancing", {{"aux_free", Balancing::aux_free}, {"aux_loss", Balancing::aux_loss}, {"none", Balancing::none}},
        o.router.balancing);
    o.router.bias_update_speed = in_range(rr, "bias_update_speed", o.router.bias_update_speed, 0, 1, false);
    o.router.sequence_balance_alpha = in_range(rr, "sequence_balance_alpha", o.router.sequence_balance_alpha, 0, 100, false);
    o.router.aux_loss_alpha = in_range(rr, "aux_loss_alpha", o.router.aux_loss_alpha, 0, 100, false);
    o.router.capacity_factor = in_range(rr, "capacity_factor", o.router.capacity_factor, 0, 1e6, false);
    rr.finish();
  }
  if (const nlohmann::json* precision = r.object("precision")) {
    JsonObjectReader pr(*precision, r.path_of("precision"));
    o.precision.fp8_linear = pr.choice<bool>("linear", {{"fp32", false}, {"fp8", true}}, false);
    Fp8GemmOptions& recipe = o.precision.recipe;
    recipe.scale_format =
        pr.choice<ScaleFormat>("scale_format", {{"fp32", ScaleFormat::fp32}, {"ue8m0", ScaleFormat::ue8m0}}, ScaleFormat::fp32);
    const int gemms = pr.choice<int>("fp8_gemms", {{"forward", 1}, {"forward+dgrad", 2}, {"all", 3}}, 3);
    recipe.dgrad = gemms >= 2;
    recipe.wgrad = gemms >= 3;
    recipe.per_tensor = pr.choice<bool>("scales", {{"tile_wise", false}, {"per_tensor", true}}, false);
    recipe.promotion = pr.choice<bool>("accumulation", {{"promoted", true}, {"register_only", false}}, true);
    o.adamw.bf16_moments = pr.choice<bool>("optimizer_moments", {{"fp32", false}, {"bf16", true}}, false);
    pr.finish();
  }
  if (const nlohmann::json* data = r.object("data")) {
    JsonObjectReader d(*data, r.path_of("data"));
    o.data.kind = d.choice<DataOptions::Kind>("kind", {{"markov", DataOptions::Kind::markov}, {"text", DataOptions::Kind::text}},
                                              DataOptions::Kind::markov);
    if (o.data.kind == DataOptions::Kind::text) {
      o.data.text_path = d.string("path");
    } else {
      MarkovOptions& m = o.data.markov;
      m.alphabet = integer_in_range(d, "alphabet", m.alphabet, 2, 256);
      m.order = integer_in_range(d, "order", m.order, 1, 2);
      m.successors = integer_in_range(d, "successors", m.successors, 1, m.alphabet);
      m.seed = static_cast<std::uint64_t>(non_negative(d, "seed", static_cast<std::int64_t>(m.seed)));
    }
    o.data.train_sequences = d.integer("train_sequences", 0);
    if (o.data.train_sequences < 0 || o.data.train_sequences > kMaxTrainSequences)
      throw ConfigError(d.path_of("train_sequences"), "must be an integer in [0, " + std::to_string(kMaxTrainSequences) +
                                                                   "] (0: a fresh batch every step), got " +
                                                                   std::to_string(o.data.train_sequences));
    d.finish();
  }
  if (const nlohmann::json* distillation = r.object("distillation")) {
    JsonObjectReader dr(*distillation, r.path_of("distillation"));
    DistillationOptions& d = o.distillation;
    using Kind = DistillationOptions::Kind;
    d.kind = dr.choice<Kind>("kind", {{"none", Kind::none}, {"logit", Kind::logit}, {"sequence", Kind::sequence}}, Kind::none);
    d.teacher_config = dr.string("teacher_config", "");
    d.teacher_checkpoint = dr.string("teacher_checkpoint", "");
    d.temperature = in_range(dr, "temperature", d.temperature, 0, 1e3, true);
    d.alpha = in_range(dr, "alpha", d.alpha, 0, 1, false);
    d.samples = non_negative(dr, "samples", d.samples);
    d.sample_temperature = in_range(dr, "sample_temperature", d.sample_temperature, 0, 1e3, false);
    d.mix = in_range(dr, "mix", d.mix, 0, 1, true);
    dr.finish();
    if (d.kind != Kind::none && (d.teacher_config.empty() || d.teacher_checkpoint.empty()))
      throw ConfigError(dr.path_of(d.teacher_config.empty() ? "teacher_config" : "teacher_checkpoint"),
                        "is needed to distil: the teacher's config file and its frugal-train checkpoint");
  }
  r.finish();
  return o;
}

TrainOptions train_options_from_document(const nlohmann::json& doc) {
  if (doc.is_object() && doc.contains("cpu_training")) return parse_train_options(doc.at("cpu_training"), "cpu_training");
  return TrainOptions{};
}

std::unique_ptr<TokenSource> make_token_source(const DataOptions& data, std::int64_t seq_len) {
  if (data.kind == DataOptions::Kind::text) return std::make_unique<TextCorpus>(data.text_path, seq_len);
  return std::make_unique<MarkovSource>(data.markov);
}

}  // namespace frugal::core
