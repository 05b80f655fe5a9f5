// Running a FrugalLM program as a user does, from a test: its exit status, stdout and stderr,
// and the check that bad input is refused the docs/ARCHITECTURE.md way ("Errors and bad input").
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace frugal::testing {

struct ProgramRun {
  int status = -1;
  std::string out, err;
};

inline std::string slurp(const std::string& file) {
  std::ifstream in(file);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A path in the test temp directory, unique to the running test.
inline std::string temp_path(const std::string& suffix) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return ::testing::TempDir() + "/frugal_cli_" + info->test_suite_name() + "_" + info->name() + suffix;
}

inline ProgramRun run_program(const std::string& executable, const std::string& args) {
  const std::string out = temp_path(".out"), err = temp_path(".err");
  const std::string command = executable + " " + args + " >" + out + " 2>" + err + " </dev/null";
  const int rc = std::system(command.c_str());
  ProgramRun r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

inline std::string write_temp(const std::string& text, const std::string& suffix = ".json") {
  const std::string file = temp_path(suffix);
  std::ofstream(file) << text;
  return file;
}

// One line on stderr containing `expected`, status 2, nothing on stdout.
inline void expect_refused(const ProgramRun& r, const std::string& expected) {
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

// The programs under test, where the test target names them (tests/CMakeLists.txt).
#ifdef FRUGAL_SIM_EXE
inline ProgramRun frugal_sim(const std::string& args) { return run_program(FRUGAL_SIM_EXE, args); }
#endif
#ifdef FRUGAL_TRAIN_EXE
inline ProgramRun frugal_train(const std::string& args) { return run_program(FRUGAL_TRAIN_EXE, args); }
#endif

}  // namespace frugal::testing
