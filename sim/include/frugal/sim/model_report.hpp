// `frugal-sim model` output in its three formats. The numbers all come from account_model.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "frugal/config/model_config.hpp"
#include "frugal/sim/model_accountant.hpp"

namespace frugal::sim {

// One line describing the architecture, e.g. "61 layers, hidden 7168, MLA (...), MoE (...)".
std::string describe_shape(const ModelConfig& m);

// The counting conventions in force, as printed under every report.
std::string accounting_conventions(const AccountingOptions& options);

nlohmann::json model_config_json(const ModelConfig& m);
nlohmann::json model_report_json(const ModelConfig& m, const ModelAccount& a, const AccountingOptions& options);
std::string model_report_table(const ModelConfig& m, const ModelAccount& a, const AccountingOptions& options);
std::string model_report_csv(const ModelAccount& a);

}  // namespace frugal::sim
