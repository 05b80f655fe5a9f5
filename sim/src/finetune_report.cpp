#include "frugal/sim/finetune_report.hpp"

#include <fmt/format.h>

#include "frugal/sim/format.hpp"

namespace frugal::sim {

nlohmann::json finetune_report_json(const FinetuneEstimate& e) {
  const FinetuneJob& j = e.job;
  const MemoryBreakdown& m = e.memory;
  nlohmann::json out = {
      {"model", j.model.name},
      {"method", to_string(j.adapters.method)},
      {"gpu", j.gpu.name},
      {"gpus", j.gpus},
      {"examples", j.examples},
      {"tokens_per_example", j.tokens_per_example},
      {"epochs", j.epochs},
      {"global_batch", j.global_batch},
      {"tokens", e.tokens},
      {"trainable_params", e.trainable_params},
      {"fits", e.fits},
      {"max_micro_batch", e.max_micro_batch},
      {"micro_batch", e.run.parallel.micro_batch},
      {"zero_stage", e.run.parallel.zero_stage},
      {"recompute", to_string(e.run.recompute)},
      {"kernels", to_string(e.run.kernels)},
      {"memory_per_gpu_bytes", m.total},
      {"memory_capacity_bytes", m.capacity},
      {"memory", {{"weights", m.weights}, {"gradients", m.gradients}, {"optimizer_states", m.optimizer_states},
                  {"paged_to_host", m.paged_to_host}, {"activations", m.activations}, {"reserve", m.reserve}}},
      {"step_time_s", e.step.step_s},
      {"steps", e.steps},
      {"tokens_per_s_per_gpu", e.tokens_per_s_per_gpu},
      {"hours", e.hours},
      {"gpu_hours", e.gpu_hours},
      {"price_per_gpu_hour", j.price_per_gpu_hour},
      {"cost_usd", e.cost_usd},
      {"suggestions", e.suggestions},
  };
  if (!e.fits)  // a run that cannot start has no time or cost
    for (const char* key : {"step_time_s", "tokens_per_s_per_gpu", "hours", "gpu_hours", "cost_usd"}) out[key] = nullptr;
  if (j.adapters.frozen_base()) {
    out["rank"] = j.adapters.rank;
    out["targets"] = to_string(j.adapters.targets);
  }
  return out;
}

std::string finetune_report_table(const FinetuneEstimate& e) {
  const FinetuneJob& j = e.job;
  const MemoryBreakdown& m = e.memory;
  std::string method = to_string(j.adapters.method);
  if (j.adapters.frozen_base())
    method += fmt::format(" (rank {}, {} adapters: {} trainable parameters)", j.adapters.rank, to_string(j.adapters.targets),
                          format_count(e.trainable_params));
  std::string out = fmt::format("{} fine-tuning of {} on {} x {} at ${:.2f}/GPU-hour\n", method, j.model.name, j.gpus,
                                j.gpu.name, j.price_per_gpu_hour);
  out += fmt::format("  {} examples x {} tokens x {} epochs = {} tokens, {} sequences per step\n\n",
                     format_count(j.examples), j.tokens_per_example, j.epochs, format_count(e.tokens), j.global_batch);
  out += fmt::format("Memory per GPU: {:.1f} GB of {}, {}\n", m.total / 1e9, format_capacity(m.capacity),
                     e.fits ? "fits" : "DOES NOT FIT");
  out += fmt::format("  weights {:.1f}, gradients {:.1f}, optimizer states {:.1f}{}, activations {:.1f}, reserve {:.1f} GB\n",
                     m.weights / 1e9, m.gradients / 1e9, m.optimizer_states / 1e9,
                     m.paged_to_host > 0 ? " (paged: may move to CPU RAM, not counted)" : "", m.activations / 1e9,
                     m.reserve / 1e9);
  if (!e.fits) {
    out += "  at micro-batch 1 with activation checkpointing" +
           std::string(j.gpus > 1 ? " and ZeRO-3" : "") + ". What would fit:\n";
    for (const std::string& s : e.suggestions) out += "    - " + s + "\n";
    return out;
  }
  out += fmt::format("  largest micro-batch that fits: {} sequences\n\n", e.max_micro_batch);
  out += fmt::format("Layout: {} GPU{} data-parallel, ZeRO-{}, micro-batch {}, activation checkpointing {}\n", j.gpus,
                     j.gpus > 1 ? "s" : "", e.run.parallel.zero_stage, e.run.parallel.micro_batch,
                     e.run.recompute == Recompute::none ? "off" : "on");
  out += fmt::format("Step {:.2f} s, {:.0f} tokens/s per GPU, {} steps\n", e.step.step_s, e.tokens_per_s_per_gpu,
                     format_count(e.steps));
  out += fmt::format("Time {:.2f} hours, {:.1f} GPU-hours, ${:.2f}\n", e.hours, e.gpu_hours, e.cost_usd);
  return out;
}

}  // namespace frugal::sim
