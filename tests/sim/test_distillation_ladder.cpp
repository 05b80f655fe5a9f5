// Distillation pipelines and the model ladder: each part against a hand composition of the
// capacity, fine-tuning and planner figures it is built from, the published scores against
// their sources' numbers, and both commands as a user runs them.
#include <gtest/gtest.h>

#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "program_run.hpp"

#include "frugal/config/config_error.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/article_claims.hpp"
#include "frugal/sim/distillation.hpp"
#include "frugal/sim/serving_ladder.hpp"
#include "frugal/sim/serving_report.hpp"

namespace {

using namespace frugal::sim;
using frugal::testing::expect_refused;
using frugal::testing::frugal_sim;
using frugal::testing::ProgramRun;


DistillationJob small_job() {
  DistillationJob j;
  j.teacher = frugal::preset_model("llama-3.1-70b");
  j.student = frugal::preset_model("llama-3.1-8b");
  j.samples = 20000;
  j.tokens_per_sample = 500;
  j.prompt_tokens = 100;
  j.epochs = 1;
  j.gpu = find_gpu("H100", "--gpu");
  j.student_gpus = 8;
  j.workload = ServingWorkload{20.0, {1000, LengthDistribution::fixed}, {300, LengthDistribution::fixed}, 0.0, 1000, 1, {}};
  return j;
}

std::vector<PricedGpu> h100() { return priced_alike({find_gpu("H100", "--gpu")}, 2.0); }

// Sequence-level: the teacher decodes every answer at its instance's throughput and prefills every
// prompt; the student fine-tunes on prompt + answer.
TEST(Distillation, SequenceModeComposesCapacityAndFinetuning) {
  const DistillationJob j = small_job();
  const DistillationEstimate e = estimate_distillation(j, h100());
  const ServingDeployment d = default_deployment(j.teacher, j.gpu, true);
  const DecodeCapacity decode = decode_capacity(j.teacher, d, 0, 100 + 500 / 2.0);
  const PrefillCapacity prefill = prefill_capacity(j.teacher, d, 100);
  const double gpu_seconds = 20000.0 * 500 / decode.tokens_per_s_per_gpu + 20000.0 * 100 / (prefill.computed_tokens_per_s_per_node / 8);
  EXPECT_NEAR(e.teacher_gpu_hours / (gpu_seconds / 3600), 1.0, 1e-12);

  FinetuneJob f;
  f.model = j.student;
  f.gpu = j.gpu;
  f.gpus = 8;
  f.adapters.method = FinetuneMethod::full;
  f.examples = 20000;
  f.tokens_per_example = 600;
  f.epochs = 1;
  f.global_batch = 128;
  EXPECT_DOUBLE_EQ(e.student_gpu_hours, estimate_finetune(f).gpu_hours);
  EXPECT_DOUBLE_EQ(e.total_cost_usd, 2.0 * (e.teacher_gpu_hours + e.student_gpu_hours));
}

TEST(Distillation, BreakEvenIsPipelineCostOverSavingPerRequest) {
  const DistillationEstimate e = estimate_distillation(small_job(), h100());
  ASSERT_TRUE(e.break_even_requests.has_value());
  ASSERT_GT(e.teacher_cost_per_1k_requests_usd, e.student_cost_per_1k_requests_usd);
  EXPECT_NEAR(*e.break_even_requests * (e.teacher_cost_per_1k_requests_usd - e.student_cost_per_1k_requests_usd) / 1000.0,
              e.total_cost_usd, 1e-9 * e.total_cost_usd);
  // Each serving cost is the planner's cheapest for that model alone.
  const DistillationJob j = small_job();
  EXPECT_DOUBLE_EQ(e.student_cost_per_1k_requests_usd,
                   plan_serving(j.student, h100(), j.workload, {}).best.front().cost_per_1k_requests_usd);
}

TEST(Distillation, NoBreakEvenWhenTheStudentIsNotCheaper) {
  DistillationJob j = small_job();
  j.student = j.teacher;  // "distilling" into the same model saves nothing
  EXPECT_FALSE(estimate_distillation(j, h100()).break_even_requests.has_value());
}

// Logit-level: one teacher forward over every training token; top-k values in BF16 and indices in
// int32, 6 bytes per kept logit: 20,000 x 600 tokens x 64 x 6 B = 4.608 GB.
TEST(Distillation, LogitModeStoresTopKPerToken) {
  DistillationJob j = small_job();
  j.mode = DistillMode::logit;
  const DistillationEstimate e = estimate_distillation(j, h100());
  EXPECT_DOUBLE_EQ(e.logit_storage_bytes, 4.608e9);
  const PrefillCapacity forward = prefill_capacity(j.teacher, default_deployment(j.teacher, j.gpu, true), 600);
  EXPECT_NEAR(e.teacher_gpu_hours, 20000.0 * 600 / (forward.computed_tokens_per_s_per_node / 8) / 3600, 1e-9);
}

TEST(Distillation, LogitModeNeedsOneVocabulary) {
  DistillationJob j = small_job();
  j.teacher = frugal::preset_model("deepseek-v3");
  j.mode = DistillMode::logit;
  try {
    (void)estimate_distillation(j, h100());
    FAIL() << "logit distillation across vocabularies accepted";
  } catch (const frugal::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--mode"), std::string::npos) << e.what();
  }
}

TEST(DistillCli, JsonHasTheIssuesKeys) {
  const ProgramRun r = frugal_sim("distill --teacher llama-3.1-70b --student llama-3.1-8b --samples 10000 --tokens-per-sample 400 "
                                  "--requests 500 --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"teacher_gpu_hours", "student_gpu_hours", "total_cost_usd", "student_cost_per_1k_requests_usd",
                          "teacher_cost_per_1k_requests_usd", "break_even_requests"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_GT(j["break_even_requests"].get<double>(), 0.0);
}

TEST(DistillCli, BadInputIsOneLine) {
  expect_refused(frugal_sim("distill --samples 0"), "--samples");
  expect_refused(frugal_sim("distill --teacher nosuch"), "nosuch");
  expect_refused(frugal_sim("distill --mode logit"), "--mode");
  expect_refused(frugal_sim("distill --rate -1"), "--rate");
}

// The DeepSeek-V3 README's base-model table: "| | MMLU (Acc.) | 5-shot | 78.4 | 85.0 | 84.4 | **87.1** |".
TEST(PublishedScores, CarryTheirSourcesNumbers) {
  const std::vector<PublishedScore> v3 = published_scores("deepseek-v3");
  ASSERT_FALSE(v3.empty());
  EXPECT_EQ(v3.front().benchmark, "MMLU");
  EXPECT_DOUBLE_EQ(v3.front().score, 87.1);
  EXPECT_EQ(v3.front().shots, 5);
  EXPECT_NE(v3.front().quote.find("87.1"), std::string::npos);
  EXPECT_NE(v3.front().source.find("DeepSeek-V3"), std::string::npos);
  for (const char* name : {"llama-3.1-8b", "llama-3.1-70b", "deepseek-v2-lite", "deepseek-moe-16b", "mixtral-8x7b", "mistral-7b-v0.1"})
    for (const PublishedScore& s : published_scores(name)) {
      EXPECT_FALSE(s.source.empty()) << name;
      EXPECT_NE(s.quote.find(fmt::format("{:.1f}", s.score)), std::string::npos) << name << " " << s.benchmark;
    }
  EXPECT_TRUE(published_scores("deepseek-v3-tiny").empty());
}

TEST(Ladder, EachRungIsThePlannersCheapest) {
  const ServingWorkload w{20.0, {1000, LengthDistribution::fixed}, {300, LengthDistribution::fixed}, 0.0, 1000, 1, {}};
  std::vector<LadderRung> rungs = {{"llama-3.1-8b", frugal::preset_model("llama-3.1-8b")},
                                   {"llama-3.1-70b", frugal::preset_model("llama-3.1-70b")}};
  const std::vector<LadderRow> rows = serving_ladder(rungs, h100(), w, {2.0, 0.05});
  ASSERT_EQ(rows.size(), 2u);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ASSERT_TRUE(rows[i].best.has_value()) << rows[i].no_plan;
    const ServingPlan alone = plan_serving(rungs[i].model, h100(), w, {2.0, 0.05});
    EXPECT_DOUBLE_EQ(rows[i].best->cost_per_1k_requests_usd, alone.best.front().cost_per_1k_requests_usd);
    EXPECT_LE(rows[i].best->simulated.tpot_s.p95, 0.05);
  }
  EXPECT_LT(rows[0].best->cost_per_1k_requests_usd, rows[1].best->cost_per_1k_requests_usd);
}

TEST(Ladder, ARungNoDeploymentMeetsIsAnsweredNotFatal) {
  const ServingWorkload w{5.0, {1000, LengthDistribution::fixed}, {300, LengthDistribution::fixed}, 0.0, 500, 1, {}};
  const std::vector<LadderRow> rows =
      serving_ladder({{"llama-3.1-8b", frugal::preset_model("llama-3.1-8b")}, {"llama-3.1-405b", frugal::preset_model("llama-3.1-405b")}},
                     h100(), w, {0, 0.004});  // 4 ms per token: an 8B on one H100 can, a 405B cannot
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows[0].best.has_value()) << rows[0].no_plan;
  EXPECT_FALSE(rows[1].best.has_value());
  EXPECT_NE(rows[1].no_plan.find("--tpot-p95"), std::string::npos) << rows[1].no_plan;
}

