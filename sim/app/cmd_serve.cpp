// frugal-sim serve: latency percentiles, throughput and cost of serving a model, side by side
// with MTP, prefix caching, FP8 and a dense model; --validate reproduces DeepSeek's serving day.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli_common.hpp"
#include "commands.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/serving_ladder.hpp"
#include "frugal/sim/serving_planner.hpp"
#include "frugal/sim/serving_report.hpp"

namespace frugal::sim::cli {

namespace {

class ServeCommand : public Command {
 public:
  explicit ServeCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("serve", "simulate serving: TTFT, time per output token, latency percentiles, cost");
    source_.add_options(*app_, "deepseek-v3");
    CLI::App& a = *app_;
    a.add_option("--gpu", gpu_, "GPU name")->capture_default_str();
    a.add_option("--gpus-per-instance", d_.gpus_per_instance, "GPUs of one model replica (default: the fewest that hold it)");
    a.add_option("--instances", d_.instances, "replicas (decode replicas when disaggregated)")->capture_default_str();
    a.add_option("--tp", d_.tp, "attention tensor parallelism inside an instance");
    a.add_option("--ep", d_.ep, "expert parallelism inside an instance");
    a.add_option("--redundant-experts", d_.redundant_experts,
                 "extra expert slots for copies of the busiest experts (DeepSeek: 32); EP must divide routed + these")
        ->capture_default_str();
    a.add_option("--price", d_.price_per_gpu_hour, "dollars per GPU-hour")->capture_default_str();
    a.add_option("--weights", weights_, "weight precision: bf16 or fp8 (default fp8 where the GPU has it)")
        ->check(CLI::IsMember({"bf16", "fp8"}));
    a.add_option("--kv-dtype", kv_, "KV-cache precision")->check(CLI::IsMember({"bf16", "fp8"}))->capture_default_str();
    a.add_flag("--disaggregated", d_.disaggregated, "prefill and decode on separate instances");
    a.add_option("--prefill-instances", d_.prefill_instances, "prefill instances when disaggregated")->capture_default_str();
    a.add_option("--prefill-gpus-per-instance", prefill_gpus_,
                 "GPUs of a prefill instance (default: as decode); its experts over all of them when decode's EP is its "
                 "instance");
    a.add_option("--prefill-redundant-experts", prefill_redundant_,
                 "redundant experts of a prefill instance (default: decode's where its EP divides the slots, else the "
                 "fewest that do)");
    a.add_option("--token-budget", d_.token_budget,
                 "tokens per engine iteration on each attention-DP rank (SGLang's --chunked-prefill-size over its DP size)")->capture_default_str();
    a.add_option("--max-batch", d_.max_batch, "running sequences per attention-data-parallel rank")->capture_default_str();
    a.add_flag("--no-two-batch-overlap", no_two_batch_overlap_,
               "run each layer's dispatch and combine without overlapping them with another micro-batch's computation");
    a.add_flag("--eplb", d_.eplb, "EPLB places the experts by load even without --redundant-experts (with them it always does)");
    a.add_flag("--no-low-latency-nvlink", no_low_latency_nvlink_,
               "decode's dispatch and combine send every copy through the NIC, as DeepEP did before 2025-06-05 (default: "
               "the copies for GPUs of the same node ride NVLink)");
    a.add_flag("--fp8-attention", d_.fp8_attention,
               "attention scores in FP8 on FP8 Tensor Cores (FP8 queries and cache; needs --kv-dtype fp8)");
    a.add_option("--mtp-acceptance", d_.mtp_acceptance, "MTP speculative decoding with this acceptance rate (V3: 0.85-0.9)");
    a.add_option("--rate", w_.arrival_rate, "Poisson arrivals per second")->capture_default_str();
    a.add_option("--trace", trace_, "trace file: 'arrival_s prompt_tokens output_tokens' per line, sorted");
    a.add_option("--requests", w_.requests, "requests to simulate")->capture_default_str();
    a.add_option("--prompt-tokens", w_.prompt.mean, "mean prompt length")->capture_default_str();
    a.add_option("--prompt-dist", prompt_dist_, "fixed or exponential")->check(CLI::IsMember({"fixed", "exponential"}))->capture_default_str();
    a.add_option("--output-tokens", w_.output.mean, "mean output length")->capture_default_str();
    a.add_option("--output-dist", output_dist_, "fixed or exponential")->check(CLI::IsMember({"fixed", "exponential"}))->capture_default_str();
    a.add_option("--prefix-hit-rate", w_.prefix_hit_rate, "fraction of prompt tokens found in the prefix cache")->capture_default_str();
    a.add_option("--seed", w_.seed, "random seed")->capture_default_str();
    a.add_option("--dense", dense_, "dense GQA model to compare with")->capture_default_str();
    a.add_flag("--no-compare", no_compare_, "skip the side-by-side variants");
    a.add_flag("--validate", validate_, "every published serving figure against the model");
    a.add_flag("--capacity", capacity_, "steady-state capacity of one instance: decode and prefill, no queue");
    a.add_option("--batch-per-gpu", batch_per_gpu_, "--capacity: sequences per GPU (default: all the KV cache holds, "
                                                     "or the most that meet --tpot-slo)");
    a.add_option("--context", context_, "--capacity: KV tokens per decoding sequence")->capture_default_str();
    a.add_option("--prompt", prompt_, "--capacity: prompt tokens for the prefill capacity")->capture_default_str();
    a.add_option("--tpot-slo", tpot_slo_ms_, "--capacity: time per output token to meet, in ms");
    a.add_flag("--plan", plan_, "the cheapest deployments that serve --rate within --ttft-p95 and --tpot-p95");
    a.add_option("--ttft-p95", ttft_p95_s_, "--plan: p95 time to first token to meet, in seconds");
    a.add_option("--tpot-p95", tpot_p95_ms_, "--plan: p95 time per output token to meet, in ms");
    a.add_option("--plan-gpus", plan_gpus_, "--plan: GPUs to consider, NAME or NAME:PRICE, comma-separated (default: every "
                                             "known GPU at --price)")
        ->delimiter(',');
    a.add_option("--ladder", ladder_, "the cheapest deployment of each model (presets or config files, comma-separated) on "
                                      "this workload and SLOs, with published scores")
        ->delimiter(',');
    a.add_option("--format", format_, "output format")->check(CLI::IsMember({"table", "json"}))->capture_default_str();
  }
  CLI::App* app() const override { return app_; }

