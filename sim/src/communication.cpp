#include "frugal/sim/communication.hpp"

#include <algorithm>
#include <cmath>

namespace frugal::sim {

namespace {

std::int64_t nodes_spanned(std::int64_t ep, int gpus_per_node) { return (ep + gpus_per_node - 1) / gpus_per_node; }

}  // namespace

double expected_nodes_per_token(const ModelConfig& m, std::int64_t ep, int gpus_per_node) {
  const std::int64_t nodes = nodes_spanned(ep, gpus_per_node);
  if (nodes <= 1) return 1.0;
  double allowed = static_cast<double>(nodes);
  const MoeConfig& e = m.moe;
  if (e.groups > 1 && e.groups_per_token < e.groups) {
    if (e.groups % nodes == 0) {
      // Each node holds g = G/N whole groups; M of the G groups kept at random reach
      // N · (1 − C(G − g, M) / C(G, M)) nodes on average (M when g = 1, as in V3: G = N = 8).
      // Measured by the CPU reference's expert-parallel layer (core/README.md, expert parallelism).
      const double per_node = static_cast<double>(e.groups / nodes);
      double none_on_a_node = 1.0;  // C(G − g, M) / C(G, M) = Π_{i<M} (G − g − i) / (G − i)
      for (std::int64_t i = 0; i < e.groups_per_token; ++i)
        none_on_a_node *= std::max(0.0, static_cast<double>(e.groups) - per_node - static_cast<double>(i)) /
                          static_cast<double>(e.groups - i);
      allowed = static_cast<double>(nodes) * (1.0 - none_on_a_node);
    } else {
      // Groups straddle nodes: kept groups cover groups_per_token / groups of the experts, hence of
      // the nodes.
      allowed = std::max(1.0, std::ceil(static_cast<double>(nodes) * static_cast<double>(e.groups_per_token) /
                                        static_cast<double>(e.groups)));
    }
  }
  return allowed * (1.0 - std::pow(1.0 - 1.0 / allowed, static_cast<double>(e.top_k)));
}

AllToAllBytes all_to_all_bytes_per_token(const ModelConfig& m, std::int64_t ep, int gpus_per_node,
                                         double bytes_per_element, TokenDispatcher dispatcher) {
  AllToAllBytes out;
  if (!m.is_moe() || ep <= 1) return out;
  const double token_bytes = static_cast<double>(m.hidden_size) * bytes_per_element;
  const std::int64_t nodes = nodes_spanned(ep, gpus_per_node);
  const double gpus_in_node = static_cast<double>(std::min<std::int64_t>(ep, gpus_per_node));
  if (dispatcher == TokenDispatcher::all_to_all) {
    const double k = static_cast<double>(m.moe.top_k);
    const double ranks = static_cast<double>(ep);
    out.scaleout = all_to_all_pass_bytes(1.0, k * (1.0 - gpus_in_node / ranks), m.hidden_size, bytes_per_element);
    out.nvlink = all_to_all_pass_bytes(1.0, k * (gpus_in_node - 1.0) / ranks, m.hidden_size, bytes_per_element);
    return out;
  }
  if (nodes > 1) {
    const double touched = expected_nodes_per_token(m, ep, gpus_per_node);
    out.scaleout = (touched - touched / static_cast<double>(nodes)) * token_bytes;
  }
  out.nvlink = all_to_all_pass_bytes(1.0, static_cast<double>(m.moe.top_k) * (1.0 - 1.0 / gpus_in_node), m.hidden_size,
                                     bytes_per_element);
  return out;
}

double all_to_all_pass_bytes(double tokens, double remote_copies_per_token, std::int64_t hidden, double bytes_per_element) {
  return tokens * remote_copies_per_token * static_cast<double>(hidden) * bytes_per_element;
}

double ring_reduce_scatter_time(double bytes, std::int64_t ranks, double bandwidth) {
  if (ranks <= 1) return 0.0;
  return bytes * static_cast<double>(ranks - 1) / static_cast<double>(ranks) / bandwidth;
}

double ring_all_reduce_time(double bytes, std::int64_t ranks, double bandwidth) {
  return 2.0 * ring_reduce_scatter_time(bytes, ranks, bandwidth);
}

double node_aware_reduce_scatter_time(double bytes, std::int64_t ranks, std::int64_t per_node, double nvlink_bandwidth,
                                      double scaleout_bandwidth) {
  if (ranks <= 1) return 0.0;
  const std::int64_t in_node = std::clamp<std::int64_t>(per_node, 1, ranks);
  const std::int64_t nodes = (ranks + in_node - 1) / in_node;
  return ring_reduce_scatter_time(bytes, in_node, nvlink_bandwidth) +
         ring_reduce_scatter_time(bytes / static_cast<double>(in_node), nodes, scaleout_bandwidth);
}

double pipelined_exposed_time(double comm, double compute, std::int64_t chunks) {
  const double n = static_cast<double>(chunks < 1 ? 1 : chunks);
  return comm / n + overlapped_exposed_time(comm * (n - 1.0) / n, compute);
}

}  // namespace frugal::sim