TEST(LadderCli, JsonRowsCarryTheIssuesKeys) {
  const std::string mistral = std::string(FRUGAL_TEST_DATA_DIR) + "/hf/mistral-7b-v0.1.json";
  const ProgramRun r = frugal_sim("serve --ladder llama-3.1-8b," + mistral + ",deepseek-v3 --rate 5 --requests 300 --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 3u);
  for (const auto& row : j)
    for (const char* key : {"cost_per_1k_requests_usd", "ttft_p95_s", "tpot_p95_s", "published_scores"})
      EXPECT_TRUE(row.contains(key)) << key;
  EXPECT_EQ(j[1]["model"], "mistral-7b-v0.1");
  ASSERT_FALSE(j[1]["published_scores"].empty());
  EXPECT_DOUBLE_EQ(j[1]["published_scores"][0]["score"].get<double>(), 60.1);  // Mistral 7B paper, Table 2
  EXPECT_TRUE(j[1]["published_scores"][0]["published"].get<bool>());
}

TEST(LadderCli, BadInputIsOneLine) {
  expect_refused(frugal_sim("serve --ladder llama-3.1-8b,nosuch"), "nosuch");
  expect_refused(frugal_sim("serve --ladder llama-3.1-8b --tpot-p95 -5"), "--tpot-p95");
}

}  // namespace

