#include "frugal/sim/distillation.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "frugal/config/config_error.hpp"
#include "frugal/sim/format.hpp"
#include "frugal/sim/serving_report.hpp"

namespace frugal::sim {

namespace {

// The student's training on the teacher's output: samples x (prompt + answer) tokens x epochs.
void price_student(const DistillationJob& job, const EfficiencyConstants& c, DistillationEstimate& e) {
  const double sequence = static_cast<double>(job.prompt_tokens + job.tokens_per_sample);
  if (job.student_training == StudentTraining::finetune) {
    FinetuneJob f;
    f.model = job.student;
    f.gpu = job.gpu;
    f.gpus = job.student_gpus;
    f.price_per_gpu_hour = job.price_per_gpu_hour;
    f.adapters.method = FinetuneMethod::full;
    f.examples = job.samples;
    f.tokens_per_example = job.prompt_tokens + job.tokens_per_sample;
    f.epochs = job.epochs;
    f.global_batch = batch_for_gpus(128, job.student_gpus);
    const FinetuneEstimate s = estimate_finetune(f, c);
    e.student_tokens = s.tokens;
    e.student_gpu_hours = s.gpu_hours;
    e.student_hours = s.hours;
    e.student_fits = s.fits;
    return;
  }
  TrainingRun run;
  run.model = job.student;
  run.gpu = job.gpu;
  run.gpus = job.student_gpus;
  run.price_per_gpu_hour = job.price_per_gpu_hour;
  run.precision = job.gpu.fp8_flops > 0 ? PrecisionRecipe::fp8 : PrecisionRecipe::bf16;
  run.parallel.automatic = true;
  TrainingStage stage;
  stage.name = "student pre-training";
  stage.seq_len = static_cast<std::int64_t>(sequence);
  stage.global_batch = std::max<std::int64_t>(256, job.student_gpus);
  stage.tokens = job.samples * sequence * job.epochs;
  run.stages = {stage};
  const TrainingEstimate s = simulate_training(run, c);
  e.student_tokens = stage.tokens;
  e.student_gpu_hours = s.gpu_hours;
  e.student_hours = s.days * 24.0;
  e.student_fits = s.fits;
}

}  // namespace

DistillationEstimate estimate_distillation(const DistillationJob& job, const std::vector<PricedGpu>& serving_gpus,
                                           const EfficiencyConstants& c) {
  if (!(job.samples >= 1) || job.samples > 1e12) throw ConfigError("--samples", "must be between 1 and 1e12");
  if (job.tokens_per_sample < 1) throw ConfigError("--tokens-per-sample", "must be a positive integer");
  if (job.prompt_tokens < 0) throw ConfigError("--prompt-tokens", "must not be negative");
  if (job.top_k < 1 || job.top_k > job.teacher.vocab_size)
    throw ConfigError("--top-k", fmt::format("must be between 1 and the teacher's vocabulary ({})", job.teacher.vocab_size));
  if (!(job.epochs > 0) || job.epochs > 1e4) throw ConfigError("--epochs", "must be positive and at most 10,000");
  if (job.student_gpus < 1) throw ConfigError("--student-gpus", "must be a positive integer");
  if (job.teacher.vocab_size != job.student.vocab_size && job.mode == DistillMode::logit)
    throw ConfigError("--mode", fmt::format("logit distillation needs one vocabulary: the teacher has {} tokens, the student {}; "
                                            "use --mode sequence",
                                            job.teacher.vocab_size, job.student.vocab_size));

  DistillationEstimate e;
  e.job = job;
  const bool fp8 = job.gpu.fp8_flops > 0;
  e.teacher_deployment = default_deployment(job.teacher, job.gpu, fp8);
  e.teacher_deployment.price_per_gpu_hour = job.price_per_gpu_hour;
  const double per_node = static_cast<double>(job.gpu.gpus_per_node);  // capacity's per-node figures are per GPU x this
  const double answer = static_cast<double>(job.tokens_per_sample), prompt = static_cast<double>(job.prompt_tokens);
  if (job.mode == DistillMode::sequence) {
    // Decoding at the largest batch the KV cache holds, each sequence halfway through its answer
    // on average; the prompts are prefilled first.
    const DecodeCapacity decode = decode_capacity(job.teacher, e.teacher_deployment, 0, prompt + answer / 2.0, 0, c);
    e.teacher_tokens_per_s_per_gpu = decode.tokens_per_s_per_gpu;
    double seconds = job.samples * answer / decode.tokens_per_s_per_gpu;  // GPU-seconds
    if (job.prompt_tokens > 0) {
      const PrefillCapacity prefill = prefill_capacity(job.teacher, e.teacher_deployment, prompt, 0, c);
      seconds += job.samples * prompt / (prefill.computed_tokens_per_s_per_node / per_node);
    }
    e.teacher_gpu_hours = seconds / 3600.0;
  } else {
    // A forward pass over every training token, as a prefill of (prompt + answer)-token sequences,
    // once per epoch unless the top-k logits are stored: they are, so once.
    const PrefillCapacity forward = prefill_capacity(job.teacher, e.teacher_deployment, prompt + answer, 0, c);
    e.teacher_tokens_per_s_per_gpu = forward.computed_tokens_per_s_per_node / per_node;
    e.teacher_gpu_hours = job.samples * (prompt + answer) / e.teacher_tokens_per_s_per_gpu / 3600.0;
    e.logit_storage_bytes = job.samples * (prompt + answer) * static_cast<double>(job.top_k) * (2.0 + 4.0);
  }
  price_student(job, c, e);
  e.total_gpu_hours = e.teacher_gpu_hours + e.student_gpu_hours;
  e.total_cost_usd = e.total_gpu_hours * job.price_per_gpu_hour;

  const ServingPlan teacher = plan_serving(job.teacher, serving_gpus, job.workload, job.slo, {}, c);
  const ServingPlan student = plan_serving(job.student, serving_gpus, job.workload, job.slo, {}, c);
  e.teacher_serving = teacher.best.front();
  e.student_serving = student.best.front();
  e.teacher_cost_per_1k_requests_usd = e.teacher_serving.cost_per_1k_requests_usd;
  e.student_cost_per_1k_requests_usd = e.student_serving.cost_per_1k_requests_usd;
  const double saving_per_request = (e.teacher_cost_per_1k_requests_usd - e.student_cost_per_1k_requests_usd) / 1000.0;
  if (saving_per_request > 0) e.break_even_requests = e.total_cost_usd / saving_per_request;
  return e;
}

nlohmann::json distillation_json(const DistillationEstimate& e) {
  const DistillationJob& j = e.job;
  nlohmann::json out = {
      {"teacher", j.teacher.name},
      {"student", j.student.name},
      {"mode", j.mode == DistillMode::sequence ? "sequence" : "logit"},
      {"samples", j.samples},
      {"tokens_per_sample", j.tokens_per_sample},
      {"prompt_tokens", j.prompt_tokens},
      {"gpu", j.gpu.name},
      {"teacher_gpus_per_instance", e.teacher_deployment.gpus_per_instance},
      {"teacher_tokens_per_s_per_gpu", e.teacher_tokens_per_s_per_gpu},
      {"teacher_gpu_hours", e.teacher_gpu_hours},
      {"student_training", j.student_training == StudentTraining::finetune ? "finetune" : "pretrain"},
      {"student_tokens", e.student_tokens},
      {"student_gpu_hours", e.student_gpu_hours},
      {"student_hours", e.student_hours},
      {"student_fits", e.student_fits},
      {"total_gpu_hours", e.total_gpu_hours},
      {"total_cost_usd", e.total_cost_usd},
      {"teacher_cost_per_1k_requests_usd", e.teacher_cost_per_1k_requests_usd},
      {"student_cost_per_1k_requests_usd", e.student_cost_per_1k_requests_usd},
      {"teacher_serving", e.teacher_serving.layout},
      {"student_serving", e.student_serving.layout},
      {"break_even_requests", e.break_even_requests ? nlohmann::json(*e.break_even_requests) : nlohmann::json(nullptr)},
  };
  if (j.mode == DistillMode::logit) {
    out["top_k"] = j.top_k;
    out["logit_storage_bytes"] = e.logit_storage_bytes;
  }
  return out;
}

std::string distillation_table(const DistillationEstimate& e) {
  const DistillationJob& j = e.job;
  const double price = j.price_per_gpu_hour;
  std::string out = fmt::format("Distilling {} into {} ({}-level) on {} at ${:.2f}/GPU-hour\n\n", j.teacher.name, j.student.name,
                                j.mode == DistillMode::sequence ? "sequence" : "logit", j.gpu.name, price);
  if (j.mode == DistillMode::sequence)
    out += fmt::format("  teacher generates {} answers of {} tokens ({}-token prompts) on {}-GPU instances: {:.0f} tokens/s per GPU\n",
                       format_count(j.samples), j.tokens_per_sample, j.prompt_tokens, e.teacher_deployment.gpus_per_instance,
                       e.teacher_tokens_per_s_per_gpu);
  else
    out += fmt::format("  teacher forward over {} tokens on {}-GPU instances: {:.0f} tokens/s per GPU; top-{} logits stored: {}\n",
                       format_count(j.samples * static_cast<double>(j.prompt_tokens + j.tokens_per_sample)),
                       e.teacher_deployment.gpus_per_instance, e.teacher_tokens_per_s_per_gpu, j.top_k,
                       format_bytes(e.logit_storage_bytes));
  out += fmt::format("    {:.1f} GPU-hours, ${:.0f}\n", e.teacher_gpu_hours, e.teacher_gpu_hours * price);
  out += fmt::format("  student {} on {} tokens ({} epochs) on {} GPUs{}\n",
                     j.student_training == StudentTraining::finetune ? "fine-tunes (full)" : "pre-trains",
                     format_count(e.student_tokens), j.epochs, j.student_gpus, e.student_fits ? "" : " — DOES NOT FIT in memory");
  out += fmt::format("    {:.1f} GPU-hours, {:.1f} hours, ${:.0f}\n", e.student_gpu_hours, e.student_hours, e.student_gpu_hours * price);
  out += fmt::format("  pipeline: {:.1f} GPU-hours, ${:.0f}\n\n", e.total_gpu_hours, e.total_cost_usd);
  out += fmt::format("Serving {:.1f} requests/s ({:.0f}-token prompts, {:.0f}-token answers), cheapest deployment of each:\n",
                     j.workload.arrival_rate, j.workload.prompt.mean, j.workload.output.mean);
  out += fmt::format("  teacher ${:.3f} per 1K requests: {}\n", e.teacher_cost_per_1k_requests_usd, e.teacher_serving.layout);
  out += fmt::format("  student ${:.3f} per 1K requests: {}\n", e.student_cost_per_1k_requests_usd, e.student_serving.layout);
  if (e.student_cost_per_1k_requests_usd > 0)
    out += fmt::format("  the student serves at {:.1f}x lower cost\n",
                       e.teacher_cost_per_1k_requests_usd / e.student_cost_per_1k_requests_usd);
  if (e.break_even_requests)
    out += fmt::format("Break-even: after {} requests ({:.1f} days at this rate) the pipeline has paid for itself\n",
                       format_count(*e.break_even_requests), *e.break_even_requests / j.workload.arrival_rate / 86400.0);
  else
    out += "Break-even: never — the student does not serve cheaper on this workload\n";
  return out;
}

}  // namespace frugal::sim
