// Short versions of the chapters' experiments: they run, compare what they claim to compare, and
// report numbers that make sense. (What the tiny scale shows at full length is in the closing
// note and the chapters, not asserted here: it is a measurement, not a property.)
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "frugal/config/config_error.hpp"
#include "frugal/core/experiments.hpp"
#include "frugal/core/layers.hpp"
#include "frugal/core/random.hpp"
#include "tiny_models.hpp"

namespace frugal::core {
namespace {
using testing::test_moe_model;
using testing::test_options;

TrainOptions short_run() {
  TrainOptions o = test_options(30);
  o.eval_every = 10;
  o.router.bias_update_speed = 0.01;
  return o;
}

TEST(Experiments, DenseCounterpartHasTheMoeModelsActivatedWidth) {
  const ModelConfig dense = dense_counterpart(test_moe_model());
  EXPECT_FALSE(dense.is_moe());
  EXPECT_EQ(dense.ffn_intermediate_size, (1 + 2) * 16);
}

TEST(Experiments, DenseVsMoeAtEqualActivatedParametersAndTokens) {
  const ExperimentReport r = run_dense_vs_moe(test_moe_model(), short_run());
  ASSERT_EQ(r.arms.size(), 2u);
  const ArmResult& dense = r.arms[0];
  const ArmResult& moe = r.arms[1];
  // Activated parameters differ only by the router's gate (hidden × experts per MoE layer).
  EXPECT_EQ(moe.activated_parameters - dense.activated_parameters, 32 * 8);
  EXPECT_GT(moe.parameters, dense.parameters);  // …while the MoE model holds more in total
  // Equal tokens; executed FLOPs within 10% (the gate and uneven expert batches differ).
  EXPECT_EQ(dense.history.size(), moe.history.size());
  EXPECT_NEAR(moe.flops() / dense.flops(), 1.0, 0.10);
  for (const ArmResult* a : {&dense, &moe}) {
    EXPECT_TRUE(std::isfinite(a->eval_loss_at_flops(r.common_flops))) << a->name;
    EXPECT_LT(a->final_eval_loss(), std::log(32.0) - 0.5) << a->name << " did not learn";
  }
  EXPECT_NE(format_report(r).find("eval@equal"), std::string::npos);
}

TEST(Experiments, BalancingComparesMaxVioAndLoss) {
  const ExperimentReport r = run_balancing(test_moe_model(), short_run());
  ASSERT_EQ(r.arms.size(), 3u);
  EXPECT_EQ(r.arms[0].name, "aux-loss-free");
  EXPECT_EQ(r.arms[1].name, "aux-loss");
  EXPECT_EQ(r.arms[2].name, "unbalanced");
  EXPECT_EQ(r.arms[0].late_dropped_fraction(), 0.0);  // V3 drops no tokens
  EXPECT_GE(r.arms[1].late_dropped_fraction(), 0.0);
  for (const ArmResult& a : r.arms) {
    EXPECT_GE(a.late_max_violation(), 0.0) << a.name;
    EXPECT_TRUE(std::isfinite(a.final_eval_loss())) << a.name;
  }
  const auto j = report_json(r);
  EXPECT_EQ(j["arms"].size(), 3u);
  EXPECT_EQ(j["arms"][0]["eval_curve"].size(), 3u);  // evaluated at steps 10, 20, 30
}

TEST(Experiments, BalancingGammaTrainsOneAuxFreeArmPerGamma) {
  const ExperimentReport r = run_balancing_gamma(test_moe_model(), short_run(), {0.001, 0.01});
  ASSERT_EQ(r.arms.size(), 2u);
  EXPECT_EQ(r.arms[0].name, "γ = 0.001");
  EXPECT_EQ(r.arms[1].options.router.bias_update_speed, 0.01);
  for (const ArmResult& a : r.arms) EXPECT_EQ(a.options.router.balancing, Balancing::aux_free);
  const nlohmann::json& rows = r.details.at("gammas");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1]["gamma"].get<double>(), 0.01);
  EXPECT_DOUBLE_EQ(rows[0]["late_max_violation"].get<double>(), r.arms[0].late_max_violation());
  EXPECT_GE(rows[0]["late_max_violation_swing"].get<double>(), 0.0);
  EXPECT_NE(r.footer.find("balances best"), std::string::npos);
  EXPECT_THROW(run_balancing_gamma(test_moe_model(), short_run(), {}), ConfigError);
  EXPECT_THROW(run_balancing_gamma(test_moe_model(), short_run(), {-0.001}), ConfigError);
}

