// Greedy decoding, plain and speculative with the first MTP module as the drafter (V3 report
// §2.2, "MTP in inference"; §5.4.3: 85–90% acceptance of the second token, 1.8× tokens per second).
//
// Speculative loop: each main-model forward pass over (accepted tokens + draft d) gives the main
// model's own next token m₁; if m₁ = d the draft is accepted and the pass also yields the token
// after it, m₂ — two tokens for one pass. The MTP module then drafts the token after the last one.
// Every emitted token is the main model's greedy choice, so the output equals plain greedy
// decoding token for token (tested).
#pragma once

#include <vector>

#include "frugal/core/model.hpp"

namespace frugal::core {

struct DecodeResult {
  std::vector<int> tokens;            // prompt followed by the generated tokens
  std::int64_t main_forward_passes = 0;
  std::int64_t drafted = 0, accepted = 0;
  double acceptance_rate() const { return drafted ? static_cast<double>(accepted) / static_cast<double>(drafted) : 0.0; }
  double tokens_per_forward() const;  // generated tokens per main-model pass
  std::int64_t generated = 0;
};

// `count` new tokens, argmax at each step (the sequence never exceeds max_seq_len: count is cut).
DecodeResult greedy_decode(Transformer<float>& model, const std::vector<int>& prompt, std::int64_t count);
// The same tokens, drafted by MTP module 1 and verified by the main model. Needs mtp_depth() ≥ 1.
DecodeResult speculative_decode(Transformer<float>& model, const std::vector<int>& prompt, std::int64_t count);

}  // namespace frugal::core
