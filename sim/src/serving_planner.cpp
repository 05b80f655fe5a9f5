// `serve --plan` (serving_planner.hpp): size every candidate deployment from the capacity model,
// then confirm the cheapest in the event simulation.
#include "frugal/sim/serving_planner.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "frugal/config/config_error.hpp"
#include "frugal/sim/expert_placement.hpp"
#include "frugal/sim/serving_report.hpp"
#include "frugal/sim/text_table.hpp"

namespace frugal::sim {

namespace {

// Sizes an instance of a MoE model may take (EP = the instance; a small MoE such as DeepSeek-V2-Lite
// fits on one GPU), and of a dense one (TP inside a node, replicas beyond).
const std::vector<std::int64_t> kMoeInstanceSizes = {1, 2, 4, 8, 16, 24, 32, 48, 64, 72, 96, 128, 144, 192, 256};
const std::vector<std::int64_t> kDenseInstanceSizes = {1, 2, 4, 8};
const std::vector<std::int64_t> kBatchLimits = {32, 64, 128, 256};
const std::vector<std::int64_t> kPrefillSizesMoe = {1, 2, 4, 8, 16, 32};
const std::vector<std::int64_t> kPrefillSizesDense = {1, 2, 4, 8};

ServingDeployment instance_of(const ModelConfig& m, const GpuSpec& gpu, std::int64_t gpus, ExpertSlotOption slots,
                              double price, const PlanChoices& choices) {
  ServingDeployment d;
  d.gpu = gpu;
  apply_choices(choices, d);
  d.gpus_per_instance = gpus;
  d.price_per_gpu_hour = price;
  if (m.is_moe()) {
    d.ep = gpus;
    d.tp = 1;
    d.redundant_experts = slots.redundant;
    d.eplb = slots.eplb;
  } else {
    d.ep = 1;
    d.tp = std::min<std::int64_t>(gpus, gpu.gpus_per_node);
    while (d.tp > 1 && m.attention.num_heads % d.tp != 0) d.tp /= 2;
  }
  return d;
}

std::string layout_of(const ServingDeployment& d, const ModelConfig& m) {
  std::string s = fmt::format("{} at ${:.2f}/h, {}: {} x {} GPUs", d.gpu.name, d.price_per_gpu_hour,
                              d.disaggregated ? "disaggregated" : "aggregated", d.instances, d.gpus_per_instance);
  if (d.disaggregated) s += fmt::format(" decode + {} x {} prefill", d.prefill_instances, d.prefill_gpus_per_instance);
  if (m.is_moe()) {
    s += fmt::format(", EP = instance, {} redundant{}", d.redundant_experts, eplb_without_slots_note(d));
    // The prefill instances' slots, where their EP needs others than decode's (prefill_deployment).
    const ServingDeployment p = d.disaggregated ? prefill_deployment(m, d) : d;
    if (p.redundant_experts != d.redundant_experts)
      s += fmt::format(" (prefill {}{})", p.redundant_experts, eplb_without_slots_note(p));
  } else {
    s += fmt::format(", TP {}", d.tp);
  }
  return s + fmt::format(", batch <= {} per rank", d.max_batch);
}

// An aggregated instance kept full at the largest batch per GPU, up to `most`, whose time per output
// token (each rank starting its prompts on its own) meets the SLO; none when one sequence a GPU
// already misses it. The time grows with the batch, so a bisection finds it.
std::optional<AggregatedCapacity> aggregated_within_slo(const ModelConfig& m, const ServingDeployment& d, double most,
                                                        double prompt, double output, double hit_rate, double tpot_slo,
                                                        const EfficiencyConstants& c) {
  const double per_step = tokens_per_decode_step(d);
  auto at = [&](double batch) { return aggregated_capacity(m, d, batch, prompt, output, hit_rate, c); };
  auto meets = [&](const AggregatedCapacity& a) { return tpot_slo <= 0 || a.unsynchronised_iteration_s / per_step <= tpot_slo; };
  AggregatedCapacity full = at(most);
  if (meets(full)) return full;
  double lo = std::min(most, 1.0 / static_cast<double>(d.gpus_per_instance)), hi = most;
  AggregatedCapacity found = at(lo);
  if (!meets(found)) return std::nullopt;
  for (int i = 0; i < 20; ++i) {
    const double mid = 0.5 * (lo + hi);
    AggregatedCapacity here = at(mid);
    if (meets(here)) {
      lo = mid;
      found = std::move(here);
    } else {
      hi = mid;
    }
  }
  return found;
}

double cost_per_1k(const ServingDeployment& d, double rate) {
  return static_cast<double>(d.total_gpus()) * d.price_per_gpu_hour / 3600.0 / rate * 1000.0;
}

}  // namespace

// The load the deployment must carry: Poisson arrivals at --rate with the lengths' means, or a
// trace's own rate ((N - 1) requests over the span of its arrivals) and mean lengths, so that the
// candidates are sized for the very requests the simulation then replays.
OfferedLoad offered_load(const ServingWorkload& w) {
  if (w.trace.empty()) {
    if (!(w.arrival_rate > 0)) throw ConfigError("--rate", "must be positive to plan for it");
    return {w.arrival_rate, w.prompt.mean, w.output.mean};
  }
  const double span = w.trace.back().arrival_s - w.trace.front().arrival_s;
  if (w.trace.size() < 2 || !(span > 0))
    throw ConfigError("--trace", "needs at least two requests arriving at different times to plan for its rate");
  double prompt = 0, output = 0;
  for (const TraceRequest& r : w.trace) {
    prompt += static_cast<double>(r.prompt_tokens);
    output += static_cast<double>(r.output_tokens);
  }
  const double n = static_cast<double>(w.trace.size());
  return {(n - 1) / span, prompt / n, std::max(1.0, output / n)};
}

bool runs_choices(const GpuSpec& gpu, const PlanChoices& choices) {
  const bool fp8 = gpu.fp8_flops > 0;
  return fp8 || (!choices.fp8_weights.value_or(false) && !choices.kernels.fp8_attention);
}

void apply_choices(const PlanChoices& choices, ServingDeployment& d) {
  d.fp8_weights = choices.fp8_weights.value_or(d.gpu.fp8_flops > 0);
  const ServingDeployment& k = choices.kernels;
  d.kv_dtype = k.kv_dtype;
  d.fp8_attention = k.fp8_attention;
  d.two_batch_overlap = k.two_batch_overlap;
  d.low_latency_nvlink = k.low_latency_nvlink;
  d.token_budget = k.token_budget;
  d.mtp_acceptance = k.mtp_acceptance;
}

std::vector<ExpertSlotOption> expert_slot_options(const ModelConfig& m, std::int64_t ep) {
  if (!m.is_moe() || ep == 1) return {{0, false}};
  const std::int64_t fewest = fewest_redundant_slots(m.moe.routed_experts, ep);
  std::vector<ExpertSlotOption> out;
  if (fewest == 0) out.push_back({0, false});
  out.push_back({fewest, true});
  if (fewest + ep <= m.moe.routed_experts) out.push_back({fewest + ep, true});
  return out;
}

std::vector<PricedGpu> priced_alike(const std::vector<GpuSpec>& gpus, double price_per_gpu_hour) {
  std::vector<PricedGpu> out;
  for (const GpuSpec& g : gpus) out.push_back({g, price_per_gpu_hour});
  return out;
}

ServingPlan plan_serving(const ModelConfig& m, const std::vector<PricedGpu>& gpus, const ServingWorkload& w,
                         const ServingSlo& slo, const PlanChoices& choices, const EfficiencyConstants& c) {
  // The choices on the first GPU that can run them: refused as `serve` refuses them.
  const auto runnable = std::find_if(gpus.begin(), gpus.end(), [&](const PricedGpu& g) { return runs_choices(g.gpu, choices); });
  if (runnable == gpus.end())
    throw ConfigError(choices.kernels.fp8_attention ? "--fp8-attention" : "--weights",
                      "needs FP8 Tensor Cores, which none of the GPUs to plan on has");
  ServingDeployment probe;
  probe.gpu = runnable->gpu;
  apply_choices(choices, probe);
  check_fp8_attention(probe);
  const OfferedLoad load = offered_load(w);
  const double rate = load.requests_per_s, prompt = load.prompt, output = load.output;
  const double uncached = prompt * (1.0 - w.prefix_hit_rate);
  const double context = prompt + output / 2;
  ServingPlan plan;
  std::vector<PlanCandidate> sized;
  double best_tpot = std::numeric_limits<double>::infinity(), best_ttft = best_tpot;

  for (const auto& [gpu, price] : gpus) {
    if (!runs_choices(gpu, choices)) continue;
    const auto& sizes = m.is_moe() ? kMoeInstanceSizes : kDenseInstanceSizes;
    const auto& prefill_sizes = m.is_moe() ? kPrefillSizesMoe : kPrefillSizesDense;
    for (std::int64_t g : sizes) {
      for (const ExpertSlotOption slots : expert_slot_options(m, g)) {
        const ServingDeployment base = instance_of(m, gpu, g, slots, price, choices);
        if (kv_capacity_tokens(m, base, g, c) < context) continue;  // the weights leave no room
        for (std::int64_t limit : kBatchLimits) {
          ServingDeployment d = base;
          d.max_batch = limit;
          ++plan.candidates;
          DecodeCapacity decode;
          try {
            decode = decode_capacity(m, d, 0, context, slo.tpot_p95_s, c);
          } catch (const ConfigError&) {
            best_tpot = std::min(best_tpot, decode_capacity(m, d, 1.0 / static_cast<double>(g), context, 0, c).tpot_s);
            continue;
          }
          best_tpot = std::min(best_tpot, decode.tpot_s);
          const double decode_rate = decode.tokens_per_s_per_gpu * static_cast<double>(g);
          // Prefill: on the same instances (aggregated) or on separate ones of each listed size.
          std::vector<std::int64_t> modes = {0};
          modes.insert(modes.end(), prefill_sizes.begin(), prefill_sizes.end());
          for (std::int64_t prefill_gpus : modes) {
            // Disaggregated: the prefill instances the simulation will run (prefill_deployment).
            // Its expert slots are the fewest its EP (= its GPUs) needs, whatever decode's.
            ServingDeployment paired = d, p = d;
            if (prefill_gpus > 0) {
              paired.disaggregated = true;
              paired.prefill_gpus_per_instance = prefill_gpus;
              paired.prefill_redundant_experts = expert_slot_options(m, prefill_gpus).front().redundant;
              p = prefill_deployment(m, paired);
            }
            if (prefill_gpus > 0 && kv_capacity_tokens(m, p, prefill_gpus, c) < prompt) continue;
            if (prefill_gpus > 0) ++plan.candidates;
            const PrefillCapacity prefill = prefill_capacity(m, p, prompt, w.prefix_hit_rate, c);
            const double prefill_rate = prefill.computed_tokens_per_s_per_node / static_cast<double>(gpu.gpus_per_node) *
                                        static_cast<double>(p.gpus_per_instance);
            // A prompt is computed on one rank, token_budget tokens per iteration.
            const double ttft = std::ceil(uncached / static_cast<double>(p.token_budget)) * prefill.step.total_s;
            best_ttft = std::min(best_ttft, ttft);
            if (slo.ttft_p95_s > 0 && ttft > slo.ttft_p95_s) continue;
            PlanCandidate cand;
            cand.deployment = paired;
            if (prefill_gpus == 0) {
              // Aggregated: an instance kept full at this batch, each rank starting its prompts on its
              // own and every iteration waiting for the busiest (AggregatedCapacity's unsynchronised
              // form, within 5% of the event simulation): its time per output token must meet the
              // SLO, and its output rate sets the instances.
              const std::optional<AggregatedCapacity> agg =
                  aggregated_within_slo(m, d, decode.batch_per_gpu, prompt, output, w.prefix_hit_rate, slo.tpot_p95_s, c);
              if (!agg) continue;
              const double agg_rate = agg->unsynchronised_tokens_per_s_per_gpu * static_cast<double>(g);
              cand.deployment.instances =
                  std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(rate * output / agg_rate)));
            } else {
              cand.deployment.instances = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(rate * output / decode_rate)));
              cand.deployment.prefill_instances =
                  std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(rate * uncached / prefill_rate)));
            }
            cand.formula_cost_per_1k = cost_per_1k(cand.deployment, rate);
            cand.lifetime_s = ttft + output * decode.tpot_s;
            sized.push_back(cand);
          }
        }
      }
    }
  }
  if (sized.empty()) {
    if (slo.tpot_p95_s > 0 && best_tpot > slo.tpot_p95_s)
      throw ConfigError("--tpot-p95", fmt::format("no deployment meets {:.1f} ms; the best reachable is {:.1f} ms",
                                                  1e3 * slo.tpot_p95_s, 1e3 * best_tpot));
    if (slo.ttft_p95_s > 0 && best_ttft > slo.ttft_p95_s)
      throw ConfigError("--ttft-p95", fmt::format("no deployment meets {:.2f} s; the best reachable is {:.2f} s",
                                                  slo.ttft_p95_s, best_ttft));
    throw ConfigError("--gpu", "no listed GPU holds " + m.name + " in an instance of up to 256 GPUs");
  }
  std::sort(sized.begin(), sized.end(),
            [](const PlanCandidate& a, const PlanCandidate& b) { return a.formula_cost_per_1k < b.formula_cost_per_1k; });
  // The simulations alternate between the cheapest aggregated and the cheapest disaggregated
  // candidates, each list in order of the formula's cost, so that both kinds reach the confirmed list
  // however the formula's costs of the two compare.
  {
    const auto split =
        std::stable_partition(sized.begin(), sized.end(), [](const PlanCandidate& c) { return !c.deployment.disaggregated; });
    std::vector<PlanCandidate> aggregated(sized.begin(), split), disaggregated(split, sized.end());
    sized.clear();
    for (std::size_t i = 0; i < std::max(aggregated.size(), disaggregated.size()); ++i) {
      if (i < aggregated.size()) sized.push_back(aggregated[i]);
      if (i < disaggregated.size()) sized.push_back(disaggregated[i]);
    }
  }

  // Confirm the cheapest in the event simulation, adding instances while queueing breaks an SLO.
  // Arrivals run for five request lifetimes, so that the batch reaches its steady state.
  // The best p95s reached, each alone, and the best TPOT among the simulations that met the TTFT:
  // two SLOs each met by some deployment may still be met together by none.
  double best_sim_tpot = std::numeric_limits<double>::infinity(), best_sim_ttft = best_sim_tpot;
  double best_tpot_within_ttft = best_sim_tpot;
  for (std::size_t i = 0; i < sized.size() && plan.best.size() < 5 && plan.simulated < 24; ++i) {
    PlanCandidate cand = sized[i];
    ServingWorkload sim_w = w;
    if (w.trace.empty())
      sim_w.requests = std::clamp<std::int64_t>(static_cast<std::int64_t>(5.0 * rate * cand.lifetime_s), 1000, 200000);
    for (int attempt = 0; attempt < 3; ++attempt) {
      cand.simulated = simulate_serving(m, cand.deployment, sim_w, c);
      ++plan.simulated;
      best_sim_tpot = std::min(best_sim_tpot, cand.simulated.tpot_s.p95);
      best_sim_ttft = std::min(best_sim_ttft, cand.simulated.ttft_s.p95);
      if (slo.ttft_p95_s <= 0 || cand.simulated.ttft_s.p95 <= slo.ttft_p95_s)
        best_tpot_within_ttft = std::min(best_tpot_within_ttft, cand.simulated.tpot_s.p95);
      cand.meets_slo = (slo.tpot_p95_s <= 0 || cand.simulated.tpot_s.p95 <= slo.tpot_p95_s) &&
                       (slo.ttft_p95_s <= 0 || cand.simulated.ttft_s.p95 <= slo.ttft_p95_s);
      if (cand.meets_slo) break;
      ServingDeployment& d = cand.deployment;
      d.instances += std::max<std::int64_t>(1, d.instances / 4);
      if (d.disaggregated) d.prefill_instances += std::max<std::int64_t>(1, d.prefill_instances / 4);
    }
    if (!cand.meets_slo) continue;
    // What the deployment costs at the offered rate, which it carried within the SLOs: its GPU-hours
    // per hour over the requests (or output tokens) per hour. The simulation's own cost divides by
    // the time to its last completion, a drain with no arrivals behind it that a finite run adds
    // (44% on 1,000 requests at 20/s; serving.hpp, ServingResult::cost_usd).
    cand.cost_per_1k_requests_usd = cost_per_1k(cand.deployment, rate);
    cand.cost_per_m_output_tokens_usd = cand.cost_per_1k_requests_usd / 1000.0 / output * 1e6;
    // The batch limit alone rarely changes the cost: keep one of each layout.
    const ServingDeployment& d = cand.deployment;
    const bool seen = std::any_of(plan.best.begin(), plan.best.end(), [&d](const PlanCandidate& b) {
      const ServingDeployment& e = b.deployment;
      return e.gpu.name == d.gpu.name && e.disaggregated == d.disaggregated && e.instances == d.instances &&
             e.gpus_per_instance == d.gpus_per_instance && e.redundant_experts == d.redundant_experts && e.eplb == d.eplb &&
             (!d.disaggregated || (e.prefill_instances == d.prefill_instances &&
                                   e.prefill_gpus_per_instance == d.prefill_gpus_per_instance));
    });
    if (seen) continue;
    cand.layout = layout_of(cand.deployment, m);
    plan.best.push_back(cand);
  }
  // Cheapest first; at the offered rate a cost is a count of GPUs, so equal costs are common: the
  // faster p95 TPOT, then TTFT, comes first among them.
  std::stable_sort(plan.best.begin(), plan.best.end(), [](const PlanCandidate& a, const PlanCandidate& b) {
    return std::tie(a.cost_per_1k_requests_usd, a.simulated.tpot_s.p95, a.simulated.ttft_s.p95) <
           std::tie(b.cost_per_1k_requests_usd, b.simulated.tpot_s.p95, b.simulated.ttft_s.p95);
  });
  if (plan.best.empty()) {
    if (slo.tpot_p95_s > 0 && best_sim_tpot > slo.tpot_p95_s)
      throw ConfigError("--tpot-p95", fmt::format("no simulated deployment meets {:.1f} ms at p95; the best reached {:.1f} ms",
                                                  1e3 * slo.tpot_p95_s, 1e3 * best_sim_tpot));
    if (slo.ttft_p95_s > 0 && best_sim_ttft > slo.ttft_p95_s)
      throw ConfigError("--ttft-p95", fmt::format("no simulated deployment meets {:.2f} s at p95; the best reached {:.2f} s",
                                                  slo.ttft_p95_s, best_sim_ttft));
    throw ConfigError("--tpot-p95", fmt::format("no simulated deployment meets {:.1f} ms at p95 together with {:.2f} s TTFT; "
                                                "the best of those that met the TTFT reached {:.1f} ms",
                                                1e3 * slo.tpot_p95_s, slo.ttft_p95_s, 1e3 * best_tpot_within_ttft));
  }
  return plan;
}

