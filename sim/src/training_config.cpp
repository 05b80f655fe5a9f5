#include "frugal/sim/training_config.hpp"

#include <cmath>
#include <cstdlib>

#include "frugal/config/bounds.hpp"
#include "frugal/config/config_file.hpp"
#include "frugal/sim/pipeline.hpp"
#include "frugal/sim/pipeline_layout.hpp"

namespace frugal::sim {

const char* to_string(PrecisionRecipe p) { return p == PrecisionRecipe::fp8 ? "fp8" : "bf16"; }
const char* to_string(OptimizerStates o) { return o == OptimizerStates::bf16 ? "bf16" : "fp32"; }
const char* to_string(Recompute r) {
  switch (r) {
    case Recompute::none: return "none";
    case Recompute::selective: return "selective";
    case Recompute::full: return "full";
    case Recompute::moe: return "moe";
  }
  return "?";
}
namespace {
// The enum value at `name`'s position in `names` (the enum's order), or nullopt.
template <class E>
std::optional<E> named(const std::vector<std::string>& names, std::string_view name) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<E>(i);
  return std::nullopt;
}
}  // namespace
const std::vector<std::string>& activation_kernels_names() {
  static const std::vector<std::string> names{"fused", "eager"};
  return names;
}
std::optional<ActivationKernels> activation_kernels_named(std::string_view name) {
  return named<ActivationKernels>(activation_kernels_names(), name);
}
const char* to_string(ActivationKernels k) { return activation_kernels_names().at(static_cast<std::size_t>(k)).c_str(); }
const std::vector<std::string>& attention_kernel_names() {
  static const std::vector<std::string> names{"flash-attention-1", "flash-attention-2", "hopper-fused"};
  return names;
}
std::optional<AttentionKernel> attention_kernel_named(std::string_view name) {
  return named<AttentionKernel>(attention_kernel_names(), name);
}
const char* to_string(AttentionKernel k) { return attention_kernel_names().at(static_cast<std::size_t>(k)).c_str(); }
const char* to_string(PipelineSchedule s) {
  switch (s) {
    case PipelineSchedule::one_f_one_b: return "1f1b";
    case PipelineSchedule::interleaved: return "interleaved";
    case PipelineSchedule::zero_bubble: return "zero-bubble";
    case PipelineSchedule::dualpipe: return "dualpipe";
  }
  return "?";
}

const char* to_string(TokenDispatcher d) {
  switch (d) {
    case TokenDispatcher::deepep: return "deepep";
    case TokenDispatcher::all_to_all: return "alltoall";
  }
  return "?";
}

const char* to_string(ExpertRouting r) {
  switch (r) {
    case ExpertRouting::learned: return "learned";
    case ExpertRouting::forced_balance: return "forced-balance";
  }
  return "?";
}

const char* to_string(GradientReduce g) { return g == GradientReduce::fp32 ? "fp32" : "bf16"; }

double expert_load_imbalance(const TrainingRun& run, double moe_load_imbalance) {
  return run.expert_routing == ExpertRouting::forced_balance ? 1.0 : moe_load_imbalance;
}

const char* to_string(FinetuneMethod m) {
  switch (m) {
    case FinetuneMethod::full: return "full";
    case FinetuneMethod::lora: return "lora";
    case FinetuneMethod::qlora: return "qlora";
  }
  return "?";
}

const char* to_string(AdapterTargets t) {
  switch (t) {
    case AdapterTargets::qv: return "qv";
    case AdapterTargets::attention: return "attention";
    case AdapterTargets::all_linear: return "all-linear";
  }
  return "?";
}

double parse_token_count(const std::string& text, const std::string& field) {
  if (text.empty()) throw ConfigError(field, "empty token count");
  double scale = 1.0;
  std::string number = text;
  switch (number.back()) {
    case 'K': case 'k': scale = 1e3; number.pop_back(); break;
    case 'M': case 'm': scale = 1e6; number.pop_back(); break;
    case 'B': case 'b': case 'G': case 'g': scale = 1e9; number.pop_back(); break;
    case 'T': case 't': scale = 1e12; number.pop_back(); break;
    default: break;
  }
  char* end = nullptr;
  const double v = std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size() || !std::isfinite(v))
    throw ConfigError(field, "\"" + text + "\" is not a token count (examples: 14.8T, 500B, 2e12)");
  if (!(v > 0)) throw ConfigError(field, "must be positive, got " + text);
  return v * scale;
}

