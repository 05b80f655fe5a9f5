// The dispatch plan of one MoE layer on the GPU, computed the same way on the host (this file,
// unit-tested on the CPU) and by the kernels (dispatch.cu):
//   counts[e]   — routed copies that chose expert e;
//   offsets[e]  — the first row of expert e's segment in the expert-contiguous buffer, each segment
//                 padded to a multiple of the GEMM tile so that no tile straddles two experts:
//                 offsets[0] = 0, offsets[e+1] = offsets[e] + ⌈counts[e] / tile⌉ · tile;
//   position[t·k + j] — the row of copy (t, j): offsets[e] + the number of earlier copies (in token
//                 order) that chose the same expert — the order core's LocalExperts gathers rows in.
#pragma once

#include <cstdint>
#include <vector>

namespace frugal::kernels {

struct DispatchPlan {
  std::vector<int> counts;   // per expert
  std::vector<int> offsets;  // per expert, plus the end: size experts + 1
  int tile = 1;
  int padded_rows() const { return offsets.empty() ? 0 : offsets.back(); }
};

// ⌈n / tile⌉ · tile
int round_up(int n, int tile);

// The plan for `chosen` (tokens × k expert ids, row-major) over `experts` experts.
DispatchPlan plan_dispatch(const std::vector<int>& chosen, int experts, int tile);

// position[t·k + j] as above.
std::vector<int> dispatch_positions(const std::vector<int>& chosen, const DispatchPlan& plan);

// Thread blocks of a grouped GEMM with tiles of tile_m rows × tile_n columns over this plan's
// segments: Σ_e ⌈counts[e] / tile_m⌉ · ⌈n / tile_n⌉ (empty experts launch nothing).
std::int64_t grouped_gemm_blocks(const DispatchPlan& plan, int tile_m, int n, int tile_n);

}  // namespace frugal::kernels