std::string serving_plan_table(const ServingPlan& plan) {
  TextTable t({"deployment", "GPUs", "nodes", "TTFT p50/p95", "TPOT p50/p95", "$/1K requests", "$/M output"});
  t.set_left_aligned({0});
  for (const PlanCandidate& cand : plan.best) {
    const ServingResult& r = cand.simulated;
    const double gpus = static_cast<double>(cand.deployment.total_gpus());
    t.add_row({cand.layout, fmt::format("{:.0f}", gpus), fmt::format("{:.1f}", gpus / static_cast<double>(cand.deployment.gpu.gpus_per_node)),
               fmt::format("{:.2f} / {:.2f} s", r.ttft_s.p50, r.ttft_s.p95),
               fmt::format("{:.1f} / {:.1f} ms", 1e3 * r.tpot_s.p50, 1e3 * r.tpot_s.p95),
               fmt::format("{:.3f}", cand.cost_per_1k_requests_usd), fmt::format("{:.3f}", cand.cost_per_m_output_tokens_usd)});
  }
  return fmt::format("{} deployments sized from the capacity model, {} event simulations to confirm the cheapest:\n\n",
                     plan.candidates, plan.simulated) +
         t.render();
}

nlohmann::json serving_plan_json(const ServingPlan& plan) {
  nlohmann::json out = nlohmann::json::array();
  for (const PlanCandidate& cand : plan.best) {
    const ServingResult& r = cand.simulated;
    const ServingDeployment& d = cand.deployment;
    out.push_back({{"deployment", cand.layout},
                   {"gpu", d.gpu.name},
                   {"disaggregated", d.disaggregated},
                   {"instances", d.instances},
                   {"gpus_per_instance", d.gpus_per_instance},
                   {"prefill_instances", d.disaggregated ? d.prefill_instances : 0},
                   {"prefill_gpus_per_instance", d.disaggregated ? d.prefill_gpus_per_instance : 0},
                   {"ep", d.ep},
                   {"tp", d.tp},
                   {"redundant_experts", d.redundant_experts},
                   {"eplb", d.placed_by_load()},
                   {"max_batch", d.max_batch},
                   {"fp8_weights", d.fp8_weights},
                   {"kv_dtype", d.kv_dtype == KvDtype::fp8 ? "fp8" : "bf16"},
                   {"fp8_attention", d.fp8_attention},
                   {"gpus", d.total_gpus()},
                   {"nodes", static_cast<double>(d.total_gpus()) / static_cast<double>(d.gpu.gpus_per_node)},
                   {"ttft_p50_s", r.ttft_s.p50},
                   {"ttft_p95_s", r.ttft_s.p95},
                   {"tpot_p50_s", r.tpot_s.p50},
                   {"tpot_p95_s", r.tpot_s.p95},
                   {"cost_per_1k_requests_usd", cand.cost_per_1k_requests_usd},
                   {"cost_per_m_output_tokens_usd", cand.cost_per_m_output_tokens_usd},
                   {"formula_cost_per_1k_requests_usd", cand.formula_cost_per_1k}});
  }
  return out;
}

}  // namespace frugal::sim
