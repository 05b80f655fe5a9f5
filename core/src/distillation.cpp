// The teacher, its samples and the sequence-level transfer set (distillation.hpp).
#include "frugal/core/distillation.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "frugal/config/config_error.hpp"
#include "frugal/config/config_file.hpp"
#include "frugal/core/checkpoint.hpp"
#include "frugal/core/trainer.hpp"

namespace frugal::core {

const char* to_string(DistillationOptions::Kind kind) {
  switch (kind) {
    case DistillationOptions::Kind::logit: return "logit";
    case DistillationOptions::Kind::sequence: return "sequence";
    case DistillationOptions::Kind::none: break;
  }
  return "none";
}

std::shared_ptr<Transformer<float>> load_teacher(const std::string& config_path, const std::string& checkpoint_path) {
  const nlohmann::json doc = read_json_file(config_path);
  ModelConfig model;
  TrainOptions options;
  try {
    model = model_from_document(doc);
    options = train_options_from_document(doc);
  } catch (const ConfigError& e) {
    throw ConfigError(config_path, e.what());
  }
  auto teacher = std::make_shared<Transformer<float>>(model, options.router, options.precision.gemm(), options.mtp_weight);
  restore_weights(*teacher, read_checkpoint(checkpoint_path), checkpoint_path);
  return teacher;
}

// Inverts the cumulative sum of softmax(z / τ), in double.
int sample_token(const RowVector<float>& logits, double temperature, Rng& rng) {
  Index best = 0;
  const double top = logits.maxCoeff(&best);
  if (temperature <= 0) return static_cast<int>(best);
  const Eigen::ArrayXd weights = ((logits.transpose().cast<double>().array() - top) / temperature).exp();
  double u = rng.uniform() * weights.sum();
  for (Index v = 0; v < weights.size(); ++v) {
    u -= weights(v);
    if (u < 0) return static_cast<int>(v);
  }
  return static_cast<int>(best);
}

std::vector<int> sample_sequences(Transformer<float>& model, const std::vector<int>& first_tokens, std::int64_t length,
                                  double temperature, Rng& rng) {
  if (length > model.config().max_seq_len + 1)
    throw std::invalid_argument(fmt::format("cannot sample {} tokens: the model reads at most {}", length, model.config().max_seq_len));
  const auto count = static_cast<Index>(first_tokens.size());
  std::vector<int> out(static_cast<std::size_t>(count * length));
  // Sequences advance together in chunks, one batched pass per new token: over the new tokens alone
  // with a KV cache, or, for a token-dropping router (whose drops depend on the whole batch), over
  // every prefix again.
  const bool cached = !model.drops_tokens();
  constexpr Index kChunk = 64;
  for (Index begin = 0; begin < count; begin += kChunk) {
    const Index rows = std::min(kChunk, count - begin);
    std::vector<std::vector<int>> sequences(static_cast<std::size_t>(rows));
    for (Index b = 0; b < rows; ++b) sequences[static_cast<std::size_t>(b)] = {first_tokens[static_cast<std::size_t>(begin + b)]};
    std::vector<KvCache<float>> caches = cached ? model.new_kv_caches(length - 1) : std::vector<KvCache<float>>{};
    for (Index t = 1; t < length; ++t) {
      // Sequence b's logits after its token t - 1: row b of the cached step, or row b·t + t − 1 of
      // the pass over every prefix.
      std::vector<int> inputs;
      for (const auto& s : sequences) {
        if (cached) inputs.push_back(s.back());
        else inputs.insert(inputs.end(), s.begin(), s.end());
      }
      const Matrix<float>& logits = cached ? model.decode_step(inputs, t - 1, caches) : model.infer(inputs, rows, t);
      const Index stride = cached ? 1 : t, last = cached ? 0 : t - 1;
      for (Index b = 0; b < rows; ++b)
        sequences[static_cast<std::size_t>(b)].push_back(sample_token(logits.row(b * stride + last), temperature, rng));
    }
    for (Index b = 0; b < rows; ++b)
      std::copy(sequences[static_cast<std::size_t>(b)].begin(), sequences[static_cast<std::size_t>(b)].end(),
                out.begin() + (begin + b) * length);
  }
  return out;
}

TeacherCorpus::TeacherCorpus(Transformer<float>& teacher, const TokenSource& data, std::int64_t count, std::int64_t seq_len,
                             double temperature, std::uint64_t seed)
    : count_(count), seq_len_(seq_len) {
  if (count <= 0) throw std::invalid_argument("the teacher's corpus needs at least one sequence");
  // The prompts: the first token of `count` training sequences of the real data.
  Rng prompt_rng(seed, 0);
  const Batch prompts = data.sample(prompt_rng, count, 1, false);
  std::vector<int> first_tokens(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) first_tokens[static_cast<std::size_t>(i)] = prompts.inputs[static_cast<std::size_t>(i)];
  MatmulMeter& meter = matmul_meter();
  const MatmulMeter saved = meter;
  Rng sample_rng(seed, 1);
  tokens_ = sample_sequences(teacher, first_tokens, seq_len + 1, temperature, sample_rng);
  flops_ = meter.flops - saved.flops;
  meter = saved;  // the teacher's work is not the student's training compute
}

TeacherCorpus TeacherCorpus::first(std::int64_t n) const {
  if (n <= 0 || n > count_) throw std::invalid_argument(fmt::format("cannot take {} of {} sequences", n, count_));
  TeacherCorpus out;
  out.count_ = n;
  out.seq_len_ = seq_len_;
  out.tokens_.assign(tokens_.begin(), tokens_.begin() + n * (seq_len_ + 1));
  out.flops_ = flops_ * static_cast<double>(n) / static_cast<double>(count_);
  return out;
}

Batch TeacherCorpus::batch(std::int64_t step, std::int64_t batch_size) const {
  return cyclic_batch(tokens_, count_, seq_len_, step, batch_size);
}

double impossible_transition_fraction(const TeacherCorpus& corpus, const TokenSource& data) {
  const auto* markov = dynamic_cast<const MarkovSource*>(&data);
  if (!markov) return std::nan("");
  const std::int64_t length = corpus.seq_len() + 1;
  const int alphabet = markov->vocabulary_needed();
  std::int64_t checked = 0, impossible = 0;
  for (std::int64_t s = 0; s < corpus.size(); ++s) {
    const int* sequence = corpus.tokens().data() + s * length;
    // Transitions into token i, from the first position with a full context.
    for (std::int64_t i = markov->order(); i < length; ++i) {
      ++checked;
      const bool outside = std::any_of(sequence + i - markov->order(), sequence + i + 1, [&](int t) { return t >= alphabet; });
      if (outside || markov->next_distribution(markov->context_of(sequence + i - 1))[static_cast<std::size_t>(sequence[i])] == 0.0)
        ++impossible;
    }
  }
  return checked ? static_cast<double>(impossible) / static_cast<double>(checked) : 0.0;
}

}  // namespace frugal::core
