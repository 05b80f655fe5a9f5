// The validation corpus (sim/data/training_corpus.json): rows without a source, a layout or a
// measured figure are refused naming the row and field; leave-one-series-out predicts each series
// with constants fitted on the others; every shipped row is predicted; the JSON output's keys.
#include <gtest/gtest.h>

#include "program_run.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/config/config_file.hpp"
#include "frugal/sim/model_accountant.hpp"
#include "frugal/sim/training_corpus.hpp"

namespace {

using frugal::testing::expect_refused;
using frugal::testing::frugal_sim;
using frugal::testing::ProgramRun;
using frugal::testing::write_temp;
using namespace frugal::sim;


// One complete step row: Llama 3.1 8B on 8 H100s, FSDP, 64 x 4096 tokens per step.
nlohmann::json tiny_row() {
  return nlohmann::json::parse(R"({
    "name": "Tiny row", "class": "step", "series": "s", "metric": "tokens_per_s_per_gpu", "published": 1000,
    "source": "a test", "quote": "| 1000 |",
    "run": {"model": {"preset": "llama-3.1-8b"}, "cluster": {"gpu": "H100", "gpus": 8},
            "training": {"precision": "bf16", "recompute": "none",
                         "stages": [{"name": "measured", "seq_len": 4096, "global_batch": 64, "steps": 1}]},
            "parallelism": {"tp": 1, "pp": 1, "dp": 8, "micro_batch": 1, "zero_stage": 3}}})");
}

std::string corpus_file_with(const nlohmann::json& row) {
  return write_temp(nlohmann::json{{"rows", nlohmann::json::array({row})}}.dump());
}

