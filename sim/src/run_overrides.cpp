#include "frugal/sim/run_overrides.hpp"

#include "frugal/config/json_reader.hpp"

namespace frugal::sim {

void apply_overrides(TrainingRun& run, const RunOverrides& o, const std::vector<GpuSpec>& extra) {
  if (o.gpu) run.gpu = find_gpu(*o.gpu, "--gpu", extra);
  if (o.gpus) run.gpus = *o.gpus;
  if (o.price_per_gpu_hour) run.price_per_gpu_hour = *o.price_per_gpu_hour;
  if (o.overhead) run.overhead = *o.overhead;
  if (o.mfu) run.pinned_mfu = *o.mfu;
  if (o.precision) run.precision = *o.precision;
  if (o.optimizer_states) run.optimizer_states = *o.optimizer_states;
  if (o.recompute) run.recompute = *o.recompute;
  if (o.attention_kernel) run.attention_kernel = *o.attention_kernel;
  if (o.gradient_reduce) run.gradient_reduce = *o.gradient_reduce;
  if (o.tokens || o.seq_len || o.global_batch) {
    TrainingStage stage = run.stages.front();
    stage.parallel.reset();
    if (o.tokens) stage.tokens = *o.tokens;
    if (o.seq_len) stage.seq_len = *o.seq_len;
    if (o.global_batch) stage.global_batch = *o.global_batch;
    run.stages = {stage};
  }
  const bool fixes_parallelism = o.dp || o.tp || o.pp || o.cp || o.ep || o.micro_batch || o.virtual_stages || o.zero_stage ||
                                 o.schedule;
  if (fixes_parallelism || o.plan_auto) {
    for (TrainingStage& s : run.stages) s.parallel.reset();
  }
  if (o.plan_auto) {
    run.parallel.automatic = true;
  } else if (fixes_parallelism) {
    Parallelism& p = run.parallel;
    if (p.automatic) p = Parallelism{};
    p.automatic = false;
    p.dp = o.dp.value_or(0);
    if (o.tp) p.tp = *o.tp;
    if (o.pp) p.pp = *o.pp;
    if (o.cp) p.cp = *o.cp;
    if (o.ep) p.ep = *o.ep;
    if (o.micro_batch) p.micro_batch = *o.micro_batch;
    if (o.virtual_stages) p.virtual_stages = *o.virtual_stages;
    if (o.zero_stage) p.zero_stage = *o.zero_stage;
    if (o.schedule) p.schedule = *o.schedule;
  } else if (o.gpus && !run.parallel.automatic) {
    run.parallel.dp = 0;  // a new GPU count re-derives the data-parallel degree
  }
  if (o.tp_comm_overlap) {
    run.parallel.tp_comm_overlap = *o.tp_comm_overlap;
    for (TrainingStage& s : run.stages)
      if (s.parallel) s.parallel->tp_comm_overlap = *o.tp_comm_overlap;
  }
  if (o.pipeline_layout) {
    run.parallel.pipeline_layout = *o.pipeline_layout;
    for (TrainingStage& s : run.stages)
      if (s.parallel) s.parallel->pipeline_layout = *o.pipeline_layout;
  }
}

RunOverrides overrides_from_json(const nlohmann::json& j, const std::string& path) {
  JsonObjectReader r(j, path);
  RunOverrides o;
  if (r.has("gpu")) o.gpu = r.string("gpu");
  if (r.has("gpus")) o.gpus = r.integer("gpus");
  if (r.has("overhead")) o.overhead = r.number("overhead");
  if (r.has("tokens")) {
    const nlohmann::json* v = r.value("tokens");
    o.tokens = v->is_string() ? parse_token_count(v->get<std::string>(), r.path_of("tokens")) : v->get<double>();
  }
  if (r.has("seq_len")) o.seq_len = r.integer("seq_len");
  if (r.has("global_batch")) o.global_batch = r.integer("global_batch");
  if (r.has("plan")) o.plan_auto = r.string("plan") == "auto";
  if (r.has("recompute")) o.recompute = recompute_of(r, "recompute", Recompute::selective);
  if (r.has("zero_stage")) o.zero_stage = zero_stage_of(r, "zero_stage", 1);
  if (r.has("virtual_stages")) o.virtual_stages = parallel_degree_of(r, "virtual_stages", 2);
  if (r.has("gradient_reduce")) o.gradient_reduce = gradient_reduce_of(r, "gradient_reduce", GradientReduce::bf16);
  if (r.has("pipeline_layout")) o.pipeline_layout = pipeline_layout_of(r, "pipeline_layout");
  r.ignore({"preset"});
  r.finish();
  return o;
}

}  // namespace frugal::sim
