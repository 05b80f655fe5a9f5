// The experiments the chapters use, as library calls (a test runs a short version of each):
//   dense_vs_moe — DeepSeekMoE against a dense model with the same activated parameters, trained
//                  on the same tokens; losses compared at equal executed training FLOPs.
//   balancing    — auxiliary-loss-free balancing (V3 §2.1.2) against a batch-wise auxiliary loss
//                  on the same sigmoid, group-limited router, and against no balancing at all, no
//                  token dropped in any: MaxVio and loss of each (the V3 report's ablation, §4.5.3).
//   balancing-gamma — the bias update speed γ swept: too slow to balance, or swinging
//                  (experiment_balancing.cpp).
//   sequence-kd — when a teacher's samples beat the student's own data (experiment_sequence_kd.cpp).
//   fp8, fp8-ablation, fp8-width — V3's FP8 recipe against FP32: whole, one part at a time, and
//                  at several widths (experiment_fp8.cpp).
// Arms are independent: run_arms trains as many at once as the machine has cores.
#pragma once

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "frugal/core/trainer.hpp"

namespace frugal::core {

struct ArmResult {
  std::string name;
  std::string description;
  ModelConfig model;
  TrainOptions options;
  Index parameters = 0;
  Index activated_parameters = 0;
  std::vector<StepMetrics> history;
  double seconds = 0;
  std::string baseline;  // the arm of the same seed its relative_loss_gap is taken against ("": none)

