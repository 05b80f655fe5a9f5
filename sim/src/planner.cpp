#include "frugal/sim/planner.hpp"

#include <limits>

#include <fmt/format.h>

#include "frugal/sim/training_sim.hpp"

namespace frugal::sim {

std::string describe_parallelism(const Parallelism& p, std::int64_t gpus) {
  std::string s = fmt::format("DP {} x TP {} x PP {} ({}", resolved_dp(p, gpus), p.tp, p.pp, to_string(p.schedule));
  if (p.schedule == PipelineSchedule::interleaved) s += fmt::format(", {} chunks", p.virtual_stages);
  s += fmt::format("), EP {}, micro-batch {}, ZeRO-{}", p.ep, p.micro_batch, p.zero_stage);
  return s;
}

std::string Plan::describe() const { return describe_parallelism(parallel, 0); }

namespace {

bool divides_every_batch(const TrainingRun& run, std::int64_t dp, const Parallelism& p) {
  for (const TrainingStage& s : run.stages) {
    if (s.global_batch % (p.micro_batch * dp) != 0) return false;
    if (p.schedule == PipelineSchedule::dualpipe && p.pp > 1 && s.global_batch / (p.micro_batch * dp) < p.pp)
      return false;
  }
  return true;
}

}  // namespace

Plan plan_parallelism(const TrainingRun& input, const EfficiencyConstants& c, std::optional<PipelineSchedule> schedule) {
  TrainingRun run = input;
  run.parallel.automatic = false;
  const ModelConfig& m = run.model;
  Plan best;
  double best_key = std::numeric_limits<double>::infinity();
  const PipelineSchedule all[] = {PipelineSchedule::one_f_one_b, PipelineSchedule::interleaved,
                                  PipelineSchedule::zero_bubble, PipelineSchedule::dualpipe};
  for (std::int64_t tp = 1; tp <= run.gpu.gpus_per_node; tp *= 2) {
    if (run.gpus % tp != 0 || m.attention.num_heads % tp != 0) continue;
    for (std::int64_t pp = 1; pp <= std::min<std::int64_t>(m.num_layers, run.gpus / tp); ++pp) {
      if ((run.gpus / tp) % pp != 0) continue;
      const std::int64_t dp = run.gpus / (tp * pp);
      for (std::int64_t ep = 1; ep <= (m.is_moe() ? std::min(m.moe.routed_experts, dp * tp) : 1); ep *= 2) {
        if (m.is_moe() && (m.moe.routed_experts % ep != 0 || (dp * tp) % ep != 0)) continue;
        for (std::int64_t micro_batch : {1, 2, 4}) {
          for (PipelineSchedule sched : all) {
            if (schedule && sched != *schedule) continue;
            if (pp == 1 && sched != PipelineSchedule::one_f_one_b) continue;  // no pipeline, no schedule
            if (sched == PipelineSchedule::dualpipe && pp % 2 != 0) continue;
            Parallelism p = input.parallel;
            p.automatic = false;
            p.dp = dp;
            p.tp = tp;
            p.pp = pp;
            p.ep = ep;
            p.micro_batch = micro_batch;
            p.schedule = sched;
            if (!divides_every_batch(run, dp, p)) continue;
            run.parallel = p;
            double hours = 0, worst_shortfall = 0;
            for (const TrainingStage& stage : run.stages) {
              const StepBreakdown s = step_time(run, stage, c);
              hours += stage.tokens / static_cast<double>(stage.global_batch * stage.seq_len) * s.step_s *
                       static_cast<double>(run.gpus) / 3600.0;
              worst_shortfall = std::max(worst_shortfall, memory_per_gpu(run, stage, c).shortfall());
            }
            ++best.candidates;
            const bool fits = worst_shortfall == 0;
            // Every fitting plan beats every non-fitting one; among those, fewer GPU-hours win,
            // and among non-fitting ones the smaller shortfall.
            const double key = fits ? hours : 1e30 + worst_shortfall;
            if (key < best_key) {
              best_key = key;
              best.parallel = p;
              best.gpu_hours = hours;
              best.fits = fits;
            }
          }
        }
      }
    }
  }
  if (best.candidates == 0)
    throw ConfigError("parallelism", "no plan divides the global batch: try a batch divisible by the GPU count");
  return best;
}

}  // namespace frugal::sim
