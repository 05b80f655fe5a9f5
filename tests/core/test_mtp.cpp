// Multi-Token Prediction: speculative decoding reproduces greedy decoding exactly, the MTP
// parameter count matches the simulator's accountant, and the short experiment runs.
#include <gtest/gtest.h>

#include "frugal/core/decode.hpp"
#include "frugal/core/experiments.hpp"
#include "frugal/sim/model_accountant.hpp"
#include "frugal/config/presets.hpp"
#include "tiny_models.hpp"

namespace frugal::core {
namespace {
using testing::test_moe_model;
using testing::test_options;

ModelConfig with_mtp() {
  ModelConfig c = test_moe_model();
  c.mtp_depth = 1;
  return c;
}

TEST(Mtp, SpeculativeDecodingEqualsGreedyDecodingTokenForToken) {
  TrainOptions o = test_options(25);
  o.mtp_weight = 0.3;
  Trainer t(with_mtp(), o);
  while (!t.finished()) t.step();
  for (int p = 0; p < 4; ++p) {
    Rng rng(5, static_cast<std::uint64_t>(p));
    const Batch prompt = t.source().sample(rng, 1, 8, true);
    const DecodeResult greedy = greedy_decode(t.model(), prompt.inputs, 20);
    const DecodeResult fast = speculative_decode(t.model(), prompt.inputs, 20);
    EXPECT_EQ(fast.tokens, greedy.tokens) << "prompt " << p;
    EXPECT_EQ(greedy.generated, 20);
    EXPECT_EQ(greedy.main_forward_passes, 20);
    EXPECT_EQ(fast.generated, 20);
    // Every accepted draft saves a pass: passes = generated − accepted (when the end is not cut).
    EXPECT_LE(fast.main_forward_passes, greedy.main_forward_passes);
    EXPECT_GE(fast.main_forward_passes, fast.generated - fast.accepted - 1);
    EXPECT_LE(fast.accepted, fast.drafted);
  }
}

TEST(Mtp, ResumingWithMtpIsBitIdentical) {
  TrainOptions o = test_options(6);
  o.mtp_weight = 0.3;
  const std::string path = ::testing::TempDir() + "/frugal_mtp_resume.ckpt";
  Trainer straight(with_mtp(), o);
  while (!straight.finished()) straight.step();
  Trainer first(with_mtp(), o);
  for (int i = 0; i < 3; ++i) first.step();
  first.save_checkpoint(path);
  Trainer second(with_mtp(), o);
  second.load_checkpoint(path);
  while (!second.finished()) second.step();
  EXPECT_EQ(straight.model().params().values(), second.model().params().values());
  EXPECT_EQ(straight.model().moe_layers().size(), 2u);  // the main MoE layer and the MTP block's
}

TEST(Mtp, DecodingStopsAtTheModelsContext) {
  Trainer t(with_mtp(), [] {
    TrainOptions o = test_options(1);
    o.mtp_weight = 0.3;
    return o;
  }());
  const DecodeResult r = speculative_decode(t.model(), std::vector<int>(30, 1), 10);  // max_seq_len 32
  EXPECT_EQ(r.tokens.size(), 32u);
  EXPECT_THROW(speculative_decode(t.model(), {}, 3), std::invalid_argument);
}

TEST(Mtp, ParameterCountMatchesTheSimulatorsMtpAccount) {
  const ModelConfig config = frugal::preset_model("deepseek-v3-tiny");
  const Transformer<float> model(config, RouterOptions{}, std::nullopt, 0.3);
  const sim::ModelAccount account = sim::account_model(config);
  // The simulator also counts the MTP block's router biases as checkpoint tensors.
  const Index mtp_router_bias = config.mtp_depth * config.moe.routed_experts;
  EXPECT_EQ(static_cast<double>(model.mtp_parameter_count() + mtp_router_bias), account.total_params_with_mtp - account.total_params);
}

TEST(Mtp, ExperimentReportsLossAndAcceptance) {
  TrainOptions o = test_options(15);
  o.eval_every = 0;
  const ExperimentReport r = run_mtp(with_mtp(), o);
  ASSERT_EQ(r.arms.size(), 2u);
  EXPECT_EQ(r.arms[0].name, "no-mtp");
  EXPECT_EQ(r.arms[1].name, "mtp");
  EXPECT_TRUE(std::isnan(r.arms[0].history.back().mtp_loss));
  EXPECT_TRUE(std::isfinite(r.arms[1].history.back().mtp_loss));
  EXPECT_NE(r.footer.find("acceptance"), std::string::npos);
}

}  // namespace
}  // namespace frugal::core
