// Distillation: the teacher's logits reach the student's loss, its samples become the
// student's data, teacher compute is kept apart from the student's, resumed runs are bit-identical,
// and a teacher that does not fit is refused with the reason.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>

#include "frugal/config/config_error.hpp"
#include "frugal/core/checkpoint.hpp"
#include "frugal/core/decode.hpp"
#include "frugal/core/distillation.hpp"
#include "frugal/core/experiments.hpp"
#include "frugal/core/trainer.hpp"
#include "tiny_models.hpp"

namespace frugal::core {
namespace {
using testing::test_moe_model;
using testing::test_options;

std::string temp(const std::string& name) { return ::testing::TempDir() + "/frugal_distillation_" + name; }

// A teacher of the test MoE shape, freshly initialised (seed 5) or trained for `steps` steps.
std::shared_ptr<Transformer<float>> make_teacher(std::int64_t steps = 0) {
  TrainOptions o = test_options(std::max<std::int64_t>(steps, 1));
  o.seed = 5;
  Trainer t(test_moe_model(), o);
  for (std::int64_t s = 0; s < steps; ++s) t.step();
  return t.shared_model();
}

ModelConfig student_model() { return distillation_student(test_moe_model()); }

TrainOptions distilling(DistillationOptions::Kind kind, std::int64_t steps) {
  TrainOptions o = test_options(steps);
  o.distillation.kind = kind;
  return o;
}

TEST(Distillation, StudentIsASmallerDenseModel) {
  const ModelConfig teacher = test_moe_model(), student = student_model();
  EXPECT_FALSE(student.is_moe());
  EXPECT_EQ(student.num_layers, 1);
  EXPECT_EQ(student.ffn_intermediate_size, (1 + 2) * 16 / 2);  // half the width a teacher token activates
  EXPECT_EQ(student.vocab_size, teacher.vocab_size);
}

// With α = 0 the teacher's logits carry no weight: the run is the hard-label run, bit for bit, and
// the student's training FLOPs do not include the teacher's forward passes.
TEST(Distillation, LogitDistillationWithAlphaZeroIsHardLabelTraining) {
  const auto teacher = make_teacher();
  TrainOptions kd = distilling(DistillationOptions::Kind::logit, 4);
  kd.distillation.alpha = 0;
  Trainer plain(student_model(), test_options(4)), distilled(student_model(), kd, teacher);
  while (!plain.finished()) plain.step();
  while (!distilled.finished()) distilled.step();
  EXPECT_EQ(plain.model().params().values(), distilled.model().params().values());
  EXPECT_EQ(plain.flops(), distilled.flops());
  EXPECT_GT(distilled.teacher_flops(), 0.0);
  EXPECT_FALSE(std::isnan(distilled.history().back().distillation_loss));
  EXPECT_TRUE(std::isnan(plain.history().back().distillation_loss));
}

// A student that starts as an exact copy of its teacher (same model, same seed) has nothing to
// learn from it: KL = 0 at the first step.
TEST(Distillation, AStudentEqualToItsTeacherHasZeroSoftLoss) {
  TrainOptions o = test_options(1);
  o.seed = 5;
  const auto teacher = make_teacher();
  TrainOptions kd = o;
  kd.distillation.kind = DistillationOptions::Kind::logit;
  Trainer t(test_moe_model(), kd, teacher);
  EXPECT_NEAR(t.step().distillation_loss, 0.0, 1e-9);
}

// The soft loss pulls the student towards the teacher: after training on it alone (α = 1), the
// student's T²·KL to the teacher is far below where it started.
TEST(Distillation, LogitDistillationMovesTheStudentTowardsTheTeacher) {
  const auto teacher = make_teacher(30);
  TrainOptions kd = distilling(DistillationOptions::Kind::logit, 40);
  kd.distillation.alpha = 1.0;
  Trainer t(student_model(), kd, teacher);
  const double first = t.step().distillation_loss;
  while (!t.finished()) t.step();
  EXPECT_LT(t.history().back().distillation_loss, 0.3 * first) << "first " << first;
}

// τ = 0 is greedy decoding: the batched sampler writes what greedy_decode writes one sequence at a time.
TEST(Distillation, GreedySamplingIsGreedyDecoding) {
  const auto teacher = make_teacher(10);
  const std::vector<int> first{3, 0, 7};
  Rng rng(1);
  const std::vector<int> sampled = sample_sequences(*teacher, first, 12, 0.0, rng);
  for (std::size_t s = 0; s < first.size(); ++s) {
    const DecodeResult d = greedy_decode(*teacher, {first[s]}, 11);
    EXPECT_EQ(std::vector<int>(sampled.begin() + static_cast<std::ptrdiff_t>(s * 12), sampled.begin() + static_cast<std::ptrdiff_t>(s * 12 + 12)),
              d.tokens);
  }
}

// τ = 1 draws from the model's own distribution: 4000 samples of the token after a fixed first
// token match softmax of its logits (each frequency within 4 standard errors).
TEST(Distillation, SamplingFollowsTheModelsDistribution) {
  const auto teacher = make_teacher(10);
  const int count = 4000;
  Rng rng(2);
  const std::vector<int> sampled = sample_sequences(*teacher, std::vector<int>(count, 4), 2, 1.0, rng);
  const Matrix<float>& logits = teacher->infer({4}, 1, 1);
  const Eigen::ArrayXd p = (logits.row(0).transpose().cast<double>().array() - logits.maxCoeff()).exp();
  const Eigen::ArrayXd probability = p / p.sum();
  std::map<int, int> seen;
  for (int s = 0; s < count; ++s) ++seen[sampled[static_cast<std::size_t>(2 * s + 1)]];
  for (Index v = 0; v < probability.size(); ++v) {
    const double expected = probability(v), observed = seen[static_cast<int>(v)] / static_cast<double>(count);
    EXPECT_NEAR(observed, expected, 4 * std::sqrt(expected * (1 - expected) / count) + 1e-3) << "token " << v;
  }
}

// Sequence-level distillation trains on what the teacher wrote, in order, each sequence once per
// pass; the first token of each comes from the real data; held-out evaluation stays on real data.
TEST(Distillation, SequenceLevelTrainsOnTheTeachersSamples) {
  const auto teacher = make_teacher(20);
  TrainOptions o = distilling(DistillationOptions::Kind::sequence, 3);
  o.distillation.samples = 10;
  Trainer t(student_model(), o, teacher);
  EXPECT_EQ(t.teacher_corpus(), nullptr);  // written on the first step, or when asked
  t.write_teacher_corpus();
  const TeacherCorpus& corpus = *t.teacher_corpus();
  ASSERT_EQ(corpus.size(), 10);
  EXPECT_GT(t.teacher_flops(), 0.0);
  const Batch b0 = corpus.batch(0, 8), b1 = corpus.batch(1, 8);
  const auto& tokens = corpus.tokens();
  const std::int64_t L = o.seq_len + 1;
  for (std::int64_t i = 0; i < o.seq_len; ++i) {
    EXPECT_EQ(b0.inputs[static_cast<std::size_t>(i)], tokens[static_cast<std::size_t>(i)]);
    EXPECT_EQ(b0.targets[static_cast<std::size_t>(i)], tokens[static_cast<std::size_t>(i + 1)]);
    // step 1 starts at sequence 8 and wraps to sequence 0 after sequence 9
    EXPECT_EQ(b1.inputs[static_cast<std::size_t>(i)], tokens[static_cast<std::size_t>(8 * L + i)]);
    EXPECT_EQ(b1.inputs[static_cast<std::size_t>(2 * o.seq_len + i)], tokens[static_cast<std::size_t>(i)]);
  }
  // The same seed writes the same corpus.
  Trainer again(student_model(), o, teacher);
  again.step();
  EXPECT_EQ(again.teacher_corpus()->tokens(), tokens);
  // Every first token is one the real source starts sequences with (order 1: any of its 16).
  for (std::int64_t s = 0; s < 10; ++s) EXPECT_LT(tokens[static_cast<std::size_t>(s * L)], 16);
  while (!t.finished()) t.step();
  EXPECT_FALSE(std::isnan(t.history().back().eval_loss));
}

// An untrained teacher is nearly uniform over its 32 tokens; the order-1 source uses 16 of them
// and allows 3 after each. A transition is possible when the previous token is one of the 16 (always
// for the first, a real prompt token; else probability 1/2) and the next one of its 3 (3/32):
// possible = (3/32 + 31 · 3/64) / 32 over the 32 transitions of a sequence, so ≈ 95.2% impossible.
TEST(Distillation, ImpossibleTransitionsOfANearlyUniformTeacher) {
  const auto teacher = make_teacher();
  TrainOptions o = test_options(1);
  const auto source = make_token_source(o.data, o.seq_len);
  const TeacherCorpus corpus(*teacher, *source, 64, o.seq_len, 1.0, 9);
  const double possible = (3.0 / 32.0 + 31.0 * 3.0 / 64.0) / 32.0;
  EXPECT_NEAR(impossible_transition_fraction(corpus, *source), 1.0 - possible, 0.02);
}

TEST(Distillation, ResumedDistilledRunsAreBitIdentical) {
  const auto teacher = make_teacher(10);
  for (auto kind : {DistillationOptions::Kind::logit, DistillationOptions::Kind::sequence}) {
    const std::string path = temp(std::string(to_string(kind)) + ".ckpt");
    const TrainOptions o = distilling(kind, 6);
    Trainer straight(student_model(), o, teacher);
    while (!straight.finished()) straight.step();
    Trainer first(student_model(), o, teacher);
    for (int i = 0; i < 3; ++i) first.step();
    first.save_checkpoint(path);
    Trainer second(student_model(), o, teacher);
    second.load_checkpoint(path);
    while (!second.finished()) second.step();
    EXPECT_EQ(straight.model().params().values(), second.model().params().values()) << to_string(kind);
    EXPECT_EQ(straight.teacher_flops(), second.teacher_flops()) << to_string(kind);
  }
}

TEST(Distillation, TeacherFromFilesAndTeachersThatDoNotFit) {
  // A teacher trained and saved as frugal-train does, then named by the student's options.
  const std::string ckpt = temp("teacher.ckpt"), config = temp("teacher.json");
  {
    Trainer t(test_moe_model(), test_options(2));
    t.step();
    t.save_checkpoint(ckpt);
  }
  std::ofstream(config) << R"({"model": {"name": "test-moe", "vocab_size": 32, "hidden_size": 32, "num_layers": 2, "max_seq_len": 32,
    "attention": {"kind": "mla", "num_heads": 2, "q_lora_rank": 16, "kv_lora_rank": 8, "qk_nope_head_dim": 8, "qk_rope_head_dim": 4, "v_head_dim": 8},
    "ffn": {"intermediate_size": 64},
    "moe": {"routed_experts": 8, "shared_experts": 1, "top_k": 2, "expert_intermediate_size": 16, "first_dense_layers": 1,
            "groups": 4, "groups_per_token": 2, "score_func": "sigmoid", "normalize_top_k": true}}})";
  TrainOptions o = distilling(DistillationOptions::Kind::logit, 2);
  o.distillation.teacher_config = config;
  o.distillation.teacher_checkpoint = ckpt;
  Trainer student(student_model(), o);
  ASSERT_NE(student.teacher(), nullptr);
  EXPECT_EQ(student.teacher()->parameter_count(), Trainer(test_moe_model(), test_options(1)).model().parameter_count());
  student.step();

  // The student's own checkpoint is not the teacher's model: refused, naming the first differing tensor.
  student.save_checkpoint(temp("student.ckpt"));
  o.distillation.teacher_checkpoint = temp("student.ckpt");
  try {
    Trainer wrong(student_model(), o);
    ADD_FAILURE() << "a checkpoint of another model was accepted as the teacher";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("student.ckpt"), std::string::npos) << e.what();
  }
  // A teacher with another vocabulary cannot give logits token for token.
  ModelConfig wide = student_model();
  wide.vocab_size = 64;
  try {
    Trainer wrong(wide, distilling(DistillationOptions::Kind::logit, 1), make_teacher());
    ADD_FAILURE() << "a teacher with another vocabulary was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("cpu_training.distillation.teacher_config"), std::string::npos) << e.what();
  }
  // Distilling without naming the teacher is a config error naming the missing field.
  EXPECT_THROW(parse_train_options(nlohmann::json::parse(R"({"distillation": {"kind": "logit", "teacher_config": "t.json"}})"),
                                   "cpu_training"),
               ConfigError);
}

