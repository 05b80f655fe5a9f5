// The `frugal` Python module (bindings.hpp): the simulator, the CPU reference and the FP8
// utilities for notebooks. Bad input raises ValueError with the same one line the CLIs print.
#include "bindings.hpp"

#include "frugal/config/config_error.hpp"

PYBIND11_MODULE(frugal, m) {
  m.doc() = "FrugalLM: the cost simulator, the CPU reference trainer and the FP8 utilities, for notebooks.\n"
            "Configs are preset names ('deepseek-v3'), JSON file paths (FrugalLM configs or Hugging Face\n"
            "config.json), dicts holding either, or ModelConfig objects.";
  pybind11::register_exception<frugal::ConfigError>(m, "ConfigError", PyExc_ValueError);
  frugal::python::bind_model(m);
  frugal::python::bind_sim(m);
  frugal::python::bind_advice(m);
  frugal::python::bind_cpu(m);
  frugal::python::bind_fp8(m);
}