TEST(TrainingCorpus, CompleteRowIsAccepted) {
  const ProgramRun r = frugal_sim("validate --corpus " + corpus_file_with(tiny_row()) + " --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["rows"].size(), 1u);
}

TEST(TrainingCorpus, RowWithoutSourceIsRefused) {
  nlohmann::json row = tiny_row();
  row.erase("source");
  expect_refused(frugal_sim("validate --corpus " + corpus_file_with(row)), "rows[0] (Tiny row).source: missing");
  row["source"] = " ";
  expect_refused(frugal_sim("validate --corpus " + corpus_file_with(row)), "rows[0] (Tiny row).source: must not be empty");
}

TEST(TrainingCorpus, RowWithoutLayoutIsRefused) {
  nlohmann::json row = tiny_row();
  row["run"].erase("parallelism");
  expect_refused(frugal_sim("validate --corpus " + corpus_file_with(row)), "rows[0] (Tiny row).run.parallelism: missing");
  row = tiny_row();
  row["run"]["parallelism"].erase("micro_batch");
  expect_refused(frugal_sim("validate --corpus " + corpus_file_with(row)),
                 "rows[0] (Tiny row).run.parallelism.micro_batch: missing");
  row = tiny_row();
  row["run"]["parallelism"]["ep_dispatcher"] = "nccl";
  expect_refused(frugal_sim("validate --corpus " + corpus_file_with(row)),
                 "rows[0] (Tiny row).run: parallelism.ep_dispatcher: unknown value \"nccl\" (known: deepep, alltoall)");
}

TEST(TrainingCorpus, RowWithoutMeasuredFigureIsRefused) {
  nlohmann::json row = tiny_row();
  row.erase("published");
  expect_refused(frugal_sim("validate --corpus " + corpus_file_with(row)),
                 "rows[0] (Tiny row).published: missing (required: the measured figure)");
  row["published"] = -3;
  expect_refused(frugal_sim("validate --corpus " + corpus_file_with(row)), "rows[0] (Tiny row).published: must be positive");
  row = tiny_row();
  row["metric"] = "mfu";
  expect_refused(frugal_sim("validate --corpus " + corpus_file_with(row)), "rows[0] (Tiny row).metric: unknown value");
}

// A synthetic corpus whose truth is known: y = c x with c fitted as the mean of y/x over the rows
// given. Held-out predictions, by hand:
//   series a (rows 0, 1): c = mean(3, 4) = 3.5      -> 3.5 x 1 = 3.5, 3.5 x 2 = 7
//   series b (row 2):     c = mean(2, 2, 4) = 8/3    -> 8/3 x 1
//   series c (row 3):     c = mean(2, 2, 3) = 7/3    -> 7/3 x 2
struct SyntheticRow {
  std::string series;
  double x, y;
};
const std::string& series_key(const SyntheticRow& r) { return r.series; }

TEST(LeaveOneSeriesOut, PredictsEachSeriesWithConstantsFittedOnTheOthers) {
  const std::vector<SyntheticRow> rows = {{"a", 1, 2}, {"a", 2, 4}, {"b", 1, 3}, {"c", 2, 8}};
  std::vector<std::string> fits;
  const auto fit = [&](const std::vector<const SyntheticRow*>& training) {
    std::set<std::string> seen;
    double sum = 0;
    for (const SyntheticRow* r : training) {
      sum += r->y / r->x;
      seen.insert(r->series);
    }
    fits.push_back(std::to_string(seen.size()));
    return sum / static_cast<double>(training.size());
  };
  const auto predict = [](const SyntheticRow& r, double c) { return c * r.x; };
  const std::vector<double> p = frugal::sim::leave_one_series_out(rows, fit, predict);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_DOUBLE_EQ(p[0], 3.5);
  EXPECT_DOUBLE_EQ(p[1], 7.0);
  EXPECT_DOUBLE_EQ(p[2], 8.0 / 3.0);
  EXPECT_DOUBLE_EQ(p[3], 14.0 / 3.0);
  // One fit per series, each on the two other series.
  EXPECT_EQ(fits, (std::vector<std::string>{"2", "2", "2"}));
}

TEST(ErrorSummary, MedianMaxAndShareLow) {
  // |errors| sorted: 0.05, 0.1, 0.2, 0.3 -> median 0.15, max 0.3; two of four predicted low.
  const frugal::sim::ErrorSummary s = frugal::sim::summarize_errors({-0.1, 0.2, -0.3, 0.05});
  EXPECT_EQ(s.count, 4u);
  EXPECT_DOUBLE_EQ(s.median_abs, 0.15);
  EXPECT_DOUBLE_EQ(s.max_abs, 0.3);
  EXPECT_DOUBLE_EQ(s.share_low, 0.5);
}

// Errors summarised in the direction of time: a throughput predicted 2x the measured one is a step
// predicted at half the measured time (-50%); a time or GPU-hour figure keeps its own error.
TEST(ErrorSummary, ThroughputErrorsTurnIntoStepTimeErrors) {
  EXPECT_DOUBLE_EQ(frugal::sim::time_rel_error("tokens_per_s_per_gpu", 2000.0, 1000.0), -0.5);
  EXPECT_DOUBLE_EQ(frugal::sim::time_rel_error("tokens_per_s_per_gpu", 800.0, 1000.0), 0.25);
  EXPECT_DOUBLE_EQ(frugal::sim::time_rel_error("step_time_s", 1.2, 1.0), 1.2 / 1.0 - 1.0);
  EXPECT_DOUBLE_EQ(frugal::sim::time_rel_error("gpu_hours", 0.9e6, 1.0e6), 0.9e6 / 1.0e6 - 1.0);
}

TEST(TrainingCorpus, ShippedCorpusLoadsAndEveryRowIsPredicted) {
  const frugal::sim::TrainingCorpus& corpus = frugal::sim::embedded_training_corpus();
  std::size_t step = 0, moe_step = 0, whole = 0, finetune = 0;
  std::int64_t fewest_gpus = 1 << 30, most_gpus = 0;
  std::set<std::string> step_gpus;
  for (const frugal::sim::CorpusRow& r : corpus.rows) {
    EXPECT_FALSE(r.source.empty()) << r.name;
    EXPECT_FALSE(r.quote.empty()) << r.name;
    if (r.row_class == "step") {
      ++step;
      if (r.is_moe) ++moe_step;
      fewest_gpus = std::min(fewest_gpus, r.run.gpus);
      most_gpus = std::max(most_gpus, r.run.gpus);
      step_gpus.insert(r.run.gpu.name);
    } else if (r.row_class == "finetune") {
      ++finetune;
      EXPECT_TRUE(r.run.adapters.method != frugal::sim::FinetuneMethod::full || r.name.find("full") != std::string::npos) << r.name;
    } else {
      ++whole;
    }
  }
  EXPECT_GE(finetune, 2u);
  // The issue asks for >= 30 step measurements, >= 10 of them MoE.
  EXPECT_GE(step, 30u);
  EXPECT_GE(moe_step, 10u);
  EXPECT_GE(whole, 1u);
  // ... from 8 to 16K GPUs (Llama 3 Table 4's 16,384 H100s), on A100, H100 and H800.
  EXPECT_LE(fewest_gpus, 8);
  EXPECT_GE(most_gpus, 16384);
  EXPECT_TRUE(step_gpus.count("A100") && step_gpus.count("H100") && step_gpus.count("H800"));
  const std::vector<frugal::sim::CorpusPrediction> predictions = frugal::sim::predict_training_corpus(corpus);
  ASSERT_EQ(predictions.size(), corpus.rows.size());
  for (const frugal::sim::CorpusPrediction& p : predictions) {
    EXPECT_TRUE(std::isfinite(p.predicted) && p.predicted > 0) << p.row->name;
    EXPECT_TRUE(std::isfinite(p.out_of_sample_rel_error)) << p.row->name;
  }
}

TEST(TrainingCorpus, JsonRowsCarryTheIssuesKeys) {
  const ProgramRun r = frugal_sim("validate --corpus --leave-one-out --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_GE(j["rows"].size(), 30u);
  const std::set<std::string> expected = {"name",      "class",     "metric",                  "published", "predicted",
                                          "rel_error", "series",    "out_of_sample_rel_error", "source",    "lacks"};
  for (const auto& row : j["rows"]) {
    std::set<std::string> keys;
    for (auto it = row.begin(); it != row.end(); ++it) keys.insert(it.key());
    EXPECT_EQ(keys, expected);
  }
  for (const char* c : {"step", "whole_run", "finetune"})
    for (const char* k : {"in_sample", "out_of_sample"}) EXPECT_TRUE(j["summary"][c].contains(k)) << c << " " << k;
}

}  // namespace

// Inline corpus models of families whose published config.json is in tests/data/hf count and lay
// out their layers exactly as the Hugging Face reader does with that file.
TEST(TrainingCorpus, ModelsAgreeWithTheirPublishedConfigs) {
  const std::map<std::string, std::string> published = {
      {"gpt-oss-120b", "gpt-oss-120b"}, {"qwen3-30b-a3b", "qwen3-30b-a3b"}, {"qwen3-235b-a22b", "qwen3-235b-a22b"}};
  int checked = 0;
  for (const frugal::sim::CorpusRow& row : frugal::sim::embedded_training_corpus().rows) {
    const auto it = published.find(row.run.model.name);
    if (row.row_class != "step" || it == published.end()) continue;
    using namespace frugal::sim;
    const frugal::ModelConfig hf = frugal::load_model_config_file(std::string(FRUGAL_TEST_DATA_DIR) + "/hf/" + it->second + ".json");
    const frugal::ModelConfig& ours = row.run.model;
    const std::int64_t seq = row.run.stages.at(0).seq_len;
    AccountingOptions at_seq;
    at_seq.seq_len = seq;
    const ModelAccount a = account_model(ours, at_seq), b = account_model(hf, at_seq);
    EXPECT_DOUBLE_EQ(a.total_params, b.total_params) << row.name;
    EXPECT_DOUBLE_EQ(a.active_params, b.active_params) << row.name;
    EXPECT_EQ(ours.moe_layer_count(), hf.moe_layer_count()) << row.name;
    EXPECT_EQ(ours.local_layer_count(), hf.local_layer_count()) << row.name;
    EXPECT_EQ(ours.attention.window, hf.attention.window) << row.name;
    EXPECT_DOUBLE_EQ(a.train_flops_per_token, b.train_flops_per_token) << row.name;
    ++checked;
  }
  EXPECT_EQ(checked, 42);  // 29 Megatron-Bridge rows (12 of them on B300, GB200 and GB300), the 5 Megatron-MoE-ModelZoo Qwen3-235B layouts and its 8 long-context rows
}

// Two rows with one run and step times 10 s and 20 s: the best single prediction is
// 2 x 10 x 20 / 30 = 13.33 s, 33.3% from each; a row with another GPU count is not in the group.
TEST(IndistinguishableRows, FloorIsHalfTheSpreadOverTheMean) {
  nlohmann::json a = tiny_row(), b = tiny_row(), c = tiny_row();
  a["name"] = "A";
  a["metric"] = "step_time_s";
  a["published"] = 10.0;
  b["name"] = "B";
  b["metric"] = "step_time_s";
  b["published"] = 20.0;
  c["name"] = "C";
  c["run"]["cluster"]["gpus"] = 16;
  c["run"]["parallelism"]["dp"] = 16;
  const TrainingCorpus corpus =
      training_corpus_from_json(nlohmann::json{{"rows", nlohmann::json::array({a, c, b})}}, "test corpus");
  const std::vector<IndistinguishableRows> groups = indistinguishable_rows(corpus);
  ASSERT_EQ(groups.size(), 1u);
  ASSERT_EQ(groups[0].rows.size(), 2u);
  EXPECT_EQ(groups[0].rows[0]->name, "A");
  EXPECT_EQ(groups[0].rows[1]->name, "B");
  EXPECT_NEAR(groups[0].error_floor, 1.0 / 3.0, 1e-12);
  // The floor is reached: 13.33 s is 33.3% from both, and any other step time is farther from one.
  const double best = 2.0 * 10.0 * 20.0 / 30.0;
  EXPECT_NEAR(best / 10.0 - 1.0, groups[0].error_floor, 1e-12);
  EXPECT_NEAR(1.0 - best / 20.0, groups[0].error_floor, 1e-12);
}

// tokens/s/GPU become a step time with the run's own batch: 64 x 4096 / (1000 x 8) = 32.768 s.
TEST(IndistinguishableRows, ThroughputRowsAreComparedAsStepTimes) {
  const TrainingCorpus corpus =
      training_corpus_from_json(nlohmann::json{{"rows", nlohmann::json::array({tiny_row()})}}, "test corpus");
  EXPECT_NEAR(published_step_time(corpus.rows[0]), 32.768, 1e-12);
}

// The shipped corpus holds the same Qwen3-30B-A3B run measured at 5,113 and 9,058 tokens/s/GPU
// (Megatron-Bridge 26.02 and 26.02.01): (9058 - 5113) / (9058 + 5113) = 27.8% no model can beat.
TEST(IndistinguishableRows, ShippedCorpusHasTheQwen3ReleasePair) {
  bool found = false;
  for (const IndistinguishableRows& g : indistinguishable_rows(embedded_training_corpus()))
    if (g.rows.size() == 2 && g.rows[0]->name.find("Qwen3-30B-A3B FP8 16xH100") != std::string::npos) {
      found = true;
      EXPECT_NEAR(g.error_floor, (9058.0 - 5113.0) / (9058.0 + 5113.0), 1e-9);
    }
  EXPECT_TRUE(found);
}

// llm-foundry's MPT-7B on 8 H100s from 1K to 65K tokens a sequence (one series, ~1M tokens a
// batch) ran a FlashAttention-1-class kernel. Priced with it, the series' errors lie within a few
// points of each other; priced as FlashAttention-2 they ran from -5% (1K) to +51% (65K), the
// attention-bound rows far too fast.
TEST(TrainingCorpus, MptSequenceSeriesIsFlatWithTheKernelItRan) {
  const auto series_errors = [](const TrainingCorpus& corpus) {
    std::vector<double> errors;
    for (const CorpusPrediction& p : predict_training_corpus(corpus, false))
      if (p.row->series.rfind("MPT-7B-8xH100-seqlen", 0) == 0) errors.push_back(p.time_rel_error);
    return errors;
  };
  const std::vector<double> with_kernel = series_errors(embedded_training_corpus());
  ASSERT_EQ(with_kernel.size(), 5u);
  const auto [low, high] = std::minmax_element(with_kernel.begin(), with_kernel.end());
  EXPECT_LT(*high - *low, 0.10);

  TrainingCorpus as_fa2 = embedded_training_corpus();
  for (CorpusRow& row : as_fa2.rows)
    if (row.series.rfind("MPT-7B-8xH100-seqlen", 0) == 0) row.run.attention_kernel = AttentionKernel::flash_attention_2;
  const std::vector<double> without = series_errors(as_fa2);
  const auto [low2, high2] = std::minmax_element(without.begin(), without.end());
  EXPECT_GT(*high2 - *low2, 0.30);
}