  int run() override {
    if (validate_) {
      const auto checks = validate_published_serving();
      std::cout << (format_ == "json" ? serving_checks_json(checks).dump(2) + "\n" : serving_checks_table(checks));
      return 0;
    }
    const ModelConfig m = source_.load();
    const GpuSpec gpu = find_gpu(gpu_, "--gpu");
    const bool fp8 = weights_.empty() ? gpu.fp8_flops > 0 : weights_ == "fp8";
    if (fp8 && gpu.fp8_flops <= 0) throw ConfigError("--weights", "fp8 needs FP8 Tensor Cores, which the " + gpu.name + " lacks");
    ServingDeployment d = default_deployment(m, gpu, fp8);
    auto given = [&](const char* flag) { return app_->count(flag) > 0; };
    require_positive_integers(*app_, {{"--gpus-per-instance", d_.gpus_per_instance}, {"--instances", d_.instances},
                                      {"--tp", d_.tp}, {"--ep", d_.ep}, {"--prefill-instances", d_.prefill_instances},
                                      {"--prefill-gpus-per-instance", prefill_gpus_}, {"--token-budget", d_.token_budget},
                                      {"--max-batch", d_.max_batch}, {"--requests", w_.requests}});
    if (given("--rate") && !(w_.arrival_rate > 0)) throw ConfigError("--rate", "must be positive");
    if (given("--price") && !(d_.price_per_gpu_hour > 0)) throw ConfigError("--price", "must be positive");
    if (given("--gpus-per-instance")) d.gpus_per_instance = d_.gpus_per_instance;
    if (given("--tp")) d.tp = d_.tp;
    if (given("--ep")) d.ep = d_.ep;
    d.redundant_experts = d_.redundant_experts;
    d.eplb = d_.eplb;
    check_expert_slots(m, d);
    d.instances = d_.instances;
    d.price_per_gpu_hour = d_.price_per_gpu_hour;
    d.kv_dtype = kv_ == "fp8" ? KvDtype::fp8 : KvDtype::bf16;
    d.disaggregated = d_.disaggregated;
    d.prefill_instances = d_.prefill_instances;
    d.prefill_gpus_per_instance = given("--prefill-gpus-per-instance") ? prefill_gpus_ : d.gpus_per_instance;
    if (given("--prefill-redundant-experts")) d.prefill_redundant_experts = prefill_redundant_;
    if (d.disaggregated) (void)prefill_deployment(m, d);  // refuses prefill slots its EP does not divide
    d.token_budget = d_.token_budget;
    d.max_batch = d_.max_batch;
    d.mtp_acceptance = d_.mtp_acceptance;
    d.two_batch_overlap = !no_two_batch_overlap_;
    d.low_latency_nvlink = !no_low_latency_nvlink_;
    d.fp8_attention = d_.fp8_attention;
    check_fp8_attention(d);
    ServingWorkload w = w_;
    w.prompt.distribution = prompt_dist_ == "fixed" ? LengthDistribution::fixed : LengthDistribution::exponential;
    w.output.distribution = output_dist_ == "fixed" ? LengthDistribution::fixed : LengthDistribution::exponential;
    if (!trace_.empty()) w.trace = read_trace_file(trace_);
    if (capacity_) return print_capacity(m, d);
    if (plan_) return print_plan(m, d, w);
    if (!ladder_.empty()) return print_ladder(d, w);
    if (!no_compare_) (void)find_preset(dense_);

    const ServingResult r = simulate_serving(m, d, w);
    const std::vector<ServingVariant> variants =
        no_compare_ ? std::vector<ServingVariant>{} : serving_comparisons(m, d, w, dense_);
    if (format_ == "json") {
      nlohmann::json j = serving_result_json(r);
      j["model"] = m.name;
      j["comparisons"] = serving_comparisons_json(variants);
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << serving_result_table(m, d, w, r);
      if (!variants.empty()) std::cout << "\nSide by side, same workload\n" << serving_comparisons_table(variants);
    }
    return 0;
  }

