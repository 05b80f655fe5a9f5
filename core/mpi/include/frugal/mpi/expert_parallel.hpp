// Expert parallelism over MPI (DeepSeek-V3 report §3.2: 64-way EP over 8 nodes): the routed
// experts of a DeepSeekMoE layer are split over the ranks of an expert-parallel group, and every
// routed (token, expert) copy travels to the rank that owns the expert and back.
//
// Forward, for one layer (all ranks of the group together):
//   1. dispatch  — each rank sends, to each expert's owner, the rows x_t of its tokens that chose
//                  one of that owner's experts, with the expert id and the gate weight g
//                  (MPI_Alltoall of the row counts, then MPI_Alltoallv of rows and metadata);
//   2. compute   — each owner runs each of its experts once, on all the rows that arrived for it,
//                  and weights them: g · FFN_e(x_t);
//   3. combine   — the weighted rows go back to where they came from (MPI_Alltoallv with the
//                  counts reversed), and out_t += each of them.
// Backward runs the same path with gradients: dout_t travels to the owner, which returns
// ∂L/∂x_t for its expert and ∂L/∂g = dout_t · FFN_e(x_t).
// A row sent to its own rank is a copy, not a message: the counters count only other ranks.
#pragma once

#include <mpi.h>

#include <utility>
#include <vector>

#include "frugal/core/expert_dispatch.hpp"
#include "frugal/core/parallel.hpp"

namespace frugal::mpi {

using core::Index;
using core::Matrix;

// Which rank of an expert-parallel group holds which expert, and which node each rank is on.
struct ExpertLayout {
  int ep = 1;              // ranks in the group
  int ep_rank = 0;         // this rank's place in it
  int ranks_per_node = 0;  // 0: the whole group is one node
  Index experts = 0;       // routed experts of the layer
  Index experts_per_rank() const { return experts / ep; }
  int owner(Index expert) const { return static_cast<int>(expert / experts_per_rank()); }
  int node(int rank) const { return ranks_per_node > 0 ? rank / ranks_per_node : 0; }
};

template <class T>
class ExpertParallel : public core::ExpertDispatch<T> {
 public:
  // `group`: the expert-parallel communicator (ranks 0 … ep − 1 in ExpertLayout order).
  // `counters`: where this layer adds what it sends (shared by every layer of the model).
  ExpertParallel(MPI_Comm group, const ExpertLayout& layout, core::AllToAllCounters* counters);

  void forward(Matrix<T>& out, const Matrix<T>& x, const core::Router<T>& router,
               std::vector<core::FeedForward<T>>& experts, const core::Parameters<T>& params) override;
  void backward(Matrix<T>& dx, Matrix<T>& dweights, const Matrix<T>& dout, const core::Router<T>& router,
                std::vector<core::FeedForward<T>>& experts, core::Parameters<T>& params) override;

 private:
  // MPI_Alltoallv of rows of `width` values: send_rows[q] rows to rank q, recv_rows[q] from it.
  void exchange(const std::vector<T>& send, const std::vector<int>& send_rows, std::vector<T>& recv,
                const std::vector<int>& recv_rows, int width) const;
  std::int64_t remote_rows(const std::vector<int>& rows) const;  // rows to or from other ranks

  MPI_Comm group_;
  ExpertLayout layout_;
  core::AllToAllCounters* counters_;

  // Forward state, kept for backward.
  std::vector<std::pair<Index, Index>> sent_;  // (token, slot) of every row sent, in send order
  std::vector<int> send_rows_, recv_rows_;     // rows to / from each rank
  std::vector<Index> arrived_expert_;          // per arrived row: its expert, local to this rank
  std::vector<T> arrived_gate_;                // per arrived row: g
  std::vector<std::vector<Index>> expert_rows_;  // per local expert: the arrived rows it ran on
  std::vector<Matrix<T>> expert_out_;          // per local expert: FFN_e of those rows, unweighted
};

}  // namespace frugal::mpi
