// Every input the fuzzer once crashed or hung a program with (fuzz/regressions/) is now refused
// with a ConfigError or priced, quickly, through the same entry the fuzzer drives.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_entry.hpp"

namespace {

TEST(FuzzRegressions, EveryKeptInputIsRefusedOrPriced) {
  int inputs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(FRUGAL_FUZZ_REGRESSIONS_DIR)) {
    if (entry.path().extension() == ".md") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto start = std::chrono::steady_clock::now();
    EXPECT_NO_THROW(frugal::fuzz::run_one_input(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()))
        << entry.path();
    // A generous bound, not a benchmark: the hangs these inputs caused ran for minutes.
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 30.0) << entry.path();
    ++inputs;
  }
  EXPECT_GE(inputs, 2);
}

}  // namespace