 private:
  int print_capacity(const ModelConfig& m, const ServingDeployment& d) const {
    if (app_->count("--batch-per-gpu") && !(batch_per_gpu_ > 0)) throw ConfigError("--batch-per-gpu", "must be positive");
    if (app_->count("--tpot-slo") && !(tpot_slo_ms_ > 0)) throw ConfigError("--tpot-slo", "must be positive (milliseconds)");
    const DecodeCapacity decode = decode_capacity(m, d, batch_per_gpu_, context_, tpot_slo_ms_ / 1e3);
    const PrefillCapacity prefill = prefill_capacity(m, d, prompt_, w_.prefix_hit_rate);
    const AggregatedCapacity aggregated =
        aggregated_capacity(m, d, decode.batch_per_gpu, prompt_, w_.output.mean, w_.prefix_hit_rate);
    if (format_ == "json") {
      nlohmann::json j = capacity_json(decode, prefill, &aggregated);
      j["model"] = m.name;
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << capacity_table(m, d, decode, prefill, &aggregated);
    }
    return 0;
  }

  int print_plan(const ModelConfig& m, const ServingDeployment& d, const ServingWorkload& w) const {
    const ServingSlo slo = slos();
    const ServingPlan plan = plan_serving(m, plan_gpus(d), w, slo, plan_choices(d));
    std::cout << (format_ == "json" ? serving_plan_json(plan).dump(2) + "\n" : serving_plan_table(plan));
    return 0;
  }

