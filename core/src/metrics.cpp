#include "frugal/core/metrics.hpp"

#include <cmath>

#include <fmt/format.h>

namespace frugal::core {

nlohmann::json to_json(const StepMetrics& m) {
  nlohmann::json j = {{"step", m.step},
                      {"loss", m.loss},
                      {"balance_loss", m.balance_loss},
                      {"learning_rate", m.learning_rate},
                      {"grad_norm", m.grad_norm},
                      {"tokens_per_second", m.tokens_per_second},
                      {"max_violation", m.max_violation},
                      {"dropped_fraction", m.dropped_fraction},
                      {"flops", m.flops},
                      {"teacher_flops", m.teacher_flops},
                      {"all_to_all_bytes", m.all_to_all_bytes},
                      {"remote_copies_per_token", m.remote_copies_per_token},
                      {"expert_load", m.expert_load}};
  j["eval_loss"] = std::isnan(m.eval_loss) ? nlohmann::json(nullptr) : nlohmann::json(m.eval_loss);
  j["mtp_loss"] = std::isnan(m.mtp_loss) ? nlohmann::json(nullptr) : nlohmann::json(m.mtp_loss);
  j["distillation_loss"] = std::isnan(m.distillation_loss) ? nlohmann::json(nullptr) : nlohmann::json(m.distillation_loss);
  return j;
}

StepMetrics step_metrics_from_json(const nlohmann::json& j) {
  StepMetrics m;
  m.step = j.at("step").get<std::int64_t>();
  m.loss = j.at("loss").get<double>();
  m.balance_loss = j.at("balance_loss").get<double>();
  if (!j.at("eval_loss").is_null()) m.eval_loss = j.at("eval_loss").get<double>();
  if (j.contains("mtp_loss") && !j.at("mtp_loss").is_null()) m.mtp_loss = j.at("mtp_loss").get<double>();
  if (j.contains("distillation_loss") && !j.at("distillation_loss").is_null())
    m.distillation_loss = j.at("distillation_loss").get<double>();
  m.teacher_flops = j.value("teacher_flops", 0.0);
  m.all_to_all_bytes = j.value("all_to_all_bytes", 0.0);
  m.remote_copies_per_token = j.value("remote_copies_per_token", 0.0);
  m.learning_rate = j.at("learning_rate").get<double>();
  m.grad_norm = j.at("grad_norm").get<double>();
  m.tokens_per_second = j.at("tokens_per_second").get<double>();
  m.max_violation = j.at("max_violation").get<double>();
  m.dropped_fraction = j.at("dropped_fraction").get<double>();
  m.flops = j.at("flops").get<double>();
  m.expert_load = j.at("expert_load").get<std::vector<std::vector<std::int64_t>>>();
  return m;
}

std::string metrics_csv(const std::vector<StepMetrics>& history) {
  std::string out =
      "step,loss,balance_loss,eval_loss,learning_rate,grad_norm,tokens_per_second,max_violation,dropped_fraction,flops,"
      "mtp_loss,distillation_loss,teacher_flops,all_to_all_bytes\n";
  auto optional = [](double v) { return std::isnan(v) ? std::string() : fmt::format("{:.6f}", v); };
  for (const StepMetrics& m : history) {
    out += fmt::format("{},{:.6f},{:.6g},{},{:.6g},{:.6g},{:.1f},{:.6f},{:.6f},{:.6g},{},{},{:.6g},{:.6g}\n", m.step, m.loss,
                       m.balance_loss, optional(m.eval_loss), m.learning_rate, m.grad_norm, m.tokens_per_second,
                       m.max_violation, m.dropped_fraction, m.flops, optional(m.mtp_loss), optional(m.distillation_loss),
                       m.teacher_flops, m.all_to_all_bytes);
  }
  return out;
}

std::string metrics_json(const std::vector<StepMetrics>& history, const nlohmann::json& run) {
  nlohmann::json j;
  j["run"] = run;
  j["history"] = nlohmann::json::array();
  for (const StepMetrics& m : history) j["history"].push_back(to_json(m));
  return j.dump(1) + "\n";
}

}  // namespace frugal::core
