// The distillation experiment (experiments.hpp, run_distillation): a larger MoE teacher into a
// small dense student — hard labels, logit distillation, sequence-level distillation.
#include <cmath>

#include <fmt/format.h>

#include "experiment_helpers.hpp"
#include "frugal/config/config_error.hpp"
#include "frugal/core/distillation.hpp"

namespace frugal::core {

// Half the teacher's layers, dense, with half the FFN width a teacher's token activates.
ModelConfig distillation_student(const ModelConfig& teacher) {
  ModelConfig student = teacher;
  student.name = teacher.name + "-student";
  student.num_layers = std::max<Index>(1, teacher.num_layers / 2);
  const Index activated_width = teacher.is_moe()
                                    ? (teacher.moe.shared_experts + teacher.moe.top_k) * teacher.moe.expert_intermediate_size
                                    : teacher.ffn_intermediate_size;
  student.ffn_intermediate_size = std::max<Index>(1, activated_width / 2);
  student.moe = MoeConfig{};
  student.mtp_depth = 0;
  return student;
}

namespace {

struct TeacherCosts {
  std::vector<double> logit_flops, sequence_flops, impossible;
};

// "mean ± std" with `decimals` decimals, the mean signed when `sign`; the mean alone for one value.
std::string mean_std_text(const std::vector<double>& v, int decimals, bool sign = false) {
  double mean = 0, std = 0;
  mean_and_std(v, mean, std);
  const std::string m = sign ? fmt::format("{:+.{}f}", mean, decimals) : fmt::format("{:.{}f}", mean, decimals);
  return v.size() > 1 ? m + " ± " + fmt::format("{:.{}f}", std, decimals) : m;
}

}  // namespace

ExperimentReport run_distillation(const ModelConfig& teacher_model, const TrainOptions& options, int seeds,
                                  const ArmProgress& progress, double teacher_step_factor) {
  if (!teacher_model.is_moe())
    throw ConfigError("model.moe.routed_experts", "the distillation experiment's teacher is an MoE model: give one with routed experts");
  if (!(teacher_step_factor > 0)) throw ConfigError("teacher_step_factor", "must be positive");
  ExperimentReport report;
  report.name = "distillation";
  report.question =
      "At equal student compute, how much does a small dense student gain from a larger MoE teacher's logits, or from its samples?";
  report.seeds = seeds;

  // The teacher: the given MoE model, trained on the real data for longer than the students.
  TrainOptions teacher_options = options;
  teacher_options.distillation = DistillationOptions{};
  teacher_options.steps = std::max<std::int64_t>(1, std::llround(static_cast<double>(options.steps) * teacher_step_factor));
  std::shared_ptr<Transformer<float>> teacher;
  const ArmResult teacher_run = run_arm("teacher", "", teacher_model, teacher_options, progress,
                                        [&](Trainer& t) { teacher = t.shared_model(); });

  const ModelConfig student = distillation_student(teacher_model);
  TeacherCosts costs;
  for (int seed = 0; seed < seeds; ++seed) {
    TrainOptions hard = with_seed(options, seed);
    hard.mtp_weight = 0;
    hard.distillation = DistillationOptions{};
    TrainOptions logit = hard, sequence = hard;
    logit.distillation = sequence.distillation = options.distillation;
    logit.distillation.kind = DistillationOptions::Kind::logit;
    sequence.distillation.kind = DistillationOptions::Kind::sequence;
    const DistillationOptions& d = options.distillation;

    report.arms.push_back(run_arm("hard-labels", "next-token loss on the real data", student, hard, progress));
    report.arms.push_back(run_arm(
        "logit-kd", fmt::format("real data; α = {:g} of T² · KL to the teacher at T = {:g}, 1 − α hard labels", d.alpha, d.temperature),
        student, logit, progress, [&](Trainer& t) { costs.logit_flops.push_back(t.teacher_flops()); }, teacher));
    const std::int64_t samples = d.samples > 0 ? d.samples : hard.steps * hard.batch_size;
    report.arms.push_back(run_arm(
        "sequence-kd",
        fmt::format("next-token loss on {} sequences the teacher sampled at τ = {:g}", samples, d.sample_temperature), student,
        sequence, progress,
        [&](Trainer& t) {
          costs.sequence_flops.push_back(t.teacher_flops());
          costs.impossible.push_back(impossible_transition_fraction(*t.teacher_corpus(), t.source()));
        },
        teacher));
  }
  finish_report(report, options);

  // The footer: the teacher, each arm's distance to the floor, and what the teacher cost.
  const double teacher_loss = teacher_run.final_eval_loss();
  report.footer = fmt::format("teacher: {} ({} parameters, {} activated), {} steps, held-out loss {:.4f}", teacher_model.name,
                              teacher_run.parameters, teacher_run.activated_parameters, teacher_options.steps, teacher_loss);
  if (!std::isnan(report.loss_floor)) report.footer += fmt::format(" ({:+.4f} above the floor)", teacher_loss - report.loss_floor);
  report.footer += "\n";
  nlohmann::json gaps = nlohmann::json::object();
  if (!std::isnan(report.loss_floor)) {
    report.footer += "gap to the floor (final held-out − floor):";
    for (const char* arm : {"hard-labels", "logit-kd", "sequence-kd"}) {
      std::vector<double> gap;
      for (const ArmResult& a : report.arms)
        if (a.name == arm) gap.push_back(a.final_eval_loss() - report.loss_floor);
      report.footer += fmt::format(" {} {}", arm, mean_std_text(gap, 4, true));
      gaps[arm] = gap;
    }
    report.footer += "\n";
  }
  std::vector<double> logit_g, sequence_g;
  for (double f : costs.logit_flops) logit_g.push_back(f / 1e9);
  for (double f : costs.sequence_flops) sequence_g.push_back(f / 1e9);
  report.footer += fmt::format("teacher compute on top of the student's: logit-kd {} GFLOP (a forward pass per batch), "
                               "sequence-kd {} GFLOP (writing the sequences token by token, one pass per token with a KV cache)\n",
                               mean_std_text(logit_g, 1), mean_std_text(sequence_g, 1));
  if (!costs.impossible.empty() && !std::isnan(costs.impossible.front()))
    report.footer += fmt::format("teacher-written transitions the true source never makes: {}%\n",
                                 mean_std_text([&] {
                                   std::vector<double> p;
                                   for (double x : costs.impossible) p.push_back(100 * x);
                                   return p;
                                 }(), 2));
  report.details = {{"teacher",
                     {{"model", teacher_model.name},
                      {"parameters", teacher_run.parameters},
                      {"activated_parameters", teacher_run.activated_parameters},
                      {"steps", teacher_options.steps},
                      {"final_eval_loss", teacher_loss},
                      {"flops", teacher_run.flops()}}},
                    {"gap_to_floor", gaps},
                    {"teacher_flops_logit_kd", costs.logit_flops},
                    {"teacher_flops_sequence_kd", costs.sequence_flops},
                    {"impossible_transition_fraction", costs.impossible}};
  return report;
}

}  // namespace frugal::core
