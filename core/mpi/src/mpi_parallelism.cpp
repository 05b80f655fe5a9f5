// Training over MPI ranks (mpi_parallelism.hpp).
#include "frugal/mpi/mpi_parallelism.hpp"

#include <cstdlib>
#include <memory>

#include "frugal/core/model.hpp"
#include "frugal/mpi/expert_parallel.hpp"

namespace frugal::mpi {

Session::Session(int* argc, char*** argv) {
  MPI_Init(argc, argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &world_);
}

Session::~Session() { MPI_Finalize(); }

bool launched_by_mpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMI_SIZE") != nullptr ||
         std::getenv("PMIX_RANK") != nullptr;
}

MpiParallelism::MpiParallelism(int ep, int ranks_per_node) : ep_(ep), ranks_per_node_(ranks_per_node) {
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &world_);
  // Expert-parallel groups are runs of ep consecutive ranks, as a node's GPUs are.
  MPI_Comm_split(MPI_COMM_WORLD, rank_ / ep, rank_, &group_);
}

MpiParallelism::~MpiParallelism() {
  if (group_ != MPI_COMM_NULL) MPI_Comm_free(&group_);
}

void MpiParallelism::all_reduce_sum(float* values, std::size_t count) {
  MPI_Allreduce(MPI_IN_PLACE, values, static_cast<int>(count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}
void MpiParallelism::all_reduce_sum(double* values, std::size_t count) {
  MPI_Allreduce(MPI_IN_PLACE, values, static_cast<int>(count), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
void MpiParallelism::all_reduce_sum(std::int64_t* values, std::size_t count) {
  MPI_Allreduce(MPI_IN_PLACE, values, static_cast<int>(count), MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
}

void MpiParallelism::distribute_experts(core::Transformer<float>& model) {
  for (auto* layer : model.moe_layers()) {
    ExpertLayout layout;
    layout.ep = ep_;
    layout.ep_rank = rank_ % ep_;
    layout.ranks_per_node = ranks_per_node_;
    layout.experts = layer->config().routed_experts;
    layer->set_dispatch(std::make_unique<ExpertParallel<float>>(group_, layout, &counters_));
  }
}

core::AllToAllCounters MpiParallelism::take_counters() {
  const core::AllToAllCounters out = counters_;
  counters_ = {};
  return out;
}

}  // namespace frugal::mpi
