// The chapters that train (5, 7, 8): each runs to the end with --quick --no-pause; its training runs
// are deterministic, so the numbers it prints are the ones the same library calls give here.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <regex>

#include "../../chapters/08-distillation/distillation_run.hpp"
#include "frugal/config/presets.hpp"
#include "frugal/sim/distillation.hpp"
#include "../../chapters/common/tiny_run.hpp"
#include "frugal/core/experiments.hpp"
#include "frugal/core/fp8_gemm.hpp"
#include "chapter_run.hpp"
#include "program_run.hpp"

namespace {
using frugal::testing::chapter;
using frugal::testing::run_program;
using frugal::testing::unwrapped;
using namespace frugal::core;


void expect_final_losses_printed(const ExperimentReport& report, const std::string& out) {
  for (const ArmResult& arm : report.arms)
    EXPECT_NE(out.find(fmt::format("{:>12.4f}", arm.final_eval_loss())), std::string::npos) << arm.name << "\n" << out;
}

// Run from a directory that holds nothing of the repository: the chapters' model comes compiled in
// (frugal::config's presets), so a chapter works wherever it is run from, as gpu-check.sh's bundle runs it.
TEST(Chapters, MultiTokenPredictionDecodesLikeGreedy) {
  const std::string elsewhere = ::testing::TempDir();
  const auto r = run_program("cd " + elsewhere + " && " + chapter("chapter-05-multi-token-prediction"), "--quick --no-pause");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto setup = frugal::chapters::tiny_run(true);
  const ExperimentReport report = run_mtp(setup.model, setup.options, 1);
  expect_final_losses_printed(report, r.out);
  EXPECT_NE(r.out.find(report.footer), std::string::npos) << report.footer << "\n" << r.out;
  const auto summary = summarize(report);
  const ArmSummary &with = summary_of(summary, "mtp"), &without = summary_of(summary, "no-mtp");
  EXPECT_NE(unwrapped(r.out).find(fmt::format("MTP ends at {:.3f} against {:.3f} without: {} it", with.final_eval_loss,
                                              without.final_eval_loss,
                                              compared_with(with.final_eval_loss, 0, without.final_eval_loss, 0, 1, 0.02))),
            std::string::npos)
      << r.out;
  // Speculative decoding emits the main model's greedy tokens: every prompt says so, with fewer passes.
  EXPECT_NE(unwrapped(r.out).find("identical to greedy decoding: yes"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(" NO\n"), std::string::npos) << r.out;
  const std::regex row(R"(\n\s+\d\s+32\s+32 →\s+(\d+)\s+\d+\s+\d+\s+yes)");
  int rows = 0;
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), row); it != std::sregex_iterator(); ++it, ++rows)
    EXPECT_LT(std::stoi((*it)[1]), 32) << it->str();
  EXPECT_EQ(rows, 4) << r.out;
}

TEST(Chapters, Fp8TrainingShowsTheRecipesNumbers) {
  const auto r = run_program(chapter("chapter-07-fp8-training"), "--quick --no-pause");
  ASSERT_EQ(r.status, 0) << r.err;
  // The accumulation rows are frugal-fp8's model at K = 4096, with and without promotion.
  const AccumulationError never = accumulation_error(32, 32, 4096, {13, 32, 0}, 1);
  const AccumulationError promoted = accumulation_error(32, 32, 4096, {13, 32, 128}, 1);
  EXPECT_NE(r.out.find(fmt::format("    4096  {:>21.3f}%  {:>21.3f}%", 100 * never.max_relative_error, 100 * promoted.max_relative_error)),
            std::string::npos)
      << r.out;
  // A 1e5 outlier ruins the per-tensor GEMM's other rows, not the 1×128 one's.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(100000\s+([0-9.]+)%\s+([0-9.]+)%)"))) << r.out;
  EXPECT_GT(std::stod(m[1]), 2 * std::stod(m[2]));
  const auto setup = frugal::chapters::tiny_run(true);
  const ExperimentReport report = run_fp8_vs_fp32(setup.model, setup.options, 1);
  expect_final_losses_printed(report, r.out);
  EXPECT_NE(r.out.find(report.footer), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(fp8_gap_conclusion(report)), std::string::npos) << r.out;
  // The same on the order-1 source, and the sentence comparing the two.
  TrainOptions smooth_options = setup.options;
  smooth_options.data.markov.order = 1;
  const ExperimentReport smooth = run_fp8_vs_fp32(setup.model, smooth_options, 1);
  EXPECT_NE(r.out.find(smooth.footer), std::string::npos) << r.out;
  EXPECT_NE(unwrapped(r.out).find(fp8_source_conclusion(report, smooth)), std::string::npos) << r.out;
  // The ablation at the narrowest width and the width sweep, each with its computed conclusion.
  const ExperimentReport ablation = run_fp8_ablation(scaled_to_width(setup.model, 32), setup.options, 1);
  expect_final_losses_printed(ablation, r.out);
  EXPECT_NE(r.out.find(ablation.footer), std::string::npos) << r.out;
  const ExperimentReport widths = run_fp8_width(setup.model, setup.options, {16, 32, 64}, 1);
  EXPECT_NE(r.out.find(widths.footer), std::string::npos) << r.out;
  EXPECT_NE(unwrapped(r.out).find("faster, not 2×"), std::string::npos) << r.out;
}

