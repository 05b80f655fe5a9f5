#include "frugal/sim/format.hpp"

#include <cmath>

#include <fmt/format.h>

#include "frugal/sim/hardware.hpp"

namespace frugal::sim {

namespace {

// Scales `v` by powers of 1000 and appends the matching suffix from `suffixes`.
std::string scaled(double v, const char* const* suffixes, int count, const char* space) {
  int i = 0;
  double a = std::fabs(v);
  while (a >= 999.95 && i + 1 < count) {
    a /= 1000.0;
    v /= 1000.0;
    ++i;
  }
  if (i == 0 && v == std::floor(v)) return fmt::format("{:.0f}{}{}", v, space, suffixes[0]);
  // Three significant figures at least: 2.47T, 36.6B, 250.5G.
  return fmt::format("{:.{}f}{}{}", v, std::fabs(v) < 9.995 ? 2 : 1, space, suffixes[i]);
}

}  // namespace

std::string format_count(double n) {
  // Beyond trillions, e-notation: "Q" reads as nothing to most people (GPT-3's 3.14e+23 FLOPs).
  if (std::fabs(n) >= 999.95e12) return fmt::format("{:.3g}", n);
  static const char* const suffixes[] = {"", "K", "M", "B", "T"};
  return scaled(n, suffixes, 5, "");
}

std::string format_flops(double flops) {
  static const char* const suffixes[] = {"FLOP", "KFLOP", "MFLOP", "GFLOP", "TFLOP", "PFLOP", "EFLOP", "ZFLOP", "YFLOP"};
  return scaled(flops, suffixes, 9, " ");
}

std::string format_thousands(double n) {
  std::string digits = fmt::format("{:.0f}", std::fabs(n));
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (n < 0 ? "-" : "") + out;
}

std::string format_bytes(double bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int i = 0;
  double v = bytes;
  while (std::fabs(v) >= 1024.0 && i < 5) {
    v /= 1024.0;
    ++i;
  }
  if (i == 0) return fmt::format("{} B", format_thousands(bytes));
  return fmt::format("{} B ({:.1f} {})", format_thousands(bytes), v, units[i]);
}

std::string format_percent(double fraction, int decimals) {
  return fmt::format("{:+.{}f}%", 100.0 * fraction, decimals);
}

std::string format_capacity(double bytes) {
  return fmt::format("{:.1f} GB ({:.0f} GiB)", bytes / 1e9, bytes / kBytesPerGiB);
}

}  // namespace frugal::sim
