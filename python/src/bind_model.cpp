// ModelConfig and model(): the architecture and what it costs per token (sim/model_accountant.hpp).
#include "bindings.hpp"
#include "frugal/config/config_error.hpp"
#include "frugal/sim/model_accountant.hpp"
#include "frugal/sim/model_report.hpp"

namespace frugal::python {

namespace {

sim::KvDtype kv_dtype_from(const std::string& name) {
  for (sim::KvDtype d : {sim::KvDtype::fp32, sim::KvDtype::bf16, sim::KvDtype::fp16, sim::KvDtype::fp8})
    if (name == sim::to_string(d)) return d;
  throw ConfigError("kv_dtype", "must be fp32, bf16, fp16 or fp8, got '" + name + "'");
}

sim::AccountingOptions accounting(std::int64_t seq_len, const std::string& attention, const std::string& kv_dtype) {
  if (seq_len < 1) throw ConfigError("seq_len", "must be a positive integer, got " + std::to_string(seq_len));
  if (attention != "causal" && attention != "full") throw ConfigError("attention", "must be causal or full, got '" + attention + "'");
  return {seq_len, attention == "causal" ? sim::AttentionFlops::causal : sim::AttentionFlops::full, kv_dtype_from(kv_dtype)};
}

}  // namespace

void bind_model(py::module_& m) {
  py::class_<ModelConfig>(m, "ModelConfig", "A model architecture, as every FrugalLM engine reads it.")
      .def(py::init([](const py::object& config) { return model_from(config); }), py::arg("config"),
           "From a preset name, a JSON file path (FrugalLM config or Hugging Face config.json) or a dict.")
      .def_readonly("name", &ModelConfig::name)
      .def_readonly("vocab_size", &ModelConfig::vocab_size)
      .def_readonly("hidden_size", &ModelConfig::hidden_size)
      .def_readonly("num_layers", &ModelConfig::num_layers)
      .def_readonly("max_seq_len", &ModelConfig::max_seq_len)
      .def_readonly("mtp_depth", &ModelConfig::mtp_depth)
      .def_property_readonly("is_moe", &ModelConfig::is_moe)
      .def_property_readonly("routed_experts", [](const ModelConfig& c) { return c.moe.routed_experts; })
      .def_property_readonly("shared_experts", [](const ModelConfig& c) { return c.moe.shared_experts; })
      .def_property_readonly("top_k", [](const ModelConfig& c) { return c.moe.top_k; })
      .def("to_dict", [](const ModelConfig& c) { return to_python(sim::model_config_json(c)); },
           "The config in FrugalLM keys (the \"model\" section of a config file).")
      .def("__repr__", [](const ModelConfig& c) { return "ModelConfig(" + c.name + ": " + sim::describe_shape(c) + ")"; });

  m.def(
      "model",
      [](const py::object& config, std::int64_t seq_len, const std::string& attention, const std::string& kv_dtype) {
        const ModelConfig c = model_from(config);
        const sim::AccountingOptions options = accounting(seq_len, attention, kv_dtype);
        return to_python(sim::model_report_json(c, sim::account_model(c, options), options));
      },
      py::arg("config"), py::arg("seq_len") = 4096, py::arg("attention") = "causal", py::arg("kv_dtype") = "bf16",
      "Parameters, FLOPs per token and KV-cache bytes per token, in total and by component (as `frugal-sim model "
      "--format json`).");
}

}  // namespace frugal::python
