// Every chapter runs to the end with --quick --no-pause, exits 0, and prints the key numbers that
// the same library calls give here.
#include <gtest/gtest.h>

#include <algorithm>

#include <fmt/format.h>

#include "../../chapters/02-moe-routing/routing_demo.hpp"
#include "../../chapters/03-load-balancing/balancing_run.hpp"
#include "frugal/core/fp8_format.hpp"
#include "frugal/core/fp8_quantize.hpp"
#include "chapter_run.hpp"
#include "program_run.hpp"

namespace {
using frugal::testing::chapter;
using frugal::testing::run_program;



TEST(Chapters, MoeRoutingPrintsTheRoutersChoices) {
  const auto r = run_program(chapter("chapter-02-moe-routing"), "--quick --no-pause");
  ASSERT_EQ(r.status, 0) << r.err;
  auto demo = frugal::chapters::make_routing_demo();
  frugal::core::Matrix<float> out;
  demo->layer->forward(out, demo->x, 1, frugal::chapters::RoutingDemo::tokens, demo->params);
  const auto& router = demo->layer->router();
  const std::string token0 = fmt::format("  {:5d}   {:<16} {}", 0, fmt::format("{:3d}{:3d}", router.chosen()[0], router.chosen()[1]),
                                         fmt::format("{:7.3f}{:7.3f}", router.weights()(0, 0), router.weights()(0, 1)));
  EXPECT_NE(r.out.find(token0), std::string::npos) << token0 << "\n" << r.out;
  EXPECT_NE(r.out.find(fmt::format("MaxVio = max load / mean load − 1 = {:.3f}", router.load().max_violation())), std::string::npos);
  EXPECT_NE(r.out.find("Exercises"), std::string::npos);
  EXPECT_EQ(r.out.find("[Enter to continue]"), std::string::npos);  // --no-pause
}

// The quick runs are deterministic: the chapter's γ sweep, the γ it then trains with and its MaxVio
// rows are the experiments'.
TEST(Chapters, LoadBalancingPrintsTheExperimentsMaxVio) {
  const auto r = run_program(chapter("chapter-03-load-balancing"), "--quick --no-pause");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto base = frugal::chapters::tiny_run(true);
  const auto sweep = frugal::core::run_balancing_gamma(base.model, base.options, frugal::chapters::chapter_gammas(true), 1);
  EXPECT_NE(r.out.find(frugal::core::balancing_gamma_conclusion(sweep)), std::string::npos) << r.out;
  const double gamma = frugal::core::best_gamma_row(sweep).at("gamma").get<double>();
  const auto setup = frugal::chapters::balancing_setup(true, gamma);
  EXPECT_EQ(setup.options.router.aux_loss_alpha, 0.001);  // the loss-free paper's baseline (§4.1)
  const auto report = frugal::core::run_balancing(setup.model, setup.options, 1);
  ASSERT_EQ(report.arms.size(), 3u);
  for (const auto& arm : report.arms)
    EXPECT_NE(r.out.find(fmt::format("{:>9.3f}\n", arm.history.back().max_violation)), std::string::npos) << arm.name << "\n" << r.out;
  // The conclusions are computed from the runs printed: the late MaxVio of each arm, and the
  // comparison sentence with its noise rule.
  std::string flat = r.out;
  std::replace(flat.begin(), flat.end(), '\n', ' ');
  const double free = report.arms[0].late_max_violation(), aux = report.arms[1].late_max_violation();
  EXPECT_NE(flat.find(fmt::format("MaxVio averages {:.3f} with the bias, {:.3f} with the auxiliary loss", free, aux)),
            std::string::npos) << r.out;
  EXPECT_NE(flat.find(free < aux ? "the bias balances better than the loss" : "the bias balances worse than the loss"),
            std::string::npos) << r.out;
  EXPECT_NE(flat.find(frugal::core::balancing_conclusion(report)), std::string::npos) << r.out;
  EXPECT_NE(flat.find(fmt::format("(γ = {:g})", gamma)), std::string::npos) << r.out;
}

TEST(Chapters, MoeVsDensePrintsTheExperimentsLosses) {
  const auto r = run_program(chapter("chapter-04-moe-vs-dense"), "--quick --no-pause");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto run = frugal::chapters::tiny_run(true);
  const auto report = frugal::core::run_dense_vs_moe(run.model, run.options, 1);
  for (const auto& arm : report.arms) {
    const auto& last = arm.history.back();
    EXPECT_NE(r.out.find(fmt::format("step {:4d}  {:8.2f} GFLOP  held-out {:.4f}", last.step, last.flops / 1e9, last.eval_loss)),
              std::string::npos)
        << arm.name << "\n" << r.out;
  }
  // The sentence comes from the same numbers (compared_with: flip them and it flips; test_experiments).
  const auto summary = frugal::core::summarize(report);
  const auto &moe = frugal::core::summary_of(summary, "moe"), &dense = frugal::core::summary_of(summary, "dense");
  EXPECT_NE(frugal::testing::unwrapped(r.out).find("the MoE loss is " + frugal::core::compared_with(moe.loss_at_common_flops, 0, dense.loss_at_common_flops,
                                                                                   0, 1, 0.02)),
            std::string::npos)
      << r.out;
}

TEST(Chapters, Fp8FormatsPrintsTheLibrarysCodes) {
  using namespace frugal::core;
  const auto r = run_program(chapter("chapter-06-fp8-formats"), "--quick --no-pause");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(fmt::format("3.14  0x{:02X}  {}", fp8_encode(3.14, kE4M3), fp8_bits(fp8_encode(3.14, kE4M3), kE4M3))),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(fmt::format("1000  0x{:02X}", fp8_encode(1000.0, kE4M3, Saturation::none))), std::string::npos);
  // The per-tensor zeros a 1e5 outlier causes in the quick 64 × 1024 matrix.
  Rng rng(6);
  Matrix<float> x(64, 1024);
  fill_normal(x, rng, 1.0);
  x(0, 0) = 1e5f;
  const auto e = measure_quantization(x, quantize(x, {kE4M3, kPerTensor, ScaleFormat::fp32}));
  EXPECT_NE(r.out.find(fmt::format("{:>15.1f}%\n", 100 * e.underflow_fraction)), std::string::npos) << r.out;
  EXPECT_GT(e.underflow_fraction, 0.05);
}

TEST(Chapters, BadFlagIsRefusedWithOneLine) {
  frugal::testing::expect_refused(run_program(chapter("chapter-02-moe-routing"), "--fast"), "--fast");
}

}  // namespace
