// The fused losses' running reductions (online_softmax.hpp) on the CPU, folded exactly as the v2
// kernels fold a row — 256 threads over float4 groups, warp merges in xor-shuffle order, then the
// eight warps — against core's two-pass, double-precision log-sum-exp and KL.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <vector>

#include "frugal/core/layers.hpp"
#include "frugal/core/random.hpp"
#include "frugal/kernels/online_softmax.hpp"

namespace frugal::kernels {
namespace {

constexpr int kThreads = 256;

// What block_merge computes: each warp's lanes merged by xor shuffles (all lanes at once, as the
// hardware does), then warp 0 … 7 in order.
template <class Online>
Online block_merge_on_host(std::vector<Online> threads, float inverse_t) {
  for (int offset = 16; offset > 0; offset /= 2) {
    const std::vector<Online> before = threads;
    for (int t = 0; t < kThreads; ++t) threads[static_cast<std::size_t>(t)].merge(before[static_cast<std::size_t>(t ^ offset)], inverse_t);
  }
  Online all = threads[0];
  for (int w = 1; w < kThreads / 32; ++w) all.merge(threads[static_cast<std::size_t>(32 * w)], inverse_t);
  return all;
}

std::vector<float> row(int vocab, double std, std::uint64_t seed) {
  core::Rng rng(seed);
  std::vector<float> z(static_cast<std::size_t>(vocab));
  for (float& v : z) v = static_cast<float>(std * rng.normal());
  return z;
}

double lse(const std::vector<float>& z, double scale) {
  double m = -INFINITY, s = 0;
  for (float v : z) m = std::max(m, scale * v);
  for (float v : z) s += std::exp(scale * v - m);
  return m + std::log(s);
}

TEST(OnlineSoftmax, FoldedAsTheKernelEqualsTwoPassLogSumExp) {
  const int vocab = 129280;
  const float t = 2.0f, inverse_t = 1.0f / t;
  std::vector<float> zs = row(vocab, 3.0, 1);
  zs[100000] = 70.0f;  // a late maximum: every earlier sum is rescaled
  std::vector<OnlineSoftmax> threads(kThreads);
  for (int q = 0; q < vocab / 4; ++q)
    for (int e = 0; e < 4; ++e) threads[static_cast<std::size_t>(q % kThreads)].add(zs[static_cast<std::size_t>(4 * q + e)], inverse_t);
  const OnlineSoftmax all = block_merge_on_host(threads, inverse_t);
  EXPECT_NEAR(all.lse(), lse(zs, 1.0), 1e-5);
  EXPECT_NEAR(all.lse_tempered(inverse_t), lse(zs, inverse_t), 1e-5);
}

// T² · KL(p_t ‖ p_s) for one row, against core's distillation_loss (its soft term, in double).
TEST(OnlineSoftmax, FoldedKlEqualsCoreDistillation) {
  const int vocab = 129280;
  const float t = 2.0f, inverse_t = 1.0f / t;
  const std::vector<float> zs = row(vocab, 2.0, 2), zt = row(vocab, 3.0, 3);
  std::vector<OnlineSoftmax> student(kThreads);
  std::vector<OnlineTeacher> teacher(kThreads);
  for (int q = 0; q < vocab / 4; ++q)
    for (int e = 0; e < 4; ++e) {
      const std::size_t i = static_cast<std::size_t>(4 * q + e), thread = static_cast<std::size_t>(q % kThreads);
      student[thread].add(zs[i], inverse_t);
      teacher[thread].add(zt[i] * inverse_t, (zt[i] - zs[i]) * inverse_t);
    }
  const OnlineSoftmax s = block_merge_on_host(student, inverse_t);
  const OnlineTeacher te = block_merge_on_host(teacher, 0.0f);
  core::Matrix<double> student_row(1, vocab), teacher_row(1, vocab);
  for (int i = 0; i < vocab; ++i) {
    student_row(0, i) = zs[static_cast<std::size_t>(i)];
    teacher_row(0, i) = zt[static_cast<std::size_t>(i)];
  }
  const double expected = core::distillation_loss(student_row, teacher_row, {0}, t, 0.5).soft;
  EXPECT_NEAR(t * t * te.kl(s.lse_tempered(inverse_t)), expected, 1e-4 * expected);
  EXPECT_NEAR(te.lse(), lse(zt, inverse_t), 1e-5);
}

TEST(OnlineSoftmax, EmptyAndMaskedContributeNothing) {
  OnlineSoftmax a, empty;
  a.add(1.0f, 1.0f);
  a.add(-INFINITY, 1.0f);  // masked
  a.merge(empty, 1.0f);
  EXPECT_FLOAT_EQ(a.lse(), 1.0f);
  empty.merge(a, 1.0f);
  EXPECT_FLOAT_EQ(empty.lse(), 1.0f);
  OnlineTeacher none, other;
  none.merge(other);
  EXPECT_EQ(none.sum, 0.0f);
}

}  // namespace
}  // namespace frugal::kernels
