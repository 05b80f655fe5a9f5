// How a training run spreads over processes (DeepSeek-V3 report §3.2: 64-way expert parallelism
// over 8 nodes, ZeRO-1 data parallelism). One process needs nothing from here; frugal::mpi's
// MpiParallelism (core/mpi/) implements it with MPI:
//   world = ep × dp ranks; rank r is expert-parallel rank r mod ep of group r / ep;
//   each rank takes 1/world of every batch (data parallelism for every weight);
//   each group of ep ranks splits the routed experts: rank p runs experts [p·E/ep, (p+1)·E/ep) on
//   the rows of the whole group that chose them (all-to-all dispatch and combine).
// Every rank keeps the whole parameter buffer and applies the same all-reduced gradient, so the
// weights stay identical everywhere and one checkpoint format serves any layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "frugal/config/model_config.hpp"

namespace frugal::core {

template <class T>
class Transformer;

// What the all-to-alls moved, counted by the expert-parallel dispatch of every MoE layer.
struct AllToAllCounters {
  std::int64_t row_bytes = 0;        // token rows sent to other ranks: dispatch and combine, forward and backward
  std::int64_t metadata_bytes = 0;   // expert ids and gate weights (and their gradients) sent with them
  std::int64_t tokens = 0;           // tokens this rank routed (per MoE layer and forward pass)
  std::int64_t copies = 0;           // the (token, expert) copies they made
  std::int64_t remote_copies = 0;    // … of which went to another rank
  std::int64_t remote_node_copies = 0;  // Σ over tokens of the other nodes they reached
  std::int64_t max_nodes_per_token = 0; // the most nodes one token's copies reached (node-limited routing: ≤ M)
  void add(const AllToAllCounters& o);
};

class TrainingParallelism {
 public:
  virtual ~TrainingParallelism() = default;
  virtual int rank() const = 0;   // 0 … world − 1
  virtual int world() const = 0;
  // Element-wise sums over all ranks, in place; every rank gets the same result.
  virtual void all_reduce_sum(float* values, std::size_t count) = 0;
  virtual void all_reduce_sum(double* values, std::size_t count) = 0;
  virtual void all_reduce_sum(std::int64_t* values, std::size_t count) = 0;
  // Gives every MoE layer of `model` the dispatch that reaches its experts on the other ranks.
  virtual void distribute_experts(Transformer<float>& model) = 0;
  // This rank's all-to-all counters since the last call.
  virtual AllToAllCounters take_counters() = 0;
};

// Throws ConfigError (naming the flag or field) when `world` ranks with expert parallelism `ep`
// and `ranks_per_node` ranks per node (0: one node) cannot train `model` on batches of
// `batch_size` sequences. Every rank reaches the same verdict, so all of them can stop cleanly.
void check_expert_parallel_layout(int world, int ep, int ranks_per_node, const ModelConfig& model, std::int64_t batch_size);

}  // namespace frugal::core
