// frugal-fp8 as a user runs it, and its bad input.
#include <gtest/gtest.h>

#include <cstdio>

#include "frugal/core/fp8_gemm.hpp"
#include "program_run.hpp"

namespace {
using frugal::testing::expect_refused;
using frugal::testing::ProgramRun;
using frugal::testing::write_temp;

ProgramRun frugal_fp8(const std::string& args) { return frugal::testing::run_program(FRUGAL_FP8_EXE, args); }

TEST(Fp8Cli, EncodeShowsCodeBitsAndSaturation) {
  const ProgramRun r = frugal_fp8("encode -- 1 1000 -2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("0x38  0 0111 000"), std::string::npos) << r.out;  // 1.0
  EXPECT_NE(r.out.find("0x7E  0 1111 110"), std::string::npos) << r.out;  // 1000 saturates to 448
  EXPECT_NE(r.out.find("0xC0  1 1000 000"), std::string::npos) << r.out;  // −2
  const ProgramRun inf = frugal_fp8("encode 1e6 --format e5m2 --no-saturate");
  EXPECT_NE(inf.out.find("+Inf"), std::string::npos) << inf.out;
}

TEST(Fp8Cli, DecodeAcceptsHexBinaryAndDecimal) {
  const ProgramRun r = frugal_fp8("decode 0x7E 0b00111000 127");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("448"), std::string::npos);
  EXPECT_NE(r.out.find("0x38  0 0111 000   1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NaN"), std::string::npos);
}

TEST(Fp8Cli, QuantizeOutliersAndAccumulationTables) {
  const std::string matrix = write_temp("[[1, 2, 3], [4, 5, 1000]]");
  const ProgramRun q = frugal_fp8("quantize --input " + matrix);
  ASSERT_EQ(q.status, 0) << q.err;
  EXPECT_NE(q.out.find("2 × 3 matrix"), std::string::npos) << q.out;
  EXPECT_NE(q.out.find("128×128 blocks"), std::string::npos);
  const ProgramRun o = frugal_fp8("outliers");
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("1e+06"), std::string::npos);
  const ProgramRun d = frugal_fp8("delayed --history 4");
  ASSERT_EQ(d.status, 0) << d.err;
  EXPECT_NE(d.out.find("delayed sat."), std::string::npos);
  const ProgramRun a = frugal_fp8("accumulation --k 256,512 --m 8 --n 8");
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_NE(a.out.find("N_C=128"), std::string::npos);
}

// By default both input distributions side by side, their rows the library's numbers, and the
// line that sets the model beside the V3 report's "nearly 2%" at K = 4096 (§3.3.2).
TEST(Fp8Cli, AccumulationShowsZeroMeanAndPositiveInputsBesideTheReport) {
  using frugal::core::AccumulationInputs;
  const ProgramRun a = frugal_fp8("accumulation --k 256 --m 8 --n 8");
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_NE(a.out.find("zero-mean N(0, 1)"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("positive U[0, 1)"), std::string::npos) << a.out;
  auto percent = [](AccumulationInputs inputs, int promotion_interval) {
    return 100 * frugal::core::accumulation_error(8, 8, 256, {13, 32, promotion_interval}, 1, inputs).max_relative_error;
  };
  char row[128];
  std::snprintf(row, sizeof row, "    256 %13.3f%% %13.3f%%  %13.3f%% %13.3f%%\n", percent(AccumulationInputs::zero_mean, 0),
                percent(AccumulationInputs::zero_mean, 128), percent(AccumulationInputs::positive, 0), percent(AccumulationInputs::positive, 128));
  EXPECT_NE(a.out.find(row), std::string::npos) << row << a.out;
  EXPECT_NE(a.out.find("\"nearly 2%\" at K = 4096"), std::string::npos) << a.out;
  const double zero_mean_4096 = 100 * frugal::core::accumulation_error(8, 8, 4096, {13, 32, 0}, 1).max_relative_error;
  char zero_mean_line[64];
  std::snprintf(zero_mean_line, sizeof zero_mean_line, "%.2f%% with zero-mean inputs", zero_mean_4096);
  EXPECT_NE(a.out.find(zero_mean_line), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("lies between the two"), std::string::npos) << a.out;

  const ProgramRun one = frugal_fp8("accumulation --k 256 --m 8 --n 8 --inputs uniform");
  ASSERT_EQ(one.status, 0) << one.err;
  EXPECT_NE(one.out.find("positive U[0, 1) inputs\n"), std::string::npos) << one.out;
  EXPECT_NE(one.out.find("Frobenius, N_C=128"), std::string::npos) << one.out;
}

TEST(Fp8Cli, BadInputIsRefused) {
  expect_refused(frugal_fp8("encode abc"), "abc: not a number");
  expect_refused(frugal_fp8("decode 0x1FF"), "not an 8-bit code");
  expect_refused(frugal_fp8("encode 1 --format e3m4"), "--format");
  expect_refused(frugal_fp8("quantize --input " + write_temp("[[1, 2], [3]]")), "row 1");
  expect_refused(frugal_fp8("quantize --input /nonexistent.json"), "cannot open");
  expect_refused(frugal_fp8("accumulation --bits 0"), "--bits");
  expect_refused(frugal_fp8("accumulation --inputs gaussian"), "--inputs");
}

}  // namespace
