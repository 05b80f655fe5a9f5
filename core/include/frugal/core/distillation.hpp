// Distillation: a trained teacher's knowledge into a smaller student, both kinds.
//   logit    (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network"): at every
//            position the student also matches the teacher's distribution softened by a
//            temperature T; the loss and its T²-scaled gradient are in layers.hpp
//            (distillation_loss), the Trainer feeds it the teacher's logits for each batch.
//   sequence (Kim & Rush 2016, "Sequence-Level Knowledge Distillation"; DeepSeek-R1 report §2.4:
//            Qwen and Llama models fine-tuned on 800K samples curated with DeepSeek-R1): the
//            teacher writes sequences once, and the student trains on them with the plain
//            next-token loss, never seeing the teacher's probabilities.
// In both, the student's held-out loss is measured on the real data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "frugal/core/data.hpp"
#include "frugal/core/model.hpp"
#include "frugal/core/train_options.hpp"

namespace frugal::core {

const char* to_string(DistillationOptions::Kind kind);

// The model of `config_path`, built as that file's "cpu_training" section says (router, precision,
// MTP), holding the weights of the frugal-train checkpoint `checkpoint_path`. Throws ConfigError
// or CheckpointError naming the file.
std::shared_ptr<Transformer<float>> load_teacher(const std::string& config_path, const std::string& checkpoint_path);

// One token drawn from softmax(z / τ) of a row of logits (one uniform number from `rng`), or its
// argmax when τ = 0.
int sample_token(const RowVector<float>& logits, double temperature, Rng& rng);

// Autoregressive sampling: for each first token, a sequence of `length` tokens (the first one
// included) where token t+1 is drawn from softmax(z_t / τ) of the model's logits after tokens
// 0…t, or is their argmax when τ = 0. Sequence-major. Each new token is one pass over the new
// tokens with a KV cache (Transformer::decode_step): `length` token-forwards per sequence, not the
// Σ_t t ≈ length²/2 of rerunning every prefix, which only a token-dropping router still needs.
std::vector<int> sample_sequences(Transformer<float>& model, const std::vector<int>& first_tokens, std::int64_t length,
                                  double temperature, Rng& rng);

// The transfer set of sequence-level distillation: `count` sequences of seq_len + 1 tokens written
// by the teacher, each started from the first token of a real training sequence. Deterministic
// for a seed, so a resumed run regenerates the same set.
class TeacherCorpus {
 public:
  TeacherCorpus(Transformer<float>& teacher, const TokenSource& data, std::int64_t count, std::int64_t seq_len,
                double temperature, std::uint64_t seed);
  // The first n sequences (n ≤ size()), with the share of the generation FLOPs that wrote them.
  TeacherCorpus first(std::int64_t n) const;
  // Step s's batch: sequences s·B, s·B + 1, … (mod count): in order, each once per pass (cyclic_batch).
  Batch batch(std::int64_t step, std::int64_t batch_size) const;
  std::int64_t size() const { return count_; }
  std::int64_t seq_len() const { return seq_len_; }
  const std::vector<int>& tokens() const { return tokens_; }  // count × (seq_len + 1)
  double generation_flops() const { return flops_; }          // the teacher's matmul FLOPs to write it

 private:
  TeacherCorpus() = default;
  std::int64_t count_ = 0, seq_len_ = 0;
  std::vector<int> tokens_;
  double flops_ = 0;
};

// On the synthetic source: the fraction of the corpus's transitions the true source gives zero
// probability — the teacher's mistakes that sequence-level distillation teaches as if they were
// data. NaN for text, where there is no true source.
double impossible_transition_fraction(const TeacherCorpus& corpus, const TokenSource& data);

}  // namespace frugal::core
