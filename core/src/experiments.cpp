// The chapters' experiments (experiments.hpp): the runners. Their tables and JSON are in
// experiment_report.cpp.
#include "frugal/core/experiments.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "frugal/config/config_error.hpp"
#include "frugal/core/decode.hpp"
#include "experiment_helpers.hpp"

namespace frugal::core {

ModelConfig dense_counterpart(const ModelConfig& moe) {
  if (!moe.is_moe()) throw ConfigError("model.moe.routed_experts", "the experiment needs an MoE model to compare with a dense one");
  ModelConfig dense = moe;
  dense.name = moe.name + "-dense";
  dense.ffn_intermediate_size = (moe.moe.shared_experts + moe.moe.top_k) * moe.moe.expert_intermediate_size;
  dense.moe = MoeConfig{};
  return dense;
}

ArmResult run_arm(const std::string& name, const std::string& description, const ModelConfig& model,
                  const TrainOptions& options, const ArmProgress& progress, const std::function<void(Trainer&)>& finished,
                  std::shared_ptr<Transformer<float>> teacher, std::shared_ptr<const TeacherCorpus> corpus) {
  Trainer trainer(model, options, std::move(teacher));
  if (corpus) trainer.use_teacher_corpus(std::move(corpus));
  ArmResult arm;
  arm.name = name;
  arm.description = description;
  arm.model = model;
  arm.options = options;
  arm.parameters = trainer.model().parameter_count();
  arm.activated_parameters = trainer.model().activated_parameter_count();
  trainer.write_teacher_corpus();  // sequence-level distillation: the teacher's work, not the student's time
  const auto start = std::chrono::steady_clock::now();
  while (!trainer.finished()) {
    trainer.step();
    if (progress) progress(name, trainer);
  }
  arm.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  arm.history = trainer.history();
  if (finished) finished(trainer);
  return arm;
}

std::vector<ArmResult> run_arms(const std::vector<ArmSpec>& arms, const ArmProgress& progress) {
  std::vector<ArmResult> results(arms.size());
  std::mutex progress_mutex;
  ArmProgress serialised;
  if (progress)
    serialised = [&](const std::string& arm, const Trainer& trainer) {
      const std::lock_guard<std::mutex> lock(progress_mutex);
      progress(arm, trainer);
    };
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < arms.size(); i = next++) {
      const ArmSpec& a = arms[i];
      results[i] = run_arm(a.name, a.description, a.model, a.options, serialised, a.finished, a.teacher, a.corpus);
      results[i].baseline = a.baseline;
    }
  };
  const std::size_t threads = std::min<std::size_t>(arms.size(), std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  return results;
}

ExperimentReport new_report(std::string name, std::string question, int seeds) {
  ExperimentReport report;
  report.name = std::move(name);
  report.question = std::move(question);
  report.seeds = seeds;
  return report;
}

void add_arms(ExperimentReport& report, const std::vector<ArmSpec>& arms, const ArmProgress& progress) {
  for (ArmResult& arm : run_arms(arms, progress)) report.arms.push_back(std::move(arm));
}

// The data source's floor (asked of the source, not of a model built for it) and the FLOPs every
// run reached.
void finish_report(ExperimentReport& report, const TrainOptions& options) {
  report.loss_floor = make_token_source(options.data, options.seq_len)->loss_floor(options.seq_len);
  report.common_flops = std::numeric_limits<double>::infinity();
  for (const auto& arm : report.arms) report.common_flops = std::min(report.common_flops, arm.flops());
}

const ArmSummary& summary_of(const std::vector<ArmSummary>& summary, const std::string& name) {
  const auto it = std::find_if(summary.begin(), summary.end(), [&](const ArmSummary& s) { return s.name == name; });
  if (it == summary.end()) throw ConfigError("experiment", "the report has no arm " + name);
  return *it;
}

bool above_beyond_noise(double a, double a_std, double b, double b_std, int seeds, double one_seed_margin) {
  if (seeds < 2) return a > (1 + one_seed_margin) * b;
  const double se = std::sqrt((a_std * a_std + b_std * b_std) / static_cast<double>(seeds));
  return a - b > 2 * se;
}

std::string compared_with(double a, double a_std, double b, double b_std, int seeds, double one_seed_margin) {
  if (above_beyond_noise(b, b_std, a, a_std, seeds, one_seed_margin)) return "lower than";
  if (above_beyond_noise(a, a_std, b, b_std, seeds, one_seed_margin)) return "higher than";
  return "within the noise of";
}

