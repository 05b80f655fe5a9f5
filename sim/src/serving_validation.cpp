// `serve --validate`: every published serving figure in sim/data/published_serving.json against
// the model. DeepSeek's serving day (Day6 post): the nodes its token rates need at the per-node
// throughput the model predicts for the published deployments, daily cost, revenue, margin, and
// the per-node prefill and decode throughputs themselves; then public reproductions of the same
// deployment (RTP-LLM), each with its setup.
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "frugal/config/json_reader.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/embedded_data.hpp"
#include "frugal/sim/format.hpp"
#include "frugal/sim/serving_report.hpp"
#include "frugal/sim/text_table.hpp"

namespace frugal::sim {

namespace {

struct PhaseDeployment {
  std::int64_t gpus = 0, ep = 0, redundant = 0;
  bool low_latency_nvlink = true;  // false: published before DeepEP's low-latency kernels used NVLink
  bool eplb = false;               // EPLB's placement without redundant slots
  KvDtype kv_dtype = KvDtype::bf16;
  bool fp8_attention = false;
};

PhaseDeployment phase_from_json(JsonObjectReader& r) {
  PhaseDeployment p;
  p.gpus = r.integer("gpus_per_instance");
  p.ep = r.integer("ep");
  p.redundant = r.integer("redundant_experts", 0);
  p.low_latency_nvlink = r.boolean("low_latency_nvlink", true);
  r.ignore({"low_latency_nvlink_source"});
  p.eplb = r.boolean("eplb", false);
  r.ignore({"eplb_source"});
  p.kv_dtype = r.choice<KvDtype>("kv_dtype", {{"bf16", KvDtype::bf16}, {"fp8", KvDtype::fp8}}, KvDtype::bf16);
  p.fp8_attention = r.boolean("fp8_attention", false);
  if (p.fp8_attention && p.kv_dtype != KvDtype::fp8)
    throw ConfigError(r.path_of("fp8_attention"), "needs \"kv_dtype\": \"fp8\" (FP8 queries attend to an FP8 cache)");
  return p;
}

// A published measurement of one instance at a stated load (RTP-LLM and the like), or of how
// unevenly its routed tokens land on its GPUs (phase "expert_load": the busiest GPU's routed tokens
// over the mean, which IterationModel::expert_imbalance prices).
struct Measurement {
  std::string name, source, phase;
  PhaseDeployment deployment;
  double sequences = 0, prompt = 0, output = 0, prompts_per_gpu = 0, acceptance = 0;
  double context = 0;  // KV tokens per decoding sequence; 0: prompt + half the output
  std::int64_t token_budget = 0;  // tokens a rank's iteration may carry (aggregated)
  double iteration_overhead_s = -1;  // the fixed cost per iteration the source measured; < 0: the model's
  bool two_batch_overlap = true;     // false: the source ran without the two-micro-batch overlap
  std::optional<GpuSpec> gpu;  // absent: the Day6 deployment's GPU
  double published_per_gpu = 0;    // tokens/s per GPU (prefill, decode)
  double published_imbalance = 0;  // busiest GPU's routed tokens over the mean (expert_load)
  double copies_per_gpu = 0;       // routed copies a GPU in a layer (expert_load)
  std::vector<std::string> lacks;
};

struct PublishedServing {
  std::string source, speed_source;
  GpuSpec gpu;
  double price = 2, input = 0, cache_hit = 0, output = 0, kv_length = 0, speed = 20, acceptance = 0;
  PhaseDeployment prefill, decode;
  double price_hit = 0, price_miss = 0, price_output = 0;
  double nodes = 0, daily_cost = 0, revenue = 0, hit_rate = 0, prefill_per_node = 0, decode_per_node = 0;
  std::vector<Measurement> measurements;
  std::vector<ExcludedMeasurement> not_included;
};

Measurement measurement_from_json(const nlohmann::json& j, const std::string& path) {
  JsonObjectReader r(j, path);
  Measurement m;
  m.name = r.string("name");
  m.source = r.string("source");
  r.ignore({"quote", "mtp_acceptance_source"});
  m.phase = r.choice<std::string>(
      "phase", {{"prefill", "prefill"}, {"decode", "decode"}, {"aggregated", "aggregated"}, {"expert_load", "expert_load"}});
  m.deployment = phase_from_json(r);
  if (const nlohmann::json* lacks = r.array("lacks"))
    for (const auto& l : *lacks) m.lacks.push_back(l.get<std::string>());
  if (m.phase == "expert_load") {
    m.published_imbalance = r.number("published_busiest_over_mean");
    m.copies_per_gpu = r.number("routed_copies_per_gpu");
    if (!(m.published_imbalance >= 1)) throw ConfigError(r.path_of("published_busiest_over_mean"), "must be at least 1 (max over mean)");
    r.finish();
    return m;
  }
  if (r.has("gpu")) m.gpu = find_gpu(r.string("gpu"), r.path_of("gpu"));
  if (r.has("iteration_overhead_s")) {
    m.iteration_overhead_s = r.number("iteration_overhead_s");
    if (!(m.iteration_overhead_s >= 0 && m.iteration_overhead_s < 1))
      throw ConfigError(r.path_of("iteration_overhead_s"), "must be in [0, 1) seconds");
  }
  m.two_batch_overlap = r.boolean("two_batch_overlap", true);
  m.prompt = r.number("prompt_tokens");
  if (m.phase == "decode") {
    m.sequences = r.number("sequences");
    m.context = r.number("context_tokens", 0.0);
    m.output = m.context > 0 ? r.number("output_tokens", 0.0) : r.number("output_tokens");
    m.acceptance = r.number("mtp_acceptance", 0.0);
  } else if (m.phase == "aggregated") {
    m.sequences = r.number("sequences");
    m.output = r.number("output_tokens");
    m.acceptance = r.number("mtp_acceptance", 0.0);
    m.token_budget = r.integer("token_budget");
    if (!(m.sequences > 0)) throw ConfigError(r.path_of("sequences"), "must be positive");
    if (!(m.output >= 1)) throw ConfigError(r.path_of("output_tokens"), "must be at least 1");
    if (m.token_budget < 1) throw ConfigError(r.path_of("token_budget"), "must be at least 1");
  } else {
    m.prompts_per_gpu = r.number("prompts_per_gpu");
  }
  m.published_per_gpu = r.number("published_tokens_per_s_per_gpu");
  r.finish();
  return m;
}

PublishedServing parse_published() {
  const EmbeddedFile& f = embedded_published_serving().front();
  const nlohmann::json j = nlohmann::json::parse(f.text);
  JsonObjectReader r(j, std::string(f.name));
  PublishedServing p;
  r.ignore({"description", "deployment_source", "throughput_quote"});
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
  auto phase = [&r](const char* key) {
    JsonObjectReader s(*r.object(key), r.path_of(key));
    const PhaseDeployment out = phase_from_json(s);
    s.finish();
    return out;
  };
  p.prefill = phase("prefill");
  p.decode = phase("decode");
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
    p.prefill_per_node = s.number("prefill_input_tokens_per_s_per_node");
    p.decode_per_node = s.number("decode_output_tokens_per_s_per_node");
    s.finish();
  }
  if (const nlohmann::json* list = r.array("measurements"))
    for (std::size_t i = 0; i < list->size(); ++i)
      p.measurements.push_back(measurement_from_json((*list)[i], r.path_of("measurements") + "[" + std::to_string(i) + "]"));
  p.not_included = read_not_included(r);
  r.finish();
  return p;
}

const PublishedServing& published() {
  static const PublishedServing p = parse_published();
  return p;
}

// DeepSeek-V3 on the published GPU in FP8, one instance of `phase`.
ServingDeployment deployment_of(const GpuSpec& gpu, const PhaseDeployment& phase, double acceptance) {
  ServingDeployment d;
  d.gpu = gpu;
  d.fp8_weights = true;
  d.gpus_per_instance = phase.gpus;
  d.ep = phase.ep;
  d.redundant_experts = phase.redundant;
  d.low_latency_nvlink = phase.low_latency_nvlink;
  d.eplb = phase.eplb;
  d.kv_dtype = phase.kv_dtype;
  d.fp8_attention = phase.fp8_attention;
  d.mtp_acceptance = acceptance;
  d.max_batch = 1 << 20;  // the batch is set by the KV cache and the output speed, not a limit
  return d;
}

ServingCheck check(std::string name, double published_value, double predicted, std::string how, std::string source) {
  return ServingCheck{std::move(name), published_value, predicted, (predicted - published_value) / published_value,
                      std::move(how), std::move(source)};
}

// "93.5 ms (attention 13.2, experts 10.1, dense 12.9, dispatch+combine 71.2 of which 56.8 exposed)"
std::string step_parts(const IterationBreakdown& b) {
  return fmt::format("{:.1f} ms (attention {:.1f}, experts {:.1f}, dense {:.1f}, dispatch+combine {:.1f} of which {:.1f} exposed)",
                     1e3 * b.total_s, 1e3 * b.attention_s, 1e3 * b.experts_s, 1e3 * b.dense_s, 1e3 * b.comm_s,
                     1e3 * b.exposed_comm_s);
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace

std::vector<ServingCheck> validate_published_serving(const EfficiencyConstants& c) {
  const PublishedServing& day = published();
  const ModelConfig v3 = preset_model("deepseek-v3");
  const double seconds_per_day = 86400;
  const double per_node = static_cast<double>(day.gpu.gpus_per_node);
  const double hit = day.cache_hit / day.input;

  // Prefill: a full iteration of the EP32 instance, prompts of the published average KV length
  // with the published cache-hit rate.
  const ServingDeployment pre = deployment_of(day.gpu, day.prefill, 0);
  check_expert_slots(v3, pre);
  const PrefillCapacity prefill = prefill_capacity(v3, pre, day.kv_length, hit, c);
  const double prefill_nodes = (day.input - day.cache_hit) / seconds_per_day / prefill.computed_tokens_per_s_per_node;

  // Decode: the EP144 instance at the largest batch whose step still gives each user the published
  // output speed, and that its KV cache holds.
  const ServingDeployment dec = deployment_of(day.gpu, day.decode, day.acceptance);
  check_expert_slots(v3, dec);
  const DecodeCapacity decode = decode_capacity(v3, dec, 0, day.kv_length, 1.0 / day.speed, c);
  const double decode_nodes = day.output / seconds_per_day / decode.tokens_per_s_per_node;

  const double nodes = prefill_nodes + decode_nodes;
  const double daily_cost = nodes * per_node * 24 * day.price;
  const double revenue = (day.cache_hit * day.price_hit + (day.input - day.cache_hit) * day.price_miss +
                          day.output * day.price_output) / 1e6;
  std::vector<ServingCheck> out = {
      check("average nodes", day.nodes, nodes,
            fmt::format("{:.1f} prefill nodes at {:.0f} uncached tokens/s per node (EP{}, {} redundant) + {:.1f} decode nodes "
                        "at {:.0f} output tokens/s per node (EP{}, {} redundant; {:.0f} sequences per GPU at {:.0f} tokens/s "
                        "each)",
                        prefill_nodes, prefill.computed_tokens_per_s_per_node, day.prefill.ep, day.prefill.redundant,
                        decode_nodes, decode.tokens_per_s_per_node, day.decode.ep, day.decode.redundant,
                        decode.batch_per_gpu, day.speed),
            day.source),
      check("daily cost (USD)", day.daily_cost, daily_cost, "nodes x 8 GPUs x 24 h x $2", day.source),
      check("cache-hit rate", day.hit_rate, hit, "cache-hit tokens / input tokens", day.source),
      check("daily revenue at R1 prices (USD)", day.revenue, revenue, "token counts x published prices", day.source),
      check("cost-profit margin", (day.revenue - day.daily_cost) / day.daily_cost, (revenue - daily_cost) / daily_cost,
            "(revenue - cost) / cost", day.source),
      check("prefill input tokens/s per node (cache hits included)", day.prefill_per_node, prefill.input_tokens_per_s_per_node,
            "capacity of the EP32 instance; the published figure is a day's average, below capacity", day.source),
      check("decode output tokens/s per node", day.decode_per_node, decode.tokens_per_s_per_node,
            "capacity at the published output speed; the published figure is a day's average, below capacity", day.source),
  };
  for (const Measurement& m : day.measurements) {
    const GpuSpec& gpu = m.gpu ? *m.gpu : day.gpu;
    ServingDeployment d = deployment_of(gpu, m.deployment, m.acceptance);
    check_expert_slots(v3, d);  // a published layout must place its slots
    if (m.phase == "expert_load") {
      out.push_back(check(m.name + ": busiest GPU's routed tokens over the mean", m.published_imbalance,
                          IterationModel(v3, d, c).expert_imbalance(m.deployment.gpus, m.copies_per_gpu),
                          fmt::format("EP{} with {} redundant slots, {:.0f} routed copies a GPU: experts' loads spread as "
                                      "expert_load_cv {:.2f}, placed {}, plus the batch's sampling; {}",
                                      m.deployment.ep, m.deployment.redundant, m.copies_per_gpu, c.expert_load_cv,
                                      m.deployment.redundant > 0 ? "by EPLB" : "in order", joined(m.lacks)),
                          m.source));
      continue;
    }
    EfficiencyConstants c_run = c;  // a source that measured its own fixed cost per iteration is priced with it
    if (m.iteration_overhead_s >= 0) c_run.serving_iteration_overhead_s = m.iteration_overhead_s;
    d.two_batch_overlap = m.two_batch_overlap;
    if (m.phase == "decode") {
      const double context = m.context > 0 ? m.context : m.prompt + m.output / 2;
      const DecodeCapacity r = decode_capacity(v3, d, m.sequences / static_cast<double>(m.deployment.gpus), context, 0, c_run);
      out.push_back(check(m.name + ": output tokens/s per GPU", m.published_per_gpu, r.tokens_per_s_per_gpu,
                          fmt::format("{:.1f} sequences per GPU at {:.0f} KV tokens: step {}; {}", r.batch_per_gpu, context,
                                      step_parts(r.step), joined(m.lacks)),
                          m.source));
    } else if (m.phase == "aggregated") {
      d.token_budget = m.token_budget;
      const AggregatedCapacity r =
          aggregated_capacity(v3, d, m.sequences / static_cast<double>(m.deployment.gpus), m.prompt, m.output, 0, c_run);
      // Attention-DP ranks take their prompts as the engine's router deals them, and every
      // iteration waits for its busiest rank (AggregatedCapacity's unsynchronised form, as the
      // event simulation and the planner price aggregated serving). The synchronised form is in
      // the text beside it.
      out.push_back(check(
          m.name + ": output tokens/s per GPU", m.published_per_gpu, r.unsynchronised_tokens_per_s_per_gpu,
          fmt::format("{:.1f} sequences per GPU, {:.0f}-token prompts, {:.0f}-token outputs: a decode-only iteration {}; "
                      "{:.1f}% of a rank's iterations also compute {:.0f} prompt tokens{}; each rank starts its prompts on "
                      "its own and every iteration waits for the busiest: {:.1f} ms with one rank's chunk, {:.1f} ms with "
                      "every rank's, {:.1f} ms an iteration on average ({:.1f} ms and {:.0f} tokens/s per GPU if every rank "
                      "computed its prompts in the same iterations); {}",
                      r.batch_per_gpu, m.prompt, m.output, step_parts(r.decode_step), 100 * r.mixed_fraction, r.prompt_chunk,
                      r.prefill_bound ? " (the prompts bound the batch)" : "", 1e3 * r.one_rank_step.total_s,
                      1e3 * r.mixed_step.total_s, 1e3 * r.unsynchronised_iteration_s, 1e3 * r.mean_iteration_s,
                      r.tokens_per_s_per_gpu, joined(m.lacks)),
          m.source));
    } else {
      ServingDeployment p = d;
      p.token_budget = static_cast<std::int64_t>(m.prompts_per_gpu * m.prompt);
      const PrefillCapacity r = prefill_capacity(v3, p, m.prompt, 0, c_run);
      const double per_gpu = r.computed_tokens_per_s_per_node / static_cast<double>(gpu.gpus_per_node);
      out.push_back(check(m.name + ": prompt tokens/s per GPU", m.published_per_gpu, per_gpu,
                          fmt::format("{:.0f} prompt tokens per GPU per iteration: {:.2f} s; {}", m.prompts_per_gpu * m.prompt,
                                      r.step.total_s, joined(m.lacks)),
                          m.source));
    }
  }
  return out;
}

const std::vector<ExcludedMeasurement>& serving_figures_not_compared() { return published().not_included; }

std::string serving_checks_table(const std::vector<ServingCheck>& checks) {
  TextTable t({"published", "published", "predicted", "error", "how"});
  t.set_left_aligned({4});
  for (const ServingCheck& c : checks)
    t.add_row({c.name, fmt::format("{:.4g}", c.published), fmt::format("{:.4g}", c.predicted), format_percent(c.rel_error),
               c.how});
  std::string sources;
  for (const ServingCheck& c : checks)
    if (sources.find(c.source) == std::string::npos) sources += "  source: " + c.source + "\n";
  std::string excluded;
  for (const ExcludedMeasurement& e : published().not_included) excluded += "    " + e.name + ": " + e.reason + "\n";
  return t.render() + sources + "  output speed: " + published().speed_source + "\n" +
         (excluded.empty() ? "" : fmt::format("  Published but not compared ({}):\n", published().not_included.size()) + excluded);
}

nlohmann::json serving_checks_json(const std::vector<ServingCheck>& checks) {
  nlohmann::json out = nlohmann::json::array();
  for (const ServingCheck& c : checks)
    out.push_back({{"name", c.name}, {"published", c.published}, {"predicted", c.predicted}, {"rel_error", c.rel_error},
                   {"how", c.how}, {"source", c.source}});
  return out;
}

}  // namespace frugal::sim
