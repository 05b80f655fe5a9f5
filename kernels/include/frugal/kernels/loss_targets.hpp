// The host side of the fused loss kernels (losses.hpp): the ignore index, the shifted targets of a
// Multi-Token Prediction depth, and the mean over the rows that count. Plain C++, unit-tested on
// the CPU.
//
// MTP (V3 report §2.2, eq. 24–25): depth k predicts t_{i+k+1} at position i, so on the GPU its
// logits keep all batch × seq_len rows and the targets move k places left within each sequence;
// the last k positions of each sequence have no target and are ignored. Their mean over the valid
// rows, weighted by λ/D, is core's L^k (core/src/model.cpp gathers the same rows instead).
#pragma once

#include <vector>

namespace frugal::kernels {

inline constexpr int kIgnoreIndex = -100;  // a target that adds no loss and no gradient (PyTorch's default)

// targets: batch × seq_len next-token targets (t_{i+1} at position i). Returns, for MTP depth k,
// t_{i+k+1} at position i, or kIgnoreIndex where i + k ≥ seq_len.
std::vector<int> mtp_shifted_targets(const std::vector<int>& targets, int batch, int seq_len, int depth);

// Rows whose target is not kIgnoreIndex.
int count_valid_targets(const std::vector<int>& targets);

// Σ row_loss / valid (in double), 0 when no row is valid.
double mean_over_valid(const std::vector<float>& row_loss, int valid);

}  // namespace frugal::kernels
