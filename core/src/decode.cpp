// Greedy and MTP-speculative decoding (decode.hpp).
#include "frugal/core/decode.hpp"

#include <algorithm>
#include <stdexcept>

namespace frugal::core {

double DecodeResult::tokens_per_forward() const {
  return main_forward_passes ? static_cast<double>(generated) / static_cast<double>(main_forward_passes) : 0.0;
}

static int argmax(const RowVector<float>& row) {
  Index best = 0;
  row.maxCoeff(&best);
  return static_cast<int>(best);
}

static std::int64_t room(const Transformer<float>& model, const std::vector<int>& prompt, std::int64_t count) {
  if (prompt.empty()) throw std::invalid_argument("decoding needs a prompt of at least one token");
  return std::max<std::int64_t>(0, std::min<std::int64_t>(count, model.config().max_seq_len - static_cast<std::int64_t>(prompt.size())));
}

DecodeResult greedy_decode(Transformer<float>& model, const std::vector<int>& prompt, std::int64_t count) {
  DecodeResult r;
  r.tokens = prompt;
  const std::int64_t target = static_cast<std::int64_t>(prompt.size()) + room(model, prompt, count);
  Matrix<float> logits, hidden;
  while (static_cast<std::int64_t>(r.tokens.size()) < target) {
    model.forward_inference(r.tokens, logits, hidden);
    ++r.main_forward_passes;
    r.tokens.push_back(argmax(logits.row(logits.rows() - 1)));
    ++r.generated;
  }
  return r;
}

DecodeResult speculative_decode(Transformer<float>& model, const std::vector<int>& prompt, std::int64_t count) {
  if (model.mtp_depth() < 1) throw std::invalid_argument("speculative decoding needs a model trained with MTP (mtp_weight > 0)");
  DecodeResult r;
  r.tokens = prompt;
  const std::int64_t target = static_cast<std::int64_t>(prompt.size()) + room(model, prompt, count);
  Matrix<float> logits, hidden;
  int draft = -1;  // the MTP module's guess for the token after r.tokens, or none
  while (static_cast<std::int64_t>(r.tokens.size()) < target) {
    std::vector<int> input = r.tokens;
    const bool drafting = draft >= 0 && static_cast<std::int64_t>(r.tokens.size()) + 1 < target;
    if (drafting) input.push_back(draft);
    model.forward_inference(input, logits, hidden);
    ++r.main_forward_passes;
    const Index last_accepted = static_cast<Index>(r.tokens.size()) - 1;
    const int next = argmax(logits.row(last_accepted));  // the main model's token after r.tokens
    std::vector<int> context;
    if (drafting) {
      ++r.drafted;
      if (next == draft) {
        ++r.accepted;
        // The draft stands; this pass also gives the token after it.
        const int after = argmax(logits.row(last_accepted + 1));
        r.tokens.push_back(draft);
        r.tokens.push_back(after);
        r.generated += 2;
        context = input;  // hidden covers it, up to the draft
        draft = argmax(model.mtp_draft_logits(context, hidden, after));
        continue;
      }
    }
    r.tokens.push_back(next);
    ++r.generated;
    context.assign(r.tokens.begin(), r.tokens.end() - 1);
    const Matrix<float> accepted_hidden = hidden.topRows(static_cast<Index>(context.size()));
    draft = argmax(model.mtp_draft_logits(context, accepted_hidden, next));
  }
  r.tokens.resize(static_cast<std::size_t>(target));  // an accepted pair may overshoot by one
  r.generated = target - static_cast<std::int64_t>(prompt.size());
  return r;
}

}  // namespace frugal::core
