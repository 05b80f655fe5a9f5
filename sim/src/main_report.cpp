#include "frugal/sim/main_report.hpp"

#include <fmt/format.h>

#include "frugal/sim/article_claims.hpp"
#include "frugal/sim/claims.hpp"
#include "frugal/sim/dense_baseline.hpp"
#include "frugal/sim/format.hpp"
#include "frugal/sim/model_report.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/text_table.hpp"
#include "frugal/sim/training_report.hpp"
#include "frugal/sim/validation.hpp"

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

namespace {

// Part 1: DeepSeek-V3 pre-training on 2048 H800 at $2/GPU-hour, beside the published run.
std::string training_section() {
  const TrainingRun run = training_run_from_document(find_preset("deepseek-v3").document);
  const TrainingEstimate v3 = simulate_training(run);
  TrainingRun bf16_run = run;
  bf16_run.precision = PrecisionRecipe::bf16;
  const TrainingEstimate v3_bf16 = simulate_training(bf16_run);
  const std::vector<Baseline> baselines = dense_baselines(run, "llama-3.1-405b");

  std::string out = "FrugalLM: what DeepSeek-V3 cost to train, and why\n" + describe_run(v3) + "\n\n";
  TextTable t({"stage", "tokens", "GPU-hours", "cost", "days", "MFU bf16", "MFU fp8", "fits"});
  for (const StageEstimate& s : v3.stages)
    t.add_row({s.stage.name, format_count(s.stage.tokens), format_count(s.gpu_hours), fmt::format("${}", format_count(s.cost_usd)),
               fmt::format("{:.1f}", s.days), fmt::format("{:.1f}%", 100 * s.mfu_bf16), fmt::format("{:.1f}%", 100 * s.mfu_fp8),
               s.memory.fits() ? "yes" : "no"});
  t.add_row({"total", "", format_count(v3.gpu_hours), fmt::format("${}", format_count(v3.cost_usd)), fmt::format("{:.1f}", v3.days),
             fmt::format("{:.1f}%", 100 * v3.mfu_bf16), fmt::format("{:.1f}%", 100 * v3.mfu_fp8), v3.fits ? "yes" : "no"});
  out += t.render() + "\n";

  out += "Computed beside published (frugal-sim validate shows every published run)\n";
  TextTable c({"published run", "published", "predicted", "error", "source"});
  c.set_left_aligned({4});
  for (const ValidationRow& r : validate_published_runs(default_efficiency(), "deepseek-v3")) {
    const bool mfu = r.run.metric == "mfu_bf16";
    auto value = [&](double v) { return mfu ? fmt::format("{:.2f}%", 100 * v) : format_count(v); };
    c.add_row({r.run.name, value(r.run.published), value(r.predicted), format_percent(r.rel_error), r.run.source});
  }
  out += c.render();
  out += "  post-training (5K H800-hours) is not modelled: its token count is not published\n\n";
  out += step_breakdown_text(v3.stages.front()) + "\n";
  out += memory_breakdown_text(v3.stages.front()) + "\n";
  out += "Dense baselines: the same cluster, stages and recipe; parallelism planned for each\n";
  out += baselines_table(v3, baselines) + "\n";
  out += "Claims check\n" + claims_text(claims_check(v3, v3_bf16, baselines));
  out += claims_text(article_claims(article_claim_figures(v3.stages.front().mfu_bf16))) + "\n";
  return out;
}

// Part 2: what one token costs, DeepSeek-V3 beside dense models.
std::string per_token_section() {
  const AccountingOptions options;  // 4K sequence, causal, bf16 KV: the published conditions
  const std::vector<ModelConfig> models = main_report_models();
  const ModelAccount v3 = account_model(models.front(), options);

  std::string out = "What one token costs: DeepSeek-V3 next to dense baselines\n";
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
  return out;
}

}  // namespace

std::string main_report_text() {
  return training_section() + per_token_section() +
         "\nMore: frugal-sim train --help, frugal-sim validate, frugal-sim sweep --help, frugal-sim model --preset NAME, "
         "frugal-sim presets\n";
}

}  // namespace frugal::sim
