// Short CPU-reference training runs from Python: train_cpu() and experiment(), with their metric
// histories as numpy arrays. Training releases the GIL.
#include <fmt/format.h>
#include <pybind11/numpy.h>

#include "bindings.hpp"
#include "frugal/config/config_error.hpp"
#include "frugal/config/config_file.hpp"
#include "frugal/core/experiments.hpp"
#include "frugal/core/train_options.hpp"
#include "frugal/core/trainer.hpp"

namespace frugal::python {

namespace {

const std::string kTinyConfig = std::string(FRUGAL_MODELS_DIR) + "/deepseek-v3-tiny.json";

// The config document with the keyword options merged into its "cpu_training" section (keys as
// in config/models/deepseek-v3-tiny.json: steps, batch_size, seed, learning_rate, router={...}, precision={...}, …).
nlohmann::json training_document(const py::object& config, const py::kwargs& options) {
  nlohmann::json doc = config_document(config);
  if (!doc.contains("model")) doc = {{"model", doc}};
  doc["cpu_training"].merge_patch(from_python(options));
  return doc;
}

// One array per metric over the steps (NaN where a loss was not computed that step).
py::dict history_arrays(const std::vector<core::StepMetrics>& history) {
  auto column = [&](auto field) {
    py::array_t<double> a(static_cast<py::ssize_t>(history.size()));
    auto out = a.mutable_unchecked<1>();
    for (std::size_t i = 0; i < history.size(); ++i) out(static_cast<py::ssize_t>(i)) = static_cast<double>(field(history[i]));
    return a;
  };
  py::dict d;
  d["step"] = column([](const core::StepMetrics& m) { return m.step; });
  d["loss"] = column([](const core::StepMetrics& m) { return m.loss; });
  d["eval_loss"] = column([](const core::StepMetrics& m) { return m.eval_loss; });
  d["balance_loss"] = column([](const core::StepMetrics& m) { return m.balance_loss; });
  d["mtp_loss"] = column([](const core::StepMetrics& m) { return m.mtp_loss; });
  d["distillation_loss"] = column([](const core::StepMetrics& m) { return m.distillation_loss; });
  d["max_violation"] = column([](const core::StepMetrics& m) { return m.max_violation; });
  d["dropped_fraction"] = column([](const core::StepMetrics& m) { return m.dropped_fraction; });
  d["learning_rate"] = column([](const core::StepMetrics& m) { return m.learning_rate; });
  d["flops"] = column([](const core::StepMetrics& m) { return m.flops; });
  d["tokens_per_second"] = column([](const core::StepMetrics& m) { return m.tokens_per_second; });
  if (!history.empty() && !history.back().expert_load.empty()) {
    const auto& load = history.back().expert_load;
    py::array_t<double> a({static_cast<py::ssize_t>(load.size()), static_cast<py::ssize_t>(load.front().size())});
    auto out = a.mutable_unchecked<2>();
    for (std::size_t l = 0; l < load.size(); ++l)
      for (std::size_t e = 0; e < load[l].size(); ++e) out(static_cast<py::ssize_t>(l), static_cast<py::ssize_t>(e)) = static_cast<double>(load[l][e]);
    d["expert_load"] = a;  // last step: MoE layers × routed experts, tokens each
  }
  return d;
}

using Experiment = core::ExperimentReport (*)(const ModelConfig&, const core::TrainOptions&, int, const core::ArmProgress&);

Experiment experiment_named(const std::string& name) {
  if (name == "dense-vs-moe") return core::run_dense_vs_moe;
  if (name == "balancing") return core::run_balancing;
  if (name == "balancing-gamma")  // the CLI's default γs (frugal-train experiment balancing-gamma)
    return [](const ModelConfig& m, const core::TrainOptions& o, int seeds, const core::ArmProgress& p) {
      return core::run_balancing_gamma(m, o, {0.0003, 0.001, 0.003, 0.01}, seeds, p);
    };
  if (name == "fp8") return core::run_fp8_vs_fp32;
  // The CLI's defaults (frugal-train experiment fp8-ablation | fp8-width).
  if (name == "fp8-ablation")
    return [](const ModelConfig& m, const core::TrainOptions& o, int seeds, const core::ArmProgress& p) {
      return core::run_fp8_ablation(core::scaled_to_width(m, 32), o, seeds, p);
    };
  if (name == "fp8-width")
    return [](const ModelConfig& m, const core::TrainOptions& o, int seeds, const core::ArmProgress& p) {
      return core::run_fp8_width(m, o, {16, 32, 64}, seeds, p);
    };
  if (name == "mtp") return core::run_mtp;
  if (name == "distillation")
    return [](const ModelConfig& m, const core::TrainOptions& o, int seeds, const core::ArmProgress& p) {
      return core::run_distillation(m, o, seeds, p);
    };
  if (name == "sequence-kd")  // the CLI's default sweep (frugal-train experiment sequence-kd)
    return [](const ModelConfig& m, const core::TrainOptions& o, int seeds, const core::ArmProgress& p) {
      return core::run_sequence_kd(m, o, core::SequenceKdSweep{}, seeds, p);
    };
  throw ConfigError("experiment", "unknown experiment '" + name + "' (known: dense-vs-moe, balancing, balancing-gamma, fp8, fp8-ablation, fp8-width, mtp, distillation, sequence-kd)");
}

}  // namespace

void bind_cpu(py::module_& m) {
  m.attr("TINY_CONFIG") = kTinyConfig;

  m.def(
      "train_cpu",
      [](const py::object& config, const py::kwargs& options) {
        const nlohmann::json doc = training_document(config, options);
        const ModelConfig model = model_from_document(doc);
        const core::TrainOptions train = core::train_options_from_document(doc);
        std::vector<core::StepMetrics> history;
        double floor = 0;
        nlohmann::json run;
        {
          py::gil_scoped_release release;
          core::Trainer trainer(model, train);
          while (!trainer.finished()) trainer.step();
          history = trainer.history();
          floor = trainer.loss_floor();
          run = trainer.describe();
        }
        py::dict out = history_arrays(history);
        out["loss_floor"] = floor;
        out["run"] = to_python(run);
        return out;
      },
      py::arg("config") = kTinyConfig,
      "Trains a model with the CPU reference (core/) and returns its metric history as numpy arrays (step, loss, "
      "eval_loss, max_violation, flops, …; expert_load at the last step) plus loss_floor and run. Keyword options "
      "override the config's cpu_training section: steps=200, batch_size=8, seed=2, router={'balancing': "
      "'aux_loss'}, ….");

  m.def(
      "experiment",
      [](const std::string& name, const py::object& config, int seeds, const py::kwargs& options) {
        const Experiment run = experiment_named(name);
        if (seeds < 1) throw ConfigError("seeds", fmt::format("must be a positive integer, got {}", seeds));
        const nlohmann::json doc = training_document(config, options);
        const ModelConfig model = model_from_document(doc);
        const core::TrainOptions train = core::train_options_from_document(doc);
        core::ExperimentReport report;
        {
          py::gil_scoped_release release;
          report = run(model, train, seeds, {});
        }
        py::dict out = to_python(core::report_json(report));
        py::list histories;
        for (const core::ArmResult& arm : report.arms) {
          py::dict h = history_arrays(arm.history);
          h["name"] = arm.name;
          h["seed"] = arm.options.seed;
          histories.append(h);
        }
        out["histories"] = histories;
        out["table"] = core::format_report(report);
        return out;
      },
      py::arg("name"), py::arg("config") = kTinyConfig, py::arg("seeds") = 1,
      "Runs one of the chapters' experiments (dense-vs-moe, balancing, balancing-gamma, fp8, fp8-ablation, fp8-width, mtp, distillation, sequence-kd; core/experiments.hpp) "
      "and returns its report (as `frugal-train experiment NAME --json`) plus every arm's history as numpy arrays and "
      "the printed table. Keyword options override cpu_training, e.g. steps=200.");
}

}  // namespace frugal::python
