// The `frugal` Python module, one file per part: the shared conversions here, then
//   bind_model.cpp  ModelConfig and model()        (sim/model_accountant.hpp)
//   bind_sim.cpp    train(), serve(), validate(), sweep()   (the cost simulator)
//   bind_advice.cpp finetune(), distill(), ladder()         (the article's advice, priced)
//   bind_cpu.cpp    train_cpu(), experiment()      (core's CPU reference trainer)
//   bind_fp8.cpp    fp8_encode(), fp8_decode(), quantize_error(), accumulation_error()
#pragma once

#include <pybind11/pybind11.h>

#include <nlohmann/json.hpp>

#include "frugal/config/model_config.hpp"

namespace frugal::python {

namespace py = pybind11;

// nlohmann::json <-> Python objects (dict, list, str, float, int, bool, None), through the json module.
py::object to_python(const nlohmann::json& j);
nlohmann::json from_python(const py::handle& o);

// A config document from what a Python caller gave: a preset name ("deepseek-v3"), a path to a JSON
// file (a FrugalLM config or a Hugging Face config.json), a dict holding either, or a ModelConfig.
nlohmann::json config_document(const py::handle& config);
ModelConfig model_from(const py::handle& config);

void bind_model(py::module_& m);
void bind_sim(py::module_& m);
void bind_advice(py::module_& m);  // finetune, distill, ladder
void bind_cpu(py::module_& m);
void bind_fp8(py::module_& m);

}  // namespace frugal::python
