// Expert parallelism over MPI (expert_parallel.hpp).
#include "frugal/mpi/expert_parallel.hpp"

#include <algorithm>
#include <numeric>

namespace frugal::mpi {

namespace {
template <class T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<float>() { return MPI_FLOAT; }
template <>
MPI_Datatype mpi_type<double>() { return MPI_DOUBLE; }
}  // namespace

template <class T>
ExpertParallel<T>::ExpertParallel(MPI_Comm group, const ExpertLayout& layout, core::AllToAllCounters* counters)
    : group_(group), layout_(layout), counters_(counters) {}

template <class T>
void ExpertParallel<T>::exchange(const std::vector<T>& send, const std::vector<int>& send_rows, std::vector<T>& recv,
                                 const std::vector<int>& recv_rows, int width) const {
  const int P = layout_.ep;
  std::vector<int> send_counts(P), send_displs(P), recv_counts(P), recv_displs(P);
  for (int q = 0, s = 0, r = 0; q < P; ++q) {
    send_counts[q] = send_rows[q] * width;
    recv_counts[q] = recv_rows[q] * width;
    send_displs[q] = s;
    recv_displs[q] = r;
    s += send_counts[q];
    r += recv_counts[q];
  }
  recv.resize(static_cast<std::size_t>(recv_displs[P - 1] + recv_counts[P - 1]));
  MPI_Alltoallv(send.data(), send_counts.data(), send_displs.data(), mpi_type<T>(), recv.data(), recv_counts.data(),
                recv_displs.data(), mpi_type<T>(), group_);
}

template <class T>
std::int64_t ExpertParallel<T>::remote_rows(const std::vector<int>& rows) const {
  std::int64_t n = 0;
  for (int q = 0; q < layout_.ep; ++q)
    if (q != layout_.ep_rank) n += rows[static_cast<std::size_t>(q)];
  return n;
}

template <class T>
void ExpertParallel<T>::forward(Matrix<T>& out, const Matrix<T>& x, const core::Router<T>& router,
                                std::vector<core::FeedForward<T>>& experts, const core::Parameters<T>& params) {
  const Index k = router.top_k(), C = x.cols();
  const int P = layout_.ep, me = layout_.ep_rank;

  // 1. Dispatch: every kept (token, slot) to its expert's owner, grouped by owner, in token order.
  core::AllToAllCounters count;
  count.tokens = x.rows();
  std::vector<std::vector<std::pair<Index, Index>>> to(static_cast<std::size_t>(P));
  std::vector<char> reached;
  for (Index t = 0; t < x.rows(); ++t) {
    reached.assign(static_cast<std::size_t>(layout_.node(P - 1) + 1), 0);
    for (Index j = 0; j < k; ++j) {
      if (!router.kept()[static_cast<std::size_t>(t * k + j)]) continue;
      const int q = layout_.owner(router.chosen()[static_cast<std::size_t>(t * k + j)]);
      to[static_cast<std::size_t>(q)].push_back({t, j});
      ++count.copies;
      if (q != me) ++count.remote_copies;
      reached[static_cast<std::size_t>(layout_.node(q))] = 1;
    }
    const auto nodes = std::count(reached.begin(), reached.end(), 1);
    count.max_nodes_per_token = std::max<std::int64_t>(count.max_nodes_per_token, nodes);
    count.remote_node_copies += nodes - reached[static_cast<std::size_t>(layout_.node(me))];
  }
  sent_.clear();
  send_rows_.assign(static_cast<std::size_t>(P), 0);
  for (int q = 0; q < P; ++q) {
    send_rows_[static_cast<std::size_t>(q)] = static_cast<int>(to[static_cast<std::size_t>(q)].size());
    sent_.insert(sent_.end(), to[static_cast<std::size_t>(q)].begin(), to[static_cast<std::size_t>(q)].end());
  }
  std::vector<T> rows(sent_.size() * static_cast<std::size_t>(C)), meta(sent_.size() * 2);
  const Index first = me * layout_.experts_per_rank();
  for (std::size_t i = 0; i < sent_.size(); ++i) {
    const auto [t, j] = sent_[i];
    std::copy(x.row(t).data(), x.row(t).data() + C, rows.begin() + static_cast<std::ptrdiff_t>(i) * C);
    const int expert = router.chosen()[static_cast<std::size_t>(t * k + j)];
    meta[2 * i] = static_cast<T>(expert % layout_.experts_per_rank());  // the owner's local index
    meta[2 * i + 1] = router.weights()(t, j);
  }
  recv_rows_.assign(static_cast<std::size_t>(P), 0);
  MPI_Alltoall(send_rows_.data(), 1, MPI_INT, recv_rows_.data(), 1, MPI_INT, group_);
  std::vector<T> arrived, arrived_meta;
  exchange(rows, send_rows_, arrived, recv_rows_, static_cast<int>(C));
  exchange(meta, send_rows_, arrived_meta, recv_rows_, 2);

  // 2. Compute: each local expert once, on every row that arrived for it; weight by g.
  const auto R = static_cast<Index>(arrived.size() / static_cast<std::size_t>(C));
  expert_rows_.assign(static_cast<std::size_t>(layout_.experts_per_rank()), {});
  arrived_gate_.resize(static_cast<std::size_t>(R));
  for (Index r = 0; r < R; ++r) {
    expert_rows_[static_cast<std::size_t>(arrived_meta[static_cast<std::size_t>(2 * r)])].push_back(r);
    arrived_gate_[static_cast<std::size_t>(r)] = arrived_meta[static_cast<std::size_t>(2 * r + 1)];
  }
  expert_out_.resize(expert_rows_.size());
  std::vector<T> results(arrived.size());
  Matrix<T> input;
  for (std::size_t e = 0; e < expert_rows_.size(); ++e) {
    const auto& mine = expert_rows_[e];
    if (mine.empty()) continue;
    input.resize(static_cast<Index>(mine.size()), C);
    for (std::size_t i = 0; i < mine.size(); ++i)
      std::copy(arrived.begin() + mine[i] * C, arrived.begin() + (mine[i] + 1) * C, input.row(static_cast<Index>(i)).data());
    experts[static_cast<std::size_t>(first) + e].forward(expert_out_[e], input, params);
    for (std::size_t i = 0; i < mine.size(); ++i) {
      const T g = arrived_gate_[static_cast<std::size_t>(mine[i])];
      for (Index c = 0; c < C; ++c) results[static_cast<std::size_t>(mine[i] * C + c)] = g * expert_out_[e](static_cast<Index>(i), c);
    }
  }

  // 3. Combine: the weighted rows go back where they came from; out_t += each.
  std::vector<T> back;
  exchange(results, recv_rows_, back, send_rows_, static_cast<int>(C));
  for (std::size_t i = 0; i < sent_.size(); ++i)
    for (Index c = 0; c < C; ++c) out(sent_[i].first, c) += back[i * static_cast<std::size_t>(C) + static_cast<std::size_t>(c)];

  count.row_bytes = (remote_rows(send_rows_) + remote_rows(recv_rows_)) * C * static_cast<std::int64_t>(sizeof(T));
  count.metadata_bytes = remote_rows(send_rows_) * 2 * static_cast<std::int64_t>(sizeof(T));
  counters_->add(count);
}

//   at the owner: ∂L/∂Y_e[r] = g · dout_t,  ∂L/∂g = dout_t · Y_e[r],  then the expert's backward
template <class T>
void ExpertParallel<T>::backward(Matrix<T>& dx, Matrix<T>& dweights, const Matrix<T>& dout, const core::Router<T>& router,
                                 std::vector<core::FeedForward<T>>& experts, core::Parameters<T>& params) {
  (void)router;
  const Index C = dout.cols();
  const Index first = layout_.ep_rank * layout_.experts_per_rank();
  // dout_t to the owners, in forward's send order.
  std::vector<T> rows(sent_.size() * static_cast<std::size_t>(C)), arrived;
  for (std::size_t i = 0; i < sent_.size(); ++i)
    std::copy(dout.row(sent_[i].first).data(), dout.row(sent_[i].first).data() + C, rows.begin() + static_cast<std::ptrdiff_t>(i) * C);
  exchange(rows, send_rows_, arrived, recv_rows_, static_cast<int>(C));

  // Each local expert's backward; results: [∂L/∂x row, ∂L/∂g] per arrived row.
  const Index width = C + 1;
  std::vector<T> results(arrived.size() / static_cast<std::size_t>(C) * static_cast<std::size_t>(width));
  Matrix<T> drows, dexpert;
  for (std::size_t e = 0; e < expert_rows_.size(); ++e) {
    const auto& mine = expert_rows_[e];
    if (mine.empty()) continue;
    drows.resize(static_cast<Index>(mine.size()), C);
    for (std::size_t i = 0; i < mine.size(); ++i) {
      const T g = arrived_gate_[static_cast<std::size_t>(mine[i])];
      T dg = 0;
      for (Index c = 0; c < C; ++c) {
        const T d = arrived[static_cast<std::size_t>(mine[i] * C + c)];
        drows(static_cast<Index>(i), c) = g * d;
        dg += d * expert_out_[e](static_cast<Index>(i), c);
      }
      results[static_cast<std::size_t>(mine[i] * width + C)] = dg;
    }
    experts[static_cast<std::size_t>(first) + e].backward(dexpert, drows, params);
    for (std::size_t i = 0; i < mine.size(); ++i)
      std::copy(dexpert.row(static_cast<Index>(i)).data(), dexpert.row(static_cast<Index>(i)).data() + C,
                results.begin() + mine[i] * width);
  }
  std::vector<T> back;
  exchange(results, recv_rows_, back, send_rows_, static_cast<int>(width));
  for (std::size_t i = 0; i < sent_.size(); ++i) {
    const auto [t, j] = sent_[i];
    for (Index c = 0; c < C; ++c) dx(t, c) += back[i * static_cast<std::size_t>(width) + static_cast<std::size_t>(c)];
    dweights(t, j) = back[i * static_cast<std::size_t>(width) + static_cast<std::size_t>(C)];
  }

  core::AllToAllCounters count;
  count.row_bytes = (remote_rows(send_rows_) + remote_rows(recv_rows_)) * C * static_cast<std::int64_t>(sizeof(T));
  count.metadata_bytes = remote_rows(recv_rows_) * static_cast<std::int64_t>(sizeof(T));
  counters_->add(count);
}

template class ExpertParallel<float>;
template class ExpertParallel<double>;

}  // namespace frugal::mpi