  double final_eval_loss() const;
  double flops() const;
  double tokens_per_second() const;  // over the whole run
  // Mean MaxVio and dropped fraction over the second half of training (after balancing settles).
  double late_max_violation() const;
  double late_dropped_fraction() const;
  // Held-out loss at `flops` executed FLOPs, linearly interpolated between evaluations.
  double eval_loss_at_flops(double flops) const;
};

struct ExperimentReport {
  std::string name;
  std::string question;
  std::vector<ArmResult> arms;  // every arm once per seed, in order: seed 1's arms, seed 2's, …
  int seeds = 1;
  std::string footer;         // the experiment's own conclusion lines (e.g. the FP8 loss gap)
  double loss_floor = 0;      // NaN for text
  double common_flops = 0;    // the FLOPs every run reached: where losses are compared
  nlohmann::json details = nlohmann::json::object();  // the experiment's own figures, for report_json
};

// One arm's results over its seeds: mean and sample standard deviation (0 for one seed).
struct ArmSummary {
  std::string name, description;
  Index parameters = 0, activated_parameters = 0;
  bool moe = false;  // MaxVio and dropped mean something
  int runs = 0;
  double flops = 0, tokens_per_second = 0;
  double loss_at_common_flops = 0, loss_at_common_flops_std = 0;
  double final_eval_loss = 0, final_eval_loss_std = 0;
  double max_violation = 0, max_violation_std = 0;
  double dropped_fraction = 0;
  // (L − L_baseline) / L_baseline of final held-out losses, seed by seed; NaN without a baseline.
  double relative_loss_gap = std::nan(""), relative_loss_gap_std = std::nan("");
};
std::vector<ArmSummary> summarize(const ExperimentReport& report);
// The summary of the arm called `name` (ConfigError naming it when the report has none).
const ArmSummary& summary_of(const std::vector<ArmSummary>& summary, const std::string& name);
// Whether `a` sits above `b` beyond the noise: by more than twice the standard error of the
// difference over seeds, or, with one seed (no spread to judge by), by more than one_seed_margin · b.
// Every conclusion sentence the experiments and chapters print is decided by it.
bool above_beyond_noise(double a, double a_std, double b, double b_std, int seeds, double one_seed_margin);
// "lower than", "higher than" or "within the noise of": `a` against `b` by that rule.
std::string compared_with(double a, double a_std, double b, double b_std, int seeds, double one_seed_margin);

using ArmProgress = std::function<void(const std::string& arm, const Trainer& trainer)>;

// The dense model with the MoE model's activated FFN width: (shared + top_k) · expert width.
ModelConfig dense_counterpart(const ModelConfig& moe);

// `seeds` runs of every arm, with seeds options.seed, options.seed + 1, … (weights and batches).
ExperimentReport run_dense_vs_moe(const ModelConfig& moe, const TrainOptions& options, int seeds = 1,
                                  const ArmProgress& progress = {});
ExperimentReport run_balancing(const ModelConfig& moe, const TrainOptions& options, int seeds = 1,
                               const ArmProgress& progress = {});
// The bias update speed γ swept: one aux-loss-free arm per γ and seed (experiment_balancing.cpp).
// details["gammas"]: rows {gamma, final_eval_loss(_std), late_max_violation(_std),
// late_max_violation_swing (the step-to-step standard deviation of MaxVio over the second half), seeds}.
ExperimentReport run_balancing_gamma(const ModelConfig& moe, const TrainOptions& options, const std::vector<double>& gammas,
                                     int seeds = 1, const ArmProgress& progress = {});
// The sentence the sweep's numbers support: the γ that balances best, smaller ones still balancing
// at the end and larger ones balancing worse late, each beyond twice the standard error over seeds.
std::string balancing_gamma_conclusion(const ExperimentReport& report);
// The sweep's row with the lowest late MaxVio: the γ that balances best.
const nlohmann::json& best_gamma_row(const ExperimentReport& report);
// The balancing experiment read off its numbers: the bias's loss and MaxVio against the auxiliary
// loss's, each lower, higher or a tie by the same noise rule.
std::string balancing_conclusion(const ExperimentReport& report);
std::string gamma_arm_name(double gamma);

// FP8 training (V3 report §3.3) against FP32 on the same seeds: E4M3 Linear GEMMs with 1×128 /
// 128×128 online scales and BF16 optimizer moments. The footer gives the relative loss gap
// (L_fp8 − L_fp32) / L_fp32 per seed; the V3 report's is below 0.25% at 16B–230B parameters.
ExperimentReport run_fp8_vs_fp32(const ModelConfig& model, const TrainOptions& options, int seeds = 1,
                                 const ArmProgress& progress = {});
// (L_fp8 − L_fp32) / L_fp32 of final held-out losses, one per seed, from a run_fp8_vs_fp32 report.
std::vector<double> fp8_relative_loss_gaps(const ExperimentReport& report);
// An arm's relative_loss_gap against its baseline arm of the same seed (NaN without one).
double relative_loss_gap(const ExperimentReport& report, const ArmResult& arm);

// The FP8 recipe one part at a time, each arm's relative_loss_gap against FP32 at equal tokens:
// FP8 in forward only; + dgrad; + wgrad; + BF16 moments (V3's whole recipe); then the recipe with
// per-tensor scales, with power-of-two (UE8M0) scales, and without promotion to FP32.
ExperimentReport run_fp8_ablation(const ModelConfig& model, const TrainOptions& options, int seeds = 1,
                                  const ArmProgress& progress = {});
// The whole recipe against FP32 at each hidden width (the model scaled by scaled_to_width); arms
// "fp32 h<width>" and "fp8 h<width>". The footer gives the gap per width.
ExperimentReport run_fp8_width(const ModelConfig& model, const TrainOptions& options, const std::vector<Index>& widths,
                               int seeds = 1, const ArmProgress& progress = {});
// The sentences the chapter prints, computed from the report's own numbers (mean gaps over seeds):
// whether FP8's gap stands out (|gap| > |FP32 twin's gap| + 2 × the larger standard error);
// which step of the recipe adds the most to the ablation's gap (forward, dgrad, wgrad, BF16
// moments) and what per-tensor scales, UE8M0 and no promotion add on top; whether the gap falls
// with width (every wider width's gap below the narrower's).
std::string fp8_gap_conclusion(const ExperimentReport& report);
std::string fp8_ablation_conclusion(const ExperimentReport& report);
std::string fp8_width_conclusion(const ExperimentReport& report);
// Two run_fp8_vs_fp32 reports of the same model, one on a source learned through a plateau (the
// order-2 Markov source: the loss falls sharply once attention finds the previous token) and one
// on a source learned without (order 1: the current token alone predicts the next). Says whether
// the smooth source's gap is within V3's 0.25% (|mean| + 2 standard errors below it), and whether
// the plateau source's gaps scatter so much more (over 5× the spread) that what they measure is
// when each run escapes its plateau rather than FP8's arithmetic.
std::string fp8_source_conclusion(const ExperimentReport& plateau, const ExperimentReport& smooth);

// The model with every width (hidden, attention ranks and head dims, FFN and expert widths) scaled
// by hidden / model.hidden_size; layers, heads, experts and routing kept.
ModelConfig scaled_to_width(const ModelConfig& model, Index hidden);

// Multi-Token Prediction (V3 §2.2; Table 4 ablation) at equal training tokens: the main model's
// held-out loss without and with MTP (λ = options.mtp_weight, or 0.3 when unset), and, for the MTP
// arm, speculative decoding on held-out prompts: acceptance rate and tokens per main forward pass.
ExperimentReport run_mtp(const ModelConfig& model, const TrainOptions& options, int seeds = 1,
                         const ArmProgress& progress = {});

// Distillation (Hinton et al. 2015; Kim & Rush 2016; DeepSeek-R1 §2.4): a larger MoE teacher
// (`teacher`, trained here for options.steps × teacher_step_factor steps) into a small dense
// student (distillation_student), three ways at equal student compute — the same steps, batches
// and executed student FLOPs: hard labels only; logit distillation (T = options.distillation.
// temperature, α = .alpha); sequence-level distillation on options.distillation.samples teacher-
// written sequences (0: one per training sequence). Held-out losses are on the real data; the
// footer gives the teacher, each arm's gap to the entropy floor and the teacher's own FLOPs.
ModelConfig distillation_student(const ModelConfig& teacher);
ExperimentReport run_distillation(const ModelConfig& teacher, const TrainOptions& options, int seeds = 1,
                                  const ArmProgress& progress = {}, double teacher_step_factor = 2.0);

// When sequence-level distillation helps (Kim & Rush 2016 §3; DeepSeek-R1 §2.4 distils by SFT on
// the teacher's samples): the student trained on a teacher's samples against on its own real data
// as that data runs short (data.train_sequences, read in order), and on both mixed
// (distillation.mix); then samples at a lower temperature, fewer samples reread, and samples of a
// longer-trained teacher (experiment_sequence_kd.cpp). Equal student steps and batches in every arm.
struct SequenceKdSweep {
  std::vector<std::int64_t> real_sequences{64, 512, 0};  // 0: fresh real data every step
  double mix = 0.5;                                      // the teacher's share of a mixed batch
  double cold_temperature = 0.5;
  std::int64_t few_samples = 512;
  double teacher_step_factor = 2, long_teacher_step_factor = 4;  // × options.steps
};
// details: "teachers" {name, steps, final_eval_loss, impossible_transition_fraction}, "crossover"
// rows {real_sequences, real(_std), mixed(_std), samples(_std)}, "cold_temperature".
ExperimentReport run_sequence_kd(const ModelConfig& teacher, const TrainOptions& options, const SequenceKdSweep& sweep,
                                 int seeds = 1, const ArmProgress& progress = {});
// The sentence the numbers support: where samples beat real data and where real data wins, whether
// mixing helps, and each variant against samples at τ = 1, by twice the standard error over seeds.
std::string sequence_kd_conclusion(const ExperimentReport& report);
// "real/64", "mixed/all": the arm trained on `kind` data with that many real sequences.
std::string real_data_arm_name(const char* kind, std::int64_t real_sequences);

// One arm to train: what run_arm takes. `finished` sees the trained model (from the arm's thread).
struct ArmSpec {
  std::string name, description;
  ModelConfig model;
  TrainOptions options;
  std::function<void(Trainer&)> finished;
  std::string baseline;
  // Sequence-level distillation from a transfer set written beforehand (the teacher is then only
  // checked, never run, so arms can train at once).
  std::shared_ptr<Transformer<float>> teacher = nullptr;
  std::shared_ptr<const TeacherCorpus> corpus = nullptr;
};
// Trains every arm, as many at once as the machine has cores (each arm is single-threaded and shares
// nothing with the others, so results are those of running them one by one); in the order given.
// Progress calls are serialised.
std::vector<ArmResult> run_arms(const std::vector<ArmSpec>& arms, const ArmProgress& progress);

// Trains one arm to the end; `finished` sees the trained model. With `corpus`, sequence-level
// distillation trains on it (Trainer::use_teacher_corpus) instead of a transfer set of its own.
ArmResult run_arm(const std::string& name, const std::string& description, const ModelConfig& model,
                  const TrainOptions& options, const ArmProgress& progress,
                  const std::function<void(Trainer&)>& finished = {},
                  std::shared_ptr<Transformer<float>> teacher = nullptr,
                  std::shared_ptr<const TeacherCorpus> corpus = nullptr);

// A table of the arms, for terminals and chapters.
std::string format_report(const ExperimentReport& report);
nlohmann::json report_json(const ExperimentReport& report);

}  // namespace frugal::core
