// A FrugalLM config file: either {"model": {...}, <other sections>} or a bare model object (in
// FrugalLM keys, or a Hugging Face config.json unchanged).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "frugal/config/json_reader.hpp"
#include "frugal/config/model_config_json.hpp"

namespace frugal {

// The model described by a parsed config document. `origin` prefixes nothing; error paths are
// "model.<key>" for a sectioned document and "<key>" for a bare model.
inline ModelConfig model_from_document(const nlohmann::json& doc) {
  if (doc.is_object() && doc.contains("model")) {
    JsonObjectReader top(doc, "");
    // The other sections belong to the simulator (sim/training_config.hpp) and the CPU reference
    // (core/train_options.hpp, "cpu_training"); they are checked there.
    top.ignore({"description", "cluster", "training", "parallelism", "hardware", "cpu_training"});
    const nlohmann::json* model = top.object("model");
    if (!model) throw ConfigError("model", "missing (required): a model object, FrugalLM keys or a Hugging Face config.json");
    top.finish();
    return parse_model_config(*model, "model");
  }
  return parse_model_config(doc, "");
}

// Reads FILE and returns its model. Errors carry the file name: "FILE: model.moe.top_k: ...".
inline ModelConfig load_model_config_file(const std::string& file) {
  const nlohmann::json doc = read_json_file(file);
  try {
    return model_from_document(doc);
  } catch (const ConfigError& e) {
    throw ConfigError(file, e.what());
  }
}

}  // namespace frugal
