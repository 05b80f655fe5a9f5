#include "frugal/sim/planner.hpp"

#include <limits>

#include <fmt/format.h>

#include "frugal/sim/pipeline.hpp"
#include "frugal/sim/training_sim.hpp"

namespace frugal::sim {

std::string describe_parallelism(const Parallelism& p, std::int64_t gpus) {
  std::string s = fmt::format("DP {} x TP {} x PP {}", resolved_dp(p, gpus), p.tp, p.pp);
  if (p.cp > 1) s += fmt::format(" x CP {}", p.cp);
  s += fmt::format(" ({}", to_string(p.schedule));
  if (p.schedule == PipelineSchedule::interleaved) s += fmt::format(", {} chunks", p.virtual_stages);
  if (p.pp > 1 && p.pipeline_layout != "even") s += fmt::format(", layout {}", p.pipeline_layout);
  s += fmt::format("), EP {}, micro-batch {}, ZeRO-{}", p.ep, p.micro_batch, p.zero_stage);
  if (p.tp > 1 && p.tp_comm_overlap) s += ", TP communication overlapped";
  return s;
}

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
  const ModelConfig& m = run.model;
  Plan best;
  double best_key = std::numeric_limits<double>::infinity();

  // Prices one candidate over every stage and keeps it if it is the best so far: every fitting
  // plan beats every non-fitting one; among those, fewer GPU-hours win, among the others the
  // smaller shortfall.
  auto consider = [&](const Parallelism& p) {
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
    const double key = fits ? hours : 1e30 + worst_shortfall;
    if (key < best_key) {
      best_key = key;
      best.parallel = p;
      best.gpu_hours = hours;
      best.fits = fits;
    }
  };

  const PipelineSchedule schedules[] = {PipelineSchedule::one_f_one_b, PipelineSchedule::interleaved,
                                        PipelineSchedule::zero_bubble, PipelineSchedule::dualpipe};
  const std::int64_t seq_len = run.stages.front().seq_len;
  Parallelism p = input.parallel;
  p.automatic = false;
  for (p.tp = 1; p.tp <= run.gpu.gpus_per_node; p.tp *= 2) {
    if (run.gpus % p.tp != 0 || m.attention.num_heads % p.tp != 0) continue;
    // Context parallelism only for long sequences: each GPU keeps at least 8K tokens.
    for (p.cp = 1; p.cp <= 16 && (p.cp == 1 || seq_len / p.cp >= 8192); p.cp *= 2) {
      if (seq_len % p.cp != 0 || run.gpus % (p.tp * p.cp) != 0) continue;
      for (p.pp = 1; p.pp <= std::min<std::int64_t>(m.num_layers, run.gpus / (p.tp * p.cp)); ++p.pp) {
        if ((run.gpus / (p.tp * p.cp)) % p.pp != 0) continue;
        p.dp = run.gpus / (p.tp * p.pp * p.cp);
        const std::int64_t replicas = p.dp * p.tp * p.cp;
        const std::int64_t max_ep = m.is_moe() ? std::min(m.moe.routed_experts, replicas) : 1;
        for (p.ep = 1; p.ep <= max_ep; p.ep *= 2) {
          if (m.is_moe() && (m.moe.routed_experts % p.ep != 0 || replicas % p.ep != 0)) continue;
          for (std::int64_t micro_batch : {1, 2, 4}) {
            p.micro_batch = micro_batch;
            for (PipelineSchedule sched : schedules) {
              if (schedule && sched != *schedule) continue;
              if (p.pp == 1 && sched != PipelineSchedule::one_f_one_b) continue;  // no pipeline, no schedule
              if (sched == PipelineSchedule::dualpipe && p.pp % 2 != 0) continue;
              p.schedule = sched;
              if (!divides_every_batch(run, p.dp, p)) continue;
              // Megatron's even split, and the split that gives the embedding and the output layer
              // a layer's place each (pipeline_layout.hpp) where every chunk keeps a unit.
              p.pipeline_layout = "even";
              consider(p);
              const double units = static_cast<double>(m.num_layers + 2) / static_cast<double>(p.pp * pipeline_chunks_per_rank(p));
              if (p.pp > 1 && sched != PipelineSchedule::dualpipe && units >= 1.0) {
                p.pipeline_layout = "ends-as-layers";
                consider(p);
              }
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
