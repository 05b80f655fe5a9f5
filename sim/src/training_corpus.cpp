#include "frugal/sim/training_corpus.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "frugal/config/json_reader.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/corpus_fit.hpp"
#include "frugal/sim/embedded_data.hpp"
#include "frugal/sim/training_sim.hpp"

namespace frugal::sim {

namespace {

// A required, non-empty string field.
std::string non_empty_string(JsonObjectReader& r, const char* key, const char* what) {
  if (!r.has(key)) throw ConfigError(r.path_of(key), std::string("missing (required: ") + what + ")");
  std::string s = r.string(key);
  if (s.find_first_not_of(" \t\n") == std::string::npos)
    throw ConfigError(r.path_of(key), std::string("must not be empty (") + what + ")");
  return s;
}

const nlohmann::json& required_object(const nlohmann::json& parent, const char* key, const std::string& path,
                                      const char* what) {
  const auto it = parent.find(key);
  if (it == parent.end() || it->is_null())
    throw ConfigError(path + "." + key, std::string("missing (required: ") + what + ")");
  if (!it->is_object()) throw ConfigError(path + "." + key, "must be a JSON object, got " + it->dump());
  return *it;
}

// The measured run of a step row: checks that the set-up is complete (cluster, one stage with its
// batch and sequence length, the full layout), then reads it as any training document is read.
TrainingRun step_run_from_json(const nlohmann::json& j, const std::string& path) {
  if (!j.is_object()) throw ConfigError(path, "must be a JSON object (the measured run)");
  nlohmann::json doc = j;
  const nlohmann::json& model = required_object(j, "model", path, "the model: {\"preset\": NAME} or a model object");
  if (model.contains("preset")) {
    if (model.size() != 1 || !model["preset"].is_string())
      throw ConfigError(path + ".model", "give either {\"preset\": NAME} alone or a whole model object");
    try {
      doc["model"] = find_preset(model["preset"].get<std::string>()).document.at("model");
    } catch (const ConfigError& e) {
      throw ConfigError(path + ".model.preset", e.what());
    }
  }
  const nlohmann::json& cluster = required_object(j, "cluster", path, "the GPU type and count");
  for (const char* key : {"gpu", "gpus"})
    if (!cluster.contains(key)) throw ConfigError(path + ".cluster." + key, "missing (required: the GPU type and count)");
  const nlohmann::json& par = required_object(j, "parallelism", path, "the layout the measurement ran with");
  for (const char* key : {"tp", "pp", "dp", "micro_batch"})
    if (!par.contains(key)) throw ConfigError(path + ".parallelism." + key, "missing (required: the layout)");
  const nlohmann::json& training = required_object(j, "training", path, "precision and the measured stage");
  const auto stages = training.find("stages");
  if (stages == training.end() || !stages->is_array() || stages->size() != 1)
    throw ConfigError(path + ".training.stages", "must list exactly one stage: the measured step");
  for (const char* key : {"seq_len", "global_batch"})
    if (!(*stages)[0].is_object() || !(*stages)[0].contains(key))
      throw ConfigError(path + ".training.stages[0]." + key, "missing (required: the measured batch)");
  try {
    TrainingRun run = training_run_from_document(doc);
    validate_training_run(run);
    return run;
  } catch (const ConfigError& e) {
    throw ConfigError(path, e.what());
  }
}

PublishedRun whole_run_from_json(JsonObjectReader& r, const CorpusRow& row) {
  const nlohmann::json* config = r.object("config");
  if (!config) throw ConfigError(r.path_of("config"), "missing (required: the run's preset and what differs from it)");
  PublishedRun p;
  p.name = row.name;
  p.preset = JsonObjectReader(*config, r.path_of("config")).string("preset");
  p.overrides = overrides_from_json(*config, r.path_of("config"));
  if (const nlohmann::json* stages = r.array("stages"))
    for (const auto& s : *stages) p.stages.push_back(s.get<std::string>());
  p.metric = row.metric;
  p.published = row.published;
  p.source = row.source;
  try {
    validate_training_run(published_run_config(p));
  } catch (const ConfigError& e) {
    throw ConfigError(r.path_of("config"), e.what());
  }
  return p;
}

CorpusRow row_from_json(const nlohmann::json& j, const std::string& index_path) {
  std::string path = index_path;
  if (j.is_object() && j.contains("name") && j["name"].is_string()) path += " (" + j["name"].get<std::string>() + ")";
  JsonObjectReader r(j, path);
  CorpusRow row;
  row.name = non_empty_string(r, "name", "the row's name");
  row.row_class = r.choice<std::string>("class", {{"step", "step"}, {"whole_run", "whole_run"}, {"finetune", "finetune"}});
  row.series = r.string("series", std::string());
  const bool step = row.row_class != "whole_run";  // step and finetune rows describe their run in full
  if (row.row_class == "step")
    row.metric = r.choice<std::string>("metric", {{"step_time_s", "step_time_s"}, {"tokens_per_s_per_gpu", "tokens_per_s_per_gpu"}});
  else if (row.row_class == "finetune")
    row.metric = r.choice<std::string>("metric", {{"hours", "hours"}, {"tokens_per_s_per_gpu", "tokens_per_s_per_gpu"},
                                                  {"memory_gb", "memory_gb"}});
  else
    row.metric = r.choice<std::string>("metric", {{"gpu_hours", "gpu_hours"}});
  if (!r.has("published")) throw ConfigError(r.path_of("published"), "missing (required: the measured figure)");
  row.published = r.number("published");
  if (!(row.published > 0) || !std::isfinite(row.published))
    throw ConfigError(r.path_of("published"), "must be positive (the measured figure), got " + std::to_string(row.published));
  row.source = non_empty_string(r, "source", "where the figure is published");
  row.quote = non_empty_string(r, "quote", "the source's line the figure comes from");
  row.flop_convention = r.string("flop_convention", std::string());
  if (const nlohmann::json* lacks = r.array("lacks"))
    for (const auto& l : *lacks) row.lacks.push_back(l.get<std::string>());
  if (step) {
    const nlohmann::json* run = r.value("run");
    if (!run) throw ConfigError(r.path_of("run"), "missing (required: the measured run's model, cluster and layout)");
    row.run = step_run_from_json(*run, r.path_of("run"));
    row.run_document = run->dump();  // nlohmann::json keeps object keys sorted
    row.is_moe = row.run.model.is_moe();
  } else {
    row.whole_run = whole_run_from_json(r, row);
    row.is_moe = published_run_config(row.whole_run).model.is_moe();
  }
  r.finish();
  return row;
}

}  // namespace

TrainingCorpus training_corpus_from_json(const nlohmann::json& doc, const std::string& label) {
  JsonObjectReader top(doc, label);
  top.ignore({"description"});
  const nlohmann::json* rows = top.array("rows");
  if (!rows) throw ConfigError(top.path_of("rows"), "missing (required)");
  TrainingCorpus corpus;
  for (std::size_t i = 0; i < rows->size(); ++i)
    corpus.rows.push_back(row_from_json((*rows)[i], label + " rows[" + std::to_string(i) + "]"));
  corpus.not_included = read_not_included(top);
  top.finish();
  return corpus;
}

TrainingCorpus training_corpus_from_file(const std::string& file) {
  return training_corpus_from_json(read_json_file(file), file);
}

const TrainingCorpus& embedded_training_corpus() {
  static const TrainingCorpus corpus = [] {
    const EmbeddedFile& file = embedded_training_corpus_file().front();
    return training_corpus_from_json(nlohmann::json::parse(file.text), std::string(file.name));
  }();
  return corpus;
}

namespace {

struct Predicted {
  double value = 0;
  bool fits = true;
};

Predicted predict_with_memory(const CorpusRow& row, const EfficiencyConstants& c) {
  if (row.row_class == "whole_run") {
    const TrainingEstimate e = simulate_training(published_run_config(row.whole_run), c);
    return {published_metric(row.whole_run, e), e.fits};
  }
  const TrainingEstimate e = simulate_training(row.run, c);
  const StageEstimate& s = e.stages.front();
  if (row.metric == "step_time_s") return {s.step.step_s, s.memory.fits()};
  if (row.metric == "hours") return {s.days * 24.0, s.memory.fits()};  // wall time of the whole fine-tuning
  // A fine-tuning's measured peak is what PyTorch's allocator handed out (Lit-GPT prints
  // torch.cuda.max_memory_allocated()): no CUDA context, no cached free blocks, so the reserve is
  // left out of the figure; whether it fits still counts it.
  if (row.metric == "memory_gb") return {(s.memory.total - s.memory.reserve) / 1e9, s.memory.fits()};
  // tokens/s/GPU = global_batch x seq_len / (step time x GPUs)
  const double tokens = static_cast<double>(s.stage.global_batch) * static_cast<double>(s.stage.seq_len);
  return {tokens / (s.step.step_s * static_cast<double>(row.run.gpus)), s.memory.fits()};
}

}  // namespace

double predict_corpus_row(const CorpusRow& row, const EfficiencyConstants& c) { return predict_with_memory(row, c).value; }

std::vector<CorpusPrediction> predict_training_corpus(const TrainingCorpus& corpus, bool out_of_sample) {
  std::vector<CorpusPrediction> out;
  for (const CorpusRow& row : corpus.rows) {
    const Predicted p = predict_with_memory(row, default_efficiency());
    out.push_back({&row, p.value, (p.value - row.published) / row.published, 0.0, p.fits});
    out.back().time_rel_error = time_rel_error(row.metric, p.value, row.published);
    out.back().out_of_sample_rel_error = out.back().out_of_sample_time_rel_error = std::nan("");
  }
  if (!out_of_sample) return out;
  // The constants corpus_fit.hpp names are refitted on the other series' step rows. A series
  // without step rows leaves them all in: one fit serves every such series.
  std::size_t step_rows = 0;
  for (const CorpusRow& row : corpus.rows) step_rows += row.row_class == "step" ? 1 : 0;
  std::optional<EfficiencyConstants> fit_on_all;
  const auto fit = [&](const std::vector<const CorpusRow*>& others) {
    std::size_t kept = 0;
    for (const CorpusRow* row : others) kept += row->row_class == "step" ? 1 : 0;
    if (kept < step_rows) return fit_constants(others);
    if (!fit_on_all) fit_on_all = fit_constants(others);
    return *fit_on_all;
  };
  const std::vector<double> held_out = leave_one_series_out(corpus.rows, fit, predict_corpus_row);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const CorpusRow& row = corpus.rows[i];
    out[i].out_of_sample_rel_error = (held_out[i] - row.published) / row.published;
    out[i].out_of_sample_time_rel_error = time_rel_error(row.metric, held_out[i], row.published);
  }
  return out;
}

