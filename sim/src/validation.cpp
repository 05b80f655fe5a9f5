#include "frugal/sim/validation.hpp"

#include <algorithm>
#include <cmath>

#include "frugal/config/json_reader.hpp"
#include "frugal/sim/embedded_data.hpp"
#include "frugal/config/presets.hpp"

namespace frugal::sim {

namespace {

std::vector<PublishedRun> load_runs() {
  std::vector<PublishedRun> out;
  for (const EmbeddedFile& file : embedded_published_runs()) {
    const nlohmann::json doc = nlohmann::json::parse(file.text);
    JsonObjectReader top(doc, std::string(file.name));
    top.ignore({"description"});
    const nlohmann::json* runs = top.array("runs");
    top.finish();
    if (!runs) throw ConfigError(top.path_of("runs"), "missing (required)");
    for (std::size_t i = 0; i < runs->size(); ++i) {
      JsonObjectReader r((*runs)[i], top.path_of("runs") + "[" + std::to_string(i) + "]");
      PublishedRun p;
      p.name = r.string("name");
      const nlohmann::json* config = r.object("config");
      if (!config) throw ConfigError(r.path_of("config"), "missing (required)");
      p.preset = JsonObjectReader(*config, r.path_of("config")).string("preset");
      p.overrides = overrides_from_json(*config, r.path_of("config"));
      if (const nlohmann::json* stages = r.array("stages"))
        for (const auto& s : *stages) p.stages.push_back(s.get<std::string>());
      p.metric = r.choice<std::string>("metric", {{"gpu_hours", "gpu_hours"},
                                                  {"gpu_hours_per_trillion_tokens", "gpu_hours_per_trillion_tokens"},
                                                  {"mfu_bf16", "mfu_bf16"},
                                                  {"total_flops", "total_flops"}});
      p.published = r.number("published");
      p.source = r.string("source");
      p.note = r.string("note", std::string());
      r.finish();
      out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace

const std::vector<PublishedRun>& published_runs() {
  static const std::vector<PublishedRun> runs = load_runs();
  return runs;
}

const PublishedRun& find_published_run(const std::string& name) {
  for (const PublishedRun& r : published_runs())
    if (r.name == name) return r;
  throw ConfigError("published_runs.json", "no run named " + name);
}

TrainingRun published_run_config(const PublishedRun& p) {
  TrainingRun run = training_run_from_document(find_preset(p.preset).document);
  apply_overrides(run, p.overrides);
  return run;
}

namespace {

bool selected(const PublishedRun& p, const StageEstimate& s) {
  return p.stages.empty() || std::find(p.stages.begin(), p.stages.end(), s.stage.name) != p.stages.end();
}

}  // namespace

double published_metric(const PublishedRun& p, const TrainingEstimate& e) {
  double hours = 0, tokens = 0, flops = 0, gpu_seconds = 0;
  for (const StageEstimate& s : e.stages) {
    if (!selected(p, s)) continue;
    hours += s.gpu_hours;
    tokens += s.stage.tokens;
    flops += s.stage.tokens * s.model_flops_per_token;
    gpu_seconds += s.steps * s.step.step_s * static_cast<double>(e.run.gpus);
  }
  if (tokens == 0) throw ConfigError(p.name, "names no stage of preset " + p.preset);
  if (p.metric == "gpu_hours") return hours;
  if (p.metric == "gpu_hours_per_trillion_tokens") return hours / tokens * 1e12;
  if (p.metric == "mfu_bf16") return flops / (gpu_seconds * e.run.gpu.bf16_flops);
  return flops;  // total_flops
}

std::vector<ValidationRow> validate_published_runs(const EfficiencyConstants& c, const std::string& preset) {
  std::vector<ValidationRow> rows;
  for (const PublishedRun& p : published_runs()) {
    if (!preset.empty() && p.preset != preset) continue;
    const TrainingEstimate e = simulate_training(published_run_config(p), c);
    const double predicted = published_metric(p, e);
    bool fits = true;
    for (const StageEstimate& s : e.stages) fits = fits && (!selected(p, s) || s.memory.fits());
    rows.push_back({p, predicted, (predicted - p.published) / p.published, fits});
  }
  return rows;
}

double median_abs_rel_error(const std::vector<ValidationRow>& rows) {
  std::vector<double> errors;
  for (const ValidationRow& r : rows) errors.push_back(std::fabs(r.rel_error));
  if (errors.empty()) return 0.0;
  std::sort(errors.begin(), errors.end());
  const std::size_t n = errors.size();
  return n % 2 ? errors[n / 2] : 0.5 * (errors[n / 2 - 1] + errors[n / 2]);
}

}  // namespace frugal::sim
