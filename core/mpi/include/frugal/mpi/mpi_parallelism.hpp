// Training over MPI ranks (core/parallel.hpp): world = ep × dp ranks; rank r is expert-parallel
// rank r mod ep of group r / ep. Gradients, losses and expert loads are summed with
// MPI_Allreduce over all ranks; each MoE layer's experts are reached through ExpertParallel
// within the group.
#pragma once

#include <mpi.h>

#include "frugal/core/parallel.hpp"

namespace frugal::mpi {

// MPI_Init on construction, MPI_Finalize on destruction: every return path of a program ends MPI.
class Session {
 public:
  Session(int* argc, char*** argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  int rank() const { return rank_; }
  int world() const { return world_; }

 private:
  int rank_ = 0, world_ = 1;
};

// True when this process was started by mpirun / mpiexec (OpenMPI or a PMI launcher).
bool launched_by_mpirun();

class MpiParallelism : public core::TrainingParallelism {
 public:
  // Check the layout first (core::expert_parallel_layout_error): this constructor assumes it fits.
  MpiParallelism(int ep, int ranks_per_node);
  ~MpiParallelism() override;
  MpiParallelism(const MpiParallelism&) = delete;
  MpiParallelism& operator=(const MpiParallelism&) = delete;

  int rank() const override { return rank_; }
  int world() const override { return world_; }
  int ep() const { return ep_; }
  int ranks_per_node() const { return ranks_per_node_; }
  void all_reduce_sum(float* values, std::size_t count) override;
  void all_reduce_sum(double* values, std::size_t count) override;
  void all_reduce_sum(std::int64_t* values, std::size_t count) override;
  void distribute_experts(core::Transformer<float>& model) override;
  core::AllToAllCounters take_counters() override;

 private:
  int rank_ = 0, world_ = 1, ep_ = 1, ranks_per_node_ = 0;
  MPI_Comm group_ = MPI_COMM_NULL;
  core::AllToAllCounters counters_;
};

}  // namespace frugal::mpi
