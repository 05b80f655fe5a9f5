// Fine-tuning estimates: full fine-tuning, LoRA and QLoRA of any model on N examples, priced with
// the training simulator (step time, memory per GPU) on a frozen or trainable base. The layout is
// data parallelism over the GPUs; this file picks the ZeRO stage, activation checkpointing and
// micro-batch that fit and run fastest, and says what would fit when nothing does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "frugal/config/model_config.hpp"
#include "frugal/sim/efficiency.hpp"
#include "frugal/sim/hardware.hpp"
#include "frugal/sim/training_sim.hpp"

namespace frugal::sim {

struct FinetuneJob {
  ModelConfig model;
  GpuSpec gpu;
  std::int64_t gpus = 1;
  double price_per_gpu_hour = 2.0;
  Adapters adapters;  // method, rank, targets
  double examples = 1000;
  std::int64_t tokens_per_example = 512;  // each example is one sequence of this many tokens
  double epochs = 3;
  std::int64_t global_batch = 16;  // sequences per optimizer step, a multiple of gpus
  std::optional<Recompute> recompute;    // absent: the fastest that fits (none, then full)
  std::optional<std::int64_t> micro_batch;  // absent: the fastest that fits
  AttentionKernel attention_kernel = AttentionKernel::flash_attention_2;
  ActivationKernels kernels = ActivationKernels::fused;  // eager: plain PyTorch modules (Lit-GPT), training_config.hpp
};

struct FinetuneEstimate {
  FinetuneJob job;
  TrainingRun run;  // the chosen layout: one stage, dp = gpus
  bool fits = false;
  StepBreakdown step;
  MemoryBreakdown memory;  // at the chosen micro-batch (at micro-batch 1 when nothing fits)
  std::int64_t max_micro_batch = 0;  // the largest that fits with the chosen ZeRO stage and checkpointing (0: none)
  double trainable_params = 0;
  double tokens = 0;  // examples x tokens per example x epochs
  double steps = 0;
  double tokens_per_s_per_gpu = 0;
  double hours = 0, gpu_hours = 0, cost_usd = 0;
  std::vector<std::string> suggestions;  // when it does not fit: what would
};

// A batch of about `sequences` that splits evenly over `gpus`: the largest multiple of `gpus` not
// above it, and at least one sequence per GPU.
std::int64_t batch_for_gpus(std::int64_t sequences, std::int64_t gpus);

// Throws ConfigError naming the field for invalid input (a batch that does not split over the
// GPUs, a micro-batch that does not divide it); "does not fit" is an answer, not an error.
FinetuneEstimate estimate_finetune(const FinetuneJob& job, const EfficiencyConstants& c = default_efficiency());

}  // namespace frugal::sim
