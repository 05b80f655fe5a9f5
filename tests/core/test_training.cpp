// Training the CPU reference: it learns, it is deterministic, a resumed run is bit-identical to an
// uninterrupted one, bad checkpoints are refused with their reason, and NaN stops the run.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "frugal/config/config_error.hpp"
#include "frugal/core/checkpoint.hpp"
#include "frugal/core/trainer.hpp"
#include "tiny_models.hpp"

namespace frugal::core {
namespace {
using testing::test_moe_model;
using testing::test_options;

std::string temp(const std::string& name) { return ::testing::TempDir() + "/frugal_training_" + name; }

TEST(Training, LossFallsTowardsTheFloor) {
  Trainer t(test_moe_model(), test_options(80));
  const double before = t.evaluate();
  EXPECT_NEAR(before, std::log(32.0), 0.3);  // an untrained model is close to uniform
  while (!t.finished()) t.step();
  const double after = t.history().back().eval_loss;
  // The order-1 source with 3 successors has a floor near ln 3 ≈ 1.1 or below; 80 steps must get
  // most of the way from ln 32 ≈ 3.47.
  EXPECT_LT(after, t.loss_floor() + 0.5) << "floor " << t.loss_floor();
  EXPECT_GT(after, t.loss_floor() - 0.05);  // nothing beats the entropy floor (up to sampling noise)
}

TEST(Training, SameSeedSameWeightsBitForBit) {
  Trainer a(test_moe_model(), test_options(6)), b(test_moe_model(), test_options(6));
  while (!a.finished()) a.step();
  while (!b.finished()) b.step();
  EXPECT_EQ(a.model().params().values(), b.model().params().values());
  TrainOptions other = test_options(6);
  other.seed = 2;
  Trainer c(test_moe_model(), other);
  while (!c.finished()) c.step();
  EXPECT_NE(a.model().params().values(), c.model().params().values());
}

TEST(Training, ResumingFromACheckpointIsBitIdentical) {
  const std::string path = temp("resume.ckpt");
  Trainer straight(test_moe_model(), test_options(8));
  while (!straight.finished()) straight.step();

  Trainer first_half(test_moe_model(), test_options(8));
  for (int i = 0; i < 4; ++i) first_half.step();
  first_half.save_checkpoint(path);
  Trainer second_half(test_moe_model(), test_options(8));
  second_half.load_checkpoint(path);
  EXPECT_EQ(second_half.steps_done(), 4);
  while (!second_half.finished()) second_half.step();

  EXPECT_EQ(straight.model().params().values(), second_half.model().params().values());
  const auto ms = straight.model().moe_layers(), mr = second_half.model().moe_layers();
  for (std::size_t l = 0; l < ms.size(); ++l) EXPECT_EQ(ms[l]->router().bias(), mr[l]->router().bias());
  ASSERT_EQ(second_half.history().size(), 8u);  // the history travels with the checkpoint
  EXPECT_EQ(straight.history().back().loss, second_half.history().back().loss);
  EXPECT_EQ(straight.flops(), second_half.flops());
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

void expect_refused(Trainer& t, const std::string& path, const std::string& reason) {
  try {
    t.load_checkpoint(path);
    FAIL() << "accepted " << path;
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, CorruptTruncatedForeignAndMismatchedFilesAreRefused) {
  const std::string good = temp("good.ckpt");
  Trainer t(test_moe_model(), test_options(2));
  t.step();
  t.save_checkpoint(good);
  const std::string bytes = read_bytes(good);

  std::string flipped = bytes;
  flipped[bytes.size() / 2] = static_cast<char>(flipped[bytes.size() / 2] ^ 0x10);
  write_bytes(temp("flipped.ckpt"), flipped);
  expect_refused(t, temp("flipped.ckpt"), "checksum mismatch");

  write_bytes(temp("truncated.ckpt"), bytes.substr(0, bytes.size() - 100));
  expect_refused(t, temp("truncated.ckpt"), "truncated");

  write_bytes(temp("foreign.ckpt"), "{\"not\": \"a checkpoint\"}");
  expect_refused(t, temp("foreign.ckpt"), "not a FrugalLM checkpoint");

  expect_refused(t, temp("missing.ckpt"), "cannot open");

  ModelConfig wider = test_moe_model();
  wider.moe.expert_intermediate_size = 24;
  Trainer other(wider, test_options(2));
  expect_refused(other, good, "made for a different model");

  TrainOptions reseeded = test_options(2);
  reseeded.seed = 9;
  Trainer different_seed(test_moe_model(), reseeded);
  expect_refused(different_seed, good, "seed");
}

TEST(Checkpoint, WritingIntoAMissingDirectoryFailsWithoutLeavingAFile) {
  Trainer t(test_moe_model(), test_options(1));
  EXPECT_THROW(t.save_checkpoint("/nonexistent-dir/run.ckpt"), std::runtime_error);
}

TEST(Training, NanStopsTheRunWithTheStepNumber) {
  Trainer t(test_moe_model(), test_options(10));
  for (int i = 0; i < 3; ++i) t.step();
  auto& values = t.model().params().values();
  std::fill(values.begin(), values.begin() + 32 * 32, std::nanf(""));  // the whole embedding table
  try {
    t.step();
    FAIL() << "a NaN loss did not stop training";
  } catch (const TrainingDiverged& e) {
    EXPECT_EQ(e.step, 4);
    EXPECT_NE(std::string(e.what()).find("step 4"), std::string::npos) << e.what();
  }
}

TEST(Training, AuxLossFreeBiasFollowsTheLoad) {
  TrainOptions o = test_options(1);
  o.router.bias_update_speed = 0.01;
  Trainer t(test_moe_model(), o);
  t.step();
  const auto* layer = t.model().moe_layers().front();
  const auto& load = t.history().back().expert_load.front();
  double mean = 0;
  for (auto n : load) mean += static_cast<double>(n) / static_cast<double>(load.size());
  for (std::size_t i = 0; i < load.size(); ++i) {
    const double expected = static_cast<double>(load[i]) > mean ? -0.01 : static_cast<double>(load[i]) < mean ? 0.01 : 0.0;
    EXPECT_FLOAT_EQ(layer->router().bias()[i], static_cast<float>(expected)) << "expert " << i;
  }
}

TEST(Training, DataThatDoesNotFitTheModelIsAConfigError) {
  ModelConfig small_vocab = test_moe_model();
  small_vocab.vocab_size = 8;  // the source emits 16 token values
  EXPECT_THROW(Trainer(small_vocab, test_options(1)), ConfigError);
  TrainOptions long_sequences = test_options(1);
  long_sequences.seq_len = 64;  // above max_seq_len 32
  EXPECT_THROW(Trainer(test_moe_model(), long_sequences), ConfigError);
}

TEST(Training, ActivatedParametersCountOnlyTheChosenExperts) {
  Trainer t(test_moe_model(), test_options(1));
  const auto& m = t.model();
  const Index per_expert = 3 * 32 * 16;
  const Index embedding = 32 * 32;
  EXPECT_EQ(m.activated_parameter_count(), m.parameter_count() - embedding - (8 - 2) * per_expert);
}

TEST(Training, LearningRateWarmsUpThenDecaysToItsFloor) {
  EXPECT_DOUBLE_EQ(learning_rate_at(0, 100, 10, 1.0, 0.1), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate_at(9, 100, 10, 1.0, 0.1), 1.0);
  EXPECT_NEAR(learning_rate_at(55, 100, 10, 1.0, 0.1), 0.55, 1e-12);  // cosine midpoint
  EXPECT_NEAR(learning_rate_at(100, 100, 10, 1.0, 0.1), 0.1, 1e-12);
}

}  // namespace
}  // namespace frugal::core
