// The ConfigError a model document is refused with, or "(accepted)": the config tests compare it
// with the one line a program prints (field path and reason).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "frugal/config/config_file.hpp"

namespace frugal::testing {

inline std::string model_config_error(const nlohmann::json& doc) {
  try {
    (void)model_from_document(doc);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace frugal::testing
