#include "frugal/sim/training_sim.hpp"

#include <fmt/format.h>

#include "frugal/sim/model_accountant.hpp"
#include "frugal/sim/planner.hpp"

namespace frugal::sim {

TrainingEstimate simulate_training(const TrainingRun& input, const EfficiencyConstants& c) {
  validate_training_run(input);
  TrainingEstimate out;
  out.run = input;
  const double gpus = static_cast<double>(input.gpus);
  double model_flops = 0, gpu_seconds = 0, tokens = 0;
  for (std::size_t i = 0; i < input.stages.size(); ++i) {
    const TrainingStage& stage = input.stages[i];
    // Each stage is priced as a run of its own, with its own parallelism.
    TrainingRun run = input;
    run.stages = {stage};
    run.stages.front().parallel.reset();
    run.parallel = stage_parallelism(input, i);
    StageEstimate e;
    if (run.parallel.automatic) {
      const Plan plan = plan_parallelism(run, c);
      run.parallel = plan.parallel;
      e.plan_note = fmt::format("planner chose {} among {} plans", describe_parallelism(run.parallel, run.gpus),
                                plan.candidates);
    }
    run.parallel.dp = resolved_dp(run.parallel, run.gpus);
    e.parallel = run.parallel;
    e.stage = stage;
    e.step = step_time(run, stage, c);
    e.memory = memory_per_gpu(run, stage, c);
    const double tokens_per_step = static_cast<double>(stage.global_batch * stage.seq_len);
    e.steps = stage.tokens / tokens_per_step;
    e.model_flops_per_token = account_model(run.model, {.seq_len = stage.seq_len}).train_flops_per_token;
    if (run.pinned_mfu) {  // assumed, not predicted: the step takes what this MFU implies
      e.step.step_s = tokens_per_step * e.model_flops_per_token / (gpus * run.gpu.bf16_flops * *run.pinned_mfu);
      out.mfu_assumed = true;
    }
    e.tokens_per_s_per_gpu = tokens_per_step / e.step.step_s / gpus;
    e.mfu_bf16 = e.tokens_per_s_per_gpu * e.model_flops_per_token / run.gpu.bf16_flops;
    e.mfu_fp8 = run.gpu.fp8_flops > 0 ? e.tokens_per_s_per_gpu * e.model_flops_per_token / run.gpu.fp8_flops : 0.0;
    const double wall_s = e.steps * e.step.step_s * (1.0 + run.overhead);
    e.gpu_hours = wall_s * gpus / 3600.0;
    e.days = wall_s / 86400.0;
    e.cost_usd = e.gpu_hours * run.price_per_gpu_hour;
    e.energy_kwh = e.gpu_hours * run.gpu.tdp_watts / 1000.0;
    out.gpu_hours += e.gpu_hours;
    out.days += e.days;
    out.cost_usd += e.cost_usd;
    out.energy_kwh += e.energy_kwh;
    out.memory_per_gpu_bytes = std::max(out.memory_per_gpu_bytes, e.memory.total);
    out.fits = out.fits && e.memory.fits();
    model_flops += stage.tokens * e.model_flops_per_token;
    gpu_seconds += e.steps * e.step.step_s * gpus;
    tokens += stage.tokens;
    out.stages.push_back(e);
  }
  out.step_time_s = out.stages.front().step.step_s;
  out.mfu_bf16 = model_flops / (gpu_seconds * input.gpu.bf16_flops);
  out.mfu_fp8 = input.gpu.fp8_flops > 0 ? model_flops / (gpu_seconds * input.gpu.fp8_flops) : 0.0;
  out.tokens_per_s_per_gpu = tokens / gpu_seconds;
  return out;
}

}  // namespace frugal::sim
