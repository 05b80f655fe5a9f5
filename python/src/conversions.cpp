// The conversions every part of the module shares (bindings.hpp).
#include <filesystem>

#include "bindings.hpp"
#include "frugal/config/config_error.hpp"
#include "frugal/config/config_file.hpp"
#include "frugal/sim/model_report.hpp"
#include "frugal/config/presets.hpp"

namespace frugal::python {

py::object to_python(const nlohmann::json& j) { return py::module_::import("json").attr("loads")(j.dump()); }

nlohmann::json from_python(const py::handle& o) {
  return nlohmann::json::parse(py::str(py::module_::import("json").attr("dumps")(o)).cast<std::string>());
}

nlohmann::json config_document(const py::handle& config) {
  if (py::isinstance<ModelConfig>(config)) return {{"model", sim::model_config_json(config.cast<const ModelConfig&>())}};
  if (py::isinstance<py::dict>(config)) return from_python(config);
  if (!py::isinstance<py::str>(config)) throw ConfigError("config", "give a preset name, a JSON file path, a dict or a ModelConfig");
  const std::string text = config.cast<std::string>();
  if (std::filesystem::exists(text)) return read_json_file(text);
  for (const frugal::Preset& p : frugal::model_presets())
    if (p.name == text) return p.document;
  throw ConfigError("config", "\"" + text + "\" is neither a file nor a preset (presets: " + frugal::preset_names() + ")");
}

ModelConfig model_from(const py::handle& config) {
  if (py::isinstance<ModelConfig>(config)) return config.cast<ModelConfig>();
  return model_from_document(config_document(config));
}

}  // namespace frugal::python
