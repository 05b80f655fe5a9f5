#include <gtest/gtest.h>

#include "frugal/sim/format.hpp"
#include "frugal/sim/text_table.hpp"

namespace frugal::sim {
namespace {

TEST(Format, CountsFlopsAndBytes) {
  EXPECT_EQ(format_count(671.0264e9), "671.0B");
  EXPECT_EQ(format_count(8.0303e9), "8.03B");
  EXPECT_EQ(format_count(950), "950");
  EXPECT_EQ(format_count(14.8e12), "14.8T");
  EXPECT_EQ(format_count(3.14e23), "3.14e+23");  // not "314000000.0Q"
  EXPECT_EQ(format_flops(250.46e9), "250.5 GFLOP");
  EXPECT_EQ(format_flops(2473.2e9), "2.47 TFLOP");
  EXPECT_EQ(format_bytes(70272), "70,272 B (68.6 KiB)");
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_thousands(1234567), "1,234,567");
  EXPECT_EQ(format_percent(0.0123), "+1.2%");
  EXPECT_EQ(format_percent(-0.0101), "-1.0%");
}

TEST(Format, TableAlignsColumns) {
  TextTable t({"name", "value"});
  t.add_row({"a", "1"});
  t.add_row({"long name", "1000"});
  EXPECT_EQ(t.render(""), "name       value\n----------------\na              1\nlong name   1000\n");
}

}  // namespace
}  // namespace frugal::sim
