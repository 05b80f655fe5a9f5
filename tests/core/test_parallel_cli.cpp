// Expert parallelism through frugal-train: the layouts that cannot work are refused with
// the flag or field that is wrong, and under mpirun the job follows the one-process loss curve,
// prints its all-to-all bytes next to frugal-sim's formula, and stops cleanly on bad input.
#include <gtest/gtest.h>

#include <sstream>
#include <vector>

#include "frugal/config/config_error.hpp"
#include "frugal/core/parallel.hpp"
#include "program_run.hpp"
#include "tiny_models.hpp"

namespace {
using frugal::ConfigError;
using frugal::core::check_expert_parallel_layout;
using frugal::testing::run_program;
using frugal::testing::slurp;
using frugal::testing::temp_path;

// The refusal's field, or "" when the layout is accepted.
std::string refused_field(int world, int ep, int ranks_per_node, std::int64_t batch = 16) {
  try {
    check_expert_parallel_layout(world, ep, ranks_per_node, frugal::core::testing::test_moe_model(), batch);  // 8 experts, 4 groups
  } catch (const ConfigError& e) {
    return e.path();
  }
  return "";
}

TEST(ParallelLayout, AcceptsWhatDividesAndRefusesTheRestNamingTheFlag) {
  EXPECT_EQ(refused_field(1, 1, 0), "");
  EXPECT_EQ(refused_field(4, 4, 0), "");
  EXPECT_EQ(refused_field(8, 4, 0), "");     // 4-way EP × 2-way DP
  EXPECT_EQ(refused_field(4, 2, 0), "");     // 2-way EP × 2-way DP
  EXPECT_EQ(refused_field(4, 4, 1), "");     // 4 nodes of one rank, one group each
  EXPECT_EQ(refused_field(16, 16, 0), "--ep");  // more ranks than the 8 experts
  EXPECT_EQ(refused_field(3, 3, 0), "--ep");    // 3 does not divide 8 experts
  EXPECT_EQ(refused_field(1, 4, 0), "--ep");    // 4-way EP in one process
  EXPECT_EQ(refused_field(6, 4, 0), "--ep");    // 4 does not divide 6 ranks
  EXPECT_EQ(refused_field(4, 4, 0, 6), "cpu_training.batch_size");
  EXPECT_EQ(refused_field(4, 4, 3), "--ranks-per-node");
  EXPECT_EQ(refused_field(8, 8, 1), "--ranks-per-node");  // 8 nodes cannot each hold whole groups of 4
  frugal::ModelConfig dense = frugal::core::testing::test_moe_model();
  dense.moe = frugal::MoeConfig{};
  EXPECT_THROW(check_expert_parallel_layout(2, 2, 0, dense, 16), ConfigError);
}

#ifdef FRUGAL_MPIEXEC
// Under the sanitizer build, LeakSanitizer is off for the MPI ranks only: OpenMPI keeps what
// MPI_Init allocates past MPI_Finalize (tests/CMakeLists.txt does the same for tests/mpi).
std::string mpirun(int ranks) {
  return "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 " + std::string(FRUGAL_MPIEXEC) +
         " -q --allow-run-as-root --oversubscribe -np " + std::to_string(ranks) + " " + FRUGAL_TRAIN_EXE;
}

// The loss column of a metrics CSV.
std::vector<double> losses(const std::string& csv) {
  std::vector<double> out;
  std::stringstream rows(slurp(csv));
  std::string row;
  std::getline(rows, row);
  while (std::getline(rows, row)) out.push_back(std::stod(row.substr(row.find(',') + 1)));
  return out;
}

TEST(ParallelCli, FourRanksFollowTheOneProcessLossCurve) {
  const std::string one = temp_path(".one.csv"), four = temp_path(".four.csv"), ckpt = temp_path(".ckpt");
  const std::string run = " --preset deepseek-v3-tiny --batch-size 8 --eval-every 2";
  ASSERT_EQ(run_program(FRUGAL_TRAIN_EXE, run + " --steps 4 --quiet --metrics-csv " + one).status, 0);
  const auto r = run_program(mpirun(4), run + " --steps 4 --ep 4 --metrics-csv " + four + " --checkpoint " + ckpt);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<double> a = losses(one), b = losses(four);
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(b[i], a[i], 1e-5 * a[i]) << "step " << i + 1;
  // One voice: rank 0 prints the run once, with the traffic next to the simulator's formula.
  for (const char* needle : {"ranks   4 = 4 expert-parallel × 1 data-parallel", "a2a     measured", "frugal-sim's formula", "saved"})
    EXPECT_NE(r.out.find(needle), std::string::npos) << needle << "\n" << r.out;
  EXPECT_EQ(r.out.find("done    "), r.out.rfind("done    ")) << r.out;
  // The checkpoint rank 0 wrote resumes in one process.
  const auto resumed = run_program(FRUGAL_TRAIN_EXE, run + " --quiet --steps 5 --resume " + ckpt);
  EXPECT_EQ(resumed.status, 0) << resumed.err;
}

TEST(ParallelCli, ImpossibleLayoutsStopEveryRankWithOneLine) {
  const std::string out = temp_path(".csv");
  for (const auto& [ranks, args, needle] : std::vector<std::tuple<int, std::string, std::string>>{
           {3, "--ep 3", "--ep: 3 does not divide the 16 routed experts"},
           {2, "--ep 32", "--ep: 32 ranks are more than the 16 routed experts"},
           {2, "--ep 2 --batch-size 3", "cpu_training.batch_size"}}) {
    const auto r = run_program(mpirun(ranks), "--preset deepseek-v3-tiny --steps 2 --metrics-csv " + out + " " + args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_EQ(r.err, "frugal-train: error: " + r.err.substr(21)) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  EXPECT_TRUE(slurp(out).empty());  // nothing written
}
#endif

}  // namespace
