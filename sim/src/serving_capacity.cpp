// Steady-state capacity of one serving instance: the iteration model (serving_step.cpp) at a
// fixed batch, without the queue. `serve --capacity` prints it; `serve --validate` compares it
// with published per-node throughputs.
#include <algorithm>
#include <cmath>
#include <string>

#include <fmt/format.h>

#include "frugal/config/config_error.hpp"
#include "frugal/sim/serving.hpp"

namespace frugal::sim {

namespace {

DecodeCapacity decode_at(const IterationModel& model, const ServingDeployment& d, double batch_per_gpu, double context) {
  const double gpus = static_cast<double>(d.gpus_per_instance);
  const double sequences = batch_per_gpu * gpus;
  DecodeCapacity out;
  out.batch_per_gpu = batch_per_gpu;
  out.context = context;
  out.step = model.breakdown(d.gpus_per_instance, {sequences, sequences * context, 0, 0});
  const double per_step = tokens_per_decode_step(d);
  out.tpot_s = out.step.total_s / per_step;
  out.tokens_per_s_per_gpu = batch_per_gpu * per_step / out.step.total_s;
  out.tokens_per_s_per_node = out.tokens_per_s_per_gpu * static_cast<double>(d.gpu.gpus_per_node);
  return out;
}

}  // namespace

DecodeCapacity decode_capacity(const ModelConfig& m, const ServingDeployment& d, double batch_per_gpu, double context,
                               double tpot_slo, const EfficiencyConstants& c) {
  if (!(context > 0)) throw ConfigError("--context", "must be positive (KV tokens per sequence)");
  const IterationModel model(m, d, c);
  if (batch_per_gpu > 0) return decode_at(model, d, batch_per_gpu, context);
  // The largest batch the KV cache holds (and the per-rank batch limit allows) ...
  const double gpus = static_cast<double>(d.gpus_per_instance);
  const double kv_batch = model.kv_capacity_tokens(d.gpus_per_instance) / context / gpus;
  const double limit = std::min(kv_batch, static_cast<double>(d.max_batch) / static_cast<double>(d.tp));
  if (!(limit >= 1.0 / gpus))
    throw ConfigError("--context", fmt::format("{:.0f} KV tokens per sequence: the instance's KV cache holds less than one "
                                               "sequence after the weights", context));
  DecodeCapacity best = decode_at(model, d, limit, context);
  best.kv_limited = kv_batch <= limit;
  if (tpot_slo <= 0 || best.tpot_s <= tpot_slo) return best;
  // ... or, under a TPOT SLO, the largest whose step still meets it (the step grows with the batch).
  const DecodeCapacity one = decode_at(model, d, 1.0 / gpus, context);
  if (one.tpot_s > tpot_slo)
    throw ConfigError("--tpot-slo", fmt::format("{:.1f} ms is not reachable on this instance: one sequence alone "
                                                "takes {:.1f} ms per output token",
                                                1e3 * tpot_slo, 1e3 * one.tpot_s));
  double lo = 1.0 / gpus, hi = limit;
  for (int i = 0; i < 60; ++i) {
    const double mid = 0.5 * (lo + hi);
    (decode_at(model, d, mid, context).tpot_s <= tpot_slo ? lo : hi) = mid;
  }
  return decode_at(model, d, lo, context);
}

AggregatedCapacity aggregated_capacity(const ModelConfig& m, const ServingDeployment& d, double batch_per_gpu, double prompt,
                                       double output, double prefix_hit_rate, const EfficiencyConstants& c) {
  if (!(batch_per_gpu > 0)) throw ConfigError("--batch-per-gpu", "must be positive (sequences per GPU)");
  if (!(prompt > 0)) throw ConfigError("--prompt", "must be positive (tokens per prompt)");
  if (!(output >= 1)) throw ConfigError("--output-tokens", "must be at least 1 (tokens per output)");
  if (!(prefix_hit_rate >= 0 && prefix_hit_rate < 1)) throw ConfigError("--prefix-hit-rate", "must be in [0, 1)");
  const IterationModel model(m, d, c);
  const double gpus = static_cast<double>(d.gpus_per_instance);
  const double tp = static_cast<double>(d.tp);
  const double ranks = gpus / tp;
  const double per_rank = batch_per_gpu * tp;  // sequences an attention-DP rank keeps running
  const double sequences = batch_per_gpu * gpus;
  AggregatedCapacity out;
  out.batch_per_gpu = batch_per_gpu;
  out.prompt = prompt;
  out.output = output;
  out.prefix_hit_rate = prefix_hit_rate;
  const double computed = prompt * (1.0 - prefix_hit_rate);  // a prompt's tokens not in the prefix cache
  // A sequence lives output / s decode iterations (s tokens each, tokens_per_decode_step), so a
  // rank finishes and restarts per_rank / (output / s) sequences an iteration: their prompts are
  // the prompt tokens to compute, per iteration, on average.
  const double per_step = tokens_per_decode_step(d);
  const double prompt_tokens_per_iteration = per_rank * computed * per_step / output;
  // A mixed iteration fills the rank's token budget beyond its decode rows with prompt tokens.
  out.prompt_chunk = std::max(1.0, static_cast<double>(d.token_budget) - per_rank * rows_per_decode_step(d));
  out.mixed_fraction = prompt_tokens_per_iteration / out.prompt_chunk;
  if (out.mixed_fraction > 1) {
    out.prefill_bound = true;
    out.mixed_fraction = 1;
  }
  // The running sequences' caches hold, on average, the prompt and half the output; a computed
  // prompt token attends to the cached prefix and, on average, half the rest (causal, chunk after
  // chunk), as in prefill_capacity.
  const double context = prompt + output / 2;
  const double keys = prefix_hit_rate * prompt + computed / 2;
  out.decode_step = model.breakdown(d.gpus_per_instance, {sequences, sequences * context, 0, 0});
  const double chunk_tokens = out.prompt_chunk * ranks;
  out.mixed_step = model.breakdown(d.gpus_per_instance, {sequences, sequences * context, chunk_tokens, chunk_tokens * keys});
  out.mean_iteration_s = (1 - out.mixed_fraction) * out.decode_step.total_s + out.mixed_fraction * out.mixed_step.total_s;
  // Output per iteration: every running sequence's step, or, when the prompts need every
  // iteration, only as many sequences as one chunk of prompts an iteration keeps fed.
  const double decoded = out.prefill_bound ? out.prompt_chunk / computed * output : per_rank * per_step;
  out.tokens_per_s_per_gpu = decoded / tp / out.mean_iteration_s;
  out.tokens_per_s_per_node = out.tokens_per_s_per_gpu * static_cast<double>(d.gpu.gpus_per_node);
  // Ranks that start their prompts on their own (AggregatedCapacity::unsynchronised_iteration_s).
  IterationLoad one = {sequences, sequences * context, out.prompt_chunk, out.prompt_chunk * keys, out.prompt_chunk};
  out.one_rank_step = model.breakdown(d.gpus_per_instance, one);
  const double p = out.mixed_fraction;
  const double any = 1.0 - std::pow(1.0 - p, ranks);                    // P(k >= 1)
  const double more = ranks > 1 ? (ranks * p - any) / (ranks - 1) : 0;  // E[(k - 1)+] / (ranks - 1)
  out.unsynchronised_iteration_s = out.decode_step.total_s + any * (out.one_rank_step.total_s - out.decode_step.total_s) +
                                   more * (out.mixed_step.total_s - out.one_rank_step.total_s);
  out.unsynchronised_tokens_per_s_per_gpu = decoded / tp / out.unsynchronised_iteration_s;
  return out;
}

PrefillCapacity prefill_capacity(const ModelConfig& m, const ServingDeployment& d, double prompt, double prefix_hit_rate,
                                 const EfficiencyConstants& c) {
  if (!(prompt > 0)) throw ConfigError("--prompt", "must be positive (tokens per prompt)");
  if (!(prefix_hit_rate >= 0 && prefix_hit_rate < 1)) throw ConfigError("--prefix-hit-rate", "must be in [0, 1)");
  const IterationModel model(m, d, c);
  const double gpus = static_cast<double>(d.gpus_per_instance);
  const double tokens = static_cast<double>(d.token_budget) * gpus / static_cast<double>(d.tp);
  // Each computed token attends to the cached prefix and, causally, half of the computed rest.
  const double keys = prefix_hit_rate * prompt + (1.0 - prefix_hit_rate) * prompt / 2.0;
  PrefillCapacity out;
  out.prompt = prompt;
  out.prefix_hit_rate = prefix_hit_rate;
  out.step = model.breakdown(d.gpus_per_instance, {0, 0, tokens, tokens * keys});
  out.computed_tokens_per_s_per_node = tokens / out.step.total_s / gpus * static_cast<double>(d.gpu.gpus_per_node);
  out.input_tokens_per_s_per_node = out.computed_tokens_per_s_per_node / (1.0 - prefix_hit_rate);
  return out;
}

}  // namespace frugal::sim
