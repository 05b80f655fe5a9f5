// Token sources (data.hpp).
#include "frugal/core/data.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

namespace frugal::core {

MarkovSource::MarkovSource(const MarkovOptions& o) : options_(o) {
  if (o.order != 1 && o.order != 2) throw std::invalid_argument("Markov order must be 1 or 2");
  if (o.successors < 1 || o.successors > o.alphabet) throw std::invalid_argument("successors must be in [1, alphabet]");
  contexts_ = o.order == 1 ? o.alphabet : o.alphabet * o.alphabet;
  Rng rng(o.seed, 0x4D41524B);
  // Each context c allows `successors` distinct tokens, always including (last token + 1) mod A so
  // that every context is reachable from every other (the chain is irreducible), with
  // Dirichlet(1) probabilities (normalised exponentials).
  for (int c = 0; c < contexts_; ++c) {
    const int last = c % o.alphabet;
    std::vector<int> chosen{(last + 1) % o.alphabet};
    while (static_cast<int>(chosen.size()) < o.successors) {
      const int candidate = static_cast<int>(rng.below(static_cast<std::uint64_t>(o.alphabet)));
      if (std::find(chosen.begin(), chosen.end(), candidate) == chosen.end()) chosen.push_back(candidate);
    }
    double sum = 0;
    std::vector<double> weights;
    for (int j = 0; j < o.successors; ++j) weights.push_back(-std::log(1.0 - rng.uniform()));
    for (double w : weights) sum += w;
    for (int j = 0; j < o.successors; ++j) {
      next_tokens_.push_back(chosen[static_cast<std::size_t>(j)]);
      next_probs_.push_back(weights[static_cast<std::size_t>(j)] / sum);
    }
  }

  // Stationary distribution over contexts by the lazy power iteration π ← (π + πP)/2, which
  // converges for any irreducible chain, periodic or not.
  stationary_.assign(static_cast<std::size_t>(contexts_), 1.0 / contexts_);
  std::vector<double> next(stationary_.size());
  for (int iteration = 0; iteration < 100000; ++iteration) {
    std::fill(next.begin(), next.end(), 0.0);
    for (int c = 0; c < contexts_; ++c) {
      const double mass = stationary_[static_cast<std::size_t>(c)];
      next[static_cast<std::size_t>(c)] += 0.5 * mass;
      for (int j = 0; j < o.successors; ++j) {
        const int token = next_tokens_[static_cast<std::size_t>(c * o.successors + j)];
        const int to = o.order == 1 ? token : (c % o.alphabet) * o.alphabet + token;
        next[static_cast<std::size_t>(to)] += 0.5 * mass * next_probs_[static_cast<std::size_t>(c * o.successors + j)];
      }
    }
    double change = 0;
    for (std::size_t i = 0; i < next.size(); ++i) change += std::abs(next[i] - stationary_[i]);
    stationary_.swap(next);
    if (change < 1e-15) break;
  }

  // Entropy rate H = Σ_c π(c) H(P(·|c)).
  for (int c = 0; c < contexts_; ++c)
    for (int j = 0; j < o.successors; ++j) {
      const double p = next_probs_[static_cast<std::size_t>(c * o.successors + j)];
      entropy_rate_ -= stationary_[static_cast<std::size_t>(c)] * p * std::log(p);
    }
  // Order 2: the first prediction sees x_0 only. With π over pairs (x_0, x_1):
  //   H(X_1 | X_0) = H(X_0, X_1) − H(X_0).
  if (o.order == 2) {
    double joint = 0, marginal = 0;
    std::vector<double> first(static_cast<std::size_t>(o.alphabet), 0.0);
    for (int c = 0; c < contexts_; ++c) {
      const double p = stationary_[static_cast<std::size_t>(c)];
      if (p > 0) joint -= p * std::log(p);
      first[static_cast<std::size_t>(c / o.alphabet)] += p;
    }
    for (double p : first)
      if (p > 0) marginal -= p * std::log(p);
    first_token_entropy_ = joint - marginal;
  } else {
    first_token_entropy_ = entropy_rate_;
  }
}

int MarkovSource::context_of(const int* previous) const {
  return options_.order == 1 ? previous[0] : previous[-1] * options_.alphabet + previous[0];
}

std::vector<double> MarkovSource::next_distribution(int context) const {
  std::vector<double> row(static_cast<std::size_t>(options_.alphabet), 0.0);
  for (int j = 0; j < options_.successors; ++j)
    row[static_cast<std::size_t>(next_tokens_[static_cast<std::size_t>(context * options_.successors + j)])] +=
        next_probs_[static_cast<std::size_t>(context * options_.successors + j)];
  return row;
}

Batch cyclic_batch(const std::vector<int>& sequences, std::int64_t count, std::int64_t seq_len, std::int64_t step,
                   std::int64_t batch_size) {
  Batch out;
  out.inputs.reserve(static_cast<std::size_t>(batch_size * seq_len));
  out.targets.reserve(out.inputs.capacity());
  for (std::int64_t b = 0; b < batch_size; ++b) {
    const std::int64_t index = (step * batch_size + b) % count;
    const auto first = sequences.begin() + index * (seq_len + 1);
    out.inputs.insert(out.inputs.end(), first, first + seq_len);
    out.targets.insert(out.targets.end(), first + 1, first + seq_len + 1);
  }
  return out;
}

// Each sequence starts from a context drawn from π (so every position is stationary) and then
// follows the chain. Training and held-out batches differ only by their random stream.
Batch MarkovSource::sample(Rng& rng, std::int64_t batch, std::int64_t seq_len, bool) const {
  Batch out;
  std::vector<int> sequence(static_cast<std::size_t>(seq_len + 1));
  for (std::int64_t b = 0; b < batch; ++b) {
    double u = rng.uniform();
    int context = contexts_ - 1;
    for (int c = 0; c < contexts_; ++c) {
      u -= stationary_[static_cast<std::size_t>(c)];
      if (u < 0) {
        context = c;
        break;
      }
    }
    std::size_t filled = 0;
    if (options_.order == 2) sequence[filled++] = context / options_.alphabet;
    sequence[filled++] = context % options_.alphabet;
    while (filled < sequence.size()) {
      const int c = context_of(&sequence[filled - 1]);
      double v = rng.uniform();
      int token = next_tokens_[static_cast<std::size_t>(c * options_.successors + options_.successors - 1)];
      for (int j = 0; j < options_.successors; ++j) {
        v -= next_probs_[static_cast<std::size_t>(c * options_.successors + j)];
        if (v < 0) {
          token = next_tokens_[static_cast<std::size_t>(c * options_.successors + j)];
          break;
        }
      }
      sequence[filled++] = token;
    }
    out.inputs.insert(out.inputs.end(), sequence.begin(), sequence.end() - 1);
    out.targets.insert(out.targets.end(), sequence.begin() + 1, sequence.end());
  }
  return out;
}

// Mean over the T predictions: the first sees one token (H(X_1|X_0)), the rest a full context.
double MarkovSource::loss_floor(std::int64_t seq_len) const {
  return (first_token_entropy_ + static_cast<double>(seq_len - 1) * entropy_rate_) / static_cast<double>(seq_len);
}

std::string MarkovSource::describe() const {
  return fmt::format("Markov chain, order {}, alphabet {}, {} successors per context, seed {} (entropy rate {:.4f} nats/token)",
                     options_.order, options_.alphabet, options_.successors, options_.seed, entropy_rate_);
}

TextCorpus::TextCorpus(const std::string& path, std::int64_t seq_len) : path_(path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open the text file");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t split = bytes.size() * 9 / 10;
  for (std::size_t i = 0; i < bytes.size(); ++i)
    (i < split ? train_ : held_out_).push_back(static_cast<int>(static_cast<unsigned char>(bytes[i])));
  const std::size_t needed = static_cast<std::size_t>(seq_len + 1);
  if (held_out_.size() < needed)
    throw std::runtime_error(fmt::format("{}: {} bytes is too short: its held-out 10% must hold a sequence of {} tokens "
                                         "(at least {} bytes)",
                                         path, bytes.size(), needed, needed * 10));
}

Batch TextCorpus::sample(Rng& rng, std::int64_t batch, std::int64_t seq_len, bool held_out) const {
  const std::vector<int>& text = held_out ? held_out_ : train_;
  Batch out;
  const std::uint64_t starts = text.size() - static_cast<std::size_t>(seq_len);
  for (std::int64_t b = 0; b < batch; ++b) {
    const auto start = static_cast<std::ptrdiff_t>(rng.below(starts));
    out.inputs.insert(out.inputs.end(), text.begin() + start, text.begin() + start + seq_len);
    out.targets.insert(out.targets.end(), text.begin() + start + 1, text.begin() + start + seq_len + 1);
  }
  return out;
}

double TextCorpus::loss_floor(std::int64_t) const { return std::numeric_limits<double>::quiet_NaN(); }

std::string TextCorpus::describe() const {
  return fmt::format("{} as bytes: {} training, {} held-out tokens", path_, train_.size(), held_out_.size());
}

}  // namespace frugal::core
