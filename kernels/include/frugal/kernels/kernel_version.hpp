// What every kernel family's version table shares. Each family's header ends with one table,
//   gating.hpp kGatingVersions, dispatch.hpp kDispatchVersions, grouped_gemm.hpp
//   kGroupedGemmVersions, fp8_quantize.hpp kFp8QuantizeVersions, fp8_gemm.hpp kFp8GemmVersions,
//   losses.hpp kLossVersions,
// one row per version, each row holding
//   number  1, 2, … in the order the versions were written (the benchmarks' argument);
//   name    "v<number> <what it does>", e.g. "v4 wgmma";
//   the launcher(s): the family's function(s) for that version;
//   needs   what it needs beyond a CUDA GPU (device.hpp's GpuFeature);
// and the family's shape limits, with shape_error(row, shape) beside the table saying which limit a
// shape breaks ("" when none). why_cannot_run below asks both questions. The GPU tests, the
// benchmarks, chapter 9 and GroupedGemmProblem iterate the tables (scripts/gpu-check.sh takes the
// tests and benchmarks from the binaries), so that a new version is one kernel and one row.
#pragma once

#include <cctype>
#include <stdexcept>
#include <string>

#include "frugal/kernels/device.hpp"

namespace frugal::kernels {

// Why `version` cannot run here on `shape`, or "" when it can: no GPU, the GPU feature it needs, or
// the shape limit it breaks (the family's shape_error, found by argument-dependent lookup).
template <class Version, class Shape>
std::string why_cannot_run(const Version& version, const Shape& shape) {
  std::string why;
  if (!gpu_feature_available(version.needs, &why)) return std::string(version.name) + " needs " + gpu_feature_name(version.needs) + ": " + why;
  const std::string broken = shape_error(version, shape);
  return broken.empty() ? "" : std::string(version.name) + ": " + broken;
}

// For a launcher: std::invalid_argument naming the version when `shape` breaks one of its limits.
template <class Version, class Shape>
void require_shape(const Version& version, const Shape& shape) {
  const std::string broken = shape_error(version, shape);
  if (!broken.empty()) throw std::invalid_argument(std::string(version.name) + ": " + broken);
}

// The row numbered `number`, or std::invalid_argument naming the family and its numbers.
template <class Table>
const auto& version_numbered(const Table& table, int number, const char* family) {
  for (const auto& version : table)
    if (version.number == number) return version;
  throw std::invalid_argument(std::string(family) + " version " + std::to_string(number) + " does not exist (1 to " +
                              std::to_string(table.size()) + ")");
}

// A version's name as a test or file name: runs of anything but letters and digits become one '_'
// ("v3 wmma, shared-memory tiles" → "v3_wmma_shared_memory_tiles").
inline std::string identifier(const char* name) {
  std::string out;
  for (const char* c = name; *c; ++c) {
    if (std::isalnum(static_cast<unsigned char>(*c))) out += *c;
    else if (!out.empty() && out.back() != '_') out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

}  // namespace frugal::kernels
