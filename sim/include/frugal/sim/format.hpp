// Formatting at the edges: the code computes in SI units (parameters, FLOPs, bytes, seconds,
// dollars); only these functions turn them into "671.0B", "250.4 GFLOP" or "68.6 KiB".
#pragma once

#include <string>

namespace frugal::sim {

std::string format_count(double n);      // 671.0B, 36.6B, 12.3M, 950 (parameters, tokens); 3.14e+23 past T
std::string format_flops(double flops);  // 250.4 GFLOP, 3.7 YFLOP
std::string format_bytes(double bytes);  // 70,272 B (68.6 KiB)
// A GPU's memory as its datasheet names it (binary: "40 GB" is 40 GiB) and in GB: "42.9 GB (40 GiB)".
std::string format_capacity(double bytes);
std::string format_percent(double fraction, int decimals = 1);  // +1.2%
std::string format_thousands(double n);  // 70,272

}  // namespace frugal::sim
