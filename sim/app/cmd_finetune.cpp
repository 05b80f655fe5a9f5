// frugal-sim finetune: full fine-tuning, LoRA or QLoRA of a model on N examples: memory per GPU
// and whether it fits, the largest micro-batch, step time, hours, GPU-hours and dollars.
#include <cmath>
#include <iostream>
#include <memory>

#include "cli_common.hpp"
#include "commands.hpp"

#include "frugal/config/bounds.hpp"
#include "frugal/config/config_error.hpp"
#include "frugal/sim/finetune_report.hpp"

namespace frugal::sim::cli {

namespace {

class FinetuneCommand : public Command {
 public:
  explicit FinetuneCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("finetune", "price fine-tuning (full, LoRA, QLoRA): memory, fit, time, dollars");
    source_.add_options(*app_, "llama-3.1-8b");
    app_->add_option("--method", method_, "full, lora or qlora")->check(CLI::IsMember({"full", "lora", "qlora"}))->capture_default_str();
    app_->add_option("--rank", rank_, "adapter rank r (LoRA, QLoRA)")->capture_default_str();
    app_->add_option("--targets", targets_, "layers with adapters: qv, attention, or all-linear")
        ->check(CLI::IsMember({"qv", "attention", "all-linear"}))
        ->capture_default_str();
    app_->add_option("--examples", examples_, "training examples")->capture_default_str();
    app_->add_option("--tokens-per-example", tokens_per_example_, "tokens in one example (one sequence)")->capture_default_str();
    app_->add_option("--epochs", epochs_, "passes over the examples")->capture_default_str();
    app_->add_option("--gpu", gpu_, "GPU name (see sim/data/gpus.json, or one from --gpu-file)")->capture_default_str();
    app_->add_option("--gpu-file", gpu_file_, "JSON file with your own GPUs (keys as sim/data/gpus.json)");
    app_->add_option("--gpus", gpus_, "number of GPUs (data parallel)")->capture_default_str();
    app_->add_option("--price", price_, "dollars per GPU-hour")->capture_default_str();
    app_->add_option("--global-batch", global_batch_, "sequences per optimizer step (a multiple of --gpus)")->capture_default_str();
    app_->add_option("--micro-batch", micro_batch_, "sequences per micro-batch (default: the fastest that fits)");
    app_->add_option("--recompute", recompute_, "activation checkpointing: none, full, or auto (the fastest that fits)")
        ->check(CLI::IsMember({"auto", "none", "full"}))
        ->capture_default_str();
    app_->add_option("--attention-kernel", attention_kernel_, "flash-attention-1, flash-attention-2 or hopper-fused")
        ->check(CLI::IsMember(attention_kernel_names()))
        ->capture_default_str();
    app_->add_option("--kernels", kernels_,
                     "what a layer keeps for backward: fused (Megatron-style kernels) or eager (plain PyTorch modules, "
                     "as Lit-GPT writes them)")
        ->check(CLI::IsMember(activation_kernels_names()))
        ->capture_default_str();
    app_->add_option("--format", format_, "output format")->check(CLI::IsMember({"table", "json"}))->capture_default_str();
  }
  CLI::App* app() const override { return app_; }

  int run() override {
    FinetuneJob job;
    job.model = source_.load();
    job.gpu = find_gpu(gpu_, "--gpu", gpu_file_.empty() ? std::vector<GpuSpec>{} : read_gpu_file(gpu_file_));
    bounds::require_in(gpus_, bounds::gpus, "--gpus");
    job.gpus = gpus_;
    if (!(price_ > 0) || price_ > bounds::kMaxPricePerGpuHour)
      throw ConfigError("--price", "must be a positive number of dollars per GPU-hour");
    job.price_per_gpu_hour = price_;
    job.adapters.method = method_ == "full" ? FinetuneMethod::full : method_ == "lora" ? FinetuneMethod::lora : FinetuneMethod::qlora;
    bounds::require_in(rank_, bounds::adapter_rank, "--rank");
    job.adapters.rank = rank_;
    job.adapters.targets = targets_ == "qv" ? AdapterTargets::qv : targets_ == "attention" ? AdapterTargets::attention : AdapterTargets::all_linear;
    if (!(examples_ >= 1) || examples_ > 1e12) throw ConfigError("--examples", "must be between 1 and 1e12");
    job.examples = examples_;
    bounds::require_in(tokens_per_example_, bounds::sequence, "--tokens-per-example");
    job.tokens_per_example = tokens_per_example_;
    if (!(epochs_ > 0) || epochs_ > 1e4) throw ConfigError("--epochs", "must be positive and at most 10,000");
    job.epochs = epochs_;
    if (job.examples * static_cast<double>(job.tokens_per_example) * job.epochs > bounds::kMaxTrainingTokens)
      throw ConfigError("--examples", "examples x tokens per example x epochs exceeds 1e16 tokens");
    bounds::require_in(global_batch_, bounds::batch_sequences, "--global-batch");
    job.global_batch = global_batch_;
    if (app_->count("--micro-batch") > 0) {
      bounds::require_in(micro_batch_, bounds::batch_sequences, "--micro-batch");
      job.micro_batch = micro_batch_;
    }
    if (recompute_ != "auto") job.recompute = recompute_ == "none" ? Recompute::none : Recompute::full;
    job.attention_kernel = *attention_kernel_named(attention_kernel_);
    job.kernels = *activation_kernels_named(kernels_);
    const FinetuneEstimate e = estimate_finetune(job);
    if (format_ == "json") std::cout << finetune_report_json(e).dump(2) << "\n";
    else std::cout << finetune_report_table(e);
    return 0;
  }

 private:
  CLI::App* app_ = nullptr;
  ModelSource source_;
  std::string method_ = "lora", targets_ = "all-linear", gpu_ = "H100", gpu_file_, recompute_ = "auto",
              attention_kernel_ = "flash-attention-2", kernels_ = "fused", format_ = "table";
  std::int64_t rank_ = 16, tokens_per_example_ = 512, gpus_ = 1, global_batch_ = 16, micro_batch_ = 0;
  double examples_ = 1000, epochs_ = 3, price_ = 2.0;
};

}  // namespace

std::unique_ptr<Command> make_finetune_command(CLI::App& parent) { return std::make_unique<FinetuneCommand>(parent); }

}  // namespace frugal::sim::cli
