// Where training tokens come from.
//   MarkovSource: a seeded order-1 or order-2 Markov chain over a small alphabet. Its entropy rate
//     is computed exactly, so a student sees how close the loss gets to the floor no model can beat.
//   TextCorpus: any plain-text file, one token per byte (vocabulary 256); the last 10% is held
//     out for evaluation.
// A batch for training step s is drawn from Rng(seed, s): no sampler state to save, and a
// resumed run sees exactly the batches it would have seen.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "frugal/core/random.hpp"

namespace frugal::core {

// B sequences of T inputs and their next-token targets, sequence-major.
struct Batch {
  std::vector<int> inputs;
  std::vector<int> targets;
};

// A fixed set of `count` sequences of seq_len + 1 tokens each (sequence-major), read in order:
// step s's batch of B is sequences s·B, s·B + 1, … (mod count), so each is seen once per pass.
Batch cyclic_batch(const std::vector<int>& sequences, std::int64_t count, std::int64_t seq_len, std::int64_t step,
                   std::int64_t batch_size);

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // B sequences of seq_len + 1 tokens become inputs [0, T) and targets [1, T].
  virtual Batch sample(Rng& rng, std::int64_t batch, std::int64_t seq_len, bool held_out) const = 0;
  // The smallest vocabulary that holds every token.
  virtual int vocabulary_needed() const = 0;
  // The lowest achievable mean cross-entropy (nats/token) over a sequence of seq_len predictions,
  // or NaN when unknown (real text).
  virtual double loss_floor(std::int64_t seq_len) const = 0;
  virtual std::string describe() const = 0;
};

struct MarkovOptions {
  int alphabet = 32;    // tokens 0 … alphabet−1
  int order = 2;        // the next token depends on this many previous tokens (1 or 2)
  int successors = 4;   // each context allows this many next tokens, with random probabilities
  std::uint64_t seed = 7;
};

class MarkovSource : public TokenSource {
 public:
  explicit MarkovSource(const MarkovOptions& options);
  Batch sample(Rng& rng, std::int64_t batch, std::int64_t seq_len, bool held_out) const override;
  int vocabulary_needed() const override { return options_.alphabet; }
  double loss_floor(std::int64_t seq_len) const override;
  std::string describe() const override;

  // H = −Σ_c π(c) Σ_x P(x|c) ln P(x|c), nats per token, for a full context.
  double entropy_rate() const { return entropy_rate_; }
  // H(X_1 | X_0): the first prediction of a sequence sees one token only (order 2).
  double first_token_entropy() const { return first_token_entropy_; }
  const std::vector<double>& stationary() const { return stationary_; }  // π over contexts
  // P(next | context) as a dense alphabet-wide row.
  std::vector<double> next_distribution(int context) const;
  // The context of the token after previous[0]: previous[0] (order 1) or previous[−1], previous[0].
  int context_of(const int* previous) const;
  int order() const { return options_.order; }

 private:
  MarkovOptions options_;
  int contexts_ = 0;
  std::vector<int> next_tokens_;     // contexts × successors
  std::vector<double> next_probs_;   // contexts × successors
  std::vector<double> stationary_;
  double entropy_rate_ = 0, first_token_entropy_ = 0;
};

class TextCorpus : public TokenSource {
 public:
  // Throws std::runtime_error naming the file when it cannot be read or is too short.
  TextCorpus(const std::string& path, std::int64_t seq_len);
  Batch sample(Rng& rng, std::int64_t batch, std::int64_t seq_len, bool held_out) const override;
  int vocabulary_needed() const override { return 256; }
  double loss_floor(std::int64_t) const override;
  std::string describe() const override;

 private:
  std::string path_;
  std::vector<int> train_, held_out_;
};

}  // namespace frugal::core
