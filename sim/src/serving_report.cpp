#include "frugal/sim/serving_report.hpp"

#include <cmath>

#include <fmt/format.h>

#include "frugal/config/json_reader.hpp"
#include "frugal/sim/embedded_data.hpp"
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

std::string describe_deployment(const ServingDeployment& d) {
  std::string s = fmt::format("{} instance{} of {} x {} (TP {}, EP {}), {} weights, {} KV cache", d.instances,
                              d.instances == 1 ? "" : "s", d.gpus_per_instance, d.gpu.name, d.tp, d.ep,
                              d.fp8_weights ? "FP8" : "BF16", to_string(d.kv_dtype));
  if (d.disaggregated)
    s += fmt::format(", prefill on {} separate instance{} of {} GPUs", d.prefill_instances,
                     d.prefill_instances == 1 ? "" : "s", d.prefill_gpus_per_instance);
  if (d.mtp_acceptance > 0) s += fmt::format(", MTP speculative decoding at {:.0f}% acceptance", 100 * d.mtp_acceptance);
  return s + fmt::format(", token budget {}, ${:.2f}/GPU-hour", d.token_budget, d.price_per_gpu_hour);
}

}  // namespace

std::string serving_result_table(const ModelConfig& m, const ServingDeployment& d, const ServingWorkload& w,
                                 const ServingResult& r) {
  std::string out = fmt::format("{} served on {}\n", m.name, describe_deployment(d));
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
    // BF16 weights may need a bigger instance: double it (and EP with it) until they fit.
    ServingDeployment other = d;
    other.fp8_weights = !d.fp8_weights;
    std::string label = d.fp8_weights ? "BF16 weights" : "FP8 weights";
    while (kv_capacity_tokens(m, other, other.gpus_per_instance) <= 0 && other.gpus_per_instance < 1024) {
      other.gpus_per_instance *= 2;
      if (m.is_moe() && m.moe.routed_experts % (other.ep * 2) == 0) other.ep *= 2;
      label = fmt::format("BF16 weights, {} GPUs per instance", other.gpus_per_instance);
    }
    if (kv_capacity_tokens(m, other, other.gpus_per_instance) > 0)
      out.push_back({label, m.name, simulate_serving(m, other, w)});
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

// --- DeepSeek's serving day ------------------------------------------------------------------

namespace {

struct PublishedServingDay {
  std::string source, speed_source;
  GpuSpec gpu;
  double price = 2, input = 0, cache_hit = 0, output = 0, kv_length = 0, speed = 20, acceptance = 0;
  std::int64_t prefill_gpus = 32, prefill_ep = 32, decode_gpus = 144, decode_ep = 144;
  double price_hit = 0, price_miss = 0, price_output = 0;
  double nodes = 0, daily_cost = 0, revenue = 0, hit_rate = 0;
};

PublishedServingDay parse_day() {
  const EmbeddedFile& f = embedded_published_serving().front();
  const nlohmann::json j = nlohmann::json::parse(f.text);
  JsonObjectReader r(j, std::string(f.name));
  PublishedServingDay p;
  r.ignore({"description"});
  p.source = r.string("source");
  p.gpu = find_gpu(r.string("gpu"), r.path_of("gpu"));
  p.price = r.number("price_per_gpu_hour");
  p.input = r.number("input_tokens");
  p.cache_hit = r.number("cache_hit_tokens");
  p.output = r.number("output_tokens");
  p.kv_length = r.number("kv_length_per_output_token");
  p.speed = r.number("output_speed_tokens_per_s");
  p.speed_source = r.string("output_speed_source");
  p.acceptance = r.number("mtp_acceptance");
  {
    JsonObjectReader s(*r.object("prefill"), r.path_of("prefill"));
    p.prefill_gpus = s.integer("gpus_per_instance");
    p.prefill_ep = s.integer("ep");
    s.finish();
  }
  {
    JsonObjectReader s(*r.object("decode"), r.path_of("decode"));
    p.decode_gpus = s.integer("gpus_per_instance");
    p.decode_ep = s.integer("ep");
    s.finish();
  }
  {
    JsonObjectReader s(*r.object("prices_per_m_tokens"), r.path_of("prices_per_m_tokens"));
    p.price_hit = s.number("input_cache_hit");
    p.price_miss = s.number("input_cache_miss");
    p.price_output = s.number("output");
    s.finish();
  }
  {
    JsonObjectReader s(*r.object("published"), r.path_of("published"));
    p.nodes = s.number("average_nodes");
    p.daily_cost = s.number("daily_cost_usd");
    p.revenue = s.number("daily_revenue_usd");
    p.hit_rate = s.number("cache_hit_rate");
    s.finish();
  }
  r.finish();
  return p;
}

const PublishedServingDay& published_day() {
  static const PublishedServingDay day = parse_day();
  return day;
}

}  // namespace

std::vector<ServingCheck> validate_published_serving(const EfficiencyConstants& c) {
  const PublishedServingDay& day = published_day();
  const ModelConfig v3 = preset_model("deepseek-v3");
  const double seconds_per_day = 86400;
  const double nodes_per = static_cast<double>(day.gpu.gpus_per_node);

  // Prefill: a full iteration of the EP32 instance, each uncached token attending to the cached
  // prefix and half of the rest of a context of the published average length.
  ServingDeployment pre;
  pre.gpu = day.gpu;
  pre.gpus_per_instance = day.prefill_gpus;
  pre.ep = day.prefill_ep;
  pre.fp8_weights = true;
  const IterationModel prefill(v3, pre, c);
  const double hit = day.cache_hit / day.input;
  const double tokens = 16384.0 * static_cast<double>(day.prefill_gpus);
  const double keys = hit * day.kv_length + (1 - hit) * day.kv_length / 2;
  const double prefill_rate = tokens / prefill.time(day.prefill_gpus, {0, 0, tokens, tokens * keys});
  const double prefill_nodes = (day.input - day.cache_hit) / seconds_per_day / prefill_rate *
                               static_cast<double>(day.prefill_gpus) / nodes_per;

  // Decode: the EP144 instance at the largest batch whose step still gives each user the published
  // output speed, and that its KV cache holds.
  ServingDeployment dec = pre;
  dec.gpus_per_instance = day.decode_gpus;
  dec.ep = day.decode_ep;
  dec.mtp_acceptance = day.acceptance;
  const IterationModel decode(v3, dec, c);
  const double step_limit = tokens_per_decode_step(dec) / day.speed;
  const double kv_limit = decode.kv_capacity_tokens(day.decode_gpus) / day.kv_length;
  double lo = 1, hi = kv_limit;
  auto step = [&](double batch) { return decode.time(day.decode_gpus, {batch, batch * day.kv_length, 0, 0}); };
  for (int i = 0; i < 60; ++i) {
    const double mid = 0.5 * (lo + hi);
    (step(mid) <= step_limit ? lo : hi) = mid;
  }
  const double decode_rate = lo * tokens_per_decode_step(dec) / step(lo);
  const double decode_nodes = day.output / seconds_per_day / decode_rate * static_cast<double>(day.decode_gpus) / nodes_per;

  const double nodes = prefill_nodes + decode_nodes;
  const double daily_cost = nodes * nodes_per * 24 * day.price;
  const double revenue = (day.cache_hit * day.price_hit + (day.input - day.cache_hit) * day.price_miss +
                          day.output * day.price_output) / 1e6;
  auto check = [](std::string name, double published, double predicted, std::string how) {
    return ServingCheck{std::move(name), published, predicted, (predicted - published) / published, std::move(how)};
  };
  return {
      check("average nodes", day.nodes, nodes,
            fmt::format("{:.1f} prefill nodes at {:.0f} uncached tokens/s per EP{} instance + {:.1f} decode nodes at "
                        "{:.0f} output tokens/s per EP{} instance ({:.0f} sequences per GPU at {:.0f} tokens/s each)",
                        prefill_nodes, prefill_rate, day.prefill_ep, decode_nodes, decode_rate, day.decode_ep,
                        lo / static_cast<double>(day.decode_gpus), day.speed)),
      check("daily cost (USD)", day.daily_cost, daily_cost, "nodes x 8 GPUs x 24 h x $2"),
      check("cache-hit rate", day.hit_rate, hit, "cache-hit tokens / input tokens"),
      check("daily revenue at R1 prices (USD)", day.revenue, revenue, "token counts x published prices"),
      check("cost-profit margin", (day.revenue - day.daily_cost) / day.daily_cost, (revenue - daily_cost) / daily_cost,
            "(revenue - cost) / cost"),
  };
}

std::string serving_checks_table(const std::vector<ServingCheck>& checks) {
  TextTable t({"published", "published", "predicted", "error", "how"});
  t.set_left_aligned({4});
  for (const ServingCheck& c : checks)
    t.add_row({c.name, fmt::format("{:.4g}", c.published), fmt::format("{:.4g}", c.predicted), format_percent(c.rel_error),
               c.how});
  return t.render() + "  source: " + published_day().source + "; output speed: " + published_day().speed_source + "\n";
}

nlohmann::json serving_checks_json(const std::vector<ServingCheck>& checks) {
  nlohmann::json out = nlohmann::json::array();
  for (const ServingCheck& c : checks)
    out.push_back({{"name", c.name}, {"published", c.published}, {"predicted", c.predicted}, {"rel_error", c.rel_error},
                   {"how", c.how}, {"source", published_day().source}});
  return out;
}

}  // namespace frugal::sim
