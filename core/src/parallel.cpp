// The layout checks for training over several processes (parallel.hpp).
#include "frugal/core/parallel.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "frugal/config/config_error.hpp"

namespace frugal::core {

void AllToAllCounters::add(const AllToAllCounters& o) {
  row_bytes += o.row_bytes;
  metadata_bytes += o.metadata_bytes;
  tokens += o.tokens;
  copies += o.copies;
  remote_copies += o.remote_copies;
  remote_node_copies += o.remote_node_copies;
  max_nodes_per_token = std::max(max_nodes_per_token, o.max_nodes_per_token);
}

void check_expert_parallel_layout(int world, int ep, int ranks_per_node, const ModelConfig& model, std::int64_t batch_size) {
  const std::int64_t experts = model.moe.routed_experts;
  if (ep < 1) throw ConfigError("--ep", fmt::format("must be at least 1, got {}", ep));
  if (ep > 1 && !model.is_moe()) throw ConfigError("--ep", fmt::format("{} has no routed experts to spread over ranks", model.name));
  if (ep > experts) throw ConfigError("--ep", fmt::format("{} ranks are more than the {} routed experts", ep, experts));
  if (model.is_moe() && experts % ep != 0)
    throw ConfigError("--ep", fmt::format("{} does not divide the {} routed experts", ep, experts));
  if (world < ep)
    throw ConfigError("--ep", fmt::format("{} expert-parallel ranks need {} processes (mpirun -np {} frugal-train --ep {} …); "
                                          "this run has {}", ep, ep, ep, ep, world));
  if (world % ep != 0)
    throw ConfigError("--ep", fmt::format("{} does not divide the {} ranks (ranks = ep × data-parallel groups)", ep, world));
  if (batch_size % world != 0)
    throw ConfigError("cpu_training.batch_size", fmt::format("{} sequences do not split evenly over {} ranks", batch_size, world));
  if (ranks_per_node < 0) throw ConfigError("--ranks-per-node", fmt::format("must not be negative, got {}", ranks_per_node));
  if (ranks_per_node > 0) {
    if (ep % ranks_per_node != 0)
      throw ConfigError("--ranks-per-node",
                        fmt::format("{} does not divide the {} expert-parallel ranks into whole nodes", ranks_per_node, ep));
    const std::int64_t nodes = ep / ranks_per_node;
    // Node-limited routing (V3 §2.1.2: each token goes to at most M nodes) holds when every node
    // holds whole groups, so that M groups are at most M nodes.
    if (nodes > 1 && model.moe.groups > 1 && model.moe.groups % nodes != 0)
      throw ConfigError("--ranks-per-node", fmt::format("{} nodes cannot each hold whole expert groups (moe.groups = {}): "
                                                        "node-limited routing needs the groups to be a multiple of the nodes",
                                                        nodes, model.moe.groups));
  }
}

}  // namespace frugal::core
