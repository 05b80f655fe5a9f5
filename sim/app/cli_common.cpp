#include "cli_common.hpp"

#include <algorithm>

#include "frugal/config/config_file.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/pipeline_layout.hpp"

namespace frugal::sim::cli {

void ModelSource::add_options(CLI::App& command, const std::string& default_preset) {
  preset = default_preset;
  auto* p = command.add_option("--preset", preset, "model preset (see `frugal-sim presets`)")->capture_default_str();
  auto* c = command.add_option("--config", config_file,
                               "model config file: FrugalLM JSON or a Hugging Face config.json, unchanged");
  p->excludes(c);
  c->excludes(p);
}

std::vector<std::string>& pending_notes() {
  static std::vector<std::string> notes;
  return notes;
}

void note_ignored_keys(const std::string& file, const ModelConfig& m) {
  if (m.ignored_keys.empty()) return;
  std::string keys;
  for (const auto& k : m.ignored_keys) keys += (keys.empty() ? "" : ", ") + k;
  const std::string note = file + ": not used (no effect on cost): " + keys;
  if (std::find(pending_notes().begin(), pending_notes().end(), note) == pending_notes().end()) pending_notes().push_back(note);
}

ModelConfig ModelSource::load() const {
  if (!config_file.empty()) {
    ModelConfig m = load_model_config_file(config_file);
    note_ignored_keys(config_file, m);
    return m;
  }
  return preset_model(preset);
}

void RunOptions::add_options(CLI::App& command) {
  app = &command;
  source.add_options(command, "deepseek-v3");
  command.add_option("--gpu", gpu, "GPU name (H800, H100, H200, H20, A100, A100-40GB, B200, GB200, B300, GB300, RTX A6000, or one from --gpu-file)");
  command.add_option("--gpu-file", gpu_file, "JSON file with your own GPUs (keys as sim/data/gpus.json)");
  command.add_option("--gpus", gpus, "number of GPUs");
  command.add_option("--price", price, "dollars per GPU-hour");
  command.add_option("--overhead", overhead, "extra wall time for failures and restarts, as a fraction (0.1 = 10%)");
  command.add_option("--tokens", tokens, "training tokens, e.g. 14.8T (makes the run one stage)");
  command.add_option("--seq-len", seq_len, "sequence length (makes the run one stage)");
  command.add_option("--global-batch", global_batch, "sequences per optimizer step (makes the run one stage)");
  command.add_option("--precision", precision, "GEMM recipe: bf16, or fp8 as DeepSeek-V3 §3.3")
      ->check(CLI::IsMember({"bf16", "fp8"}));
  command.add_option("--optimizer-states", optimizer_states, "AdamW moment precision")->check(CLI::IsMember({"fp32", "bf16"}));
  command.add_option("--recompute", recompute, "activation recomputation")
      ->check(CLI::IsMember({"none", "selective", "full", "moe"}));
  command.add_option("--attention-kernel", attention_kernel,
                     "flash-attention-1 (flash-attn 1.x or its Triton port), flash-attention-2, or hopper-fused "
                     "(cuDNN / FlashAttention-3 class on Hopper)")
      ->check(CLI::IsMember(attention_kernel_names()));
  command.add_option("--gradient-reduce", gradient_reduce,
                     "precision of the data-parallel gradient reduction: bf16, or fp32 (Megatron-LM's default for BF16 runs, "
                     "torchtitan's FSDP2)")
      ->check(CLI::IsMember({"bf16", "fp32"}));
  command.add_flag("--tp-comm-overlap", tp_comm_overlap,
                   "pipeline tensor-parallel collectives with the GEMMs (Transformer Engine userbuffers)");
  command.add_option("--dp", dp, "data-parallel degree (default: GPUs / (tp x pp))");
  command.add_option("--tp", tp, "tensor-parallel degree");
  command.add_option("--pp", pp, "pipeline-parallel degree");
  command.add_option("--cp", cp, "context-parallel degree (the sequence split over GPUs)");
  command.add_option("--ep", ep, "expert-parallel degree");
  command.add_option("--micro-batch", micro_batch, "sequences per micro-batch");
  command.add_option("--virtual-stages", virtual_stages, "model chunks per GPU for the interleaved schedule");
  command.add_option("--zero", zero_stage, "ZeRO stage")->check(CLI::Range(0, 3));
  command.add_option("--schedule", schedule, "pipeline schedule")
      ->check(CLI::IsMember({"1f1b", "interleaved", "zero-bubble", "dualpipe"}));
  command.add_option("--pipeline-layout", pipeline_layout,
                     "where layers, embedding, output head and MTP sit on the pipeline ranks: even (Megatron's default), "
                     "ends-as-layers (--account-for-embedding/loss-in-pipeline-split) or a layout string such as Et|(tt|)*30mL");
  command.add_option("--plan", plan, "auto: let the planner choose the parallelism")->check(CLI::IsMember({"auto"}));
  command.add_option("--mfu", mfu, "assume this BF16 MFU (0-1) instead of predicting it");
}

namespace {

bool given(const CLI::App* app, const char* flag) { return app && app->count(flag) > 0; }

}  // namespace

std::vector<GpuSpec> RunOptions::extra_gpus() const {
  return gpu_file.empty() ? std::vector<GpuSpec>{} : read_gpu_file(gpu_file);
}

RunOverrides RunOptions::overrides() const {
  if (app)
    require_positive_integers(*app, {{"--gpus", gpus}, {"--seq-len", seq_len}, {"--global-batch", global_batch},
                                     {"--dp", dp}, {"--tp", tp}, {"--pp", pp}, {"--cp", cp}, {"--ep", ep},
                                     {"--micro-batch", micro_batch}, {"--virtual-stages", virtual_stages}});
  if (given(app, "--price") && !(price > 0)) throw ConfigError("--price", "must be positive, got " + std::to_string(price));
  if (given(app, "--mfu") && !(mfu > 0 && mfu <= 1))
    throw ConfigError("--mfu", "must be a fraction in (0, 1], got " + std::to_string(mfu));
  if (given(app, "--overhead") && overhead < 0)
    throw ConfigError("--overhead", "must not be negative, got " + std::to_string(overhead));

  RunOverrides o;
  auto set = [&](const char* flag, auto& target, auto value) {
    if (given(app, flag)) target = value;
  };
  set("--gpu", o.gpu, gpu);
  set("--gpus", o.gpus, gpus);
  set("--price", o.price_per_gpu_hour, price);
  set("--overhead", o.overhead, overhead);
  set("--mfu", o.mfu, mfu);
  if (given(app, "--tokens")) o.tokens = parse_token_count(tokens, "--tokens");
  set("--seq-len", o.seq_len, seq_len);
  set("--global-batch", o.global_batch, global_batch);
  if (given(app, "--precision")) o.precision = precision == "fp8" ? PrecisionRecipe::fp8 : PrecisionRecipe::bf16;
  if (given(app, "--optimizer-states"))
    o.optimizer_states = optimizer_states == "bf16" ? OptimizerStates::bf16 : OptimizerStates::fp32;
  if (given(app, "--recompute"))
    o.recompute = recompute == "none"   ? Recompute::none
                  : recompute == "full" ? Recompute::full
                  : recompute == "moe"  ? Recompute::moe
                                        : Recompute::selective;
  if (given(app, "--attention-kernel"))
    o.attention_kernel = *attention_kernel_named(attention_kernel);
  if (given(app, "--gradient-reduce"))
    o.gradient_reduce = gradient_reduce == "fp32" ? GradientReduce::fp32 : GradientReduce::bf16;
  if (given(app, "--tp-comm-overlap")) o.tp_comm_overlap = true;
  if (given(app, "--pipeline-layout")) {
    if (std::string why; !pipeline_layout_parses(pipeline_layout, &why))
      throw ConfigError("--pipeline-layout", "\"" + pipeline_layout + "\" " + why);
    o.pipeline_layout = pipeline_layout;
  }
  set("--dp", o.dp, dp);
  set("--tp", o.tp, tp);
  set("--pp", o.pp, pp);
  set("--cp", o.cp, cp);
  set("--ep", o.ep, ep);
  set("--micro-batch", o.micro_batch, micro_batch);
  set("--virtual-stages", o.virtual_stages, virtual_stages);
  set("--zero", o.zero_stage, zero_stage);
  if (given(app, "--schedule"))
    o.schedule = schedule == "interleaved"   ? PipelineSchedule::interleaved
                 : schedule == "zero-bubble" ? PipelineSchedule::zero_bubble
                 : schedule == "dualpipe"    ? PipelineSchedule::dualpipe
                                             : PipelineSchedule::one_f_one_b;
  o.plan_auto = plan == "auto";
  return o;
}

TrainingRun RunOptions::load() const {
  const std::vector<GpuSpec> extra = extra_gpus();
  TrainingRun run;
  if (!source.config_file.empty()) {
    run = training_run_from_file(source.config_file, extra);
    note_ignored_keys(source.config_file, run.model);
  } else {
    run = training_run_from_document(find_preset(source.preset).document, extra);
  }
  apply_overrides(run, overrides(), extra);
  return run;
}

void require_positive_integers(const CLI::App& app,
                               std::initializer_list<std::pair<const char*, std::int64_t>> flags) {
  for (const auto& [flag, value] : flags)
    if (app.count(flag) > 0 && value <= 0)
      throw ConfigError(flag, "must be a positive integer, got " + std::to_string(value));
}

void OutputFormat::add_option(CLI::App& command) {
  command.add_option("--format", format, "output format")
      ->check(CLI::IsMember({"table", "json", "csv"}))
      ->capture_default_str();
}

}  // namespace frugal::sim::cli