namespace {

std::int64_t positive_integer(JsonObjectReader& r, const char* key, std::int64_t fallback,
                              const bounds::Range& range = bounds::parallel_degree) {
  const std::int64_t v = r.integer(key, fallback);
  if (v <= 0) throw ConfigError(r.path_of(key), "must be a positive integer, got " + std::to_string(v));
  bounds::require_in(v, range, r.path_of(key));
  return v;
}

// A token count written as a number (14.8e12) or a string ("14.8T"); 0 when absent.
double tokens_of(JsonObjectReader& r, const char* key) {
  const nlohmann::json* v = r.value(key);
  if (!v) return 0.0;
  if (v->is_string()) return parse_token_count(v->get<std::string>(), r.path_of(key));
  if (!v->is_number()) throw ConfigError(r.path_of(key), "must be a token count such as 14.8e12 or \"14.8T\"");
  const double tokens = v->get<double>();
  if (!(tokens > 0)) throw ConfigError(r.path_of(key), "must be positive, got " + v->dump());
  return tokens;
}

PipelineSchedule schedule_of(JsonObjectReader& r, const char* key, PipelineSchedule fallback) {
  return r.choice<PipelineSchedule>(key,
                                    {{"1f1b", PipelineSchedule::one_f_one_b},
                                     {"interleaved", PipelineSchedule::interleaved},
                                     {"zero-bubble", PipelineSchedule::zero_bubble},
                                     {"dualpipe", PipelineSchedule::dualpipe}},
                                    fallback);
}

Parallelism parallelism_from_json(const nlohmann::json& j, const std::string& path) {
  Parallelism par;
  if (j.is_string() && j.get<std::string>() == "auto") {
    par.automatic = true;
    return par;
  }
  JsonObjectReader r(j, path);
  par.dp = r.integer("dp", 0);
  if (par.dp < 0) throw ConfigError(r.path_of("dp"), "must not be negative");
  par.tp = positive_integer(r, "tp", 1);
  par.pp = positive_integer(r, "pp", 1);
  par.cp = positive_integer(r, "cp", 1);
  par.ep = positive_integer(r, "ep", 1);
  par.micro_batch = positive_integer(r, "micro_batch", 1);
  par.virtual_stages = positive_integer(r, "virtual_stages", 2);
  par.zero_stage = zero_stage_of(r, "zero_stage", 1);
  par.tp_comm_overlap = r.boolean("tp_comm_overlap", false);
  par.ep_comm_overlap = r.boolean("ep_comm_overlap", false);
  par.ep_dispatcher = r.choice<TokenDispatcher>(
      "ep_dispatcher", {{"deepep", TokenDispatcher::deepep}, {"alltoall", TokenDispatcher::all_to_all}}, TokenDispatcher::deepep);
  par.schedule = schedule_of(r, "schedule", PipelineSchedule::one_f_one_b);
  if (r.has("pipeline_layout")) par.pipeline_layout = pipeline_layout_of(r, "pipeline_layout");
  r.finish();
  return par;
}

Adapters adapters_from_json(const nlohmann::json& j, const std::string& path) {
  JsonObjectReader r(j, path);
  Adapters a;
  a.method = r.choice<FinetuneMethod>(
      "method", {{"full", FinetuneMethod::full}, {"lora", FinetuneMethod::lora}, {"qlora", FinetuneMethod::qlora}});
  a.rank = positive_integer(r, "rank", 16, bounds::adapter_rank);
  a.targets = r.choice<AdapterTargets>(
      "targets", {{"qv", AdapterTargets::qv}, {"attention", AdapterTargets::attention}, {"all-linear", AdapterTargets::all_linear}},
      AdapterTargets::all_linear);
  r.finish();
  return a;
}

TrainingStage stage_from_json(const nlohmann::json& j, const std::string& path) {
  JsonObjectReader r(j, path);
  TrainingStage s;
  s.name = r.string("name", std::string("pre-training"));
  s.seq_len = positive_integer(r, "seq_len", 4096, bounds::sequence);
  s.global_batch = positive_integer(r, "global_batch", 1024, bounds::batch_sequences);
  const double tokens = tokens_of(r, "tokens");
  const bool has_steps = r.has("steps");
  const std::int64_t steps = has_steps ? positive_integer(r, "steps", 1, bounds::batch_sequences) : 0;
  if ((tokens > 0) == has_steps) throw ConfigError(path, "give exactly one of \"tokens\" and \"steps\"");
  s.tokens = has_steps ? static_cast<double>(steps) * static_cast<double>(s.global_batch * s.seq_len) : tokens;
  if (const nlohmann::json* p = r.value("parallelism")) s.parallel = parallelism_from_json(*p, r.path_of("parallelism"));
  r.finish();
  return s;
}


}  // namespace

