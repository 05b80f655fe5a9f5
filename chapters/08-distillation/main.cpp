// Chapter 8 · Distillation: a larger MoE teacher into a small dense student, by its logits
// (Hinton et al. 2015) and by its samples (Kim & Rush 2016; DeepSeek-R1 §2.4), at equal student
// compute; what the teacher's soft targets hold that a hard label does not.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <numeric>

#include "../common/narrator.hpp"
#include "distillation_run.hpp"
#include "frugal/core/data.hpp"
#include "frugal/core/experiments.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/distillation.hpp"
#include "frugal/sim/format.hpp"
#include "frugal/sim/serving_report.hpp"

using namespace frugal;
using namespace frugal::chapters;
using namespace frugal::core;

namespace {

// p_i = exp(z_i / T) / Σ_j exp(z_j / T): the tempered softmax of Hinton et al. (2015), eq. 1.
std::vector<double> tempered_softmax(const RowVector<float>& logits, double temperature) {
  const Eigen::ArrayXd z = logits.transpose().cast<double>().array() / temperature;
  const Eigen::ArrayXd e = (z - z.maxCoeff()).exp();
  const Eigen::ArrayXd p = e / e.sum();
  return {p.data(), p.data() + p.size()};
}

// The teacher's next-token distribution after one held-out context, at T = 1 and T = 2, beside the
// source's true one: the teacher's top tokens.
std::string soft_targets(Transformer<float>& teacher, const TokenSource& source) {
  Rng rng(8);
  const Index length = 12;
  const Batch b = source.sample(rng, 1, length, true);
  const Matrix<float>& logits = teacher.infer(b.inputs, 1, length);
  const RowVector<float> last = logits.row(length - 1);
  const std::vector<double> t1 = tempered_softmax(last, 1.0), t2 = tempered_softmax(last, 2.0);
  std::vector<double> truth(t1.size(), std::nan(""));
  if (const auto* markov = dynamic_cast<const MarkovSource*>(&source)) {
    const std::vector<double> p = markov->next_distribution(markov->context_of(&b.inputs[length - 1]));
    std::copy(p.begin(), p.end(), truth.begin());
  }
  std::vector<int> order(t1.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int x, int y) { return t1[x] > t1[y]; });
  std::string out = "  context … ";
  for (Index i = length - 4; i < length; ++i) out += fmt::format("{} ", b.inputs[i]);
  out += fmt::format("→ ?   (the hard label: {})\n  {:>5}  {:>12}  {:>14}  {:>14}\n", b.targets[length - 1], "token",
                     "true P(next)", "teacher, T = 1", "teacher, T = 2");
  for (int i = 0; i < 8; ++i)
    out += fmt::format("  {:>5}  {:>12.3f}  {:>14.3f}  {:>14.3f}\n", order[i], truth[order[i]], t1[order[i]], t2[order[i]]);
  return out;
}

// R1's recipe at full scale, priced: DeepSeek-V3 writes 800K answers (R1 §2.4's sample count; the
// answer length is not published, 1,000 tokens assumed) and Llama 3.1 8B, the base of
// R1-Distill-Llama-8B, fine-tunes on them for two epochs on 8 H800s; then both serve the same load.
sim::DistillationEstimate price_r1_style_pipeline() {
  sim::DistillationJob job;
  job.teacher = preset_model("deepseek-v3");
  job.student = preset_model("llama-3.1-8b");
  job.samples = 800000;
  job.tokens_per_sample = 1000;
  job.prompt_tokens = 200;
  job.epochs = 2;
  job.gpu = sim::find_gpu("H800", "gpu");
  job.student_gpus = 8;
  job.workload = sim::ServingWorkload{20.0, {1000, sim::LengthDistribution::exponential}, {300, sim::LengthDistribution::exponential},
                                      0.0, 1000, 1, {}};
  job.slo = {2.0, 0.05};
  return sim::estimate_distillation(job, sim::priced_alike({job.gpu}, job.price_per_gpu_hour));
}

}  // namespace

