#include "frugal/sim/serving_ladder.hpp"

#include <fmt/format.h>

#include "frugal/config/config_error.hpp"
#include "frugal/config/json_reader.hpp"
#include "frugal/sim/embedded_data.hpp"
#include "frugal/sim/format.hpp"
#include "frugal/sim/model_accountant.hpp"
#include "frugal/sim/text_table.hpp"

namespace frugal::sim {

namespace {

const nlohmann::json& scores_document() {
  static const nlohmann::json doc = nlohmann::json::parse(embedded_published_scores().front().text);
  return doc;
}

}  // namespace

std::vector<PublishedScore> published_scores(const std::string& name) {
  std::vector<PublishedScore> out;
  const nlohmann::json& models = scores_document().at("models");
  const auto it = models.find(name);
  if (it == models.end()) return out;
  for (const nlohmann::json& s : *it) {
    PublishedScore p;
    p.benchmark = s.at("benchmark").get<std::string>();
    if (!s.at("shots").is_null()) p.shots = s.at("shots").get<int>();
    p.score = s.at("score").get<double>();
    p.variant = s.at("variant").get<std::string>();
    p.source = s.at("source").get<std::string>();
    p.quote = s.at("quote").get<std::string>();
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<LadderRow> serving_ladder(const std::vector<LadderRung>& rungs, const std::vector<PricedGpu>& gpus,
                                      const ServingWorkload& w, const ServingSlo& slo, const EfficiencyConstants& c) {
  std::vector<LadderRow> rows;
  for (const LadderRung& rung : rungs) {
    LadderRow row;
    row.name = rung.name;
    const ModelAccount a = account_model(rung.model);
    row.total_params = a.total_params;
    row.active_params = a.active_params;
    row.scores = published_scores(rung.name);
    try {
      const ServingPlan plan = plan_serving(rung.model, gpus, w, slo, {}, c);
      row.best = plan.best.front();
    } catch (const ConfigError& e) {  // no deployment meets the SLOs: an answer for this rung
      row.no_plan = e.what();
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

nlohmann::json serving_ladder_json(const std::vector<LadderRow>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const LadderRow& r : rows) {
    nlohmann::json scores = nlohmann::json::array();
    for (const PublishedScore& s : r.scores)
      scores.push_back({{"benchmark", s.benchmark}, {"shots", s.shots ? nlohmann::json(*s.shots) : nlohmann::json(nullptr)},
                        {"score", s.score}, {"variant", s.variant}, {"source", s.source}, {"quote", s.quote},
                        {"published", true}});
    nlohmann::json row = {{"model", r.name}, {"total_params", r.total_params}, {"active_params", r.active_params},
                          {"published_scores", scores}};
    if (r.best) {
      const ServingResult& s = r.best->simulated;
      row["deployment"] = r.best->layout;
      row["gpus"] = r.best->deployment.total_gpus();
      row["cost_per_1k_requests_usd"] = r.best->cost_per_1k_requests_usd;
      row["cost_per_m_output_tokens_usd"] = r.best->cost_per_m_output_tokens_usd;
      row["ttft_p50_s"] = s.ttft_s.p50;
      row["ttft_p95_s"] = s.ttft_s.p95;
      row["tpot_p50_s"] = s.tpot_s.p50;
      row["tpot_p95_s"] = s.tpot_s.p95;
    } else {
      row["no_deployment"] = r.no_plan;
      for (const char* key : {"cost_per_1k_requests_usd", "ttft_p95_s", "tpot_p95_s"}) row[key] = nullptr;
    }
    out.push_back(std::move(row));
  }
  return out;
}

std::string serving_ladder_table(const std::vector<LadderRow>& rows, const ServingWorkload& w, const ServingSlo& slo) {
  const OfferedLoad load = offered_load(w);
  std::string out = fmt::format("The model ladder on one workload: {:.1f} requests/s, {:.0f}-token prompts, {:.0f}-token answers",
                                load.requests_per_s, load.prompt, load.output);
  if (slo.ttft_p95_s > 0) out += fmt::format(", p95 TTFT <= {:.2f} s", slo.ttft_p95_s);
  if (slo.tpot_p95_s > 0) out += fmt::format(", p95 TPOT <= {:.0f} ms", 1e3 * slo.tpot_p95_s);
  out += "\n\n";
  TextTable t({"model", "total", "active", "$/1K requests", "TTFT p50/p95", "TPOT p50/p95", "GPUs", "published scores"});
  t.set_left_aligned({0, 7});
  for (const LadderRow& r : rows) {
    std::string scores;
    for (const PublishedScore& s : r.scores)
      scores += fmt::format("{}{} {:.1f}{}", scores.empty() ? "" : ", ", s.benchmark, s.score,
                            s.shots ? fmt::format(" ({}-shot)", *s.shots) : "");
    if (scores.empty()) scores = "none on file";
    if (r.best) {
      const ServingResult& s = r.best->simulated;
      t.add_row({r.name, format_count(r.total_params), format_count(r.active_params),
                 fmt::format("{:.3f}", r.best->cost_per_1k_requests_usd), fmt::format("{:.2f} / {:.2f} s", s.ttft_s.p50, s.ttft_s.p95),
                 fmt::format("{:.1f} / {:.1f} ms", 1e3 * s.tpot_s.p50, 1e3 * s.tpot_s.p95),
                 std::to_string(r.best->deployment.total_gpus()), scores});
    } else {
      t.add_row({r.name, format_count(r.total_params), format_count(r.active_params), "no deployment", "-", "-", "-", scores});
    }
  }
  out += t.render();
  for (const LadderRow& r : rows) {
    if (r.best) out += fmt::format("  {}: {}\n", r.name, r.best->layout);
    else out += fmt::format("  {}: {}\n", r.name, r.no_plan);
  }
  out += "\nScores are as their makers published them (sim/data/published_scores.json, with sources); they come from "
         "different tables and harnesses, so compare them within one source. FrugalLM prices; it does not measure quality.\n";
  return out;
}

}  // namespace frugal::sim
