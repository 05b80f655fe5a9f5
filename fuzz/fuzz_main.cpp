// libFuzzer's entry point: `make fuzz` (scripts/fuzz.sh) runs it; see fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include "fuzz_entry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return frugal::fuzz::run_one_input(data, size);
}