int main(int argc, char** argv) {
  const ChapterOptions options = parse_chapter_flags(argc, argv, "Chapter 8 · Distillation");
  Narrator n = console_narrator(options);
  const TinyRun setup = distillation_setup(options.quick);
  const ModelConfig student = distillation_student(setup.model);
  n.title("Chapter 8 · Distillation",
          "Goal: train a small dense student from a larger MoE teacher two ways — matching its logits, and "
          "imitating its samples (DeepSeek's way from R1 to its distilled models) — and see what each passes on "
          "and what it costs.");

  n.step("Teacher and student");
  n.say(fmt::format("The teacher is deepseek-v3-tiny (MoE, {} layers), trained {} steps. The student has half its "
                    "layers, no experts and a dense FFN of width {} — half what a teacher token activates. Three "
                    "students see the same batches for {} steps: hard labels only; logit distillation, the loss α·T²·"
                    "KL(teacher_T ‖ student_T) + (1 − α)·CE at T = {:g}, α = {:g}; and sequence-level distillation, "
                    "plain next-token training on sequences the teacher wrote.",
                    setup.model.num_layers, 2 * setup.options.steps, student.ffn_intermediate_size, setup.options.steps,
                    setup.options.distillation.temperature, setup.options.distillation.alpha));

  n.step("Train the teacher, then three students");
  std::shared_ptr<Transformer<float>> teacher;
  const int seeds = chapter_seeds(options.quick);
  const ExperimentReport report = run_distillation(setup.model, setup.options, seeds, [&](const std::string& arm, const Trainer& t) {
    if (arm == "teacher" && t.finished()) teacher = t.shared_model();
  });
  n.show(format_report(report));
  const std::vector<ArmSummary> summary = summarize(report);
  const ArmSummary &hard = summary_of(summary, "hard-labels"), &logit = summary_of(summary, "logit-kd");
  const double floor = report.loss_floor, closed = (hard.final_eval_loss - logit.final_eval_loss) / (hard.final_eval_loss - floor);
  n.say(fmt::format("Logit distillation ends {} hard labels ({:.4f} vs {:.4f}){}.{}",
                    compared_with(logit.final_eval_loss, logit.final_eval_loss_std, hard.final_eval_loss,
                                  hard.final_eval_loss_std, seeds, 0.02),
                    logit.final_eval_loss, hard.final_eval_loss,
                    std::isnan(floor) || !(closed > 0) ? ""
                                                       : fmt::format(": {:.0f}% of the student's gap to the source's "
                                                                     "entropy floor closed at equal student compute",
                                                                     100 * closed),
                    seeds > 1 ? fmt::format(" Means over {} seeds, about 3 minutes on 2 cores.", seeds)
                              : std::string(" One seed in the quick run: `frugal-train experiment distillation` runs 3.")));

  n.step("What a soft target holds");
  n.say("A hard label says which token came next. The teacher's distribution says which tokens could have — and "
        "with what odds. Dividing its logits by T > 1 flattens it, so the small probabilities (Hinton's \"dark "
        "knowledge\") carry weight in the loss; T² keeps their gradient's size.");
  const auto source = make_token_source(setup.options.data, setup.options.seq_len);
  n.show(soft_targets(*teacher, *source));

  n.step("Learning from samples");
  const auto& impossible = report.details.at("impossible_transition_fraction");
  const ArmSummary& samples = summary_of(summary, "sequence-kd");
  const double samples_loss = samples.final_eval_loss;
  // The teacher's FLOPs to write the transfer set over the student's training FLOPs (first seed).
  const double writing_over_training =
      report.details.at("teacher_flops_sequence_kd").front().get<double>() / samples.flops;
  n.say(fmt::format("Sequence-level distillation never sees a logit: the teacher writes text and the student trains on "
                    "it. DeepSeek-R1's distilled models are made that way — supervised fine-tuning of Qwen and Llama "
                    "models on 800K samples R1 curated (R1 §2.4) — because it needs only the teacher's outputs. In this "
                    "run its loss is {} hard labels' ({:.4f} vs {:.4f}), and the hard-label student had something the R1 "
                    "students did not: an unlimited supply of exact real data. The teacher's samples carry its errors, "
                    "and the student learns them too — {:.2f}% of the transitions this run's teacher wrote are ones the "
                    "source never makes. Writing them cost the teacher {:.2f}x the student's own training compute "
                    "(the footer): one pass per token, with a KV cache (Transformer::decode_step); rerunning every "
                    "prefix instead would cost about half the sequence length times as much.",
                    compared_with(samples_loss, samples.final_eval_loss_std, hard.final_eval_loss, hard.final_eval_loss_std,
                                  seeds, 0.02),
                    samples_loss, hard.final_eval_loss,
                    impossible.empty() ? 0.0 : 100 * impossible.front().get<double>(), writing_over_training));

  n.step("When samples beat real data");
  const SequenceKdSweep sweep = sequence_kd_sweep(options.quick);
  std::string amounts;  // the limited amounts: "64 or 512"
  for (std::int64_t r : sweep.real_sequences)
    if (r > 0) amounts += (amounts.empty() ? "" : " or ") + std::to_string(r);
  n.say(fmt::format("So take the real data away. The same student, the same {} steps of {} sequences, now with its own "
                    "real data cut to {} sequences (read over and over), and unlimited as before; beside it the student "
                    "trained on the teacher's samples only, and on batches half samples, half its own data. Then three "
                    "changes to the samples: sample colder (τ = {:g}), fewer samples reread ({}), and a teacher trained "
                    "{:g}× as long instead of {:g}× (Kim & Rush 2016 §3 distil on beam-search output, the mode of the "
                    "teacher; R1 §2.4 on samples curated from a teacher much stronger than its students).{}",
                    setup.options.steps, setup.options.batch_size, amounts, sweep.cold_temperature, sweep.few_samples,
                    sweep.long_teacher_step_factor, sweep.teacher_step_factor,
                    options.quick ? "" : " Three seeds, about 4 minutes on 2 cores."));
  const ExperimentReport crossover = run_sequence_kd(setup.model, setup.options, sweep, seeds);
  n.show(format_report(crossover));  // its footer ends with the sentence the numbers support (sequence_kd_conclusion)
  n.say("Whether colder samples help depends on what is scored. Held-out loss scores the student's whole "
        "distribution: a colder teacher writes fewer of its mistakes but also fewer of the source's plausible "
        "continuations, and a student trained on them learns to be surer than the data allows. Kim & Rush score "
        "translations by BLEU, which rewards the mode — what beam search finds.");
  n.say("That is the article's advice with its condition attached: \"use the larger model to generate training data "
        "for the smaller one\" pays when the teacher's text is more, or better, data than the student would otherwise "
        "have — R1's reasoning traces exist nowhere else — and costs the student when real data is plentiful and the "
        "teacher is still wrong where the data is right.");

  n.step("What a real pipeline costs");
  const sim::DistillationEstimate priced = price_r1_style_pipeline();
  n.say("The article's advice is \"use the larger model to generate training data for the smaller one\". At "
        "DeepSeek's scale that is R1's recipe: the teacher writes 800K answers, a dense 8B fine-tunes on them. The "
        "simulator prices every part — the teacher's generation on its serving capacity, the student's training, and "
        "both models serving 20 requests/s within a p95 TTFT of 2 s and TPOT of 50 ms (`frugal-sim distill`):");
  n.show(sim::distillation_table(priced));
  const double ratio = priced.teacher_cost_per_1k_requests_usd / priced.student_cost_per_1k_requests_usd;
  n.say(fmt::format("The pipeline costs ${:.0f} — {} — and the student then serves at {:.1f}x lower cost per request, so "
                    "it pays back after {} requests. The expensive part of a distilled model is not the distillation: it "
                    "is the teacher that had to exist first (DeepSeek-V3's 2.788M H800-hours) and whether the student is "
                    "good enough, which the simulator does not measure.",
                    priced.total_cost_usd,
                    priced.teacher_gpu_hours > priced.student_gpu_hours ? "most of it the teacher's generation"
                                                                          : "most of it the student's training",
                    ratio,
                    priced.break_even_requests ? sim::format_count(*priced.break_even_requests) : std::string("no number of")));
  for (const sim::ServingCheck& c : sim::validate_published_serving())
    if (c.name.rfind("RTP-LLM decode", 0) == 0)
      n.say(fmt::format("A caution on the teacher's part: the serving model's decode throughput is {:+.0f}% against a "
                        "published DeepSeek-V3 reproduction on H800s (`frugal-sim serve --validate`), so real generation "
                        "would take about {:.1f}x the teacher GPU-hours above.",
                        100 * c.rel_error, 1.0 + c.rel_error));

  n.exercises({"`frugal-train experiment distillation --kd-temperature 1` and `--kd-temperature 4`: which T helps "
               "this student most?",
               "Sample the teacher colder: `--sample-temperature 0.5`. The impossible transitions drop — does the "
               "sequence-KD student improve, and what does it lose? (Compare samples-cold in the sweep.)",
               "`frugal-train experiment sequence-kd --real-sequences 16 32 64 128`: between which amounts of real "
               "data does the crossover fall, and does it move with a longer-trained teacher?",
               "`frugal-sim distill --mode logit --teacher llama-3.1-70b --student llama-3.1-8b`: what does storing "
               "the top-64 logits cost, and when is it cheaper than generating samples?"});
  return 0;
}