// The γ sentence is computed from the rows: change the numbers and it changes.
TEST(Experiments, BalancingGammaConclusionFollowsTheNumbers) {
  auto sweep = [](double slow_maxvio, double fast_maxvio) {
    ExperimentReport r;
    r.seeds = 3;
    r.details["gammas"] = nlohmann::json::array();
    for (const auto& [gamma, maxvio] : std::vector<std::pair<double, double>>{{0.0003, slow_maxvio}, {0.003, 0.135}, {0.01, fast_maxvio}})
      r.details["gammas"].push_back({{"gamma", gamma}, {"late_max_violation", maxvio}, {"late_max_violation_std", 0.005}});
    return r;
  };
  // Standard error of a difference: sqrt(2 x 0.005^2 / 3) = 0.0041, so 2 SE = 0.0082.
  const std::string both = balancing_gamma_conclusion(sweep(0.706, 0.159));
  EXPECT_NE(both.find("γ = 0.003 balances best"), std::string::npos) << both;
  EXPECT_NE(both.find("Too small: γ = 0.0003 (0.706) is still balancing"), std::string::npos) << both;
  EXPECT_NE(both.find("too large: γ = 0.01 (0.159) balances worse late"), std::string::npos) << both;
  const std::string neither = balancing_gamma_conclusion(sweep(0.140, 0.141));  // both within 2 SE of 0.135
  EXPECT_NE(neither.find("No smaller γ is still balancing"), std::string::npos) << neither;
  EXPECT_NE(neither.find("no larger γ balances worse"), std::string::npos) << neither;
  EXPECT_NE(balancing_gamma_conclusion(sweep(0.10, 0.2)).find("γ = 0.0003 balances best"), std::string::npos);
}

// The balancing sentence: lower, higher or a tie, from the arms' numbers over seeds.
TEST(Experiments, BalancingConclusionFollowsTheNumbers) {
  auto report = [](double free_loss, double aux_loss) {
    ExperimentReport r;
    r.seeds = 2;
    for (int seed = 0; seed < 2; ++seed)
      for (const auto& [name, loss, maxvio] : std::vector<std::tuple<const char*, double, double>>{
               {"aux-loss-free", free_loss + 0.001 * seed, 0.135}, {"aux-loss", aux_loss + 0.001 * seed, 0.46}}) {
        ArmResult a;
        a.name = name;
        StepMetrics m;
        m.eval_loss = loss;
        m.max_violation = maxvio;
        a.history = {m, m};
        r.arms.push_back(a);
      }
    return r;
  };
  const std::string lower = balancing_conclusion(report(1.20, 1.30));
  EXPECT_NE(lower.find("is lower than the auxiliary loss's"), std::string::npos) << lower;
  EXPECT_NE(lower.find("MaxVio 0.135 is lower than its 0.460"), std::string::npos) << lower;
  EXPECT_NE(balancing_conclusion(report(1.30, 1.20)).find("is higher than the auxiliary loss's"), std::string::npos);
  EXPECT_NE(balancing_conclusion(report(1.2500, 1.2504)).find("ties with the auxiliary loss's"), std::string::npos);
}

