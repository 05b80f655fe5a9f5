// Communication volumes and times: MoE all-to-all under expert parallelism with node-limited
// routing, and ring collectives for data and tensor parallelism.
#pragma once

#include <cstdint>

#include "frugal/config/model_config.hpp"

namespace frugal::sim {

// How an expert-parallel layer moves its tokens (all_to_all_bytes_per_token below):
// deepep sends one copy of a token to each remote node it is routed to and forwards it inside the
// node over NVLink (DeepEP, DeepSeek-V3 report §3.2.2; Megatron-Core's "flex" dispatcher);
// all_to_all sends each of a token's top-k copies to its expert's GPU directly, one NCCL
// all-to-all (Megatron-Core's "alltoall" dispatcher).
enum class TokenDispatcher { deepep, all_to_all };

// Expected number of distinct nodes one token's top-k routed experts live on, when EP spans
// ceil(ep / gpus_per_node) nodes. Group-limited routing (V3 report §2.1.2: groups = nodes,
// "each token is sent to at most M nodes") caps the choice to the n nodes of the kept groups
// (n = M when groups = nodes; the expected count of nodes M random groups reach when a node
// holds several); within them, k experts chosen at random land on n(1 - (1 - 1/n)^k) nodes.
double expected_nodes_per_token(const ModelConfig& m, std::int64_t ep, int gpus_per_node);

// Bytes one GPU sends per token for one dispatch (or one combine) of one MoE layer, its k routed
// copies spread uniformly over ep GPUs, g = min(ep, GPUs per node) of them in each node.
//  deepep:     scaleout: one copy per remote node the token reaches, forwarded inside that node
//              over NVLink: (touched - touched / nodes) x d x bytes (touched: expected_nodes_per_token);
//              nvlink:   every copy that lands on another GPU of a node, k x (1 - 1/g) x d x bytes.
//  all_to_all: each copy travels to its GPU on its own: scaleout k x (1 - g/ep) x d x bytes (the
//              copies whose expert is in another node), nvlink k x (g - 1)/ep x d x bytes.
// Inside one node (ep <= g) the two send the same bytes.
struct AllToAllBytes {
  double scaleout = 0;
  double nvlink = 0;
};
AllToAllBytes all_to_all_bytes_per_token(const ModelConfig& m, std::int64_t ep, int gpus_per_node,
                                         double bytes_per_element, TokenDispatcher dispatcher = TokenDispatcher::deepep);

// The rule both terms above follow, for one dispatch (or one combine) pass of one MoE layer: every
// routed copy that leaves its GPU is one hidden-size row. `remote_copies_per_token` is
// k·(1 − 1/ep) when a token's k experts are spread uniformly over ep GPUs; the CPU reference's
// expert-parallel layer measures it, and sends exactly this many bytes (tests/mpi).
double all_to_all_pass_bytes(double tokens, double remote_copies_per_token, std::int64_t hidden, double bytes_per_element);

// Ring reduce-scatter or all-gather of `bytes` (the full buffer) over `ranks`: each rank sends
// (ranks - 1) / ranks of it. An all-reduce is a reduce-scatter then an all-gather: twice that.
double ring_reduce_scatter_time(double bytes, std::int64_t ranks, double bandwidth);
double ring_all_reduce_time(double bytes, std::int64_t ranks, double bandwidth);

// Reduce-scatter (or all-gather) of `bytes` over `ranks` GPUs of which `per_node` share each node:
// a ring over NVLink inside each node, then a ring across the nodes in which each GPU carries only
// its 1/per_node share over its own NIC. Each node must take in the other nodes' partial sums of
// its share, bytes (nodes - 1) / nodes, and has per_node NICs to do it with: this is that bound.
// per_node = 1 is the plain ring over the scale-out network; ranks <= per_node stays in one node.
double node_aware_reduce_scatter_time(double bytes, std::int64_t ranks, std::int64_t per_node, double nvlink_bandwidth,
                                      double scaleout_bandwidth);

// Communication pipelined with computation in `chunks` pieces (Transformer Engine's userbuffers
// overlap of a tensor-parallel all-gather or reduce-scatter with its GEMM, split in tp chunks):
// chunk i's transfer runs beside chunk i-1's GEMM, so the first chunk's transfer is always
// exposed and the rest only where it outlasts the computation it hides behind:
//   exposed = comm / chunks + max(0, comm (chunks - 1) / chunks - compute).
double pipelined_exposed_time(double comm, double compute, std::int64_t chunks);

// Traffic that prefetches behind computation (FSDP / ZeRO-3 gathering the next layer's
// parameters while this one computes): only what outlasts the computation is exposed.
inline double overlapped_exposed_time(double comm, double compute) { return comm > compute ? comm - compute : 0.0; }

// What overlapped communication of `comm` seconds costs the step when `exposed` of it is not
// hidden: that part, plus the overlap's shortfall (efficiency.hpp, overlap_shortfall) times the
// part hidden.
inline double overlap_cost(double comm, double exposed, double shortfall) { return exposed + shortfall * (comm - exposed); }

}  // namespace frugal::sim
