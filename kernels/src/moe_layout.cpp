// The dispatch plan on the host (moe_layout.hpp).
#include "frugal/kernels/moe_layout.hpp"

#include <stdexcept>
#include <string>

namespace frugal::kernels {

int round_up(int n, int tile) {
  if (tile < 1) throw std::invalid_argument("tile must be at least 1, got " + std::to_string(tile));
  return (n + tile - 1) / tile * tile;
}

DispatchPlan plan_dispatch(const std::vector<int>& chosen, int experts, int tile) {
  DispatchPlan plan;
  plan.tile = tile;
  plan.counts.assign(static_cast<std::size_t>(experts), 0);
  for (int e : chosen) {
    if (e < 0 || e >= experts) throw std::invalid_argument("expert id " + std::to_string(e) + " outside [0, " + std::to_string(experts) + ")");
    ++plan.counts[static_cast<std::size_t>(e)];
  }
  plan.offsets.assign(static_cast<std::size_t>(experts) + 1, 0);
  for (int e = 0; e < experts; ++e)
    plan.offsets[static_cast<std::size_t>(e) + 1] = plan.offsets[static_cast<std::size_t>(e)] + round_up(plan.counts[static_cast<std::size_t>(e)], tile);
  return plan;
}

std::vector<int> dispatch_positions(const std::vector<int>& chosen, const DispatchPlan& plan) {
  std::vector<int> next(plan.offsets.begin(), plan.offsets.end() - 1), position(chosen.size());
  for (std::size_t c = 0; c < chosen.size(); ++c) position[c] = next[static_cast<std::size_t>(chosen[c])]++;
  return position;
}

std::int64_t grouped_gemm_blocks(const DispatchPlan& plan, int tile_m, int n, int tile_n) {
  const std::int64_t column_tiles = (n + tile_n - 1) / tile_n;
  std::int64_t blocks = 0;
  for (int count : plan.counts) blocks += static_cast<std::int64_t>((count + tile_m - 1) / tile_m) * column_tiles;
  return blocks;
}

}  // namespace frugal::kernels
