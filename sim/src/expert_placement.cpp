#include "frugal/sim/expert_placement.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <tuple>
#include <vector>

namespace frugal::sim {

namespace {

constexpr int kDraws = 100;  // draws of the experts' loads averaged over

// EPLB's replicate_experts then balanced_packing for one draw of the loads; returns each GPU's load.
std::vector<double> eplb_gpu_loads(const std::vector<double>& load, std::int64_t ep, std::int64_t redundant) {
  const std::size_t experts = load.size();
  std::vector<int> replicas(experts, 1);
  for (std::int64_t r = 0; r < redundant; ++r) {
    std::size_t hottest = 0;
    for (std::size_t e = 1; e < experts; ++e)
      if (load[e] / replicas[e] > load[hottest] / replicas[hottest]) hottest = e;
    ++replicas[hottest];
  }
  std::vector<double> slots;
  for (std::size_t e = 0; e < experts; ++e) slots.insert(slots.end(), static_cast<std::size_t>(replicas[e]), load[e] / replicas[e]);
  std::sort(slots.begin(), slots.end(), std::greater<>());
  const std::size_t per_gpu = (slots.size() + static_cast<std::size_t>(ep) - 1) / static_cast<std::size_t>(ep);
  std::vector<double> gpu(static_cast<std::size_t>(ep), 0.0);
  std::vector<std::size_t> count(gpu.size(), 0);
  for (double s : slots) {
    std::size_t best = gpu.size();
    for (std::size_t g = 0; g < gpu.size(); ++g)
      if (count[g] < per_gpu && (best == gpu.size() || gpu[g] < gpu[best])) best = g;
    gpu[best] += s;
    ++count[best];
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

std::vector<double> placed_gpu_loads(const std::vector<double>& expert_loads, std::int64_t ep, std::int64_t redundant) {
  return redundant > 0 ? eplb_gpu_loads(expert_loads, ep, redundant) : contiguous_gpu_loads(expert_loads, ep);
}

namespace {

double compute_placement_imbalance(std::int64_t experts, std::int64_t ep, std::int64_t redundant, double cv) {
  if (ep <= 1 || experts <= 0) return 1.0;
  // A log-normal of coefficient of variation cv: sigma^2 = ln(1 + cv^2).
  std::lognormal_distribution<double> draw(0.0, std::sqrt(std::log1p(cv * cv)));
  std::mt19937_64 rng(20250707);
  double sum = 0;
  std::vector<double> load(static_cast<std::size_t>(experts));
  for (int d = 0; d < kDraws; ++d) {
    for (double& l : load) l = draw(rng);
    const std::vector<double> gpu = placed_gpu_loads(load, ep, redundant);
    const double mean = std::accumulate(gpu.begin(), gpu.end(), 0.0) / static_cast<double>(gpu.size());
    sum += *std::max_element(gpu.begin(), gpu.end()) / mean;
  }
  return sum / kDraws;
}

}  // namespace

double placement_imbalance(std::int64_t experts, std::int64_t ep, std::int64_t redundant, double cv) {
  static std::mutex mutex;
  static std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t, double>, double> memo;
  const auto key = std::make_tuple(experts, ep, redundant, cv);
  {
    const std::lock_guard<std::mutex> lock(mutex);
    if (const auto it = memo.find(key); it != memo.end()) return it->second;
  }
  const double value = compute_placement_imbalance(experts, ep, redundant, cv);
  const std::lock_guard<std::mutex> lock(mutex);
  memo.emplace(key, value);
  return value;
}

double sampling_excess(std::int64_t ep, double copies_per_gpu) {
  if (ep <= 1 || !(copies_per_gpu > 0)) return 0.0;
  return std::sqrt(2.0 * std::log(static_cast<double>(ep)) / copies_per_gpu);
}

}  // namespace frugal::sim