// The rule every printed conclusion uses: beyond twice the standard error of the difference over
// seeds, or beyond a margin with one seed. Hand-computed: SE = sqrt((0.03² + 0.04²) / 3) = 0.0289.
TEST(Experiments, ComparedWithCountsOnlyDifferencesBeyondTheNoise) {
  EXPECT_EQ(compared_with(1.20, 0.03, 1.30, 0.04, 3, 0.02), "lower than");     // 0.10 > 2 SE = 0.0577
  EXPECT_EQ(compared_with(1.30, 0.04, 1.20, 0.03, 3, 0.02), "higher than");
  EXPECT_EQ(compared_with(1.25, 0.03, 1.30, 0.04, 3, 0.02), "within the noise of");  // 0.05 < 0.0577
  EXPECT_EQ(compared_with(1.25, 0, 1.30, 0, 1, 0.02), "lower than");             // one seed: 3.8% > 2%
  EXPECT_EQ(compared_with(1.29, 0, 1.30, 0, 1, 0.02), "within the noise of");    // 0.8%
  EXPECT_TRUE(above_beyond_noise(1.30, 0.04, 1.20, 0.03, 3, 0.02));
  EXPECT_FALSE(above_beyond_noise(1.30, 0.04, 1.20, 0.03, 1, 0.1));  // one seed, margin 10%: 8.3% is not enough
}

TEST(Experiments, SeveralSeedsAreSummarisedAsMeanAndSpread) {
  TrainOptions o = short_run();
  o.steps = 10;
  o.eval_every = 5;
  const ExperimentReport r = run_dense_vs_moe(test_moe_model(), o, 2);
  ASSERT_EQ(r.arms.size(), 4u);
  EXPECT_EQ(r.arms[0].options.seed, 1u);
  EXPECT_EQ(r.arms[2].options.seed, 2u);
  const auto summary = summarize(r);
  ASSERT_EQ(summary.size(), 2u);
  for (const ArmSummary& s : summary) {
    EXPECT_EQ(s.runs, 2);
    // The mean of the two seeds' losses, and their sample standard deviation |a − b| / √2.
    std::vector<double> losses;
    for (const ArmResult& a : r.arms)
      if (a.name == s.name) losses.push_back(a.final_eval_loss());
    EXPECT_NEAR(s.final_eval_loss, (losses[0] + losses[1]) / 2, 1e-12);
    EXPECT_NEAR(s.final_eval_loss_std, std::abs(losses[0] - losses[1]) / std::sqrt(2.0), 1e-12);
    EXPECT_GT(s.final_eval_loss_std, 0.0);  // different seeds, different runs
  }
  EXPECT_NE(format_report(r).find("±"), std::string::npos);
}

TEST(Experiments, Fp8TrainingTracksFp32) {
  TrainOptions o = short_run();
  o.eval_every = 0;
  const ExperimentReport r = run_fp8_vs_fp32(test_moe_model(), o);
  ASSERT_EQ(r.arms.size(), 3u);
  EXPECT_FALSE(r.arms[0].options.precision.fp8_linear);
  EXPECT_EQ(r.arms[1].name, "fp32-twin");
  EXPECT_FALSE(r.arms[1].options.precision.fp8_linear);
  EXPECT_TRUE(r.arms[2].options.precision.fp8_linear);
  EXPECT_TRUE(r.arms[2].options.adamw.bf16_moments);
  const double fp32 = r.arms[0].final_eval_loss(), twin = r.arms[1].final_eval_loss(), fp8 = r.arms[2].final_eval_loss();
  EXPECT_NE(fp32, fp8);   // FP8 really changed the arithmetic…
  EXPECT_NE(fp32, twin);  // …and so did the twin's nudge
  const auto gaps = fp8_relative_loss_gaps(r);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_DOUBLE_EQ(gaps[0], (fp8 - fp32) / fp32);
  EXPECT_LT(std::abs(gaps[0]), 0.02);  // …and training still follows FP32 closely
  EXPECT_NE(format_report(r).find("relative loss gap"), std::string::npos);
  EXPECT_NE(r.footer.find("fp32-twin"), std::string::npos);
}

// The twin's nudge is the one it says: every initial weight × (1 + 2^-20), nothing else.
TEST(Experiments, InitNudgeScalesEveryInitialWeight) {
  TrainOptions o = test_options(1);
  TrainOptions nudged = o;
  nudged.init_nudge = std::ldexp(1.0, -20);
  const Trainer a(test_moe_model(), o), b(test_moe_model(), nudged);
  const auto& x = a.model().params().values();
  const auto& y = b.model().params().values();
  ASSERT_EQ(x.size(), y.size());
  for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(y[i], x[i] * static_cast<float>(1.0 + std::ldexp(1.0, -20))) << i;
}

