#include "frugal/sim/serving_report.hpp"

#include <cmath>

#include <fmt/format.h>

#include "frugal/config/config_error.hpp"
#include "frugal/sim/expert_placement.hpp"
#include "frugal/sim/format.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/text_table.hpp"

namespace frugal::sim {

ServingDeployment default_deployment(const ModelConfig& m, const GpuSpec& gpu, bool fp8_weights) {
  ServingDeployment d;
  d.gpu = gpu;
  d.fp8_weights = fp8_weights;
  const double bytes = account_model(m).total_params * (fp8_weights ? 1.0 : 2.0);
  std::int64_t gpus = 1;
  while (gpus < 256 && bytes > 0.6 * gpu.hbm_bytes * static_cast<double>(gpus)) gpus *= 2;
  d.gpus_per_instance = gpus;
  if (m.is_moe()) {
    d.ep = std::min<std::int64_t>(gpus, m.moe.routed_experts);
    while (m.moe.routed_experts % d.ep != 0) d.ep /= 2;
    d.tp = 1;
  } else {
    d.ep = 1;
    d.tp = std::min<std::int64_t>(gpus, gpu.gpus_per_node);
    while (m.attention.num_heads % d.tp != 0) d.tp /= 2;
  }
  return d;
}

nlohmann::json serving_result_json(const ServingResult& r) {
  return {{"completed", r.completed},
          {"duration_s", r.duration_s},
          {"ttft_p50_s", r.ttft_s.p50},
          {"ttft_p95_s", r.ttft_s.p95},
          {"ttft_p99_s", r.ttft_s.p99},
          {"tpot_p50_s", r.tpot_s.p50},
          {"tpot_p95_s", r.tpot_s.p95},
          {"tpot_p99_s", r.tpot_s.p99},
          {"e2e_p50_s", r.e2e_s.p50},
          {"e2e_p95_s", r.e2e_s.p95},
          {"e2e_p99_s", r.e2e_s.p99},
          {"e2e_mean_s", r.e2e_s.mean},
          {"mean_in_system", r.mean_in_system},
          {"arrival_rate", r.arrival_rate},
          {"input_tokens_per_s_per_gpu", r.input_tokens_per_s_per_gpu},
          {"output_tokens_per_s_per_gpu", r.output_tokens_per_s_per_gpu},
          {"input_tokens_per_s_per_node", r.input_tokens_per_s_per_node},
          {"output_tokens_per_s_per_node", r.output_tokens_per_s_per_node},
          {"utilisation", r.utilisation},
          {"max_running_per_instance", r.max_running},
          {"kv_capacity_tokens_per_instance", r.kv_capacity_tokens},
          {"cost_usd", r.cost_usd},
          {"cost_per_1k_requests_usd", r.cost_per_1k_requests_usd},
          {"cost_per_m_input_tokens_usd", r.cost_per_m_input_tokens_usd},
          {"cost_per_m_output_tokens_usd", r.cost_per_m_output_tokens_usd},
          {"daily_cost_usd", r.daily_cost_usd}};
}

namespace {

std::string ms(double s) { return fmt::format("{:.1f} ms", 1000 * s); }
std::string seconds(double s) { return s < 1 ? ms(s) : fmt::format("{:.2f} s", s); }

// The kernel choices a deployment departs from the defaults with, each as ", choice".
std::string kernel_choices(const ServingDeployment& d) {
  return std::string(d.fp8_attention ? ", FP8 attention" : "") +
         (d.low_latency_nvlink ? "" : ", decode all-to-all through the NIC only");
}

std::string describe_deployment(const ModelConfig& m, const ServingDeployment& d) {
  std::string s = fmt::format("{} instance{} of {} x {} (TP {}, EP {}), {} weights, {} KV cache", d.instances,
                              d.instances == 1 ? "" : "s", d.gpus_per_instance, d.gpu.name, d.tp, d.ep,
                              d.fp8_weights ? "FP8" : "BF16", to_string(d.kv_dtype));
  s += eplb_without_slots_note(d);
  s += kernel_choices(d);
  if (d.disaggregated) {
    s += fmt::format(", prefill on {} separate instance{} of {} GPUs", d.prefill_instances,
                     d.prefill_instances == 1 ? "" : "s", d.prefill_gpus_per_instance);
    if (m.is_moe()) {
      const ServingDeployment p = prefill_deployment(m, d);
      s += fmt::format(" (EP {}, {} redundant experts{})", p.ep, p.redundant_experts, eplb_without_slots_note(p));
    }
  }
  if (d.mtp_acceptance > 0) s += fmt::format(", MTP speculative decoding at {:.0f}% acceptance", 100 * d.mtp_acceptance);
  return s + fmt::format(", token budget {}, ${:.2f}/GPU-hour", d.token_budget, d.price_per_gpu_hour);
}

}  // namespace

std::string serving_result_table(const ModelConfig& m, const ServingDeployment& d, const ServingWorkload& w,
                                 const ServingResult& r) {
  std::string out = fmt::format("{} served on {}\n", m.name, describe_deployment(m, d));
  if (w.trace.empty())
    out += fmt::format("workload: {} requests, Poisson at {:.3g}/s, prompts {:.0f} tokens ({}), outputs {:.0f} tokens ({}), "
                       "prefix-cache hits {:.0f}%\n\n",
                       w.requests, w.arrival_rate, w.prompt.mean,
                       w.prompt.distribution == LengthDistribution::fixed ? "fixed" : "exponential", w.output.mean,
                       w.output.distribution == LengthDistribution::fixed ? "fixed" : "exponential", 100 * w.prefix_hit_rate);
  else
    out += fmt::format("workload: a trace of {} requests, prefix-cache hits {:.0f}%\n\n", w.trace.size(), 100 * w.prefix_hit_rate);
  TextTable t({"latency", "p50", "p95", "p99"});
  t.add_row({"time to first token", seconds(r.ttft_s.p50), seconds(r.ttft_s.p95), seconds(r.ttft_s.p99)});
  t.add_row({"time per output token", ms(r.tpot_s.p50), ms(r.tpot_s.p95), ms(r.tpot_s.p99)});
  t.add_row({"end to end", seconds(r.e2e_s.p50), seconds(r.e2e_s.p95), seconds(r.e2e_s.p99)});
  out += t.render() + "\n";
  out += fmt::format("  throughput: {:.0f} input and {:.0f} output tokens/s per GPU ({:.0f} and {:.0f} per node); "
                     "utilisation {:.0f}%\n",
                     r.input_tokens_per_s_per_gpu, r.output_tokens_per_s_per_gpu, r.input_tokens_per_s_per_node,
                     r.output_tokens_per_s_per_node, 100 * r.utilisation);
  out += fmt::format("  KV cache: {} tokens per instance; at most {:.0f} sequences ran at once on one instance\n",
                     format_count(r.kv_capacity_tokens), r.max_running);
  out += fmt::format("  cost: ${:.3f} per 1,000 requests, ${:.3f} per million input tokens or ${:.3f} per million output "
                     "tokens (all cost over each), ${} per day\n",
                     r.cost_per_1k_requests_usd, r.cost_per_m_input_tokens_usd, r.cost_per_m_output_tokens_usd,
                     format_thousands(r.daily_cost_usd));
  return out;
}

std::vector<ServingVariant> serving_comparisons(const ModelConfig& m, const ServingDeployment& d,
                                                const ServingWorkload& w, const std::string& dense_preset) {
  std::vector<ServingVariant> out;
  out.push_back({"as given", m.name, simulate_serving(m, d, w)});
  ServingDeployment mtp = d;
  mtp.mtp_acceptance = d.mtp_acceptance > 0 ? 0.0 : 0.85;
  out.push_back({d.mtp_acceptance > 0 ? "without MTP" : "with MTP (85% acceptance)", m.name, simulate_serving(m, mtp, w)});
  ServingWorkload cache = w;
  cache.prefix_hit_rate = w.prefix_hit_rate > 0 ? 0.0 : 0.5;
  out.push_back({w.prefix_hit_rate > 0 ? "without prefix caching" : "with 50% prefix-cache hits", m.name,
                 simulate_serving(m, d, cache)});
  if (d.gpu.fp8_flops > 0) {
    // BF16 weights may need bigger instances: double the decode instance (and EP with it), and a
    // disaggregated deployment's prefill instance (its slots then as prefill_deployment derives
    // them), until each holds its weights.
    ServingDeployment other = d;
    other.fp8_weights = !d.fp8_weights;
    std::string label = d.fp8_weights ? "BF16 weights" : "FP8 weights";
    auto decode_fits = [&] { return kv_capacity_tokens(m, other, other.gpus_per_instance) > 0; };
    auto prefill_fits = [&] {
      if (!other.disaggregated) return true;
      try {
        return kv_capacity_tokens(m, prefill_deployment(m, other), other.prefill_gpus_per_instance) > 0;
      } catch (const ConfigError&) {  // an EP its experts cannot be spread over: no such variant
        return false;
      }
    };
    bool decode = decode_fits(), prefill = prefill_fits();
    while (!(decode && prefill) && other.gpus_per_instance < 1024 && other.prefill_gpus_per_instance < 1024) {
      if (!decode) {
        other.gpus_per_instance *= 2;
        if (m.is_moe() && m.moe.routed_experts % (other.ep * 2) == 0) other.ep *= 2;
      }
      if (!prefill) {
        other.prefill_gpus_per_instance *= 2;
        other.prefill_redundant_experts.reset();
      }
      label = fmt::format("BF16 weights, {} GPUs per instance", other.gpus_per_instance) +
              (other.disaggregated ? fmt::format(" ({} per prefill instance)", other.prefill_gpus_per_instance) : "");
      decode = decode_fits();
      prefill = prefill_fits();
    }
    if (decode && prefill) out.push_back({label, m.name, simulate_serving(m, other, w)});
  }
  // A dense GQA model on the same number of GPUs, split into as many instances as hold it.
  const ModelConfig dense = preset_model(dense_preset);
  ServingDeployment dd = default_deployment(dense, d.gpu, d.fp8_weights);
  dd.price_per_gpu_hour = d.price_per_gpu_hour;
  dd.token_budget = d.token_budget;
  dd.max_batch = d.max_batch;
  dd.instances = std::max<std::int64_t>(1, d.total_gpus() / dd.gpus_per_instance);
  if (kv_capacity_tokens(dense, dd, dd.gpus_per_instance) > 0)
    out.push_back({fmt::format("dense GQA on {} GPUs", dd.total_gpus()), dense.name, simulate_serving(dense, dd, w)});
  return out;
}

std::string serving_comparisons_table(const std::vector<ServingVariant>& variants) {
  TextTable t({"variant", "model", "TTFT p50", "TPOT p50", "e2e p95", "out tok/s/GPU", "$/1k req", "$/M out"});
  t.set_left_aligned({1});
  for (const ServingVariant& v : variants) {
    const ServingResult& r = v.result;
    t.add_row({v.label, v.model, seconds(r.ttft_s.p50), ms(r.tpot_s.p50), seconds(r.e2e_s.p95),
               fmt::format("{:.0f}", r.output_tokens_per_s_per_gpu), fmt::format("{:.3f}", r.cost_per_1k_requests_usd),
               fmt::format("{:.3f}", r.cost_per_m_output_tokens_usd)});
  }
  return t.render();
}

nlohmann::json serving_comparisons_json(const std::vector<ServingVariant>& variants) {
  nlohmann::json out = nlohmann::json::array();
  for (const ServingVariant& v : variants) {
    nlohmann::json j = serving_result_json(v.result);
    j["variant"] = v.label;
    j["model"] = v.model;
    out.push_back(j);
  }
  return out;
}

// --- serve --capacity ------------------------------------------------------------------------

namespace {

nlohmann::json breakdown_json(const IterationBreakdown& b) {
  return {{"attention_s", b.attention_s}, {"experts_s", b.experts_s},         {"dense_s", b.dense_s},
          {"comm_s", b.comm_s},           {"exposed_comm_s", b.exposed_comm_s}, {"overhead_s", b.overhead_s},
          {"total_s", b.total_s}};
}

}  // namespace

nlohmann::json capacity_json(const DecodeCapacity& decode, const PrefillCapacity& prefill, const AggregatedCapacity* aggregated) {
  nlohmann::json j = {{"decode_step_s", decode.step.total_s},
          {"tpot_s", decode.tpot_s},
          {"batch_per_gpu", decode.batch_per_gpu},
          {"context", decode.context},
          {"kv_limited", decode.kv_limited},
          {"decode_tokens_per_s_per_gpu", decode.tokens_per_s_per_gpu},
          {"decode_tokens_per_s_per_node", decode.tokens_per_s_per_node},
          {"prefill_step_s", prefill.step.total_s},
          {"prefill_tokens_per_s_per_node", prefill.computed_tokens_per_s_per_node},
          {"prefill_input_tokens_per_s_per_node", prefill.input_tokens_per_s_per_node},
          {"breakdown", breakdown_json(decode.step)},
          {"prefill_breakdown", breakdown_json(prefill.step)}};
  if (aggregated)
    j["aggregated"] = {{"batch_per_gpu", aggregated->batch_per_gpu},
                       {"prompt", aggregated->prompt},
                       {"output", aggregated->output},
                       {"prefix_hit_rate", aggregated->prefix_hit_rate},
                       {"mixed_fraction", aggregated->mixed_fraction},
                       {"prompt_chunk", aggregated->prompt_chunk},
                       {"prefill_bound", aggregated->prefill_bound},
                       {"mean_iteration_s", aggregated->mean_iteration_s},
                       {"tokens_per_s_per_gpu", aggregated->tokens_per_s_per_gpu},
                       {"tokens_per_s_per_node", aggregated->tokens_per_s_per_node},
                       {"unsynchronised_iteration_s", aggregated->unsynchronised_iteration_s},
                       {"unsynchronised_tokens_per_s_per_gpu", aggregated->unsynchronised_tokens_per_s_per_gpu}};
  return j;
}

std::string capacity_table(const ModelConfig& m, const ServingDeployment& d, const DecodeCapacity& decode,
                           const PrefillCapacity& prefill, const AggregatedCapacity* aggregated) {
  auto ms = [](double s) { return fmt::format("{:.2f} ms", 1e3 * s); };
  std::string out = fmt::format(
      "{} on {} x {} per instance (TP {}, EP {}, {} redundant experts{}, {} weights, {} KV cache{}{})\n\n", m.name,
      d.gpus_per_instance, d.gpu.name, d.tp, d.ep, d.redundant_experts,
      d.eplb && d.redundant_experts == 0 ? " (EPLB placement)" : "", d.fp8_weights ? "FP8" : "BF16",
      to_string(d.kv_dtype), kernel_choices(d), d.mtp_acceptance > 0 ? fmt::format(", MTP at {:.2f} acceptance", d.mtp_acceptance) : std::string());
  TextTable t({"", "decode", "prefill"});
  t.add_row({"load", fmt::format("{:.1f} sequences per GPU{} at {:.0f} KV tokens", decode.batch_per_gpu,
                                 decode.kv_limited ? " (all the KV cache holds)" : "", decode.context),
             fmt::format("{} prompt tokens per DP rank, {:.0f}-token prompts, {:.0f}% cached", d.token_budget, prefill.prompt,
                         100 * prefill.prefix_hit_rate)});
  t.add_row({"attention", ms(decode.step.attention_s), ms(prefill.step.attention_s)});
  t.add_row({"routed experts", ms(decode.step.experts_s), ms(prefill.step.experts_s)});
  t.add_row({"projections, dense, shared, head", ms(decode.step.dense_s), ms(prefill.step.dense_s)});
  t.add_row({"dispatch + combine (before overlap)", ms(decode.step.comm_s), ms(prefill.step.comm_s)});
  t.add_row({"  exposed after two micro-batches", ms(decode.step.exposed_comm_s), ms(prefill.step.exposed_comm_s)});
  t.add_row({"fixed per iteration", ms(decode.step.overhead_s), ms(prefill.step.overhead_s)});
  t.add_row({"iteration", ms(decode.step.total_s), ms(prefill.step.total_s)});
  t.add_row({"time per output token", ms(decode.tpot_s), ""});
  t.add_row({"tokens/s per GPU", fmt::format("{:.0f} output", decode.tokens_per_s_per_gpu),
             fmt::format("{:.0f} computed", prefill.computed_tokens_per_s_per_node / static_cast<double>(d.gpu.gpus_per_node))});
  t.add_row({"tokens/s per node", fmt::format("{:.0f} output", decode.tokens_per_s_per_node),
             fmt::format("{:.0f} input (cache hits included)", prefill.input_tokens_per_s_per_node)});
  out += t.render();
  if (aggregated)
    out += fmt::format(
        "\nAggregated, prefill and decode on the same GPUs at {:.1f} sequences per GPU, {:.0f}-token prompts ({:.0f}% "
        "cached) and {:.0f}-token outputs: {:.1f}% of the iterations also compute {:.0f} prompt tokens a rank ({}), the "
        "others only decode ({}); {:.1f} ms an iteration on average, {:.0f} output tokens/s per GPU, {:.0f} per node{}, "
        "when every rank computes its prompts in the same iterations. When each rank starts its own as they come "
        "(round robin, as the event simulation `serve` deals them), every iteration waits for its busiest rank: one "
        "rank's chunk costs {}, and the mean iteration is {:.1f} ms, {:.0f} output tokens/s per GPU.\n",
        aggregated->batch_per_gpu, aggregated->prompt, 100 * aggregated->prefix_hit_rate, aggregated->output,
        100 * aggregated->mixed_fraction, aggregated->prompt_chunk, ms(aggregated->mixed_step.total_s),
        ms(aggregated->decode_step.total_s), 1e3 * aggregated->mean_iteration_s, aggregated->tokens_per_s_per_gpu,
        aggregated->tokens_per_s_per_node, aggregated->prefill_bound ? "; the prompts bound the batch" : "",
        ms(aggregated->one_rank_step.total_s), 1e3 * aggregated->unsynchronised_iteration_s,
        aggregated->unsynchronised_tokens_per_s_per_gpu);
  return out;
}

std::string eplb_without_slots_note(const ServingDeployment& d) {
  return d.eplb && d.redundant_experts == 0 ? ", EPLB placement" : "";
}

void check_fp8_attention(const ServingDeployment& d) {
  if (!d.fp8_attention) return;
  if (d.kv_dtype != KvDtype::fp8) throw ConfigError("--fp8-attention", "needs --kv-dtype fp8 (FP8 queries attend to an FP8 cache)");
  if (d.gpu.fp8_flops <= 0) throw ConfigError("--fp8-attention", "needs FP8 Tensor Cores, which the " + d.gpu.name + " lacks");
}

void check_expert_slots(const ModelConfig& m, const ServingDeployment& d) {
  if (d.redundant_experts < 0) throw ConfigError("--redundant-experts", "must be 0 or more");
  if (!m.is_moe()) {
    if (d.redundant_experts > 0) throw ConfigError("--redundant-experts", m.name + " has no routed experts");
    return;
  }
  // Redundancy copies the hottest experts (DeepSeek: 32 slots beside 256 experts, V3 report §3.4);
  // more than four copies of every expert is no longer redundancy, and bounds EPLB's placement work.
  if (d.redundant_experts > 4 * m.moe.routed_experts)
    throw ConfigError("--redundant-experts", fmt::format("{} is more than four copies of each of the {} routed experts",
                                                         d.redundant_experts, m.moe.routed_experts));
  const std::int64_t slots = m.moe.routed_experts + d.redundant_experts;
  if (d.ep > d.gpus_per_instance)
    throw ConfigError("--ep", fmt::format("{} exceeds the {} GPUs of an instance", d.ep, d.gpus_per_instance));
  if (slots % d.ep == 0) return;
  std::int64_t below = d.ep, above = d.ep;
  while (below > 1 && slots % below != 0) --below;
  while (above < slots && slots % above != 0) ++above;
  const std::int64_t fitting = fewest_redundant_slots(m.moe.routed_experts, d.ep);
  throw ConfigError("--ep", fmt::format("{} does not divide the {} expert slots ({} routed + {} redundant); nearest that "
                                        "do: {} and {} (or change --redundant-experts: {} gives {} slots)",
                                        d.ep, slots, m.moe.routed_experts, d.redundant_experts, below, above, fitting,
                                        m.moe.routed_experts + fitting));
}

}  // namespace frugal::sim