namespace {

const frugal::sim::Claim& claim_starting(const std::vector<frugal::sim::Claim>& claims, const std::string& start) {
  for (const frugal::sim::Claim& c : claims)
    if (c.claim.rfind(start, 0) == 0) return c;
  throw std::runtime_error("no claim " + start);
}

// Each verdict is computed from the figures it prints: flip the figures, the sentence flips.
TEST(ArticleClaims, VerdictsFollowTheirFigures) {
  using frugal::sim::ArticleClaimFigures;
  ArticleClaimFigures f;
  f.lora_7b_cost_usd = 0.8;
  f.full_7b_cost_usd = 1.0;
  f.serving_ratio_low_load = 16;
  f.serving_ratio_high_load = 4.7;
  auto claims = frugal::sim::article_claims(f);
  EXPECT_NE(claim_starting(claims, "$10-100").verdict.find("generous"), std::string::npos);
  EXPECT_NE(claim_starting(claims, "distillation").verdict.find("falls with load"), std::string::npos);
  EXPECT_NE(claim_starting(claims, "distillation").verdict.find("within 10-50x at 1 request/s, outside at 100"), std::string::npos);
  f.lora_7b_cost_usd = 150;
  f.full_7b_cost_usd = 400;
  f.serving_ratio_low_load = 12;
  f.serving_ratio_high_load = 30;
  claims = frugal::sim::article_claims(f);
  EXPECT_NE(claim_starting(claims, "$10-100").verdict.find("too low"), std::string::npos);
  EXPECT_NE(claim_starting(claims, "distillation").verdict.find("grows with load"), std::string::npos);
  EXPECT_NE(claim_starting(claims, "distillation").verdict.find("within 10-50x at 1 request/s, within at 100"), std::string::npos);
}

TEST(ArticleClaims, FiguresComeFromTheEngines) {
  const frugal::sim::ArticleClaimFigures f = frugal::sim::article_claim_figures(0.39);
  frugal::sim::FinetuneJob j;
  j.model = frugal::preset_model("llama-3.1-8b");
  j.gpu = frugal::sim::find_gpu("A100", "--gpu");
  j.adapters.method = frugal::sim::FinetuneMethod::lora;
  j.examples = 5000;
  j.tokens_per_example = 512;
  j.epochs = 3;
  EXPECT_DOUBLE_EQ(f.lora_7b_cost_usd, frugal::sim::estimate_finetune(j).cost_usd);
  EXPECT_GT(f.serving_ratio_low_load, 1.0);
  EXPECT_GT(f.v2_lite_gpu_hours, 100 * f.distill_8b_gpu_hours);  // pre-training a 16B dwarfs an 800K-sample SFT
  EXPECT_DOUBLE_EQ(f.v3_mfu, 0.39);
}

}  // namespace
