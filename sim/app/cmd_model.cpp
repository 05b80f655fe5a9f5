// frugal-sim model: parameters, FLOPs per token and KV cache per token, with a breakdown.
#include <iostream>
#include <memory>

#include "cli_common.hpp"
#include "commands.hpp"
#include "frugal/sim/model_accountant.hpp"
#include "frugal/sim/model_report.hpp"

namespace frugal::sim::cli {

namespace {

class ModelCommand : public Command {
 public:
  explicit ModelCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("model", "count parameters, FLOPs per token and KV cache of a model");
    source_.add_options(*app_, "deepseek-v3");
    format_.add_option(*app_);
    app_->add_option("--seq-len", options_.seq_len, "sequence length for attention FLOPs")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 24))
        ->capture_default_str();
    app_->add_option("--attention-flops", attention_, "attention FLOPs convention: causal or full")
        ->check(CLI::IsMember({"causal", "full"}))
        ->capture_default_str();
    app_->add_option("--kv-dtype", kv_dtype_, "KV cache element type")
        ->check(CLI::IsMember({"bf16", "fp16", "fp8", "fp32"}))
        ->capture_default_str();
  }

  CLI::App* app() const override { return app_; }

  int run() override {
    const ModelConfig model = source_.load();
    options_.attention_flops = attention_ == "full" ? AttentionFlops::full : AttentionFlops::causal;
    options_.kv_dtype = kv_dtype_ == "fp32"   ? KvDtype::fp32
                        : kv_dtype_ == "fp16" ? KvDtype::fp16
                        : kv_dtype_ == "fp8"  ? KvDtype::fp8
                                              : KvDtype::bf16;
    const ModelAccount account = account_model(model, options_);
    if (format_.format == "json") std::cout << model_report_json(model, account, options_).dump(2) << "\n";
    else if (format_.format == "csv") std::cout << model_report_csv(account);
    else std::cout << model_report_table(model, account, options_);
    return 0;
  }

 private:
  CLI::App* app_ = nullptr;
  ModelSource source_;
  OutputFormat format_;
  AccountingOptions options_;
  std::string attention_ = "causal";
  std::string kv_dtype_ = "bf16";
};

}  // namespace

std::unique_ptr<Command> make_model_command(CLI::App& parent) { return std::make_unique<ModelCommand>(parent); }

}  // namespace frugal::sim::cli
