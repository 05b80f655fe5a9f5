// The chapters that price things (1, 9, 11, 12): each runs to the end with --quick --no-pause and
// prints the numbers the simulator gives, which are checked here against published figures.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <tuple>

#include "../../chapters/common/published_bill.hpp"
#include "frugal/sim/efficiency.hpp"
#include "frugal/sim/format.hpp"
#include "frugal/sim/gemm_model.hpp"
#include "frugal/sim/pipeline.hpp"
#include "frugal/sim/serving_report.hpp"
#include "frugal/sim/training_corpus.hpp"
#include "frugal/sim/training_sim.hpp"
#include "chapter_run.hpp"
#include "program_run.hpp"

namespace {
using frugal::testing::chapter;
using frugal::testing::run_program;
using frugal::testing::unwrapped;


TEST(Chapters, TheBillRebuildsTable1) {
  const auto r = run_program(chapter("chapter-01-the-bill"), "--quick --no-pause");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto bill = frugal::chapters::published_bill();
  // V3 report Table 1: 2,788K H800-hours at $2 = $5.576M, of which post-training 5K.
  EXPECT_DOUBLE_EQ(bill.total_cost_usd(), 5.576e6);
  EXPECT_DOUBLE_EQ(bill.lines.back().gpu_hours, 5000);
  EXPECT_NE(r.out.find("$5.576M"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("5,000"), std::string::npos) << r.out;
  // Table 1's pre-training GPU-hours and ISCA25's MFU tell the same story: 250 GFLOP/token × 14.8T
  // tokens on 2048 H800s in 2,664K hours is ≈ 39% of the BF16 peak.
  const auto e = frugal::chapters::back_of_envelope();
  EXPECT_NEAR(e.flops_per_token, 250e9, 0.02 * 250e9);
  EXPECT_NEAR(e.implied_mfu, e.published_mfu, 0.05 * e.published_mfu);
  EXPECT_NE(r.out.find(fmt::format("{:.1f}%", 100 * e.implied_mfu)), std::string::npos) << r.out;
  // The dense counterfactual is printed, and dense models cost more.
  EXPECT_NE(r.out.find("dense"), std::string::npos);
  EXPECT_NE(r.out.find("Exercises"), std::string::npos);
}

TEST(Chapters, GpuUtilisationPlacesV3OnTheRoofline) {
  using namespace frugal::sim;
  const auto r = run_program(chapter("chapter-09-gpu-utilisation"), "--quick --no-pause");
  ASSERT_EQ(r.status, 0) << r.err;
  const GpuSpec h800 = find_gpu("H800", "gpu");
  // Ridge point: 989.5 TFLOP/s ÷ 3.35 TB/s = 295 FLOP/byte.
  EXPECT_NEAR(h800.bf16_flops / h800.hbm_bandwidth, 295.4, 0.1);
  EXPECT_NE(unwrapped(r.out).find("I = 295 FLOP/byte"), std::string::npos) << r.out;
  // An expert GEMM of 4096 × 7168 × 2048 in bf16: 2mkn / 2(mk + kn + mn) = 1146.9 FLOP/byte,
  // compute-bound; at 128 tokens 118.5, memory-bound; the simulator's prediction beside each.
  for (const auto& [tokens, intensity, bound] : {std::tuple{4096.0, "1146.9", "compute"}, std::tuple{128.0, "118.5", "memory"}}) {
    const double seconds = gemm_time({tokens, 2048, 7168, 1}, GemmPrecision::bf16, h800, default_efficiency());
    const std::regex row(fmt::format(R"(expert GEMM, {:g} tokens × 7168 × 2048\s+{}\s+{}\s+\d+\s+{:.0f} TFLOP/s)", tokens,
                                     intensity, bound, 2 * tokens * 7168 * 2048 / seconds / 1e12));
    EXPECT_TRUE(std::regex_search(r.out, row)) << tokens << "\n" << r.out;
  }
  // 50% MFU on V3's pre-training FLOPs, in GPU-hours.
  const auto e = frugal::chapters::back_of_envelope();
  EXPECT_NE(r.out.find(format_thousands(e.total_flops / (0.5 * e.peak_flops) / 3600)), std::string::npos) << r.out;
  // The GPU step either timed the kernels or said why it could not.
  EXPECT_TRUE(r.out.find("No GPU here (") != std::string::npos || r.out.find("GPU v2 (WMMA tensor cores)") != std::string::npos) << r.out;
}

// The measured all-to-all equals frugal-sim's formula (as tests/mpi check byte for byte); node-limited
// routing keeps every token within M = 2 nodes; the bubble table is sim's Table 2 formulas.
TEST(Chapters, ParallelismMeasuresTheAllToAll) {
  using namespace frugal::sim;
  // OpenMPI keeps MPI_Init's allocations: LeakSanitizer is off for the ranks (tests/CMakeLists.txt).
  const auto r = run_program("ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 " + chapter("chapter-10-parallelism"), "--quick --no-pause");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string text = unwrapped(r.out);
#ifdef FRUGAL_HAVE_MPI
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(each rank sent ([0-9.]+) KB to the others)"))) << r.out;
  const std::string measured = m[1];
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(gives ([0-9.]+) KB with the measured copies)"))) << r.out;
  EXPECT_EQ(measured, m[1].str());
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(every token reached at most (\d+) nodes)"))) << r.out;
  EXPECT_LE(std::stoi(m[1]), 2);
  // It starts mpirun itself: run under mpirun, it refuses with one line (from rank 0 alone).
  frugal::testing::expect_refused(
      run_program("ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 " + std::string(FRUGAL_MPIEXEC) +
                      " -q --allow-run-as-root --oversubscribe -np 2 " + chapter("chapter-10-parallelism"),
                  "--quick --no-pause"),
      "not under mpirun");
#else
  EXPECT_NE(text.find("needs MPI and could not run"), std::string::npos) << r.out;
#endif
  // The same run measured twice: the floor the chapter prints is the corpus's own.
  const IndistinguishableRows floor = indistinguishable_rows(embedded_training_corpus()).front();
  EXPECT_NE(text.find(fmt::format("the best it can do is {:.1f}% from each", 100 * floor.error_floor)), std::string::npos) << r.out;
  EXPECT_NE(text.find(floor.rows.front()->name), std::string::npos) << r.out;
  const auto run = frugal::chapters::deepseek_v3_run();
  const TrainingEstimate v3 = simulate_training(run);
  const StepBreakdown& s = v3.stages.front().step;
  // DualPipe's bubble, V3 Table 2: (PP/2 − 1)(F&B + B − 3W) with F&B = F + B.
  const double dualpipe = (16 / 2 - 1) * (s.forward_s + 2 * s.backward_s - 3 * s.weight_grad_s);
  EXPECT_NEAR(bubble_time(PipelineSchedule::dualpipe, 16, 2, s.forward_s, s.backward_s, s.weight_grad_s), dualpipe, 1e-9);
  EXPECT_TRUE(std::regex_search(r.out, std::regex(fmt::format(R"(dualpipe\s+\(PP/2 − 1\)\(F&B \+ B − 3W\)\s+{:.2f} s)", dualpipe))))
      << r.out;
}

// Serving: MLA's KV cache is the published one; cost per request falls with load; MTP drafts cut the
// time per output token.
TEST(Chapters, ServingEconomicsPricesRequests) {
  using namespace frugal::sim;
  const auto r = run_program(chapter("chapter-11-serving-economics"), "--quick --no-pause");
  ASSERT_EQ(r.status, 0) << r.err;
  // ISCA25 Table 1: 70,272 B per token for DeepSeek-V3 (BF16), 516,096 B for Llama 3.1 405B.
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(deepseek-v3\s+MLA\s+70,272 B \(68.6 KiB\)\s+70,272 B)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(llama-3.1-405b\s+GQA\s+516,096 B)"))) << r.out;
  std::vector<double> cost;
  const std::regex load_row(R"(\n  (1|4|16|64)\s+\d+%[^\n]*\s([0-9.]+)(?=\n))");
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), load_row); it != std::sregex_iterator(); ++it)
    cost.push_back(std::stod((*it)[2]));
  ASSERT_EQ(cost.size(), 4u) << r.out;
  for (std::size_t i = 1; i < cost.size(); ++i) EXPECT_LT(cost[i], cost[i - 1]);
  std::smatch given, mtp;
  ASSERT_TRUE(std::regex_search(r.out, given, std::regex(R"(as given\s+deepseek-v3\s+[0-9.]+ ms\s+([0-9.]+) ms)"))) << r.out;
  ASSERT_TRUE(std::regex_search(r.out, mtp, std::regex(R"(with MTP \(85% acceptance\)\s+deepseek-v3\s+[0-9.]+ ms\s+([0-9.]+) ms)"))) << r.out;
  EXPECT_LT(std::stod(mtp[1]), 0.7 * std::stod(given[1]));
  // The H20 sentence reads its rows: the sign of the two errors, and which EP the sweep and the model
  // put ahead at 8 sequences a GPU.
  const std::vector<ServingCheck> checks = validate_published_serving();
  auto error_of = [&checks](const std::string& prefix) {
    for (const ServingCheck& c : checks)
      if (c.name.rfind(prefix, 0) == 0) return c;
    ADD_FAILURE() << prefix;
    return ServingCheck{};
  };
  const ServingCheck big = error_of("SGLang decode (Ant Group), 16 H20 (EP16, attention DP16), 48 sequences"),
                     small = error_of("SGLang decode (Ant Group), 16 H20 (EP16, attention DP16), 8 sequences"),
                     ep32 = error_of("SGLang decode (Ant Group), 32 H20 (EP32, attention DP32), 8 sequences");
  const std::string text = unwrapped(r.out);
  EXPECT_NE(text.find(std::string("the error ") + ((big.rel_error < 0) != (small.rel_error < 0) ? "changes sign" : "keeps its sign")),
            std::string::npos) << text;
  EXPECT_NE(text.find(std::string("the model puts it ") +
                      ((ep32.predicted > small.predicted) == (ep32.published > small.published) ? "the same way" : "the other way")),
            std::string::npos) << text;
  // The published serving day's revenue, reproduced from its token counts and prices.
  EXPECT_NE(r.out.find("daily revenue at R1 prices (USD)"), std::string::npos) << r.out;
  // The planner's cheapest deployment for 100 requests/s, priced at that rate: its GPUs x $2 an hour
  // over 360,000 requests an hour, as the table rounds it.
  std::smatch plan;
  ASSERT_TRUE(std::regex_search(r.out, plan, std::regex(R"(at \$2\.00/h, [^\n]*?\s(\d+)\s+[0-9.]+\s+[0-9.]+ / [0-9.]+ s\s+[0-9.]+ / [0-9.]+ ms\s+([0-9.]+)\s)")))
      << r.out;
  EXPECT_NEAR(std::stod(plan[2]), std::stod(plan[1]) * 2.0 / 3600.0 / 100.0 * 1000.0, 0.0005) << plan[0];
}

