#include "frugal/sim/training_report.hpp"

#include <fmt/format.h>

#include "frugal/sim/dense_baseline.hpp"
#include "frugal/sim/format.hpp"
#include "frugal/sim/model_accountant.hpp"
#include "frugal/sim/planner.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/text_table.hpp"

namespace frugal::sim {

std::vector<std::pair<std::string, ModelConfig>> dense_baseline_models(const ModelConfig& m, const std::string& named_dense) {
  const ModelAccount a = account_model(m);
  return {{"dense, equal total parameters",
           dense_baseline(m, a.total_params, ParamMatch::total, "dense-" + format_count(a.total_params))},
          {"dense, equal activated parameters",
           dense_baseline(m, a.active_params, ParamMatch::active, "dense-" + format_count(a.active_params) + "-active")},
          {"named dense model", preset_model(named_dense)}};
}

TrainingRun baseline_run(const TrainingRun& run, const ModelConfig& model) {
  TrainingRun r = run;
  r.model = model;
  r.parallel.automatic = true;
  for (TrainingStage& s : r.stages) s.parallel.reset();
  return r;
}

std::vector<Baseline> dense_baselines(const TrainingRun& run, const std::string& named_dense, const EfficiencyConstants& c) {
  std::vector<Baseline> out;
  for (auto& [label, model] : dense_baseline_models(run.model, named_dense))
    out.push_back({label, model, simulate_training(baseline_run(run, model), c)});
  return out;
}

nlohmann::json parallelism_json(const Parallelism& p) {
  return {{"dp", p.dp}, {"tp", p.tp}, {"pp", p.pp}, {"cp", p.cp}, {"ep", p.ep}, {"micro_batch", p.micro_batch},
          {"schedule", to_string(p.schedule)}, {"virtual_stages", p.virtual_stages}, {"zero_stage", p.zero_stage},
          {"tp_comm_overlap", p.tp_comm_overlap}, {"ep_dispatcher", to_string(p.ep_dispatcher)}, {"ep_comm_overlap", p.ep_comm_overlap},
          {"pipeline_layout", p.pipeline_layout}};
}

namespace {

nlohmann::json step_json(const StepBreakdown& s) {
  return {{"micro_batches", s.micro_batches}, {"forward_s", s.forward_s},       {"backward_s", s.backward_s},
          {"gemm_s", s.gemm_s},               {"attention_s", s.attention_s},   {"memory_bound_s", s.memory_bound_s},
          {"recompute_s", s.recompute_s},     {"ep_comm_s", s.ep_comm_s},       {"tp_comm_s", s.tp_comm_s},         {"cp_comm_s", s.cp_comm_s},
          {"pp_comm_s", s.pp_comm_s},         {"dp_comm_s", s.dp_comm_s},       {"compute_s", s.compute_s},
          {"exposed_comm_s", s.exposed_comm_s}, {"bubble_s", s.bubble_s},      {"bubble_fraction", s.bubble_fraction()},
          {"optimizer_s", s.optimizer_s},     {"step_s", s.step_s}};
}

nlohmann::json memory_json(const MemoryBreakdown& m) {
  return {{"weights", m.weights},         {"gradients", m.gradients},     {"optimizer_states", m.optimizer_states},
          {"activations", m.activations}, {"moe_buffers", m.moe_buffers}, {"reserve", m.reserve},
          {"total", m.total},             {"capacity", m.capacity},       {"fits", m.fits()},
          {"shortfall", m.shortfall()}};
}

}  // namespace

nlohmann::json training_estimate_json(const TrainingEstimate& e) {
  nlohmann::json stages = nlohmann::json::array();
  for (const StageEstimate& s : e.stages)
    stages.push_back({{"name", s.stage.name},
                      {"tokens", s.stage.tokens},
                      {"seq_len", s.stage.seq_len},
                      {"global_batch", s.stage.global_batch},
                      {"parallelism", parallelism_json(s.parallel)},
                      {"plan_note", s.plan_note},
                      {"steps", s.steps},
                      {"step_time_s", s.step.step_s},
                      {"tokens_per_s_per_gpu", s.tokens_per_s_per_gpu},
                      {"model_flops_per_token", s.model_flops_per_token},
                      {"mfu_bf16", s.mfu_bf16},
                      {"mfu_fp8", s.mfu_fp8},
                      {"gpu_hours", s.gpu_hours},
                      {"days", s.days},
                      {"cost_usd", s.cost_usd},
                      {"energy_kwh", s.energy_kwh},
                      {"fits", s.memory.fits()},
                      {"step_breakdown", step_json(s.step)},
                      {"memory_breakdown", memory_json(s.memory)}});
  const StageEstimate& first = e.stages.front();
  return {{"model", e.run.model.name},
          {"gpu", e.run.gpu.name},
          {"gpus", e.run.gpus},
          {"price_per_gpu_hour", e.run.price_per_gpu_hour},
          {"precision", to_string(e.run.precision)},
          {"gradient_reduce", to_string(e.run.gradient_reduce)},
          {"gpu_hours", e.gpu_hours},
          {"cost_usd", e.cost_usd},
          {"days", e.days},
          {"energy_kwh", e.energy_kwh},
          {"step_time_s", e.step_time_s},
          {"tokens_per_s_per_gpu", e.tokens_per_s_per_gpu},
          {"mfu_bf16", e.mfu_bf16},
          {"mfu_fp8", e.mfu_fp8},
          {"mfu_assumed", e.mfu_assumed},
          {"memory_per_gpu_bytes", e.memory_per_gpu_bytes},
          {"fits", e.fits},
          {"parallelism", parallelism_json(first.parallel)},
          {"step_breakdown", step_json(first.step)},
          {"memory_breakdown", memory_json(first.memory)},
          {"stages", stages}};
}

nlohmann::json training_report_json(const TrainingEstimate& e, const std::vector<Baseline>& baselines) {
  nlohmann::json j = training_estimate_json(e);
  nlohmann::json b = nlohmann::json::array();
  for (const Baseline& x : baselines) {
    nlohmann::json one = training_estimate_json(x.estimate);
    one["label"] = x.label;
    one["total_params"] = account_model(x.model).total_params;
    one["active_params"] = account_model(x.model).active_params;
    b.push_back(one);
  }
  j["baselines"] = b;
  return j;
}

std::string describe_run(const TrainingEstimate& e) {
  const TrainingRun& r = e.run;
  std::string s = fmt::format("{} on {} x {} at ${:.2f}/GPU-hour: {} recipe, {} AdamW moments, {} recomputation",
                              r.model.name, r.gpus, r.gpu.name, r.price_per_gpu_hour, to_string(r.precision),
                              to_string(r.optimizer_states), to_string(r.recompute));
  if (r.attention_kernel != AttentionKernel::flash_attention_2)
    s += fmt::format(", {} attention", to_string(r.attention_kernel));
  if (r.model.is_moe() && r.expert_routing == ExpertRouting::forced_balance) s += ", routing forced to balance";
  if (r.gradient_reduce == GradientReduce::fp32) s += ", gradients reduced in FP32";
  if (r.overhead > 0) s += fmt::format(", +{:.0f}% wall time for failures and restarts", 100 * r.overhead);
  return s;
}

std::string step_breakdown_text(const StageEstimate& s) {
  const StepBreakdown& b = s.step;
  std::string out = fmt::format("Step time, {}: {:.2f} s per step, {} micro-batch{} per pipeline\n", s.stage.name,
                                b.step_s, b.micro_batches, b.micro_batches == 1 ? "" : "es");
  out += fmt::format("  computation {:.2f} s: GEMMs {:.2f}, attention {:.2f}, element-wise {:.2f}, recomputation {:.2f}\n",
                     b.compute_s, b.gemm_s, b.attention_s, b.memory_bound_s, b.recompute_s);
  out += fmt::format("  communication before overlap: expert all-to-all {:.2f}, tensor-parallel {:.2f}, pipeline {:.2f}, "
                     "data-parallel {:.2f} s; context-parallel beyond the attention that hides it {:.2f} s\n",
                     b.ep_comm_s, b.tp_comm_s, b.pp_comm_s, b.dp_comm_s, b.cp_comm_s);
  out += fmt::format("  exposed communication {:.2f} s, pipeline bubble {:.2f} s ({:.1f}% of the step), optimizer {:.3f} s\n",
                     b.exposed_comm_s, b.bubble_s, 100 * b.bubble_fraction(), b.optimizer_s);
  return out;
}

std::string memory_breakdown_text(const StageEstimate& s) {
  const MemoryBreakdown& m = s.memory;
  std::string verdict = m.fits() ? "fits" : fmt::format("DOES NOT FIT: {:.1f} GB short", m.shortfall() / 1e9);
  return fmt::format(
      "Memory per GPU, {}: {:.1f} GB of {}, {}\n  weights {:.1f}, gradients {:.1f}, optimizer states {:.1f}, "
      "activations {:.1f}, MoE buffers {:.1f}, reserve {:.1f} GB\n",
      s.stage.name, m.total / 1e9, format_capacity(m.capacity), verdict, m.weights / 1e9, m.gradients / 1e9, m.optimizer_states / 1e9,
      m.activations / 1e9, m.moe_buffers / 1e9, m.reserve / 1e9);
}

std::string baselines_table(const TrainingEstimate& e, const std::vector<Baseline>& baselines) {
  TextTable t({"model", "total", "activated", "GPU-hours", "cost", "days", "MFU bf16", "x GPU-hours", "fits"});
  t.set_left_aligned({});
  const ModelAccount self = account_model(e.run.model);
  t.add_row({fmt::format("{} (this run)", e.run.model.name), format_count(self.total_params), format_count(self.active_params),
             format_count(e.gpu_hours), fmt::format("${}", format_count(e.cost_usd)), fmt::format("{:.1f}", e.days),
             fmt::format("{:.1f}%", 100 * e.mfu_bf16), "1.00", e.fits ? "yes" : "no"});
  for (const Baseline& b : baselines) {
    const ModelAccount a = account_model(b.model);
    t.add_row({fmt::format("{} ({})", b.model.name, b.label), format_count(a.total_params), format_count(a.active_params),
               format_count(b.estimate.gpu_hours), fmt::format("${}", format_count(b.estimate.cost_usd)),
               fmt::format("{:.1f}", b.estimate.days), fmt::format("{:.1f}%", 100 * b.estimate.mfu_bf16),
               fmt::format("{:.2f}", b.estimate.gpu_hours / e.gpu_hours), b.estimate.fits ? "yes" : "no"});
  }
  return t.render();
}

std::string training_report_table(const TrainingEstimate& e, const std::vector<Baseline>& baselines) {
  std::string out = describe_run(e) + "\n";
  if (e.mfu_assumed) out += "  MFU is ASSUMED (--mfu), not predicted: step times follow from it\n";
  out += "\n";
  TextTable t({"stage", "tokens", "seq", "batch", "step", "tok/s/GPU", "MFU bf16", "MFU fp8", "GPU-hours", "days", "cost",
               "fits"});
  for (const StageEstimate& s : e.stages)
    t.add_row({s.stage.name, format_count(s.stage.tokens), std::to_string(s.stage.seq_len),
               std::to_string(s.stage.global_batch), fmt::format("{:.2f} s", s.step.step_s),
               fmt::format("{:.0f}", s.tokens_per_s_per_gpu), fmt::format("{:.1f}%", 100 * s.mfu_bf16),
               fmt::format("{:.1f}%", 100 * s.mfu_fp8), format_count(s.gpu_hours), fmt::format("{:.1f}", s.days),
               fmt::format("${}", format_count(s.cost_usd)), s.memory.fits() ? "yes" : "no"});
  t.add_row({"total", "", "", "", "", fmt::format("{:.0f}", e.tokens_per_s_per_gpu), fmt::format("{:.1f}%", 100 * e.mfu_bf16),
             fmt::format("{:.1f}%", 100 * e.mfu_fp8), format_count(e.gpu_hours), fmt::format("{:.1f}", e.days),
             fmt::format("${}", format_count(e.cost_usd)), e.fits ? "yes" : "no"});
  out += t.render();
  out += fmt::format("  energy {:.0f} MWh (GPU board power at TDP; no host, network or cooling)\n\n", e.energy_kwh / 1000);
  for (const StageEstimate& s : e.stages) {
    out += fmt::format("Parallelism, {}: {}{}\n", s.stage.name, describe_parallelism(s.parallel, e.run.gpus),
                       s.plan_note.empty() ? "" : " (chosen by the planner)");
  }
  out += fmt::format("\n{}\n", step_breakdown_text(e.stages.front()));
  for (const StageEstimate& s : e.stages) out += memory_breakdown_text(s);
  if (!baselines.empty()) {
    out += "\nDense baselines: the same cluster, stages and recipe; parallelism planned for each\n";
    out += baselines_table(e, baselines);
  }
  return out;
}

std::string training_report_csv(const TrainingEstimate& e) {
  std::string out =
      "stage,tokens,seq_len,global_batch,dp,tp,pp,cp,ep,micro_batch,schedule,step_time_s,tokens_per_s_per_gpu,mfu_bf16,"
      "mfu_fp8,gpu_hours,days,cost_usd,energy_kwh,memory_per_gpu_bytes,fits\n";
  for (const StageEstimate& s : e.stages) {
    const Parallelism& p = s.parallel;
    out += fmt::format("{},{:.6g},{},{},{},{},{},{},{},{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{}\n",
                       s.stage.name, s.stage.tokens, s.stage.seq_len, s.stage.global_batch, p.dp, p.tp, p.pp, p.cp, p.ep,
                       p.micro_batch, to_string(p.schedule), s.step.step_s, s.tokens_per_s_per_gpu, s.mfu_bf16, s.mfu_fp8,
                       s.gpu_hours, s.days, s.cost_usd, s.energy_kwh, s.memory.total, s.memory.fits() ? "true" : "false");
  }
  return out;
}

}  // namespace frugal::sim
