// A distillation pipeline priced end to end: the teacher's part, the student's training, and what
// each model costs to serve afterwards, with the request volume at which the pipeline pays back.
//
// sequence: the teacher generates `samples` answers of `tokens_per_sample` tokens to prompts of
//   `prompt_tokens`, and the student trains on them (sequence-level KD, Kim & Rush 2016; how
//   DeepSeek-R1's distilled models were made: SFT on 800K samples curated with R1).
// logit: the teacher runs forward over the student's training tokens and keeps its top-k logits
//   per token, which the student matches (Hinton et al. 2015's soft targets).
// Teacher work runs as an offline batch job on the serving capacity model (serving_capacity.cpp):
// the largest batch the KV cache holds, no latency SLO. The student trains as a full fine-tuning
// (finetune.hpp) or a pre-training run on a planned layout (training_sim.hpp). Serving costs are
// the planner's cheapest deployment of each model on the same workload and SLOs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "frugal/config/model_config.hpp"
#include "frugal/sim/finetune.hpp"
#include "frugal/sim/serving.hpp"
#include "frugal/sim/serving_planner.hpp"

namespace frugal::sim {

enum class DistillMode { sequence, logit };
enum class StudentTraining { finetune, pretrain };

struct DistillationJob {
  ModelConfig teacher, student;
  DistillMode mode = DistillMode::sequence;
  double samples = 100000;
  std::int64_t tokens_per_sample = 1000;  // generated (sequence) or trained on (logit)
  std::int64_t prompt_tokens = 200;       // of each sample's prompt
  std::int64_t top_k = 64;                // logit mode: logits kept per token
  StudentTraining student_training = StudentTraining::finetune;
  double epochs = 2;                      // over the samples
  GpuSpec gpu;                            // for the teacher's job and the student's training
  std::int64_t student_gpus = 8;
  double price_per_gpu_hour = 2.0;
  ServingWorkload workload;               // what both models would then serve
  ServingSlo slo;
};

struct DistillationEstimate {
  DistillationJob job;
  ServingDeployment teacher_deployment;  // the instance running the teacher's part
  double teacher_tokens_per_s_per_gpu = 0;  // generated (sequence) or forwarded (logit)
  double teacher_gpu_hours = 0;
  double logit_storage_bytes = 0;  // logit mode: top-k values (BF16) and indices (int32) per token
  double student_tokens = 0;
  double student_gpu_hours = 0;
  double student_hours = 0;
  bool student_fits = true;
  double total_gpu_hours = 0, total_cost_usd = 0;
  PlanCandidate teacher_serving, student_serving;
  double teacher_cost_per_1k_requests_usd = 0, student_cost_per_1k_requests_usd = 0;
  // Requests after which serving the student instead of the teacher has paid for the pipeline;
  // absent when the student does not serve cheaper.
  std::optional<double> break_even_requests;
};

// Throws ConfigError naming the field for invalid input.
DistillationEstimate estimate_distillation(const DistillationJob& job, const std::vector<PricedGpu>& serving_gpus,
                                           const EfficiencyConstants& c = default_efficiency());

nlohmann::json distillation_json(const DistillationEstimate& e);
std::string distillation_table(const DistillationEstimate& e);

}  // namespace frugal::sim
