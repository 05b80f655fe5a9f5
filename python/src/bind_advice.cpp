// The article's advice from Python: finetune(), distill() and ladder(). Each returns what the
// matching `frugal-sim finetune | distill | serve --ladder --format json` prints.
#include <pybind11/stl.h>

#include <optional>

#include "bindings.hpp"
#include "frugal/config/config_error.hpp"
#include "frugal/sim/distillation.hpp"
#include "frugal/sim/finetune.hpp"
#include "frugal/sim/finetune_report.hpp"
#include "frugal/sim/serving_ladder.hpp"

namespace frugal::python {

namespace {

sim::FinetuneMethod method_from(const std::string& name) {
  if (name == "full") return sim::FinetuneMethod::full;
  if (name == "lora") return sim::FinetuneMethod::lora;
  if (name == "qlora") return sim::FinetuneMethod::qlora;
  throw ConfigError("method", "must be full, lora or qlora, got '" + name + "'");
}

sim::AdapterTargets targets_from(const std::string& name) {
  if (name == "qv") return sim::AdapterTargets::qv;
  if (name == "attention") return sim::AdapterTargets::attention;
  if (name == "all-linear") return sim::AdapterTargets::all_linear;
  throw ConfigError("targets", "must be qv, attention or all-linear, got '" + name + "'");
}

sim::ServingWorkload workload(double rate, double prompt, double output, std::int64_t requests) {
  if (!(rate > 0)) throw ConfigError("rate", "must be positive");
  if (!(prompt >= 1) || !(output >= 1)) throw ConfigError("prompt", "prompt and output must be at least 1 token");
  if (requests < 1) throw ConfigError("requests", "must be a positive integer");
  return {rate, {prompt, sim::LengthDistribution::exponential}, {output, sim::LengthDistribution::exponential}, 0.0, requests, 1, {}};
}

}  // namespace

void bind_advice(py::module_& m) {
  m.def(
      "finetune",
      [](const py::object& config, const std::string& method, std::int64_t rank, const std::string& targets, double examples,
         std::int64_t tokens_per_example, double epochs, const std::string& gpu, std::int64_t gpus, double price,
         std::int64_t global_batch, const std::string& kernels) {
        if (rank < 1) throw ConfigError("rank", "must be a positive integer");
        const std::optional<sim::ActivationKernels> activation_kernels = sim::activation_kernels_named(kernels);
        if (!activation_kernels) throw ConfigError("kernels", "fused or eager, got \"" + kernels + "\"");
        if (!(price > 0)) throw ConfigError("price", "must be positive");
        sim::FinetuneJob j;
        j.model = model_from(config);
        j.adapters.method = method_from(method);
        j.adapters.rank = rank;
        j.adapters.targets = targets_from(targets);
        j.examples = examples;
        j.tokens_per_example = tokens_per_example;
        j.epochs = epochs;
        j.gpu = sim::find_gpu(gpu, "gpu");
        j.gpus = gpus;
        j.price_per_gpu_hour = price;
        j.global_batch = global_batch;
        j.kernels = *activation_kernels;
        return to_python(sim::finetune_report_json(sim::estimate_finetune(j)));
      },
      py::arg("config") = "llama-3.1-8b", py::arg("method") = "lora", py::arg("rank") = 16, py::arg("targets") = "all-linear",
      py::arg("examples") = 1000.0, py::arg("tokens_per_example") = 512, py::arg("epochs") = 3.0, py::arg("gpu") = "H100",
      py::arg("gpus") = 1, py::arg("price") = 2.0, py::arg("global_batch") = 16, py::arg("kernels") = "fused",
      "Memory per GPU, fit, largest micro-batch, hours, GPU-hours and dollars of full fine-tuning, LoRA or QLoRA (as "
      "`frugal-sim finetune --format json`); kernels=\"eager\" keeps what plain PyTorch modules keep for backward.");

  m.def(
      "distill",
      [](const py::object& teacher, const py::object& student, const std::string& mode, double samples,
         std::int64_t tokens_per_sample, std::int64_t prompt_tokens, const std::string& gpu, std::int64_t student_gpus,
         double price, double rate) {
        if (mode != "sequence" && mode != "logit") throw ConfigError("mode", "must be sequence or logit, got '" + mode + "'");
        if (!(price > 0)) throw ConfigError("price", "must be positive");
        sim::DistillationJob j;
        j.teacher = model_from(teacher);
        j.student = model_from(student);
        j.mode = mode == "logit" ? sim::DistillMode::logit : sim::DistillMode::sequence;
        j.samples = samples;
        j.tokens_per_sample = tokens_per_sample;
        j.prompt_tokens = prompt_tokens;
        j.gpu = sim::find_gpu(gpu, "gpu");
        j.student_gpus = student_gpus;
        j.price_per_gpu_hour = price;
        j.workload = workload(rate, 1000, 300, 1000);
        return to_python(sim::distillation_json(sim::estimate_distillation(j, sim::priced_alike({j.gpu}, price))));
      },
      py::arg("teacher") = "deepseek-v3", py::arg("student") = "llama-3.1-8b", py::arg("mode") = "sequence",
      py::arg("samples") = 800000.0, py::arg("tokens_per_sample") = 1000, py::arg("prompt_tokens") = 200, py::arg("gpu") = "H100",
      py::arg("student_gpus") = 8, py::arg("price") = 2.0, py::arg("rate") = 10.0,
      "A distillation pipeline priced end to end, both models' serving cost and the break-even request volume (as "
      "`frugal-sim distill --format json`).");

  m.def(
      "ladder",
      [](const std::vector<std::string>& models, double rate, double prompt, double output, double ttft_p95, double tpot_p95,
         const std::vector<std::string>& gpus, double price, std::int64_t requests) {
        if (!(price > 0)) throw ConfigError("price", "must be positive");
        std::vector<sim::LadderRung> rungs;
        for (const std::string& name : models) rungs.push_back({name, model_from(py::str(name))});
        std::vector<sim::GpuSpec> specs;
        for (const std::string& g : gpus) specs.push_back(sim::find_gpu(g, "gpus"));
        if (specs.empty()) specs = sim::known_gpus();
        return to_python(sim::serving_ladder_json(
            sim::serving_ladder(rungs, sim::priced_alike(specs, price), workload(rate, prompt, output, requests), {ttft_p95, tpot_p95})));
      },
      py::arg("models"), py::arg("rate") = 10.0, py::arg("prompt") = 1000.0, py::arg("output") = 300.0, py::arg("ttft_p95") = 0.0,
      py::arg("tpot_p95") = 0.0, py::arg("gpus") = std::vector<std::string>{}, py::arg("price") = 2.0, py::arg("requests") = 2000,
      "The planner's cheapest deployment of each model on one workload, with latency, cost per 1K requests and "
      "published scores (as `frugal-sim serve --ladder --format json`; tpot_p95 in seconds).");
}

}  // namespace frugal::python