  int print_ladder(const ServingDeployment& d, const ServingWorkload& w) const {
    const ServingSlo slo = slos();
    const std::vector<PricedGpu> gpus = plan_gpus(d);
    std::vector<LadderRung> rungs;
    for (const std::string& item : ladder_) {
      if (item.empty()) throw ConfigError("--ladder", "an empty name in the list");
      ModelSource source;
      const bool file = item.find('/') != std::string::npos || item.ends_with(".json") || std::filesystem::exists(item);
      (file ? source.config_file : source.preset) = item;
      rungs.push_back({file ? std::filesystem::path(item).stem().string() : item, source.load()});
    }
    const std::vector<LadderRow> rows = serving_ladder(rungs, gpus, w, slo);
    std::cout << (format_ == "json" ? serving_ladder_json(rows).dump(2) + "\n" : serving_ladder_table(rows, w, slo));
    return 0;
  }

  // What --plan keeps on every candidate: the precisions and kernels given as flags. The weights
  // are FP8 wherever the GPU has it unless --weights names them.
  PlanChoices plan_choices(const ServingDeployment& d) const {
    PlanChoices choices;
    choices.kernels = d;
    if (!weights_.empty()) choices.fp8_weights = weights_ == "fp8";
    return choices;
  }

  ServingSlo slos() const {
    if (app_->count("--ttft-p95") && !(ttft_p95_s_ > 0)) throw ConfigError("--ttft-p95", "must be positive (seconds)");
    if (app_->count("--tpot-p95") && !(tpot_p95_ms_ > 0)) throw ConfigError("--tpot-p95", "must be positive (milliseconds)");
    return {ttft_p95_s_, tpot_p95_ms_ / 1e3};
  }

  // --plan-gpus NAME or NAME:PRICE (without a price, --price); none: every known GPU at --price.
  std::vector<PricedGpu> plan_gpus(const ServingDeployment& d) const {
    std::vector<PricedGpu> gpus;
    for (const std::string& item : plan_gpus_) {
      const auto colon = item.find(':');
      PricedGpu g{find_gpu(item.substr(0, colon), "--plan-gpus"), d.price_per_gpu_hour};
      if (colon != std::string::npos) {
        const std::string price = item.substr(colon + 1);
        char* end = nullptr;
        g.price_per_gpu_hour = std::strtod(price.c_str(), &end);
        if (price.empty() || *end != '\0' || !(g.price_per_gpu_hour > 0) || !std::isfinite(g.price_per_gpu_hour))
          throw ConfigError("--plan-gpus", "\"" + item + "\": the price after ':' must be a positive number of dollars per GPU-hour");
      }
      gpus.push_back(g);
    }
    if (gpus.empty()) gpus = priced_alike(known_gpus(), d.price_per_gpu_hour);
    return gpus;
  }

  CLI::App* app_ = nullptr;
  ModelSource source_;
  ServingDeployment d_;
  ServingWorkload w_{2.0, {1000, LengthDistribution::exponential}, {300, LengthDistribution::exponential}, 0.0, 2000, 1, {}};
  std::string gpu_ = "H800", weights_, kv_ = "bf16", trace_, prompt_dist_ = "exponential", output_dist_ = "exponential";
  std::string dense_ = "llama-3.1-405b", format_ = "table";
  std::int64_t prefill_gpus_ = 0, prefill_redundant_ = 0;
  bool no_compare_ = false, validate_ = false, capacity_ = false, plan_ = false, no_two_batch_overlap_ = false,
       no_low_latency_nvlink_ = false;
  double ttft_p95_s_ = 0, tpot_p95_ms_ = 0;
  std::vector<std::string> plan_gpus_, ladder_;
  double batch_per_gpu_ = 0, context_ = 4096, prompt_ = 4096, tpot_slo_ms_ = 0;
};

}  // namespace

std::unique_ptr<Command> make_serve_command(CLI::App& parent) { return std::make_unique<ServeCommand>(parent); }

}  // namespace frugal::sim::cli
