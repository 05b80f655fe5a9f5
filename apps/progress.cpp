#include "progress.hpp"

#include <cmath>

#include <fmt/format.h>

namespace frugal::core::cli {

std::string progress_line(const StepMetrics& m, std::int64_t total_steps, double floor, double last_eval, bool moe) {
  constexpr int kBarWidth = 20;
  const int filled = static_cast<int>(kBarWidth * m.step / std::max<std::int64_t>(total_steps, 1));
  std::string line = fmt::format("step {:>5}/{} [{}{}] loss {:.4f}", m.step, total_steps, std::string(static_cast<std::size_t>(filled), '#'),
                                 std::string(static_cast<std::size_t>(kBarWidth - filled), '-'), m.loss);
  if (!std::isnan(last_eval)) line += fmt::format(" eval {:.4f}", last_eval);
  if (!std::isnan(floor)) line += fmt::format(" floor {:.4f}", floor);
  const double tps = m.tokens_per_second;
  line += tps >= 1000 ? fmt::format(" | {:.1f}K tok/s", tps / 1000) : fmt::format(" | {:.0f} tok/s", tps);
  if (moe) {
    line += fmt::format(" | MaxVio {:.2f}", m.max_violation);
    if (m.dropped_fraction > 0) line += fmt::format(" dropped {:.1f}%", 100 * m.dropped_fraction);
  }
  return line;
}

}  // namespace frugal::core::cli
