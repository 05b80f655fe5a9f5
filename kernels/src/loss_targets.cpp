// The fused losses' host side (loss_targets.hpp).
#include "frugal/kernels/loss_targets.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace frugal::kernels {

std::vector<int> mtp_shifted_targets(const std::vector<int>& targets, int batch, int seq_len, int depth) {
  if (batch < 0 || seq_len < 0 || depth < 0 || static_cast<long long>(batch) * seq_len != static_cast<long long>(targets.size()))
    throw std::invalid_argument("mtp_shifted_targets: " + std::to_string(targets.size()) + " targets for batch " + std::to_string(batch) +
                                " × seq_len " + std::to_string(seq_len) + " at depth " + std::to_string(depth));
  std::vector<int> shifted(targets.size(), kIgnoreIndex);
  for (int b = 0; b < batch; ++b)
    for (int i = 0; i + depth < seq_len; ++i)
      shifted[static_cast<std::size_t>(b) * seq_len + i] = targets[static_cast<std::size_t>(b) * seq_len + i + depth];
  return shifted;
}

int count_valid_targets(const std::vector<int>& targets) {
  return static_cast<int>(std::count_if(targets.begin(), targets.end(), [](int t) { return t != kIgnoreIndex; }));
}

double mean_over_valid(const std::vector<float>& row_loss, int valid) {
  double sum = 0;
  for (float l : row_loss) sum += l;
  return valid > 0 ? sum / valid : 0.0;
}

}  // namespace frugal::kernels
