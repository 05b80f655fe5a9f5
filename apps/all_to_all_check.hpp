// The expert-parallel traffic a training run measured, next to frugal-sim's model of it
// (sim/communication.hpp): every routed copy that leaves its rank is one hidden-size row, in four
// passes per MoE layer (dispatch and combine, forward and backward); FP32 rows here. With nodes,
// node-limited routing's reach (V3 §2.1.2). Shared by frugal-train and chapter 10.
#pragma once

#include <cstdint>

#include "frugal/core/trainer.hpp"

namespace frugal::core {

struct AllToAllCheck {
  double layers = 0, tokens_per_rank = 0;           // MoE layers; tokens one rank routes per step
  double measured_bytes = 0;                        // sent per rank per step, mean over steps
  double remote_copies_per_token = 0;               // of each token's top_k copies, those that left its rank
  double uniform_copies_per_token = 0;              // k(1 − 1/ep): uniform routing
  double formula_bytes_measured_copies = 0;         // frugal-sim's formula with the measured copies …
  double formula_bytes_uniform = 0;                 // … and at uniform routing
  // Only with nodes (ranks_per_node > 0 and more than one node):
  bool has_nodes = false;
  double nodes = 0;
  std::int64_t max_nodes_per_token = 0;             // measured; node-limited routing allows groups_per_token
  double other_nodes_per_token = 0, expected_other_nodes_per_token = 0;
};

// From a trainer that has trained with expert parallelism `ep` over `world` ranks.
AllToAllCheck check_all_to_all(const Trainer& trainer, const ModelConfig& model, int ep, int ranks_per_node, int world);

}  // namespace frugal::core