Recompute recompute_of(JsonObjectReader& r, const char* key, Recompute fallback) {
  return r.choice<Recompute>(key, {{"none", Recompute::none}, {"selective", Recompute::selective}, {"full", Recompute::full},
                                  {"moe", Recompute::moe}},
                             fallback);
}

GradientReduce gradient_reduce_of(JsonObjectReader& r, const char* key, GradientReduce fallback) {
  return r.choice<GradientReduce>(key, {{"bf16", GradientReduce::bf16}, {"fp32", GradientReduce::fp32}}, fallback);
}

std::string pipeline_layout_of(JsonObjectReader& r, const char* key) {
  const std::string layout = r.string(key);
  if (std::string why; !pipeline_layout_parses(layout, &why))
    throw ConfigError(r.path_of(key), "\"" + layout + "\" " + why + " (expected even, ends-as-layers or a layout such as Et|(tt|)*3L)");
  return layout;
}

int zero_stage_of(JsonObjectReader& r, const char* key, int fallback) {
  const std::int64_t stage = r.integer(key, fallback);
  if (stage < 0 || stage > 3) throw ConfigError(r.path_of(key), "must be 0, 1, 2 or 3");
  return static_cast<int>(stage);
}

std::int64_t parallel_degree_of(JsonObjectReader& r, const char* key, std::int64_t fallback) {
  return positive_integer(r, key, fallback);
}

TrainingRun training_run_from_document(const nlohmann::json& doc, const std::vector<GpuSpec>& extra_gpus) {
  TrainingRun run;
  run.model = model_from_document(doc);
  run.parallel.automatic = true;
  run.gpu = find_gpu("H800", "cluster.gpu");
  run.stages = {TrainingStage{"pre-training", 1e12, 4096, 1024, std::nullopt}};
  if (!doc.is_object() || !doc.contains("model")) return run;  // a bare model: all defaults

  JsonObjectReader top(doc, "");
  top.ignore({"description", "model", "cpu_training"});  // cpu_training: core/train_options.hpp
  std::vector<GpuSpec> gpus = extra_gpus;
  if (const nlohmann::json* hw = top.object("hardware")) gpus.push_back(gpu_from_json(*hw, "hardware"));

  if (const nlohmann::json* c = top.object("cluster")) {
    JsonObjectReader r(*c, "cluster");
    if (r.has("gpu")) run.gpu = find_gpu(r.string("gpu"), "cluster.gpu", gpus);
    else if (gpus.size() > extra_gpus.size()) run.gpu = gpus.back();  // the "hardware" section's GPU
    run.gpus = positive_integer(r, "gpus", run.gpus, bounds::gpus);
    run.price_per_gpu_hour = r.number("price_per_gpu_hour", run.price_per_gpu_hour);
    if (!(run.price_per_gpu_hour > 0))
      throw ConfigError(r.path_of("price_per_gpu_hour"), "must be positive, got " + std::to_string(run.price_per_gpu_hour));
    run.overhead = r.number("overhead", 0.0);
    if (run.overhead < 0) throw ConfigError(r.path_of("overhead"), "must not be negative");
    r.finish();
  } else if (gpus.size() > extra_gpus.size()) {
    run.gpu = gpus.back();
  }

  if (const nlohmann::json* t = top.object("training")) {
    JsonObjectReader r(*t, "training");
    run.precision = r.choice<PrecisionRecipe>("precision", {{"bf16", PrecisionRecipe::bf16}, {"fp8", PrecisionRecipe::fp8}},
                                              PrecisionRecipe::bf16);
    run.optimizer_states = r.choice<OptimizerStates>(
        "optimizer_states", {{"fp32", OptimizerStates::fp32}, {"bf16", OptimizerStates::bf16}}, OptimizerStates::fp32);
    run.recompute = recompute_of(r, "recompute", Recompute::selective);
    run.attention_kernel = r.choice<AttentionKernel>(
        "attention_kernel",
        {{"flash-attention-1", AttentionKernel::flash_attention_1},
         {"flash-attention-2", AttentionKernel::flash_attention_2},
         {"hopper-fused", AttentionKernel::hopper_fused}},
        AttentionKernel::flash_attention_2);
    run.kernels = r.choice<ActivationKernels>("kernels", {{"fused", ActivationKernels::fused}, {"eager", ActivationKernels::eager}},
                                              ActivationKernels::fused);
    run.expert_routing = r.choice<ExpertRouting>(
        "expert_routing", {{"learned", ExpertRouting::learned}, {"forced-balance", ExpertRouting::forced_balance}},
        ExpertRouting::learned);
    run.gradient_reduce = gradient_reduce_of(r, "gradient_reduce", GradientReduce::bf16);
    if (r.has("mfu")) run.pinned_mfu = r.number("mfu");
    if (const nlohmann::json* f = r.value("finetune")) run.adapters = adapters_from_json(*f, r.path_of("finetune"));
    if (const nlohmann::json* list = r.array("stages")) {
      if (list->empty()) throw ConfigError(r.path_of("stages"), "must list at least one stage");
      run.stages.clear();
      for (std::size_t i = 0; i < list->size(); ++i)
        run.stages.push_back(stage_from_json((*list)[i], r.path_of("stages") + "[" + std::to_string(i) + "]"));
    }
    r.finish();
  }

  if (const nlohmann::json* parallelism = top.value("parallelism")) {
    const nlohmann::json& p = *parallelism;
    if (p.is_string() && p.get<std::string>() == "auto") {
      run.parallel.automatic = true;
    } else {
      run.parallel = parallelism_from_json(p, "parallelism");
    }
  }
  top.finish();
  return run;
}

