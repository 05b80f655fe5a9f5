// frugal-sim distill: a teacher-to-student pipeline priced end to end (the teacher's generation or
// logits, the student's training), both models' serving cost, and the break-even request volume.
#include <iostream>
#include <memory>

#include "cli_common.hpp"
#include "commands.hpp"

#include "frugal/config/bounds.hpp"
#include "frugal/config/config_error.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/distillation.hpp"

namespace frugal::sim::cli {

namespace {

// --NAME PRESET | --NAME-config FILE
struct NamedModel {
  std::string preset, file;
  void add(CLI::App& app, const std::string& name, const std::string& fallback) {
    preset = fallback;
    auto* p = app.add_option("--" + name, preset, name + " model preset")->capture_default_str();
    auto* f = app.add_option("--" + name + "-config", file, name + " config file: FrugalLM JSON or a Hugging Face config.json");
    p->excludes(f);
    f->excludes(p);
  }
  ModelConfig load() const {
    ModelSource s;
    s.preset = preset;
    s.config_file = file;
    return s.load();
  }
};

class DistillCommand : public Command {
 public:
  explicit DistillCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("distill", "price a distillation pipeline and when it pays back in serving");
    CLI::App& a = *app_;
    teacher_.add(a, "teacher", "deepseek-v3");
    student_.add(a, "student", "llama-3.1-8b");
    a.add_option("--mode", mode_, "sequence (teacher-generated samples) or logit (teacher's top-k logits)")
        ->check(CLI::IsMember({"sequence", "logit"}))
        ->capture_default_str();
    a.add_option("--samples", j_.samples, "samples the teacher generates (sequence) or the student trains on (logit)")->capture_default_str();
    a.add_option("--tokens-per-sample", j_.tokens_per_sample, "answer tokens per sample")->capture_default_str();
    a.add_option("--prompt-tokens", j_.prompt_tokens, "prompt tokens per sample")->capture_default_str();
    a.add_option("--top-k", j_.top_k, "logit mode: logits kept per token")->capture_default_str();
    a.add_option("--student-training", training_, "finetune (full fine-tuning of a pre-trained student) or pretrain")
        ->check(CLI::IsMember({"finetune", "pretrain"}))
        ->capture_default_str();
    a.add_option("--epochs", j_.epochs, "student epochs over the samples")->capture_default_str();
    a.add_option("--gpu", gpu_, "GPU for the teacher's job and the student's training")->capture_default_str();
    a.add_option("--student-gpus", j_.student_gpus, "GPUs training the student")->capture_default_str();
    a.add_option("--price", j_.price_per_gpu_hour, "dollars per GPU-hour")->capture_default_str();
    a.add_option("--rate", j_.workload.arrival_rate, "serving: requests per second")->capture_default_str();
    a.add_option("--serve-prompt-tokens", j_.workload.prompt.mean, "serving: mean prompt length")->capture_default_str();
    a.add_option("--serve-output-tokens", j_.workload.output.mean, "serving: mean answer length")->capture_default_str();
    a.add_option("--requests", j_.workload.requests, "serving: requests simulated per confirmation")->capture_default_str();
    a.add_option("--ttft-p95", slo_ttft_s_, "serving: p95 time to first token to meet, in seconds");
    a.add_option("--tpot-p95", slo_tpot_ms_, "serving: p95 time per output token to meet, in ms");
    a.add_option("--format", format_, "output format")->check(CLI::IsMember({"table", "json"}))->capture_default_str();
  }
  CLI::App* app() const override { return app_; }

  int run() override {
    DistillationJob job = j_;
    job.teacher = teacher_.load();
    job.student = student_.load();
    job.mode = mode_ == "logit" ? DistillMode::logit : DistillMode::sequence;
    job.student_training = training_ == "pretrain" ? StudentTraining::pretrain : StudentTraining::finetune;
    job.gpu = find_gpu(gpu_, "--gpu");
    bounds::require_in(job.student_gpus, bounds::gpus, "--student-gpus");
    bounds::require_in(job.tokens_per_sample, bounds::sequence, "--tokens-per-sample");
    if (job.prompt_tokens < 0 || job.prompt_tokens > bounds::sequence.max) throw ConfigError("--prompt-tokens", "must be between 0 and 16,777,216");
    if (!(job.price_per_gpu_hour > 0) || job.price_per_gpu_hour > bounds::kMaxPricePerGpuHour)
      throw ConfigError("--price", "must be a positive number of dollars per GPU-hour");
    if (!(job.workload.arrival_rate > 0) || job.workload.arrival_rate > 1e6) throw ConfigError("--rate", "must be positive, at most 1e6");
    if (!(job.workload.prompt.mean >= 1) || job.workload.prompt.mean > 1e7) throw ConfigError("--serve-prompt-tokens", "must be between 1 and 1e7");
    if (!(job.workload.output.mean >= 1) || job.workload.output.mean > 1e7) throw ConfigError("--serve-output-tokens", "must be between 1 and 1e7");
    bounds::require_in(job.workload.requests, bounds::requests, "--requests");
    if (app_->count("--ttft-p95") && !(slo_ttft_s_ > 0)) throw ConfigError("--ttft-p95", "must be positive (seconds)");
    if (app_->count("--tpot-p95") && !(slo_tpot_ms_ > 0)) throw ConfigError("--tpot-p95", "must be positive (milliseconds)");
    job.slo = {slo_ttft_s_, slo_tpot_ms_ / 1e3};
    const DistillationEstimate e = estimate_distillation(job, priced_alike({job.gpu}, job.price_per_gpu_hour));
    std::cout << (format_ == "json" ? distillation_json(e).dump(2) + "\n" : distillation_table(e));
    return 0;
  }

 private:
  CLI::App* app_ = nullptr;
  NamedModel teacher_, student_;
  DistillationJob j_ = [] {
    DistillationJob j;
    j.samples = 800000;  // DeepSeek-R1's distilled models: "the 800k samples curated with DeepSeek-R1"
    j.workload = ServingWorkload{10.0, {1000, LengthDistribution::exponential}, {300, LengthDistribution::exponential}, 0.0, 2000, 1, {}};
    return j;
  }();
  std::string mode_ = "sequence", training_ = "finetune", gpu_ = "H100", format_ = "table";
  double slo_ttft_s_ = 0, slo_tpot_ms_ = 0;
};

}  // namespace

std::unique_ptr<Command> make_distill_command(CLI::App& parent) { return std::make_unique<DistillCommand>(parent); }

}  // namespace frugal::sim::cli
