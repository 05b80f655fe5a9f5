#include "frugal/sim/expert_placement.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <numeric>
#include <queue>
#include <random>
#include <tuple>
#include <vector>

namespace frugal::sim {

namespace {

// Draws of the experts' loads averaged over: 100 for DeepSeek-V3's 256 experts, fewer for many more
// experts, whose busiest GPU varies less from draw to draw (at least 4).
int draws_for(std::int64_t experts) {
  return static_cast<int>(std::clamp<std::int64_t>(25600 / std::max<std::int64_t>(experts, 1), 4, 100));
}

// EPLB's replicate_experts then balanced_packing for one draw of the loads; returns each GPU's load.
// Heaps keep both greedy choices O(log n), so a config at the bounds (65,536 experts) stays fast.
std::vector<double> eplb_gpu_loads(const std::vector<double>& load, std::int64_t ep, std::int64_t redundant) {
  const std::size_t experts = load.size();
  std::vector<int> replicas(experts, 1);
  // The expert with the largest load per replica gets the next slot (ties: the lower index).
  auto per_replica_less = [&](std::size_t a, std::size_t b) {
    const double la = load[a] / replicas[a], lb = load[b] / replicas[b];
    return la < lb || (la == lb && a > b);
  };
  std::priority_queue<std::size_t, std::vector<std::size_t>, decltype(per_replica_less)> hottest(per_replica_less);
  for (std::size_t e = 0; e < experts; ++e) hottest.push(e);
  for (std::int64_t r = 0; r < redundant && !hottest.empty(); ++r) {
    const std::size_t e = hottest.top();
    hottest.pop();
    ++replicas[e];
    hottest.push(e);
  }
  std::vector<double> slots;
  for (std::size_t e = 0; e < experts; ++e) slots.insert(slots.end(), static_cast<std::size_t>(replicas[e]), load[e] / replicas[e]);
  std::sort(slots.begin(), slots.end(), std::greater<>());
  const std::size_t per_gpu = (slots.size() + static_cast<std::size_t>(ep) - 1) / static_cast<std::size_t>(ep);
  // The least loaded GPU with room takes the next heaviest slot (ties: the lower index); a full GPU
  // leaves the heap.
  std::vector<double> gpu(static_cast<std::size_t>(ep), 0.0);
  std::vector<std::size_t> count(gpu.size(), 0);
  auto lighter_first = [&](std::size_t a, std::size_t b) { return gpu[a] > gpu[b] || (gpu[a] == gpu[b] && a > b); };
  std::priority_queue<std::size_t, std::vector<std::size_t>, decltype(lighter_first)> open(lighter_first);
  for (std::size_t g = 0; g < gpu.size(); ++g) open.push(g);
  for (double s : slots) {
    if (open.empty()) break;
    const std::size_t g = open.top();
    open.pop();
    gpu[g] += s;
    if (++count[g] < per_gpu) open.push(g);
  }
  return gpu;
}

// Without redundant slots: experts in order, E / EP to a GPU.
std::vector<double> contiguous_gpu_loads(const std::vector<double>& load, std::int64_t ep) {
  std::vector<double> gpu(static_cast<std::size_t>(ep), 0.0);
  const std::size_t per_gpu = std::max<std::size_t>(1, (load.size() + gpu.size() - 1) / gpu.size());
  for (std::size_t e = 0; e < load.size(); ++e) gpu[std::min(e / per_gpu, gpu.size() - 1)] += load[e];
  return gpu;
}

}  // namespace

std::vector<double> placed_gpu_loads(const std::vector<double>& expert_loads, std::int64_t ep, std::int64_t redundant,
                                     bool eplb) {
  return redundant > 0 || eplb ? eplb_gpu_loads(expert_loads, ep, redundant) : contiguous_gpu_loads(expert_loads, ep);
}

namespace {

double compute_placement_imbalance(std::int64_t experts, std::int64_t ep, std::int64_t redundant, double cv, bool eplb) {
  if (ep <= 1 || experts <= 0) return 1.0;
  // A log-normal of coefficient of variation cv: sigma^2 = ln(1 + cv^2).
  std::lognormal_distribution<double> draw(0.0, std::sqrt(std::log1p(cv * cv)));
  std::mt19937_64 rng(20250707);
  double sum = 0;
  std::vector<double> load(static_cast<std::size_t>(experts));
  const int draws = draws_for(experts);
  for (int d = 0; d < draws; ++d) {
    for (double& l : load) l = draw(rng);
    const std::vector<double> gpu = placed_gpu_loads(load, ep, redundant, eplb);
    const double mean = std::accumulate(gpu.begin(), gpu.end(), 0.0) / static_cast<double>(gpu.size());
    sum += *std::max_element(gpu.begin(), gpu.end()) / mean;
  }
  return sum / draws;
}

}  // namespace

std::int64_t fewest_redundant_slots(std::int64_t routed, std::int64_t ep) { return (ep - routed % ep) % ep; }

double placement_imbalance(std::int64_t experts, std::int64_t ep, std::int64_t redundant, double cv, bool eplb) {
  static std::mutex mutex;
  static std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t, double, bool>, double> memo;
  const auto key = std::make_tuple(experts, ep, redundant, cv, eplb);
  {
    const std::lock_guard<std::mutex> lock(mutex);
    if (const auto it = memo.find(key); it != memo.end()) return it->second;
  }
  const double value = compute_placement_imbalance(experts, ep, redundant, cv, eplb);
  const std::lock_guard<std::mutex> lock(mutex);
  memo.emplace(key, value);
  return value;
}

double sampling_excess(std::int64_t ep, double copies_per_gpu) {
  if (ep <= 1 || !(copies_per_gpu > 0)) return 0.0;
  return std::sqrt(2.0 * std::log(static_cast<double>(ep)) / copies_per_gpu);
}

}  // namespace frugal::sim