TrainingRun training_run_from_file(const std::string& file, const std::vector<GpuSpec>& extra_gpus) {
  const nlohmann::json doc = read_json_file(file);
  try {
    return training_run_from_document(doc, extra_gpus);
  } catch (const ConfigError& e) {
    throw ConfigError(file, e.what());
  }
}

namespace {

void validate_parallelism(const TrainingRun& run, const Parallelism& p, std::size_t stage_index, const std::string& path) {
  const ModelConfig& m = run.model;
  // Each degree is bounded (bounds::parallel_degree); their product is checked step by step so
  // that it never overflows.
  if (p.tp * p.pp > run.gpus || p.tp * p.pp * p.cp > run.gpus)
    throw ConfigError(path, "tp x pp x cp = " + std::to_string(p.tp) + " x " + std::to_string(p.pp) + " x " +
                                std::to_string(p.cp) + " exceeds the " + std::to_string(run.gpus) + " GPUs");
  if (p.dp > run.gpus) throw ConfigError(path + ".dp", std::to_string(p.dp) + " exceeds the " + std::to_string(run.gpus) + " GPUs");
  const std::int64_t dp = p.dp > 0 ? p.dp : run.gpus / (p.tp * p.pp * p.cp);
  const std::int64_t product = dp * p.tp * p.pp * p.cp;
  if (product != run.gpus)
    throw ConfigError(path, "dp x tp x pp x cp = " + std::to_string(dp) + " x " + std::to_string(p.tp) + " x " +
                                std::to_string(p.pp) + " x " + std::to_string(p.cp) + " = " + std::to_string(product) +
                                " does not equal the " + std::to_string(run.gpus) + " GPUs");
  if (p.tp > run.gpu.gpus_per_node)
    throw ConfigError(path + ".tp", std::to_string(p.tp) + " exceeds the " + std::to_string(run.gpu.gpus_per_node) +
                                        " GPUs of one node (tensor parallelism needs NVLink)");
  if (m.attention.num_heads % p.tp != 0)
    throw ConfigError(path + ".tp", std::to_string(p.tp) + " does not divide the " +
                                        std::to_string(m.attention.num_heads) + " attention heads");
  if (p.pp > m.num_layers)
    throw ConfigError(path + ".pp", std::to_string(p.pp) + " exceeds the " + std::to_string(m.num_layers) + " layers");
  if (p.ep > 1 && !m.is_moe()) throw ConfigError(path + ".ep", "expert parallelism needs an MoE model");
  if (m.is_moe()) {
    if (p.ep > m.moe.routed_experts)
      throw ConfigError(path + ".ep", std::to_string(p.ep) + " exceeds the " + std::to_string(m.moe.routed_experts) +
                                          " routed experts");
    if (m.moe.routed_experts % p.ep != 0)
      throw ConfigError(path + ".ep", std::to_string(p.ep) + " does not divide the " +
                                          std::to_string(m.moe.routed_experts) + " routed experts");
    if ((dp * p.tp * p.cp) % p.ep != 0)
      throw ConfigError(path + ".ep", std::to_string(p.ep) + " does not divide dp x tp x cp = " +
                                          std::to_string(dp * p.tp * p.cp));
  }
  if (p.schedule == PipelineSchedule::dualpipe && p.pp > 1 && p.pp % 2 != 0)
    throw ConfigError(path + ".pp", "DualPipe needs an even number of pipeline stages, got " + std::to_string(p.pp));
  if (p.pp > 1)  // refuses a layout that does not place this model's layers on these ranks
    pipeline_rank_loads(p.pipeline_layout, m.num_layers, m.mtp_depth, p.pp, pipeline_chunks_per_rank(p), path + ".pipeline_layout");
  const TrainingStage& s = run.stages[stage_index];
  if (s.seq_len % p.cp != 0)
    throw ConfigError(path + ".cp", std::to_string(p.cp) + " does not divide the sequence length " + std::to_string(s.seq_len));
  const std::string batch_path = "training.stages[" + std::to_string(stage_index) + "].global_batch";
  const std::int64_t per_step = p.micro_batch * dp;
  if (s.global_batch % per_step != 0)
    throw ConfigError(batch_path, std::to_string(s.global_batch) + " is not divisible by micro_batch x dp = " +
                                      std::to_string(p.micro_batch) + " x " + std::to_string(dp));
  if (p.schedule == PipelineSchedule::dualpipe && p.pp > 1 && s.global_batch / per_step < p.pp)
    throw ConfigError(batch_path, "DualPipe needs at least pp = " + std::to_string(p.pp) +
                                      " micro-batches per step, got " + std::to_string(s.global_batch / per_step));
}

}  // namespace

