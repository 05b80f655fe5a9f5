// The chapters that price things (1, 9, 11, 12): each runs to the end with --quick --no-pause and
// prints the numbers the simulator gives, which are checked here against published figures.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "../../chapters/01-the-bill/bill.hpp"
#include "frugal/sim/format.hpp"
#include "program_run.hpp"

namespace {
using frugal::testing::run_program;

std::string chapter(const std::string& name) { return std::string(FRUGAL_CHAPTERS_DIR) + "/" + name; }

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

}  // namespace