TEST(Experiments, Fp8TrainingIsDeterministic) {
  TrainOptions o = test_options(3);
  o.precision.fp8_linear = true;
  o.adamw.bf16_moments = true;
  Trainer a(test_moe_model(), o), b(test_moe_model(), o);
  while (!a.finished()) a.step();
  while (!b.finished()) b.step();
  EXPECT_EQ(a.model().params().values(), b.model().params().values());
}

// Each part of the FP8 recipe switches its own GEMM and no other: with FP8 in forward only, the
// backward GEMMs equal FP32's bit for bit; + dgrad changes dx but not dW; + wgrad changes dW.
TEST(Fp8Recipe, EachPartSwitchesItsOwnGemm) {
  Rng rng(3);
  Matrix<float> x(16, 160), w(160, 24), dy(16, 24);
  fill_normal(x, rng, 1.0);
  fill_normal(w, rng, 0.1);
  fill_normal(dy, rng, 1.0);
  auto run = [&](const Fp8GemmOptions* fp8, Matrix<float>& y, Matrix<float>& dx, Matrix<float>& dw) {
    dw = Matrix<float>::Zero(w.rows(), w.cols());
    linear_forward<float>(y, x, ConstMatrixMap<float>(w.data(), w.rows(), w.cols()), fp8);
    linear_backward<float>(&dx, MatrixMap<float>(dw.data(), dw.rows(), dw.cols()), dy, x,
                           ConstMatrixMap<float>(w.data(), w.rows(), w.cols()), false, fp8);
  };
  Matrix<float> y32, dx32, dw32, y, dx, dw;
  run(nullptr, y32, dx32, dw32);
  Fp8GemmOptions o;
  o.dgrad = o.wgrad = false;
  run(&o, y, dx, dw);
  EXPECT_NE(y, y32);
  EXPECT_EQ(dx, dx32);
  EXPECT_EQ(dw, dw32);
  o.dgrad = true;
  run(&o, y, dx, dw);
  EXPECT_NE(dx, dx32);
  EXPECT_EQ(dw, dw32);
  o.wgrad = true;
  run(&o, y, dx, dw);
  EXPECT_NE(dw, dw32);
  // Per-tensor scales differ from 160 = 128 + 32 columns in two tiles…
  Matrix<float> y_tensor, dx_tensor, dw_tensor;
  Fp8GemmOptions per_tensor;
  per_tensor.per_tensor = true;
  run(&per_tensor, y_tensor, dx_tensor, dw_tensor);
  EXPECT_NE(y_tensor, y);
  // …and equal an explicit per-tensor GEMM.
  Fp8GemmOptions explicit_tensor;
  explicit_tensor.a_tile = explicit_tensor.b_tile = kPerTensor;
  Matrix<float> y_explicit;
  fp8_gemm(y_explicit, x, w, explicit_tensor);
  EXPECT_EQ(y_tensor, y_explicit);
}

TEST(Fp8Recipe, TheConfigFileNamesEachPart) {
  const TrainOptions o = parse_train_options(
      nlohmann::json::parse(R"({"precision": {"linear": "fp8", "fp8_gemms": "forward+dgrad", "scales": "per_tensor",
                                              "scale_format": "ue8m0", "accumulation": "register_only"}})"),
      "cpu_training");
  const Fp8GemmOptions r = *o.precision.gemm();
  EXPECT_TRUE(r.forward && r.dgrad && !r.wgrad && r.per_tensor && !r.promotion);
  EXPECT_EQ(r.scale_format, ScaleFormat::ue8m0);
  const TrainOptions v3 = parse_train_options(nlohmann::json::parse(R"({"precision": {"linear": "fp8"}})"), "cpu_training");
  const Fp8GemmOptions all = *v3.precision.gemm();
  EXPECT_TRUE(all.forward && all.dgrad && all.wgrad && !all.per_tensor && all.promotion);
  try {
    parse_train_options(nlohmann::json::parse(R"({"precision": {"fp8_gemms": "wgrad"}})"), "cpu_training");
    FAIL() << "accepted fp8_gemms: wgrad";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("cpu_training.precision.fp8_gemms"), std::string::npos) << e.what();
  }
}