TrainOptions with_seed(TrainOptions o, int index) {
  o.seed += static_cast<std::uint64_t>(index);
  return o;
}

// Both arms see the same batches (same seed) and the same number of tokens. The MoE model's
// dense layers (first_dense_layers) get the same width as the dense model's, so that activated
// parameters differ only by the router's gate.
ExperimentReport run_dense_vs_moe(const ModelConfig& moe, const TrainOptions& options, int seeds, const ArmProgress& progress) {
  ModelConfig dense = dense_counterpart(moe);
  ModelConfig moe_arm = moe;
  moe_arm.ffn_intermediate_size = dense.ffn_intermediate_size;
  ExperimentReport report = new_report(
      "dense-vs-moe",
      "At equal activated parameters and equal tokens, does DeepSeekMoE reach a lower loss than a dense FFN?", seeds);
  std::vector<ArmSpec> arms;
  for (int seed = 0; seed < seeds; ++seed) {
    const TrainOptions o = with_seed(options, seed);
    arms.push_back({"dense", fmt::format("SwiGLU FFN of width {}", dense.ffn_intermediate_size), dense, o, {}, ""});
    arms.push_back({"moe",
                    fmt::format("{} shared + {} routed experts of width {}, top-{}", moe.moe.shared_experts, moe.moe.routed_experts,
                                moe.moe.expert_intermediate_size, moe.moe.top_k),
                    moe_arm, o, {}, ""});
  }
  add_arms(report, arms, progress);
  finish_report(report, options);
  return report;
}

ExperimentReport run_mtp(const ModelConfig& model, const TrainOptions& options, int seeds, const ArmProgress& progress) {
  if (model.mtp_depth < 1) throw ConfigError("model.mtp_depth", "the MTP experiment needs at least one MTP module");
  ExperimentReport report = new_report(
      "mtp",
      "At equal training tokens, does Multi-Token Prediction help the main model, and how often does its draft hold?", seeds);
  const double weight = options.mtp_weight > 0 ? options.mtp_weight : 0.3;
  std::vector<double> acceptance(static_cast<std::size_t>(seeds)), tokens_per_pass(acceptance.size());
  std::vector<ArmSpec> arms;
  for (int seed = 0; seed < seeds; ++seed) {
    TrainOptions without = with_seed(options, seed);
    without.mtp_weight = 0;
    TrainOptions with = without;
    with.mtp_weight = weight;
    arms.push_back({"no-mtp", "next-token loss only", model, without, {}, ""});
    // Speculative decoding of 32 tokens after 16-token held-out prompts, drafted by MTP module 1.
    auto decode = [&acceptance, &tokens_per_pass, with, seed](Trainer& trainer) {
      std::int64_t drafted = 0, accepted = 0, generated = 0, passes = 0;
      for (int p = 0; p < 8; ++p) {
        Rng rng(with.seed, (3ull << 32) + static_cast<std::uint64_t>(p));
        const Batch prompt = trainer.source().sample(rng, 1, 16, true);
        const DecodeResult d = speculative_decode(trainer.model(), prompt.inputs, 32);
        drafted += d.drafted;
        accepted += d.accepted;
        generated += d.generated;
        passes += d.main_forward_passes;
      }
      const auto s = static_cast<std::size_t>(seed);
      acceptance[s] = drafted ? static_cast<double>(accepted) / static_cast<double>(drafted) : 0.0;
      tokens_per_pass[s] = static_cast<double>(generated) / static_cast<double>(passes);
    };
    arms.push_back({"mtp", fmt::format("+ {} MTP module(s), λ = {:g}", model.mtp_depth, weight), model, with, decode, ""});
  }
  add_arms(report, arms, progress);
  finish_report(report, options);
  double a = 0, a_std = 0, t = 0, t_std = 0;
  mean_and_std(acceptance, a, a_std);
  mean_and_std(tokens_per_pass, t, t_std);
  report.footer = fmt::format("speculative decoding with MTP module 1 as drafter (8 held-out prompts × 32 tokens): acceptance "
                              "{:.1f}%{}, {:.2f}{} tokens per main-model forward pass (V3 §5.4.3: 85–90%, 1.8× TPS)\n",
                              100 * a, seeds > 1 ? fmt::format(" ± {:.1f}%", 100 * a_std) : std::string(), t,
                              seeds > 1 ? fmt::format(" ± {:.2f}", t_std) : std::string());
  report.details = {{"acceptance", acceptance}, {"tokens_per_main_pass", tokens_per_pass}};
  return report;
}

}  // namespace frugal::core