TEST(Chapters, DistillationShowsTheTeachersDistribution) {
  const auto r = run_program(chapter("chapter-08-distillation"), "--quick --no-pause");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto setup = frugal::chapters::distillation_setup(true);
  const ExperimentReport report = run_distillation(setup.model, setup.options, 1);
  expect_final_losses_printed(report, r.out);
  EXPECT_NE(r.out.find(report.footer), std::string::npos) << report.footer << "\n" << r.out;
  const auto summary = summarize(report);
  const double hard = summary_of(summary, "hard-labels").final_eval_loss, logit = summary_of(summary, "logit-kd").final_eval_loss;
  EXPECT_NE(unwrapped(r.out).find(fmt::format("Logit distillation ends {} hard labels ({:.4f} vs {:.4f})",
                                              compared_with(logit, 0, hard, 0, 1, 0.02), logit, hard)),
            std::string::npos)
      << r.out;
  // The soft-target table: probabilities, T = 2 flatter than T = 1 at the teacher's top token.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(teacher, T = 2\n\s+\d+\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\n)"))) << r.out;
  const double truth = std::stod(m[1]), t1 = std::stod(m[2]), t2 = std::stod(m[3]);
  EXPECT_GE(truth, 0.0);
  EXPECT_LE(truth, 1.0);
  EXPECT_GT(t1, t2);
  EXPECT_LE(t1, 1.0);
  // The sweep's table and the sentence computed from it (the same run: the same numbers).
  const ExperimentReport sweep = run_sequence_kd(setup.model, setup.options, frugal::chapters::sequence_kd_sweep(true), 1);
  expect_final_losses_printed(sweep, r.out);
  EXPECT_NE(unwrapped(r.out).find(sequence_kd_conclusion(sweep)), std::string::npos) << sequence_kd_conclusion(sweep);
  // It ends by pricing R1's recipe at full scale with frugal-sim distill's engine: the same job
  // gives the same table, and the conclusion names the part that costs more.
  frugal::sim::DistillationJob job;
  job.teacher = frugal::preset_model("deepseek-v3");
  job.student = frugal::preset_model("llama-3.1-8b");
  job.samples = 800000;
  job.tokens_per_sample = 1000;
  job.prompt_tokens = 200;
  job.epochs = 2;
  job.gpu = frugal::sim::find_gpu("H800", "gpu");
  job.workload = frugal::sim::ServingWorkload{20.0, {1000, frugal::sim::LengthDistribution::exponential},
                                              {300, frugal::sim::LengthDistribution::exponential}, 0.0, 1000, 1, {}};
  job.slo = {2.0, 0.05};
  const auto priced = frugal::sim::estimate_distillation(job, frugal::sim::priced_alike({job.gpu}, 2.0));
  EXPECT_NE(r.out.find(frugal::sim::distillation_table(priced)), std::string::npos) << r.out;
  EXPECT_NE(unwrapped(r.out).find(priced.teacher_gpu_hours > priced.student_gpu_hours ? "most of it the teacher's generation"
                                                                                      : "most of it the student's training"),
            std::string::npos);
}

}  // namespace