void validate_training_run(const TrainingRun& run) {
  if (run.gpus <= 0) throw ConfigError("cluster.gpus", "must be a positive integer");
  bounds::require_in(run.gpus, bounds::gpus, "cluster.gpus");
  if (!(run.price_per_gpu_hour > 0 && run.price_per_gpu_hour <= bounds::kMaxPricePerGpuHour))
    throw ConfigError("cluster.price_per_gpu_hour", "must be positive and at most " + std::to_string(bounds::kMaxPricePerGpuHour) +
                                                        " dollars, got " + std::to_string(run.price_per_gpu_hour));
  if (!(run.overhead >= 0 && run.overhead <= 100))
    throw ConfigError("cluster.overhead", "must be a fraction between 0 and 100 (0.1 = 10%), got " + std::to_string(run.overhead));
  if (run.pinned_mfu && !(*run.pinned_mfu > 0 && *run.pinned_mfu <= 1))
    throw ConfigError("training.mfu", "must be a fraction in (0, 1], got " + std::to_string(*run.pinned_mfu));
  if (run.precision == PrecisionRecipe::fp8 && run.gpu.fp8_flops <= 0)
    throw ConfigError("training.precision", "fp8 needs FP8 Tensor Cores, which the " + run.gpu.name + " lacks");
  if (run.stages.empty()) throw ConfigError("training.stages", "no training stage");
  for (std::size_t i = 0; i < run.stages.size(); ++i) {
    const TrainingStage& s = run.stages[i];
    const std::string path = "training.stages[" + std::to_string(i) + "]";
    if (!(s.tokens > 0)) throw ConfigError(path + ".tokens", "must be positive");
    if (!(s.tokens <= bounds::kMaxTrainingTokens))
      throw ConfigError(path + ".tokens", "must be at most 1e16 (the largest published runs train on 36T-40T tokens), got " +
                                              std::to_string(s.tokens));
    if (s.seq_len <= 0) throw ConfigError(path + ".seq_len", "must be a positive integer");
    bounds::require_in(s.seq_len, bounds::sequence, path + ".seq_len");
    if (s.global_batch <= 0) throw ConfigError(path + ".global_batch", "must be a positive integer");
    bounds::require_in(s.global_batch, bounds::batch_sequences, path + ".global_batch");
  }
  for (std::size_t i = 0; i < run.stages.size(); ++i) {
    const Parallelism& p = stage_parallelism(run, i);
    if (!p.automatic) validate_parallelism(run, p, i, stage_parallelism_path(run, i));
  }
}

const Parallelism& stage_parallelism(const TrainingRun& run, std::size_t i) {
  return run.stages[i].parallel ? *run.stages[i].parallel : run.parallel;
}

std::string stage_parallelism_path(const TrainingRun& run, std::size_t i) {
  return run.stages[i].parallel ? "training.stages[" + std::to_string(i) + "].parallelism" : std::string("parallelism");
}

}  // namespace frugal::sim