// Arms trained two at a time give what one at a time gives, in the order asked.
TEST(Experiments, ArmsRunTogetherEqualArmsRunOneByOne) {
  TrainOptions o = test_options(6);
  TrainOptions other = o;
  other.seed = 9;
  const std::vector<ArmSpec> specs = {{"a", "", test_moe_model(), o, {}, ""}, {"b", "", test_moe_model(), other, {}, "a"}};
  const std::vector<ArmResult> together = run_arms(specs, {});
  ASSERT_EQ(together.size(), 2u);
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const ArmResult alone = run_arm(specs[i].name, "", specs[i].model, specs[i].options, {});
    EXPECT_EQ(together[i].name, specs[i].name);
    ASSERT_EQ(together[i].history.size(), alone.history.size());
    for (std::size_t s = 0; s < alone.history.size(); ++s) EXPECT_EQ(together[i].history[s].loss, alone.history[s].loss);
  }
  EXPECT_EQ(together[1].baseline, "a");
}

// The ablation: FP32 and seven FP8 arms per seed, each gap taken against the FP32 arm of its own
// seed (by hand here), the recipe's parts as the arms' names say.
TEST(Experiments, Fp8AblationTakesEachArmAgainstFp32OfItsSeed) {
  TrainOptions o = test_options(4);
  o.eval_every = 4;
  const ExperimentReport r = run_fp8_ablation(test_moe_model(), o, 2);
  ASSERT_EQ(r.arms.size(), 18u);
  const std::vector<std::string> names = {"fp32",       "fp32-twin", "forward",     "+dgrad", "+wgrad",
                                          "v3-recipe",  "per-tensor", "ue8m0",      "no-promotion"};
  for (std::size_t i = 0; i < r.arms.size(); ++i) EXPECT_EQ(r.arms[i].name, names[i % 9]);
  const ArmResult& forward = r.arms[11];  // seed 2
  EXPECT_EQ(forward.options.seed, 2u);
  EXPECT_TRUE(forward.options.precision.fp8_linear && !forward.options.precision.recipe.dgrad);
  EXPECT_FALSE(forward.options.adamw.bf16_moments);
  EXPECT_TRUE(r.arms[5].options.adamw.bf16_moments);
  EXPECT_TRUE(r.arms[6].options.precision.recipe.per_tensor);
  EXPECT_EQ(r.arms[7].options.precision.recipe.scale_format, ScaleFormat::ue8m0);
  EXPECT_FALSE(r.arms[8].options.precision.recipe.promotion);
  EXPECT_DOUBLE_EQ(relative_loss_gap(r, forward), (forward.final_eval_loss() - r.arms[9].final_eval_loss()) / r.arms[9].final_eval_loss());
  EXPECT_TRUE(std::isnan(relative_loss_gap(r, r.arms[0])));
  for (const ArmResult& a : r.arms) EXPECT_DOUBLE_EQ(a.flops(), r.arms[0].flops()) << a.name;  // the same products, counted alike
  const auto j = report_json(r);
  EXPECT_EQ(j["arms"][11]["name"], "forward");
  EXPECT_DOUBLE_EQ(j["arms"][11]["relative_loss_gap"].get<double>(), relative_loss_gap(r, forward));
  EXPECT_TRUE(j["summary"][0]["relative_loss_gap"].is_null());
  EXPECT_NE(format_report(r).find("no-promotion"), std::string::npos);
}

