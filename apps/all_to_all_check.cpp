// check_all_to_all (all_to_all_check.hpp).
#include "all_to_all_check.hpp"

#include <algorithm>

#include "frugal/sim/communication.hpp"

namespace frugal::core {

AllToAllCheck check_all_to_all(const Trainer& t, const ModelConfig& model, int ep, int ranks_per_node, int world) {
  AllToAllCheck c;
  for (const auto& m : t.history()) {
    c.measured_bytes += static_cast<double>(m.all_to_all_bytes);
    c.remote_copies_per_token += m.remote_copies_per_token;
  }
  const auto steps = static_cast<double>(std::max<std::size_t>(t.history().size(), 1));
  c.measured_bytes /= steps;
  c.remote_copies_per_token /= steps;
  c.layers = static_cast<double>(t.model().moe_layers().size());
  c.tokens_per_rank = static_cast<double>(t.tokens_per_step()) / world;
  c.uniform_copies_per_token = static_cast<double>(model.moe.top_k) * (1.0 - 1.0 / ep);
  auto formula = [&](double per_token) { return 4.0 * c.layers * sim::all_to_all_pass_bytes(c.tokens_per_rank, per_token, model.hidden_size, 4.0); };
  c.formula_bytes_measured_copies = formula(c.remote_copies_per_token);
  c.formula_bytes_uniform = formula(c.uniform_copies_per_token);
  if (ranks_per_node > 0 && ep / ranks_per_node > 1) {
    const AllToAllCounters& totals = t.all_to_all_totals();
    c.has_nodes = true;
    c.nodes = static_cast<double>(ep / ranks_per_node);
    c.max_nodes_per_token = totals.max_nodes_per_token;
    c.other_nodes_per_token = static_cast<double>(totals.remote_node_copies) / static_cast<double>(std::max<std::int64_t>(totals.tokens, 1));
    const double touched = sim::expected_nodes_per_token(model, ep, ranks_per_node);
    c.expected_other_nodes_per_token = touched - touched / c.nodes;
  }
  return c;
}

}  // namespace frugal::core