// Chapter 12 on its example (Mixtral 8x7B's config.json, counted as Mistral publishes it), on
// another config, and refusing bad input the docs/ARCHITECTURE.md way.
TEST(Chapters, YourModelPricesAConfigJson) {
  using frugal::testing::expect_refused;
  const auto r = run_program(chapter("chapter-12-your-model"), "--quick --no-pause");
  ASSERT_EQ(r.status, 0) << r.err;
  // Mixtral 8x7B: 46.7B parameters (Mistral AI, "Mixtral of experts" blog; sim/data/published.json).
  EXPECT_NE(unwrapped(r.out).find("46.7B parameters, 12.7B activated per token"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mixtral (this run)"), std::string::npos) << r.out;
  const auto qwen = run_program(chapter("chapter-12-your-model"), fmt::format("--quick --no-pause --config {}/qwen2-7b.json --gpus 64 --tokens 2T", FRUGAL_HF_CONFIGS_DIR));
  ASSERT_EQ(qwen.status, 0) << qwen.err;
  EXPECT_NE(unwrapped(qwen.out).find("on 64 x H800"), std::string::npos) << qwen.out;
  EXPECT_NE(qwen.out.find("pre-training: 2.00T tokens"), std::string::npos) << qwen.out;
  // gpt-oss: its sliding-window layers are named, and the keys that change no cost are listed.
  const auto oss = run_program(chapter("chapter-12-your-model"), fmt::format("--quick --no-pause --config {}/gpt-oss-20b.json --gpus 64", FRUGAL_HF_CONFIGS_DIR));
  ASSERT_EQ(oss.status, 0) << oss.err;
  EXPECT_NE(unwrapped(oss.out).find("sliding window of 128 tokens in 12 of 24 layers"), std::string::npos) << oss.out;
  EXPECT_NE(unwrapped(oss.out).find("Read but not used, because they change no cost: "), std::string::npos) << oss.out;
  expect_refused(run_program(chapter("chapter-12-your-model"), "--no-pause --config /nonexistent.json"), "--config");
  expect_refused(run_program(chapter("chapter-12-your-model"), "--no-pause --gpus -4"), "--gpus");
  expect_refused(run_program(chapter("chapter-12-your-model"), "--no-pause --tokens lots"), "--tokens");
}

}  // namespace