TEST(Experiments, Fp8WidthScalesEveryWidthAndReportsAGapPerWidth) {
  const ModelConfig wide = scaled_to_width(test_moe_model(), 64);
  EXPECT_EQ(wide.hidden_size, 64);
  EXPECT_EQ(wide.attention.q_lora_rank, 32);
  EXPECT_EQ(wide.attention.qk_rope_head_dim, 8);
  EXPECT_EQ(wide.ffn_intermediate_size, 128);
  EXPECT_EQ(wide.moe.expert_intermediate_size, 32);
  EXPECT_EQ(wide.moe.routed_experts, test_moe_model().moe.routed_experts);
  EXPECT_THROW(scaled_to_width(test_moe_model(), 4), ConfigError);
  TrainOptions o = test_options(3);
  o.eval_every = 3;
  const ExperimentReport r = run_fp8_width(test_moe_model(), o, {16, 32});
  ASSERT_EQ(r.arms.size(), 6u);
  EXPECT_EQ(r.arms[3].name, "fp32 h32");
  EXPECT_EQ(r.arms[3].model.hidden_size, 32);
  EXPECT_EQ(r.arms[0].model.hidden_size, 16);
  EXPECT_EQ(r.arms[4].name, "twin h32");
  EXPECT_EQ(r.arms[5].baseline, "fp32 h32");
  const auto rows = report_json(r)["widths"];
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["hidden"], 16);
  EXPECT_DOUBLE_EQ(rows[1]["relative_loss_gap"].get<double>(), relative_loss_gap(r, r.arms[5]));
  EXPECT_DOUBLE_EQ(rows[1]["twin_relative_loss_gap"].get<double>(), relative_loss_gap(r, r.arms[4]));
}

// A report built by hand: one arm per (name, seed) with the given final held-out loss.
ExperimentReport report_of(const std::vector<std::tuple<std::string, int, double>>& arms) {
  ExperimentReport r;
  for (const auto& [name, seed, loss] : arms) {
    ArmResult a;
    a.name = name;
    a.options.seed = static_cast<std::uint64_t>(seed);
    a.baseline = name == "fp32" ? "" : "fp32";
    StepMetrics m;
    m.eval_loss = loss;
    a.history = {m};
    r.arms.push_back(a);
  }
  return r;
}

