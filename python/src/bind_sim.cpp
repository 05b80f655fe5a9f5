// The cost simulator from Python: train(), serve(), validate(), sweep(), presets(). Each returns
// what the matching `frugal-sim ... --format json` prints, as dicts and lists.
#include <fmt/format.h>
#include <pybind11/stl.h>

#include <thread>

#include "bindings.hpp"
#include "frugal/config/config_error.hpp"
#include "frugal/sim/hardware.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/run_overrides.hpp"
#include "frugal/sim/serving.hpp"
#include "frugal/sim/serving_report.hpp"
#include "frugal/sim/sweep.hpp"
#include "frugal/sim/training_report.hpp"
#include "frugal/sim/training_sim.hpp"
#include "frugal/sim/validation.hpp"

namespace frugal::python {

namespace {

// The config's training run with keyword overrides named like frugal-sim's flags (gpus, tokens,
// price_per_gpu_hour, precision, pp, ep, schedule, …: sim/run_overrides.hpp).
sim::TrainingRun training_run(const py::object& config, const py::kwargs& overrides) {
  sim::TrainingRun run = sim::training_run_from_document(config_document(config));
  sim::apply_overrides(run, sim::overrides_from_json(from_python(overrides), "overrides"));
  return run;
}

void require_positive(double value, const char* name) {
  if (!(value > 0)) throw ConfigError(name, fmt::format("must be positive, got {}", value));
}

sim::LengthDistribution distribution_from(const std::string& name) {
  if (name == "fixed") return sim::LengthDistribution::fixed;
  if (name == "exponential") return sim::LengthDistribution::exponential;
  throw ConfigError("lengths", "must be fixed or exponential, got '" + name + "'");
}

}  // namespace

void bind_sim(py::module_& m) {
  m.def(
      "presets",
      [] {
        py::list out;
        for (const frugal::Preset& p : frugal::model_presets()) out.append(py::dict(py::arg("name") = p.name, py::arg("description") = p.description));
        return out;
      },
      "The model presets: name and one-line description each.");

  m.def(
      "train",
      [](const py::object& config, bool baselines, const std::string& named_dense, const py::kwargs& overrides) {
        const sim::TrainingRun run = training_run(config, overrides);
        const sim::TrainingEstimate e = sim::simulate_training(run);
        if (!baselines) return to_python(sim::training_estimate_json(e));
        return to_python(sim::training_report_json(e, sim::dense_baselines(run, named_dense)));
      },
      py::arg("config") = "deepseek-v3", py::arg("baselines") = false, py::arg("named_dense") = "llama-3.1-405b",
      "GPU-hours, days, dollars, MFU, step time and memory per GPU of a training run (as `frugal-sim train --format "
      "json`). Keyword overrides are named like its flags: gpus=4096, tokens='2T', price_per_gpu_hour=2.5, gpu='H100', "
      "precision='bf16', pp=8, ep=32, schedule='1f1b', …. baselines=True adds the dense baselines.");

  m.def(
      "serve",
      [](const py::object& config, double rate, double prompt, double output, const std::string& lengths, std::int64_t requests,
         const std::string& gpu_name, const py::object& fp8_weights, double mtp_acceptance, double prefix_hit_rate, double price,
         std::int64_t instances, std::uint64_t seed, const std::string& kv_dtype, bool fp8_attention, bool eplb,
         std::int64_t redundant_experts, bool two_batch_overlap, bool low_latency_nvlink) {
        const ModelConfig model = model_from(config);
        require_positive(rate, "rate");
        require_positive(prompt, "prompt");
        require_positive(output, "output");
        require_positive(price, "price");
        if (requests < 1) throw ConfigError("requests", fmt::format("must be a positive integer, got {}", requests));
        if (instances < 1) throw ConfigError("instances", fmt::format("must be a positive integer, got {}", instances));
        if (!(mtp_acceptance >= 0 && mtp_acceptance < 1)) throw ConfigError("mtp_acceptance", fmt::format("must be in [0, 1), got {}", mtp_acceptance));
        if (!(prefix_hit_rate >= 0 && prefix_hit_rate < 1)) throw ConfigError("prefix_hit_rate", fmt::format("must be in [0, 1), got {}", prefix_hit_rate));
        const sim::GpuSpec gpu = sim::find_gpu(gpu_name, "gpu");
        const bool fp8 = fp8_weights.is_none() ? gpu.fp8_flops > 0 : fp8_weights.cast<bool>();
        if (fp8 && gpu.fp8_flops <= 0) throw ConfigError("fp8_weights", "needs FP8 Tensor Cores, which the " + gpu.name + " lacks");
        if (kv_dtype != "bf16" && kv_dtype != "fp8") throw ConfigError("kv_dtype", "must be 'bf16' or 'fp8', got '" + kv_dtype + "'");
        sim::ServingDeployment d = sim::default_deployment(model, gpu, fp8);
        d.price_per_gpu_hour = price;
        d.instances = instances;
        d.mtp_acceptance = mtp_acceptance;
        // The kernels and placement as serve's flags, refused as serve refuses them (naming its flag).
        d.kv_dtype = kv_dtype == "fp8" ? sim::KvDtype::fp8 : sim::KvDtype::bf16;
        d.fp8_attention = fp8_attention;
        d.eplb = eplb;
        d.redundant_experts = redundant_experts;
        d.two_batch_overlap = two_batch_overlap;
        d.low_latency_nvlink = low_latency_nvlink;
        sim::check_fp8_attention(d);
        sim::check_expert_slots(model, d);
        sim::ServingWorkload w;
        w.arrival_rate = rate;
        w.prompt = {prompt, distribution_from(lengths)};
        w.output = {output, distribution_from(lengths)};
        w.requests = requests;
        w.prefix_hit_rate = prefix_hit_rate;
        w.seed = seed;
        nlohmann::json j = sim::serving_result_json(sim::simulate_serving(model, d, w));
        j["model"] = model.name;
        j["deployment"] = {{"gpu", gpu.name}, {"gpus_per_instance", d.gpus_per_instance}, {"instances", d.instances},
                           {"tp", d.tp}, {"ep", d.ep}, {"fp8_weights", d.fp8_weights}, {"price_per_gpu_hour", d.price_per_gpu_hour},
                           {"kv_dtype", kv_dtype}, {"fp8_attention", d.fp8_attention}, {"eplb", d.placed_by_load()},
                           {"redundant_experts", d.redundant_experts}};
        return to_python(j);
      },
      py::arg("config") = "deepseek-v3", py::arg("rate") = 4.0, py::arg("prompt") = 1000.0, py::arg("output") = 300.0,
      py::arg("lengths") = "exponential", py::arg("requests") = 2000, py::arg("gpu") = "H800", py::arg("fp8_weights") = py::none(),
      py::arg("mtp_acceptance") = 0.0, py::arg("prefix_hit_rate") = 0.0, py::arg("price") = 2.0, py::arg("instances") = 1,
      py::arg("seed") = 1, py::arg("kv_dtype") = "bf16", py::arg("fp8_attention") = false, py::arg("eplb") = false,
      py::arg("redundant_experts") = 0, py::arg("two_batch_overlap") = true, py::arg("low_latency_nvlink") = true,
      "Latency percentiles (TTFT, time per output token, end to end), throughput and cost of serving Poisson "
      "arrivals at `rate` requests/s with mean prompt and output lengths (as `frugal-sim serve --format json`). "
      "kv_dtype, fp8_attention, eplb, redundant_experts, two_batch_overlap and low_latency_nvlink are serve's "
      "--kv-dtype, --fp8-attention, --eplb, --redundant-experts, --no-two-batch-overlap and --no-low-latency-nvlink.");

  m.def(
      "validate",
      [](const std::string& preset) {
        nlohmann::json rows = nlohmann::json::array();
        for (const sim::ValidationRow& r : sim::validate_published_runs(sim::default_efficiency(), preset))
          rows.push_back({{"name", r.run.name}, {"metric", r.run.metric}, {"published", r.run.published}, {"predicted", r.predicted},
                          {"rel_error", r.rel_error}, {"source", r.run.source}, {"fits", r.fits}});
        return to_python(rows);
      },
      py::arg("preset") = "",
      "Every published training run (or those of one preset) predicted with the one set of efficiency constants, "
      "beside its published figure and source.");

  m.def(
      "sweep",
      [](const py::dict& axes, const py::object& config, const py::kwargs& overrides) {
        std::vector<sim::SweepAxis> parsed;
        for (const auto& [key, values] : axes) {
          std::string text = py::str(key).cast<std::string>() + "=";
          for (const auto& v : values) text += py::str(v).cast<std::string>() + ",";
          text.pop_back();
          parsed.push_back(sim::parse_sweep_axis(text));
        }
        const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
        return to_python(nlohmann::json::parse(sim::sweep_json(parsed, sim::run_sweep(training_run(config, overrides), parsed, threads))));
      },
      py::arg("axes"), py::arg("config") = "deepseek-v3",
      "A grid of training estimates: axes = {'experts': [64, 128, 256], 'gpus': [1024, 2048]} (keys as `frugal-sim "
      "sweep --set`); one dict per point, last axis fastest; invalid points carry 'error'.");
}

}  // namespace frugal::python