double published_step_time(const CorpusRow& row) {
  if (row.metric != "tokens_per_s_per_gpu") return row.published;
  const TrainingStage& stage = row.run.stages.front();
  return static_cast<double>(stage.global_batch * stage.seq_len) / (row.published * static_cast<double>(row.run.gpus));
}

std::vector<IndistinguishableRows> indistinguishable_rows(const TrainingCorpus& corpus) {
  std::map<std::string, std::vector<const CorpusRow*>> by_run;
  for (const CorpusRow& row : corpus.rows)
    if (row.row_class == "step") by_run[row.run_document].push_back(&row);
  std::vector<IndistinguishableRows> out;
  for (auto& [run, rows] : by_run) {
    if (rows.size() < 2) continue;
    std::vector<double> times;
    for (const CorpusRow* r : rows) times.push_back(published_step_time(*r));
    const auto [low, high] = std::minmax_element(times.begin(), times.end());
    out.push_back({rows, (*high - *low) / (*high + *low)});
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.error_floor > b.error_floor; });
  return out;
}

double time_rel_error(const std::string& metric, double predicted, double published) {
  return metric == "tokens_per_s_per_gpu" ? published / predicted - 1.0 : predicted / published - 1.0;
}

ErrorSummary summarize_errors(const std::vector<double>& rel_errors) {
  ErrorSummary s;
  s.count = rel_errors.size();
  if (rel_errors.empty()) return s;
  std::vector<double> abs_errors;
  std::size_t low = 0;
  for (double e : rel_errors) {
    abs_errors.push_back(std::fabs(e));
    if (e < 0) ++low;
  }
  std::sort(abs_errors.begin(), abs_errors.end());
  const std::size_t n = abs_errors.size();
  s.median_abs = n % 2 ? abs_errors[n / 2] : 0.5 * (abs_errors[n / 2 - 1] + abs_errors[n / 2]);
  s.max_abs = abs_errors.back();
  s.share_low = static_cast<double>(low) / static_cast<double>(n);
  return s;
}

}  // namespace frugal::sim