// The chapter's sentences follow the numbers: flip them and the sentence flips.
TEST(Experiments, Fp8ConclusionsFollowTheNumbers) {
  // Two seeds; the twin ends 0.1% away. FP8 2% away on both seeds stands out; 0.1% ± 0.1% does not.
  auto gap_report = [](double fp8) {
    return report_of({{"fp32", 1, 1.0}, {"fp32-twin", 1, 1.001}, {"fp8", 1, fp8}, {"fp32", 2, 1.0}, {"fp32-twin", 2, 0.999}, {"fp8", 2, fp8}});
  };
  EXPECT_NE(fp8_gap_conclusion(gap_report(1.02)).find("+2.00% ± 0.00%"), std::string::npos) << fp8_gap_conclusion(gap_report(1.02));
  EXPECT_NE(fp8_gap_conclusion(gap_report(1.02)).find("stands out"), std::string::npos) << fp8_gap_conclusion(gap_report(1.02));
  EXPECT_NE(fp8_gap_conclusion(gap_report(1.0005)).find("within the noise"), std::string::npos);
  // One seed has no spread: no verdict either way.
  const std::string one_seed = fp8_gap_conclusion(report_of({{"fp32", 1, 1.0}, {"fp32-twin", 1, 1.001}, {"fp8", 1, 1.02}}));
  EXPECT_NE(one_seed.find("one seed has no spread"), std::string::npos) << one_seed;

  // The ablation names the step with the largest increment: here dgrad (+3%), then wgrad.
  auto ablation = [](double dgrad, double wgrad) {
    std::vector<std::tuple<std::string, int, double>> arms;
    for (int seed : {1, 2})
      for (const auto& [name, loss] : std::vector<std::pair<std::string, double>>{{"fp32", 1.0}, {"fp32-twin", seed == 1 ? 1.001 : 0.999},
                                                                                  {"forward", 1.005}, {"+dgrad", dgrad}, {"+wgrad", wgrad},
                                                                                  {"v3-recipe", wgrad}, {"per-tensor", wgrad + 0.05},
                                                                                  {"ue8m0", wgrad}, {"no-promotion", wgrad}})
        arms.emplace_back(name, seed, loss);
    return report_of(arms);
  };
  const std::string dgrad_first = fp8_ablation_conclusion(ablation(1.035, 1.04));
  EXPECT_NE(dgrad_first.find("largest step of it is FP8 in dgrad (+3.00%)"), std::string::npos) << dgrad_first;
  EXPECT_NE(dgrad_first.find("per-tensor scales add +5.00%"), std::string::npos) << dgrad_first;
  const std::string wgrad_first = fp8_ablation_conclusion(ablation(1.01, 1.06));
  EXPECT_NE(wgrad_first.find("largest step of it is FP8 in wgrad (+5.00%)"), std::string::npos) << wgrad_first;

  // Width: falling gaps say so; one that rises does not.
  auto width = [](double middle) {
    ExperimentReport r;
    r.details["widths"] = nlohmann::json::array();
    for (const auto& [hidden, gap] : std::vector<std::pair<int, double>>{{16, 0.04}, {32, middle}, {64, 0.01}})
      r.details["widths"].push_back({{"hidden", hidden}, {"relative_loss_gap", gap}, {"relative_loss_gap_std", 0.001},
                                     {"twin_relative_loss_gap", 0.0}, {"twin_relative_loss_gap_std", 0.001}, {"seeds", 3}});
    return r;
  };
  EXPECT_NE(fp8_width_conclusion(width(0.02)).find("falls at every step"), std::string::npos);
  EXPECT_EQ(fp8_width_conclusion(width(0.02)).find("within the noise"), std::string::npos);  // 1–4% against ±0.1%
  EXPECT_NE(fp8_width_conclusion(width(0.05)).find("does not fall steadily"), std::string::npos);

  // Two sources: a smooth one whose gaps are ±0.01% and a plateau one whose are ±3%. Within V3's
  // 0.25% and 300× the spread: the plateau's timing. Move the smooth source's gap to 1% and it is
  // not within; give both the same spread and the plateau no longer explains the gap.
  auto source = [](double a, double b, double c) {
    return report_of({{"fp32", 1, 1.0}, {"fp8", 1, 1.0 + a}, {"fp32", 2, 1.0}, {"fp8", 2, 1.0 + b}, {"fp32", 3, 1.0}, {"fp8", 3, 1.0 + c}});
  };
  const ExperimentReport plateau = source(0.03, -0.03, 0.0), smooth = source(0.0001, -0.0001, 0.0);
  const std::string timing = fp8_source_conclusion(plateau, smooth);
  EXPECT_NE(timing.find("+0.000% ± 0.010%: within V3's 0.25%"), std::string::npos) << timing;
  EXPECT_NE(timing.find("from -3.00% to +3.00%, a spread 300× as wide"), std::string::npos) << timing;
  EXPECT_NE(timing.find("when each run escapes its plateau"), std::string::npos) << timing;
  const std::string costly = fp8_source_conclusion(plateau, source(0.0101, 0.0099, 0.01));
  EXPECT_NE(costly.find("not within V3's 0.25%"), std::string::npos) << costly;
  EXPECT_NE(costly.find("does not explain"), std::string::npos) << costly;
  EXPECT_NE(fp8_source_conclusion(source(0.0001, -0.0001, 0.0), smooth).find("does not explain"), std::string::npos);
  EXPECT_NE(fp8_source_conclusion(report_of({{"fp32", 1, 1.0}, {"fp8", 1, 1.01}}), smooth).find("One seed"), std::string::npos);
}

TEST(Experiments, EvalLossAtFlopsInterpolatesBetweenEvaluations) {
  ArmResult a;
  StepMetrics m1, m2;
  m1.flops = 100;
  m1.eval_loss = 3.0;
  m2.flops = 300;
  m2.eval_loss = 2.0;
  a.history = {m1, m2};
  EXPECT_DOUBLE_EQ(a.eval_loss_at_flops(200), 2.5);
  EXPECT_DOUBLE_EQ(a.eval_loss_at_flops(300), 2.0);
  EXPECT_DOUBLE_EQ(a.eval_loss_at_flops(50), 3.0);
}

}  // namespace
}  // namespace frugal::core
