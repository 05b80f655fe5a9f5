#include "frugal/sim/finetune.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "frugal/config/config_error.hpp"
#include "frugal/sim/adapters.hpp"

namespace frugal::sim {

namespace {

TrainingRun run_for(const FinetuneJob& job, int zero_stage, Recompute recompute, std::int64_t micro_batch) {
  TrainingRun run;
  run.model = job.model;
  run.gpu = job.gpu;
  run.gpus = job.gpus;
  run.price_per_gpu_hour = job.price_per_gpu_hour;
  run.precision = PrecisionRecipe::bf16;
  run.recompute = recompute;
  run.attention_kernel = job.attention_kernel;
  run.kernels = job.kernels;
  run.adapters = job.adapters;
  run.parallel.dp = job.gpus;
  run.parallel.micro_batch = micro_batch;
  run.parallel.zero_stage = zero_stage;
  TrainingStage stage;
  stage.name = "fine-tuning";
  stage.seq_len = job.tokens_per_example;
  stage.global_batch = job.global_batch;
  stage.tokens = job.examples * static_cast<double>(job.tokens_per_example) * job.epochs;
  run.stages = {stage};
  return run;
}

bool fits(const TrainingRun& run, const EfficiencyConstants& c) { return memory_per_gpu(run, run.stages.front(), c).fits(); }

constexpr std::int64_t kMicroBatchSearchLimit = std::int64_t{1} << 20;

// The largest micro-batch that fits, 0 when not even one sequence does. Memory grows with the
// micro-batch, so: double until it no longer fits, then bisect.
std::int64_t largest_micro_batch(const FinetuneJob& job, int zero_stage, Recompute recompute, const EfficiencyConstants& c) {
  if (!fits(run_for(job, zero_stage, recompute, 1), c)) return 0;
  std::int64_t good = 1, bad = 2;
  while (bad <= kMicroBatchSearchLimit && fits(run_for(job, zero_stage, recompute, bad), c)) {
    good = bad;
    bad *= 2;
  }
  if (bad > kMicroBatchSearchLimit) return good;
  while (bad - good > 1) {
    const std::int64_t mid = good + (bad - good) / 2;
    (fits(run_for(job, zero_stage, recompute, mid), c) ? good : bad) = mid;
  }
  return good;
}

struct Choice {
  int zero_stage = 0;
  Recompute recompute = Recompute::full;
  std::int64_t micro_batch = 1;
  std::int64_t largest_micro_batch = 1;  // with this ZeRO stage and checkpointing
  double step_s = 0;
};

// The fastest layout that fits: ZeRO stage (only 0 on one GPU), checkpointing, and a micro-batch
// that divides each GPU's share of the batch.
std::optional<Choice> fastest_fitting(const FinetuneJob& job, const EfficiencyConstants& c) {
  const std::vector<int> stages = job.gpus == 1 ? std::vector<int>{0} : std::vector<int>{0, 1, 2, 3};
  const std::vector<Recompute> recomputes =
      job.recompute ? std::vector<Recompute>{*job.recompute} : std::vector<Recompute>{Recompute::none, Recompute::full};
  const std::int64_t per_gpu = job.global_batch / job.gpus;
  std::optional<Choice> best;
  for (int zero : stages)
    for (Recompute r : recomputes) {
      const std::int64_t largest = largest_micro_batch(job, zero, r, c);
      for (std::int64_t mb = 1; mb <= std::min(per_gpu, largest); ++mb) {
        if (per_gpu % mb != 0 || (job.micro_batch && mb != *job.micro_batch)) continue;
        const TrainingRun run = run_for(job, zero, r, mb);
        const double step = step_time(run, run.stages.front(), c).step_s;
        if (!best || step < best->step_s * (1.0 - 1e-9)) best = Choice{zero, r, mb, largest, step};
      }
    }
  return best;
}

std::vector<std::string> what_would_fit(const FinetuneJob& job, const EfficiencyConstants& c) {
  std::vector<std::string> out;
  auto fits_somehow = [&](const FinetuneJob& j) { return fastest_fitting(j, c).has_value(); };
  // The same job with adapters: the job's own rank, or 16 when it trains every weight.
  auto with_method = [&](FinetuneMethod m) {
    FinetuneJob other = job;
    other.adapters.method = m;
    if (!job.adapters.frozen_base()) other.adapters.rank = 16;
    return other;
  };
  if (job.adapters.method != FinetuneMethod::qlora) {
    const FinetuneJob q = with_method(FinetuneMethod::qlora);
    if (fits_somehow(q)) out.push_back(fmt::format("QLoRA (4-bit base, rank {}) fits on these GPUs", q.adapters.rank));
  }
  if (job.adapters.method == FinetuneMethod::full) {
    const FinetuneJob l = with_method(FinetuneMethod::lora);
    if (fits_somehow(l)) out.push_back(fmt::format("LoRA (rank {}) fits on these GPUs", l.adapters.rank));
  }
  if (job.adapters.frozen_base() && job.adapters.rank > 8) {
    FinetuneJob r = job;
    r.adapters.rank = 8;
    if (fits_somehow(r)) out.push_back("rank 8 fits on these GPUs");
  }
  for (std::int64_t n = job.gpus * 2; n <= 4096; n *= 2) {
    FinetuneJob more = job;
    more.gpus = n;
    more.global_batch = batch_for_gpus(job.global_batch, n);
    if (fits_somehow(more)) {
      out.push_back(fmt::format("{} {} GPUs fit (the model's states sharded with ZeRO)", n, job.gpu.name));
      break;
    }
  }
  for (const GpuSpec& g : known_gpus()) {
    if (g.hbm_bytes <= job.gpu.hbm_bytes) continue;
    FinetuneJob bigger = job;
    bigger.gpu = g;
    if (fits_somehow(bigger)) out.push_back(fmt::format("{} x {} ({:.0f} GiB) fit", job.gpus, g.name, g.hbm_bytes / kBytesPerGiB));
  }
  if (out.empty()) out.push_back(fmt::format("nothing tried fits: more than 4096 {} GPUs, or a smaller model", job.gpu.name));
  return out;
}

}  // namespace

std::int64_t batch_for_gpus(std::int64_t sequences, std::int64_t gpus) { return std::max(sequences, gpus) / gpus * gpus; }

FinetuneEstimate estimate_finetune(const FinetuneJob& job, const EfficiencyConstants& c) {
  if (job.gpus < 1) throw ConfigError("--gpus", "must be a positive integer");
  if (job.global_batch < 1) throw ConfigError("--global-batch", "must be a positive integer");
  if (job.global_batch % job.gpus != 0)
    throw ConfigError("--global-batch", fmt::format("{} sequences do not split evenly over {} GPUs: use a multiple of {}",
                                                    job.global_batch, job.gpus, job.gpus));
  if (job.micro_batch && (*job.micro_batch < 1 || (job.global_batch / job.gpus) % *job.micro_batch != 0))
    throw ConfigError("--micro-batch", fmt::format("{} must divide each GPU's {} sequences of the batch", *job.micro_batch,
                                                   job.global_batch / job.gpus));
  if (!(job.examples > 0)) throw ConfigError("--examples", "must be positive");
  if (!(job.epochs > 0)) throw ConfigError("--epochs", "must be positive");
  if (job.tokens_per_example < 1) throw ConfigError("--tokens-per-example", "must be a positive integer");

  FinetuneEstimate e;
  e.job = job;
  const std::optional<Choice> choice = fastest_fitting(job, c);
  const int zero = choice ? choice->zero_stage : (job.gpus == 1 ? 0 : 3);
  const Recompute recompute = choice ? choice->recompute : job.recompute.value_or(Recompute::full);
  e.run = run_for(job, zero, recompute, choice ? choice->micro_batch : 1);
  validate_training_run(e.run);
  const TrainingStage& stage = e.run.stages.front();
  e.fits = choice.has_value();
  e.memory = memory_per_gpu(e.run, stage, c);
  e.step = step_time(e.run, stage, c);
  e.max_micro_batch = choice ? choice->largest_micro_batch : largest_micro_batch(job, zero, recompute, c);
  const ParametersPerGpu p = parameters_per_gpu(e.run);
  e.trainable_params = p.trainable_dense + p.trainable_expert;
  e.tokens = stage.tokens;
  e.steps = e.tokens / static_cast<double>(stage.global_batch * stage.seq_len);
  e.tokens_per_s_per_gpu = static_cast<double>(stage.global_batch * stage.seq_len) / (e.step.step_s * static_cast<double>(job.gpus));
  e.hours = e.steps * e.step.step_s / 3600.0;
  e.gpu_hours = e.hours * static_cast<double>(job.gpus);
  e.cost_usd = e.gpu_hours * job.price_per_gpu_hour;
  if (!e.fits) e.suggestions = what_would_fit(job, c);
  return e;
}

}  // namespace frugal::sim
