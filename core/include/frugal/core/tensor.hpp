// The CPU reference's tensors: row-major Eigen matrices, one row per token (llm.c's layout), and
// the matmul meter that counts the FLOPs and seconds spent in matrix products.
//
// Every matrix product in core/ goes through `gemm`, so a training step can report how much of its
// time is matmul (core/README.md's speed target: "< 25% outside matmuls") and how many FLOPs it executed (the
// dense-vs-MoE experiment compares losses at equal *executed* FLOPs, not at a formula's).
#pragma once

#include <chrono>
#include <cstdint>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "frugal/core/random.hpp"

namespace frugal::core {

using Index = Eigen::Index;

template <class T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MatrixMap = Eigen::Map<Matrix<T>>;
template <class T>
using ConstMatrixMap = Eigen::Map<const Matrix<T>>;
template <class T>
using RowVector = Eigen::Matrix<T, 1, Eigen::Dynamic>;

// A flat buffer aligned for Eigen's widest packets. Eigen runs the unaligned head of a vectorised
// loop on its scalar path, which may round differently (fused multiply-add or not): with plain
// std::vector the head's length — and so the low bits of the result — would depend on where
// malloc put the buffer, and two runs with the same seed could differ.
template <class T>
using AlignedVector = std::vector<T, Eigen::aligned_allocator<T>>;

// Accumulated cost of every `gemm` since the last reset. One per thread: core runs single-threaded
// and deterministic, and a benchmark may meter one model while another runs elsewhere.
struct MatmulMeter {
  double flops = 0;    // 2·m·n·k per product
  double seconds = 0;  // wall time inside products
  std::int64_t calls = 0;
  bool timing = false;  // clock reads cost ~40 ns per product; on only when someone asks
  void reset() { flops = 0; seconds = 0; calls = 0; }
};

inline MatmulMeter& matmul_meter() {
  thread_local MatmulMeter meter;
  return meter;
}

// Every element of m (a matrix or a map) drawn from Normal(0, std), in storage order.
template <class M>
void fill_normal(M&& m, Rng& rng, double std) {
  using Scalar = typename std::decay_t<M>::Scalar;
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<Scalar>(std * rng.normal());
}

// out = a·b, or out += a·b with `accumulate`. `a` and `b` may be transposed views.
template <class Out, class A, class B>
void gemm(Out&& out, const A& a, const B& b, bool accumulate = false) {
  MatmulMeter& meter = matmul_meter();
  meter.flops += 2.0 * static_cast<double>(a.rows()) * static_cast<double>(a.cols()) * static_cast<double>(b.cols());
  ++meter.calls;
  if (!meter.timing) {
    if (accumulate) out.noalias() += a * b;
    else out.noalias() = a * b;
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  if (accumulate) out.noalias() += a * b;
  else out.noalias() = a * b;
  meter.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace frugal::core
