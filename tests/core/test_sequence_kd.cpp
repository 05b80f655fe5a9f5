// Sequence-level distillation against limited real data: a fixed pool of real sequences read in
// order (data.train_sequences), batches that mix the teacher's samples with real ones
// (distillation.mix), a transfer set shared between runs (Trainer::use_teacher_corpus), and the
// sequence-kd experiment whose conclusion is read off its numbers.
#include <gtest/gtest.h>

#include "frugal/config/config_error.hpp"
#include "frugal/core/distillation.hpp"
#include "frugal/core/experiments.hpp"
#include "frugal/core/trainer.hpp"
#include "tiny_models.hpp"

namespace frugal::core {
namespace {
using testing::test_moe_model;
using testing::test_options;

std::shared_ptr<Transformer<float>> fresh_kd_teacher() {
  TrainOptions o = test_options(1);
  o.seed = 5;
  return Trainer(test_moe_model(), o).shared_model();
}

ModelConfig kd_student() { return distillation_student(test_moe_model()); }

// The rows of a batch of seq_len-token sequences, as whole sequences (inputs and last target).
std::vector<std::vector<int>> rows_of(const Batch& b, std::int64_t seq_len) {
  std::vector<std::vector<int>> out;
  for (std::size_t r = 0; r * static_cast<std::size_t>(seq_len) < b.inputs.size(); ++r) {
    const auto first = b.inputs.begin() + static_cast<std::ptrdiff_t>(r * static_cast<std::size_t>(seq_len));
    std::vector<int> s(first, first + seq_len);
    s.push_back(b.targets[(r + 1) * static_cast<std::size_t>(seq_len) - 1]);
    out.push_back(s);
  }
  return out;
}

// cyclic_batch reads sequence s·B + b (mod count), each once per pass, targets shifted by one.
TEST(CyclicBatch, ReadsTheSequencesInOrderAndWraps) {
  // Three sequences of 2 + 1 tokens: {0,1,2}, {10,11,12}, {20,21,22}.
  const std::vector<int> pool = {0, 1, 2, 10, 11, 12, 20, 21, 22};
  const Batch step0 = cyclic_batch(pool, 3, 2, 0, 2), step1 = cyclic_batch(pool, 3, 2, 1, 2);
  EXPECT_EQ(step0.inputs, (std::vector<int>{0, 1, 10, 11}));
  EXPECT_EQ(step0.targets, (std::vector<int>{1, 2, 11, 12}));
  EXPECT_EQ(step1.inputs, (std::vector<int>{20, 21, 0, 1}));  // sequences 2 and 0
  EXPECT_EQ(step1.targets, (std::vector<int>{21, 22, 1, 2}));
}

// data.train_sequences = N: every training sequence is one of the same N, each seen once per pass,
// the same N for the same seed; held-out batches are untouched.
TEST(TrainPool, EveryBatchComesFromTheSameFixedSequences) {
  TrainOptions o = test_options(6);
  o.data.train_sequences = 12;  // 8 per step: steps 0-2 read 24 = two passes
  Trainer t(kd_student(), o);
  std::vector<std::vector<int>> seen;
  for (int s = 0; s < 3; ++s) {
    const auto rows = rows_of(t.training_batch(), o.seq_len);
    seen.insert(seen.end(), rows.begin(), rows.end());
    t.step();
  }
  ASSERT_EQ(seen.size(), 24u);
  for (std::size_t i = 0; i < 12; ++i) EXPECT_EQ(seen[i], seen[i + 12]) << i;  // the second pass repeats the first
  for (std::size_t i = 1; i < 12; ++i) EXPECT_NE(seen[i], seen[0]) << i;      // and the 12 are distinct draws
  Trainer again(kd_student(), o);
  EXPECT_EQ(rows_of(again.training_batch(), o.seq_len)[3], seen[3]);
  // Without a pool, step 1's batch is new data, not a repeat of step 0's.
  TrainOptions fresh = test_options(2);
  Trainer f(kd_student(), fresh);
  const auto first = rows_of(f.training_batch(), fresh.seq_len);
  f.step();
  EXPECT_NE(rows_of(f.training_batch(), fresh.seq_len), first);
}

// distillation.mix: the first round(mix · B) rows are the teacher's, in corpus order; the rest
// real. The transfer set then holds steps × those rows.
TEST(MixedBatches, TheTeachersShareOfEachBatchThenRealData) {
  TrainOptions o = test_options(4);
  o.distillation.kind = DistillationOptions::Kind::sequence;
  o.distillation.mix = 0.25;
  o.data.train_sequences = 6;
  Trainer t(kd_student(), o, fresh_kd_teacher());
  EXPECT_EQ(t.teacher_rows(), 2);
  EXPECT_EQ(t.teacher_corpus_size(), 8);
  t.write_teacher_corpus();
  const TeacherCorpus& corpus = *t.teacher_corpus();
  const auto rows = rows_of(t.training_batch(), o.seq_len);
  ASSERT_EQ(rows.size(), 8u);
  const auto teacher_rows = rows_of(corpus.batch(0, 2), o.seq_len);
  EXPECT_EQ(rows[0], teacher_rows[0]);
  EXPECT_EQ(rows[1], teacher_rows[1]);
  // The six real rows are the pool's six, the pool a student without a teacher reads too.
  TrainOptions plain = test_options(4);
  plain.data.train_sequences = 6;
  const auto pool = rows_of(Trainer(kd_student(), plain).training_batch(), o.seq_len);
  for (std::size_t r = 2; r < 8; ++r) EXPECT_EQ(rows[r], pool[r - 2]) << r;
  // mix rounds to at least one teacher row and at most the batch.
  o.distillation.mix = 0.01;
  EXPECT_EQ(Trainer(kd_student(), o, fresh_kd_teacher()).teacher_rows(), 1);
}

// A transfer set written once trains several runs: each takes the prefix it needs, and one that
// is too short, or of another length, is refused.
TEST(SharedCorpus, EachRunTakesThePrefixItNeeds) {
  TrainOptions o = test_options(3);
  o.distillation.kind = DistillationOptions::Kind::sequence;
  const auto teacher = fresh_kd_teacher();
  const auto source = make_token_source(o.data, o.seq_len);
  const auto corpus = std::make_shared<const TeacherCorpus>(*teacher, *source, 40, o.seq_len, 1.0, 11);
  // A run that needs all 24 (3 steps × 8) of its own writes the same sequences as the shared prefix
  // when the seed of the samples is the same; here only the prefix and the FLOPs share are checked.
  Trainer t(kd_student(), o, teacher);
  t.use_teacher_corpus(corpus);
  ASSERT_EQ(t.teacher_corpus()->size(), 24);
  EXPECT_EQ(t.teacher_corpus()->tokens(),
            std::vector<int>(corpus->tokens().begin(), corpus->tokens().begin() + 24 * (o.seq_len + 1)));
  EXPECT_NEAR(t.teacher_flops(), corpus->generation_flops() * 24 / 40, 1e-6 * corpus->generation_flops());
  EXPECT_EQ(rows_of(t.training_batch(), o.seq_len), rows_of(corpus->batch(0, 8), o.seq_len));
  TrainOptions longer = o;
  longer.steps = 6;  // needs 48
  Trainer too_short(kd_student(), longer, teacher);
  EXPECT_THROW(too_short.use_teacher_corpus(corpus), std::invalid_argument);
  Trainer hard(kd_student(), test_options(3));
  EXPECT_THROW(hard.use_teacher_corpus(corpus), std::invalid_argument);
}

// mix = 1 and no pool is the sequence-level distillation there was before either existed.
TEST(MixedBatches, MixOneIsAllTeacher) {
  TrainOptions o = test_options(2);
  o.distillation.kind = DistillationOptions::Kind::sequence;
  Trainer t(kd_student(), o, fresh_kd_teacher());
  EXPECT_EQ(t.teacher_rows(), 8);
  EXPECT_EQ(t.teacher_corpus_size(), 16);
  t.write_teacher_corpus();
  EXPECT_EQ(rows_of(t.training_batch(), o.seq_len), rows_of(t.teacher_corpus()->batch(0, 8), o.seq_len));
}

TEST(SequenceKdConfig, KeysAreReadAndBadValuesNamed) {
  const TrainOptions o = parse_train_options(
      nlohmann::json::parse(R"({"data": {"train_sequences": 64}, "distillation": {"mix": 0.5}})"), "cpu_training");
  EXPECT_EQ(o.data.train_sequences, 64);
  EXPECT_EQ(o.distillation.mix, 0.5);
  const auto refused = [](const char* json, const char* field) {
    try {
      parse_train_options(nlohmann::json::parse(json), "cpu_training");
      ADD_FAILURE() << json << " was accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  refused(R"({"data": {"train_sequences": -1}})", "cpu_training.data.train_sequences");
  refused(R"({"data": {"train_sequences": 100000000}})", "cpu_training.data.train_sequences");
  refused(R"({"distillation": {"mix": 0}})", "cpu_training.distillation.mix");
  refused(R"({"distillation": {"mix": 1.5}})", "cpu_training.distillation.mix");
}

// The sentence is computed from the arms: move the numbers and it moves.
TEST(SequenceKdExperiment, ConclusionFollowsTheNumbers) {
  // Losses per arm (two seeds, ±0.001 around each value).
  const auto report = [](double real64, double real_all, double mixed64, double samples, double cold, double few, double longer) {
    ExperimentReport r;
    r.seeds = 2;
    r.details["cold_temperature"] = 0.5;
    r.details["crossover"] = nlohmann::json::array({{{"real_sequences", 64}}, {{"real_sequences", 0}}});
    const std::vector<std::pair<std::string, double>> arms = {
        {"real/64", real64}, {"mixed/64", mixed64}, {"real/all", real_all}, {"mixed/all", real_all},
        {"samples", samples}, {"samples-cold", cold}, {"samples-few", few}, {"samples-long", longer}};
    for (int seed = 0; seed < 2; ++seed)
      for (const auto& [name, loss] : arms) {
        ArmResult a;
        a.name = name;
        StepMetrics m;
        m.eval_loss = loss + (seed == 0 ? -0.001 : 0.001);
        a.history = {m};
        r.arms.push_back(a);
      }
    return r;
  };
  const std::string crossover = sequence_kd_conclusion(report(1.60, 1.20, 1.40, 1.30, 1.35, 1.50, 1.25));
  EXPECT_NE(crossover.find("The teacher's samples beat the student's own data with 64 real sequences; real data beats the "
                           "samples with unlimited: sequence-level distillation pays"),
            std::string::npos)
      << crossover;
  EXPECT_NE(crossover.find("Mixing samples into the real data helps with 64"), std::string::npos) << crossover;
  EXPECT_NE(crossover.find("A longer-trained teacher helps"), std::string::npos) << crossover;
  EXPECT_NE(crossover.find("Sampling at τ = 0.5 hurts"), std::string::npos) << crossover;
  const std::string none = sequence_kd_conclusion(report(1.20, 1.19, 1.25, 1.30, 1.30, 1.30, 1.3001));
  EXPECT_NE(none.find("Real data beats the samples with 64 and unlimited: no crossover in this range."), std::string::npos) << none;
  EXPECT_NE(none.find("helps at no amount tried"), std::string::npos) << none;
  EXPECT_NE(none.find("A longer-trained teacher changes nothing beyond the noise"), std::string::npos) << none;
  // Samples ahead with little real data, level with unlimited data (the measured pattern).
  const std::string ties = sequence_kd_conclusion(report(8.2, 1.389, 1.62, 1.39, 1.83, 1.50, 1.37));
  EXPECT_NE(ties.find("with 64 real sequences; with unlimited the two end within the noise: sequence-level distillation pays"),
            std::string::npos)
      << ties;
}

// The experiment in miniature: its arms, equal student steps, the crossover rows and the teachers.
TEST(SequenceKdExperiment, ShortForm) {
  TrainOptions o = test_options(8);
  o.eval_every = 4;
  SequenceKdSweep sweep;
  sweep.real_sequences = {16, 0};
  sweep.few_samples = 16;
  sweep.teacher_step_factor = 1;
  sweep.long_teacher_step_factor = 2;
  const ExperimentReport r = run_sequence_kd(test_moe_model(), o, sweep);
  std::vector<std::string> names;
  for (const ArmResult& a : r.arms) names.push_back(a.name);
  EXPECT_EQ(names, (std::vector<std::string>{"real/16", "mixed/16", "real/all", "mixed/all", "samples", "samples-cold",
                                             "samples-few", "samples-long"}));
  for (const ArmResult& a : r.arms) {
    EXPECT_EQ(a.history.size(), 8u) << a.name;
    EXPECT_EQ(a.flops(), r.arms[0].flops()) << a.name;  // equal student compute
    EXPECT_FALSE(std::isnan(a.final_eval_loss())) << a.name;
  }
  EXPECT_EQ(r.arms[0].options.data.train_sequences, 16);
  EXPECT_EQ(r.arms[1].options.distillation.mix, 0.5);
  EXPECT_EQ(r.details["teachers"][1]["steps"], 16);
  ASSERT_EQ(r.details["crossover"].size(), 2u);
  EXPECT_DOUBLE_EQ(r.details["crossover"][0]["real"].get<double>(), r.arms[0].final_eval_loss());
  EXPECT_NE(r.footer.find("long-teacher:"), std::string::npos) << r.footer;
  EXPECT_THROW(run_sequence_kd(test_moe_model(), o, SequenceKdSweep{{-1}}), ConfigError);
  EXPECT_THROW(run_sequence_kd(kd_student(), o, sweep), ConfigError);
}

}  // namespace
}  // namespace frugal::core
