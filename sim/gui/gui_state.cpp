#include "gui_state.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "frugal/config/config_file.hpp"
#include "frugal/config/model_config_json.hpp"
#include "frugal/sim/model_report.hpp"
#include "frugal/sim/planner.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/run_overrides.hpp"
#include "frugal/sim/serving_report.hpp"

namespace frugal::sim::gui {

const std::vector<std::string>& sweep_axes() {
  static const std::vector<std::string> axes = {"GPU count", "price per GPU-hour", "training tokens", "routed experts"};
  return axes;
}

namespace {

int gpu_index(const std::string& name) {
  const auto& gpus = known_gpus();
  for (std::size_t i = 0; i < gpus.size(); ++i)
    if (gpus[i].name == name) return static_cast<int>(i);
  return 0;
}

// The run the inputs describe: the document's run, with the model knobs and the overrides applied.
// Throws ConfigError with the same message the CLI gives.
TrainingRun build_run(const nlohmann::json& doc, const GuiInputs& in) {
  TrainingRun run = training_run_from_document(doc);
  ModelConfig& m = run.model;
  m.num_layers = in.layers;
  m.hidden_size = in.hidden;
  m.mtp_depth = in.mtp_depth;
  if (m.is_moe()) {
    m.moe.routed_experts = in.experts;
    m.moe.top_k = in.top_k;
    m.moe.shared_experts = in.shared_experts;
    m.moe.groups_per_token = in.groups_kept;
  }
  if (m.attention.kind == AttentionKind::mla) {
    m.attention.kv_lora_rank = in.kv_rank;
    m.attention.q_lora_rank = in.q_rank;
  }
  validate_model_config(m, detail::native_field_paths("model"));
  RunOverrides o;
  o.gpu = known_gpus()[static_cast<std::size_t>(in.gpu)].name;
  o.gpus = in.gpus;
  o.price_per_gpu_hour = in.price;
  o.precision = in.fp8 ? PrecisionRecipe::fp8 : PrecisionRecipe::bf16;
  if (!in.preset_stages) {
    o.tokens = static_cast<double>(in.tokens_t) * 1e12;
    o.seq_len = in.seq_len;
    o.global_batch = in.global_batch;
  }
  if (in.plan_auto) {
    o.plan_auto = true;
  } else if (run.parallel.automatic || in.tp != run.parallel.tp || in.pp != run.parallel.pp || in.ep != run.parallel.ep) {
    o.tp = in.tp;
    o.pp = in.pp;
    o.ep = in.ep;
  }
  if (!(in.price > 0)) throw ConfigError("price", "must be positive");
  for (const auto& [name, value] : {std::pair<const char*, int>{"gpus", in.gpus}, {"TP", in.tp}, {"PP", in.pp}, {"EP", in.ep},
                                    {"sequence length", in.seq_len}, {"global batch", in.global_batch}})
    if (value <= 0) throw ConfigError(name, "must be a positive integer, got " + std::to_string(value));
  apply_overrides(run, o);
  validate_training_run(run);
  return run;
}

// Replaces every automatic stage parallelism by the planner's choice, cached by the shape that
// decides it (so moving the price or the tokens does not plan again).
void plan_stages(TrainingRun& run, std::map<std::string, Parallelism>* cache) {
  for (std::size_t i = 0; i < run.stages.size(); ++i) {
    if (!stage_parallelism(run, i).automatic) continue;
    TrainingStage s = run.stages[i];
    const std::string key = fmt::format("{}|{}|{}|{}|{}|{}|{}", model_config_json(run.model).dump(), run.gpu.name,
                                        run.gpus, s.seq_len, s.global_batch, to_string(run.precision),
                                        to_string(run.recompute));
    Parallelism p;
    if (cache && cache->count(key)) {
      p = cache->at(key);
    } else {
      TrainingRun one = run;
      s.parallel.reset();
      one.stages = {s};
      one.parallel.automatic = true;
      p = plan_parallelism(one, default_efficiency()).parallel;
      if (cache) (*cache)[key] = p;
    }
    run.stages[i].parallel = p;
  }
}

}  // namespace

GuiState::GuiState() {
  validation = validate_published_runs();
  for (const CorpusRow& row : embedded_training_corpus().rows) {
    try {
      corpus.push_back({&row, predict_corpus_row(row), {}});
    } catch (const ConfigError& e) {
      corpus.push_back({&row, 0, e.what()});
    }
  }
  std::vector<double> step_errors;
  for (const CorpusPrediction& p : corpus)
    if (p.row->row_class == "step" && p.error.empty())
      step_errors.push_back(time_rel_error(p.row->metric, p.predicted, p.row->published));
  corpus_step_summary = summarize_errors(step_errors);
  corpus_floor = indistinguishable_rows(embedded_training_corpus());
  load_preset("deepseek-v3");
}

GuiState::~GuiState() {
  if (sweep_thread_.joinable()) sweep_thread_.join();
}

namespace {

void fill_inputs(GuiInputs& in, const TrainingRun& run) {
  const ModelConfig& m = run.model;
  in.layers = static_cast<int>(m.num_layers);
  in.hidden = static_cast<int>(m.hidden_size);
  in.mtp_depth = static_cast<int>(m.mtp_depth);
  in.experts = static_cast<int>(m.moe.routed_experts);
  in.top_k = static_cast<int>(m.moe.top_k);
  in.shared_experts = static_cast<int>(m.moe.shared_experts);
  in.groups_kept = static_cast<int>(m.moe.groups_per_token);
  in.kv_rank = static_cast<int>(m.attention.kv_lora_rank);
  in.q_rank = static_cast<int>(m.attention.q_lora_rank);
  in.preset_stages = true;
  const TrainingStage& s = run.stages.front();
  in.tokens_t = static_cast<float>(s.tokens / 1e12);
  in.seq_len = static_cast<int>(s.seq_len);
  in.global_batch = static_cast<int>(s.global_batch);
  in.fp8 = run.precision == PrecisionRecipe::fp8;
  in.gpu = gpu_index(run.gpu.name);
  in.gpus = static_cast<int>(run.gpus);
  in.price = static_cast<float>(run.price_per_gpu_hour);
  in.plan_auto = run.parallel.automatic;
  in.tp = static_cast<int>(run.parallel.tp);
  in.pp = static_cast<int>(run.parallel.pp);
  in.ep = static_cast<int>(run.parallel.ep);
}

}  // namespace

void GuiState::load_document(const nlohmann::json& doc, const std::string& name) {
  const TrainingRun run = training_run_from_document(doc);  // refuses a bad document before any change
  document_ = doc;
  inputs.preset = name;
  fill_inputs(inputs, run);
  recompute();
  recompute_serving();
}

void GuiState::load_preset(const std::string& name) { load_document(find_preset(name).document, name); }

void GuiState::load_file(const std::string& file) {
  const nlohmann::json doc = read_json_file(file);
  try {
    const nlohmann::json sectioned = doc.is_object() && doc.contains("model") ? doc : nlohmann::json{{"model", doc}};
    load_document(sectioned, model_from_document(sectioned).name);
  } catch (const ConfigError& e) {
    throw ConfigError(file, e.what());
  }
}

nlohmann::json GuiState::to_document() const {
  const TrainingRun run = build_run(document_, inputs);
  nlohmann::json stages = nlohmann::json::array();
  for (const TrainingStage& s : run.stages) {
    nlohmann::json j = {{"name", s.name}, {"tokens", s.tokens}, {"seq_len", s.seq_len}, {"global_batch", s.global_batch}};
    if (s.parallel) j["parallelism"] = s.parallel->automatic ? nlohmann::json("auto") : parallelism_json(*s.parallel);
    stages.push_back(j);
  }
  nlohmann::json doc = {
      {"description", "saved by frugal-gui"},
      {"model", model_config_json(run.model)},
      {"cluster", {{"gpu", run.gpu.name}, {"gpus", run.gpus}, {"price_per_gpu_hour", run.price_per_gpu_hour}, {"overhead", run.overhead}}},
      {"training",
       {{"precision", to_string(run.precision)}, {"optimizer_states", to_string(run.optimizer_states)},
        {"recompute", to_string(run.recompute)}, {"stages", stages}}},
      {"parallelism", run.parallel.automatic ? nlohmann::json("auto") : parallelism_json(run.parallel)}};
  return doc;
}

void GuiState::save_file(const std::string& file) const {
  const std::string text = to_document().dump(2) + "\n";
  const std::string tmp = file + ".tmp";
  {
    std::ofstream out(tmp);
    if (!(out << text)) throw ConfigError(file, "cannot write");
  }
  std::rename(tmp.c_str(), file.c_str());
}

std::string GuiState::cli_command() const {
  const GuiInputs& in = inputs;
  const TrainingRun base = training_run_from_document(document_);
  const ModelConfig& m = base.model;
  const bool model_changed = in.layers != m.num_layers || in.hidden != m.hidden_size || in.mtp_depth != m.mtp_depth ||
                             in.experts != m.moe.routed_experts || in.top_k != m.moe.top_k ||
                             in.shared_experts != m.moe.shared_experts || in.groups_kept != m.moe.groups_per_token ||
                             in.kv_rank != m.attention.kv_lora_rank || in.q_rank != m.attention.q_lora_rank;
  const bool is_preset = std::any_of(model_presets().begin(), model_presets().end(),
                                     [&](const Preset& p) { return p.name == in.preset && p.document == document_; });
  if (model_changed || !is_preset) return "frugal-sim train --config frugal-gui.json   # after 'Save config'";
  std::string cmd = fmt::format("frugal-sim train --preset {} --gpu {} --gpus {} --price {} --precision {}", in.preset,
                                known_gpus()[static_cast<std::size_t>(in.gpu)].name, in.gpus, in.price, in.fp8 ? "fp8" : "bf16");
  if (!in.preset_stages) cmd += fmt::format(" --tokens {}T --seq-len {} --global-batch {}", in.tokens_t, in.seq_len, in.global_batch);
  if (in.plan_auto) cmd += " --plan auto";
  else if (base.parallel.automatic || in.tp != base.parallel.tp || in.pp != base.parallel.pp || in.ep != base.parallel.ep)
    cmd += fmt::format(" --tp {} --pp {} --ep {}", in.tp, in.pp, in.ep);
  return cmd;
}

TrainingEstimate GuiState::simulate_cached(TrainingRun run) {
  plan_stages(run, &plans_);
  if (run.parallel.automatic) run.parallel = run.stages.front().parallel.value();
  return simulate_training(run);
}

void GuiState::recompute() {
  try {
    const TrainingRun run = build_run(document_, inputs);
    estimate = simulate_cached(run);
    baselines.clear();
    for (const auto& [label, model] : dense_baseline_models(run.model, "llama-3.1-405b"))
      baselines.push_back({label, model, simulate_cached(baseline_run(run, model))});
    error.clear();
  } catch (const ConfigError& e) {
    error = e.what();
    estimate.reset();
    baselines.clear();
  }
}

void GuiState::recompute_serving() {
  serving_by_load.clear();
  try {
    const TrainingRun run = build_run(document_, inputs);
    ServingDeployment d = default_deployment(run.model, run.gpu, inputs.fp8 && run.gpu.fp8_flops > 0);
    PlanChoices choices = serving_choices();
    choices.fp8_weights = d.fp8_weights;  // the training tab's recipe, where the GPU has FP8
    apply_choices(choices, d);
    d.eplb = inputs.eplb;
    check_fp8_attention(d);
    d.price_per_gpu_hour = inputs.price;
    ServingWorkload w;
    w.prompt = {static_cast<double>(inputs.prompt_tokens), LengthDistribution::exponential};
    w.output = {static_cast<double>(inputs.output_tokens), LengthDistribution::exponential};
    w.prefix_hit_rate = inputs.prefix_hit_rate;
    w.requests = 2000;
    for (double scale : {0.25, 0.5, 0.75, 1.0, 1.25, 1.5}) {
      w.arrival_rate = static_cast<double>(inputs.rate) * scale;
      serving_by_load.push_back({w.arrival_rate, simulate_serving(run.model, d, w)});
    }
    serving_error.clear();
  } catch (const ConfigError& e) {
    serving_error = e.what();
  }
}

PlanChoices GuiState::serving_choices() const {
  PlanChoices choices;
  ServingDeployment& k = choices.kernels;
  k.mtp_acceptance = inputs.mtp_acceptance;
  k.kv_dtype = inputs.kv_fp8 ? KvDtype::fp8 : KvDtype::bf16;
  k.fp8_attention = inputs.fp8_attention;
  k.two_batch_overlap = inputs.two_batch_overlap;
  k.low_latency_nvlink = inputs.low_latency_nvlink;
  return choices;
}

void GuiState::plan_serving() {
  serving_plan.reset();
  try {
    const TrainingRun run = build_run(document_, inputs);
    ServingWorkload w;
    w.arrival_rate = inputs.rate;
    w.prompt = {static_cast<double>(inputs.prompt_tokens), LengthDistribution::exponential};
    w.output = {static_cast<double>(inputs.output_tokens), LengthDistribution::exponential};
    w.prefix_hit_rate = inputs.prefix_hit_rate;
    serving_plan = frugal::sim::plan_serving(run.model, priced_alike(known_gpus(), inputs.price), w,
                                             {inputs.ttft_p95_s, inputs.tpot_p95_ms / 1e3}, serving_choices());
    plan_error.clear();
  } catch (const ConfigError& e) {
    plan_error = e.what();
  }
}

void GuiState::price_finetune() {
  finetune.reset();
  try {
    FinetuneJob j;
    const TrainingRun run = build_run(document_, inputs);
    j.model = run.model;
    j.gpu = run.gpu;
    j.price_per_gpu_hour = run.price_per_gpu_hour;
    if (inputs.ft_gpus < 1) throw ConfigError("--gpus", "must be a positive integer");
    j.gpus = inputs.ft_gpus;
    j.global_batch = batch_for_gpus(16, inputs.ft_gpus);
    j.adapters.method = inputs.ft_method == 0 ? FinetuneMethod::full : inputs.ft_method == 1 ? FinetuneMethod::lora : FinetuneMethod::qlora;
    if (inputs.ft_rank < 1) throw ConfigError("--rank", "must be a positive integer");
    j.adapters.rank = inputs.ft_rank;
    j.kernels = inputs.ft_kernels == 1 ? ActivationKernels::eager : ActivationKernels::fused;
    j.examples = inputs.ft_examples;
    j.tokens_per_example = inputs.ft_tokens;
    j.epochs = inputs.ft_epochs;
    finetune = estimate_finetune(j);
    finetune_error.clear();
  } catch (const ConfigError& e) {
    finetune_error = e.what();
  }
}

void GuiState::price_distillation() {
  distillation.reset();
  try {
    DistillationJob j;
    const TrainingRun run = build_run(document_, inputs);
    j.teacher = run.model;
    j.student = preset_model(inputs.student);
    j.gpu = run.gpu;
    j.price_per_gpu_hour = run.price_per_gpu_hour;
    j.samples = inputs.distill_samples;
    j.tokens_per_sample = inputs.distill_tokens;
    j.workload.arrival_rate = inputs.rate;
    j.workload.prompt = {static_cast<double>(inputs.prompt_tokens), LengthDistribution::exponential};
    j.workload.output = {static_cast<double>(inputs.output_tokens), LengthDistribution::exponential};
    j.workload.requests = 1000;
    j.slo = {inputs.ttft_p95_s, inputs.tpot_p95_ms / 1e3};
    distillation = estimate_distillation(j, priced_alike({j.gpu}, j.price_per_gpu_hour));
    distill_error.clear();
  } catch (const ConfigError& e) {
    distill_error = e.what();
  }
}

std::vector<double> GuiState::sweep_values(int axis) {
  switch (axis) {
    case 0: return {256, 512, 1024, 2048, 4096, 8192, 16384};
    case 1: return {1, 1.5, 2, 2.5, 3, 4, 5};
    case 2: return {0.5, 1, 2, 4, 8, 14.8, 20};
    default: return {16, 32, 64, 128, 256, 512};
  }
}

namespace {

void set_sweep_input(GuiInputs& x, int axis, double v) {
  switch (axis) {
    case 0: x.gpus = static_cast<int>(v); break;
    case 1: x.price = static_cast<float>(v); break;
    case 2: x.preset_stages = false; x.tokens_t = static_cast<float>(v); break;
    default: x.experts = static_cast<int>(v); break;
  }
}

}  // namespace

void GuiState::start_sweep() {
  if (sweep_running_) return;
  if (sweep_thread_.joinable()) sweep_thread_.join();
  // One input, or every pair of two (the second varying fastest).
  const int axis = inputs.sweep_axis, axis_2 = inputs.sweep_axis_2 == axis ? -1 : inputs.sweep_axis_2;
  std::vector<std::pair<double, double>> values;
  for (double v : sweep_values(axis)) {
    if (axis_2 < 0) values.emplace_back(v, 0.0);
    else
      for (double w : sweep_values(axis_2)) values.emplace_back(v, w);
  }
  {
    std::lock_guard<std::mutex> lock(sweep_mutex_);
    sweep_points_.clear();
    swept_axes_ = {axis, axis_2};
  }
  sweep_total_ = static_cast<int>(values.size());
  sweep_done_ = 0;
  sweep_running_ = true;
  sweep_thread_ = std::thread([this, values, axis, axis_2, doc = document_, in = inputs] {
    for (const auto& [v, w] : values) {
      GuiInputs x = in;
      set_sweep_input(x, axis, v);
      if (axis_2 >= 0) set_sweep_input(x, axis_2, w);
      try {
        TrainingRun run = build_run(doc, x);
        plan_stages(run, nullptr);
        if (run.parallel.automatic) run.parallel = run.stages.front().parallel.value();
        const double cost = simulate_training(run).cost_usd;
        std::lock_guard<std::mutex> lock(sweep_mutex_);
        sweep_points_.push_back({v, w, cost, {}});
      } catch (const ConfigError& e) {
        std::lock_guard<std::mutex> lock(sweep_mutex_);
        sweep_points_.push_back({v, w, 0, e.what()});
      }
      ++sweep_done_;
    }
    sweep_running_ = false;
  });
}

std::pair<int, int> GuiState::swept_axes() const {
  std::lock_guard<std::mutex> lock(sweep_mutex_);
  return swept_axes_;
}

std::vector<GuiState::SweepPoint> GuiState::sweep_points() const {
  std::lock_guard<std::mutex> lock(sweep_mutex_);
  return sweep_points_;
}

}  // namespace frugal::sim::gui