// The chapter's experiment in its short form: the three arms at equal student compute, the
// teacher's costs apart, and the gaps to the floor.
TEST(Distillation, ExperimentShortForm) {
  TrainOptions o = test_options(20);
  o.eval_every = 10;
  o.distillation.samples = 40;
  const ExperimentReport r = run_distillation(test_moe_model(), o, 1, {}, 1.5);
  ASSERT_EQ(r.arms.size(), 3u);
  EXPECT_EQ(r.arms[0].name, "hard-labels");
  EXPECT_EQ(r.arms[1].name, "logit-kd");
  EXPECT_EQ(r.arms[2].name, "sequence-kd");
  for (const auto& a : r.arms) {
    EXPECT_EQ(a.flops(), r.arms[0].flops()) << a.name;  // equal student compute
    EXPECT_EQ(a.parameters, r.arms[0].parameters);
    EXPECT_GT(a.final_eval_loss(), r.loss_floor - 0.05) << a.name;
  }
  EXPECT_EQ(r.details["teacher"]["steps"], 30);
  EXPECT_GT(r.details["teacher_flops_logit_kd"][0].get<double>(), 0.0);
  EXPECT_GT(r.details["teacher_flops_sequence_kd"][0].get<double>(), 0.0);
  const std::string text = format_report(r);
  for (const char* needle : {"teacher:", "gap to the floor", "logit-kd", "sequence-kd", "never makes"})
    EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;
}

}  // namespace
}  // namespace frugal::core
