#include "frugal/sim/main_report.hpp"

#include <fmt/format.h>

#include "frugal/sim/dense_baseline.hpp"
#include "frugal/sim/format.hpp"
#include "frugal/sim/model_report.hpp"
#include "frugal/sim/presets.hpp"
#include "frugal/sim/text_table.hpp"

namespace frugal::sim {

std::vector<FigureCheck> check_published_figures(const ModelConfig& model) {
  std::vector<FigureCheck> out;
  for (const PublishedFigure& f : published_figures()) {
    if (f.model != model.name) continue;
    AccountingOptions options;
    options.seq_len = f.seq_len;
    options.kv_dtype = f.kv_dtype;
    const double predicted = account_metric(account_model(model, options), f.metric);
    out.push_back({f, predicted, relative_error(predicted, f.value)});
  }
  return out;
}

std::string format_metric(const std::string& metric, double value) {
  if (metric.find("flops") != std::string::npos) return format_flops(value);
  if (metric.find("bytes") != std::string::npos) return format_thousands(value) + " B";
  return format_count(value);
}

std::vector<ModelConfig> main_report_models() {
  const ModelConfig v3 = preset_model("deepseek-v3");
  const double v3_active = account_model(v3).active_params;
  return {v3, preset_model("llama-3.1-405b"),
          dense_baseline(v3, v3_active, ParamMatch::active, "dense-" + format_count(v3_active) + "-active"),
          preset_model("deepseek-67b")};
}

std::string main_report_text() {
  const AccountingOptions options;  // 4K sequence, causal, bf16 KV: the published conditions
  const std::vector<ModelConfig> models = main_report_models();
  const ModelAccount v3 = account_model(models.front(), options);

  std::string out =
      "FrugalLM: what one token of DeepSeek-V3 costs, next to dense baselines\n"
      "(DeepSeek-V3: 671B parameters, 37B activated per token; trained for 2.788M H800 GPU-hours, V3 report Table 1)\n\n";
  TextTable t({"model", "total params", "activated", "train FLOP/token", "x V3", "KV cache/token", "x V3"});
  for (const ModelConfig& m : models) {
    const ModelAccount a = account_model(m, options);
    t.add_row({m.name, format_count(a.total_params), format_count(a.active_params), format_flops(a.train_flops_per_token),
               fmt::format("{:.2f}", a.train_flops_per_token / v3.train_flops_per_token),
               format_thousands(a.kv_cache_bytes_per_token) + " B",
               fmt::format("{:.2f}", a.kv_cache_bytes_per_token / v3.kv_cache_bytes_per_token)});
  }
  out += t.render() + "\n";
  out += fmt::format("  {}: {}\n\n", models[2].name, models[2].source);

  out += "Computed beside published\n";
  TextTable c({"model", "quantity", "computed", "published", "error", "source"});
  c.set_left_aligned({1, 5});
  for (const ModelConfig& m : models)
    for (const FigureCheck& check : check_published_figures(m))
      c.add_row({m.name, check.figure.metric, format_metric(check.figure.metric, check.predicted),
                 format_metric(check.figure.metric, check.figure.value), format_percent(check.rel_error),
                 check.figure.source});
  out += c.render() + "\n";
  out += "  " + accounting_conventions(options) + "\n";
  out += "  A breakdown by component: frugal-sim model --preset NAME; all presets: frugal-sim presets\n";
  return out;
}

}  // namespace frugal::sim
