// Wall time of a piece of work, for benchmarks and the chapters that measure this machine.
#pragma once

#include <chrono>

namespace frugal::core {

// Seconds per call of `work`: one warm-up call, then calls until at least `budget` seconds passed.
template <class Work>
double seconds_per_call(Work&& work, double budget = 0.2) {
  using clock = std::chrono::steady_clock;
  work();
  int calls = 0;
  const auto start = clock::now();
  double elapsed = 0;
  do {
    work();
    ++calls;
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  } while (elapsed < budget);
  return elapsed / calls;
}

}  // namespace frugal::core
