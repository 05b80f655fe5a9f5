// The fused losses against core (DESIGN.md's pairing pattern): cross-entropy and distillation,
// loss and gradient, with ignored rows, at a small vocabulary and at DeepSeek-V3's 129,280; and the
// MTP path — shifted targets with λ/D — against core's cross-entropy on the rows core's model
// gathers for that depth. core runs in double; the kernels in fp32, so the bound is 1e-5 relative
// (1e-4 for the soft term, a difference of log-sum-exps). Outputs poisoned. Skipped without a GPU.
#include <gtest/gtest.h>

#include <cmath>

#include "frugal/core/layers.hpp"
#include "frugal/core/random.hpp"
#include "frugal/kernels/losses.hpp"
#include "gpu_test_support.hpp"

namespace frugal::kernels {
namespace {
using testing::DeviceBuffer;
using testing::relative_error;

std::vector<float> random_logits(int rows, int vocab, double std, std::uint64_t seed) {
  core::Rng rng(seed);
  std::vector<float> z(static_cast<std::size_t>(rows) * vocab);
  for (float& v : z) v = static_cast<float>(std * rng.normal());
  return z;
}

std::vector<int> random_targets(int rows, int vocab, int ignored_every, std::uint64_t seed) {
  core::Rng rng(seed);
  std::vector<int> t;
  for (int r = 0; r < rows; ++r) t.push_back(ignored_every > 0 && r % ignored_every == 2 ? kIgnoreIndex : static_cast<int>(rng.below(vocab)));
  return t;
}

// The rows whose target counts, as a core matrix (double), and their targets.
core::Matrix<double> valid_rows_of(const std::vector<float>& z, const std::vector<int>& targets, int vocab, std::vector<int>* kept) {
  std::vector<int> rows;
  for (std::size_t r = 0; r < targets.size(); ++r)
    if (targets[r] != kIgnoreIndex) rows.push_back(static_cast<int>(r));
  core::Matrix<double> m(static_cast<core::Index>(rows.size()), vocab);
  kept->clear();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (int c = 0; c < vocab; ++c) m(static_cast<core::Index>(i), c) = z[static_cast<std::size_t>(rows[i]) * vocab + c];
    kept->push_back(targets[static_cast<std::size_t>(rows[i])]);
  }
  return m;
}

// core's gradient spread back over all rows: zero on ignored rows.
std::vector<float> spread(const core::Matrix<double>& grad, const std::vector<int>& targets, int vocab) {
  std::vector<float> out(targets.size() * static_cast<std::size_t>(vocab), 0.0f);
  core::Index i = 0;
  for (std::size_t r = 0; r < targets.size(); ++r) {
    if (targets[r] == kIgnoreIndex) continue;
    for (int c = 0; c < vocab; ++c) out[r * static_cast<std::size_t>(vocab) + c] = static_cast<float>(grad(i, c));
    ++i;
  }
  return out;
}

using CrossEntropy = void (*)(const LossShape&, float*, const int*, float, const CrossEntropyOutputs&, cudaStream_t);

struct GpuLoss {
  double mean = 0;
  int valid = 0;
  std::vector<float> gradient;
};

GpuLoss run_cross_entropy(CrossEntropy version, const std::vector<float>& z, const std::vector<int>& targets, int vocab, float scale) {
  const LossShape shape{static_cast<int>(targets.size()), vocab};
  DeviceBuffer<float> d_z(z), d_loss(targets.size()), d_lse(targets.size());
  DeviceBuffer<int> d_targets(targets), d_valid(1);
  version(shape, d_z.get(), d_targets.get(), scale, {d_loss.get(), d_lse.get(), d_valid.get()}, nullptr);
  testing::expect_no_cuda_error();
  const int valid = d_valid.host()[0];
  return {mean_over_valid(d_loss.host(), valid), valid, d_z.host()};
}

void check_cross_entropy(CrossEntropy version, int rows, int vocab, double std, int ignored_every) {
  std::vector<float> z = random_logits(rows, vocab, std, 1);
  z[std::min<std::size_t>(7, z.size() - 1)] = 60.0f;  // one dominant logit: softmax saturates, the naive exp(z) would still fit, exp(z − max) is what keeps it stable
  const std::vector<int> targets = random_targets(rows, vocab, ignored_every, 2);
  const float scale = 0.7f;
  const GpuLoss gpu = run_cross_entropy(version, z, targets, vocab, scale);
  std::vector<int> kept;
  const core::Matrix<double> valid = valid_rows_of(z, targets, vocab, &kept);
  core::Matrix<double> grad;
  const double loss = core::cross_entropy(valid, kept, &grad, scale);
  EXPECT_EQ(gpu.valid, count_valid_targets(targets));
  EXPECT_NEAR(gpu.mean, loss, 1e-5 * loss);
  EXPECT_LT(relative_error(gpu.gradient, spread(grad, targets, vocab)), 1e-5);
  for (std::size_t r = 0; r < targets.size(); ++r) {
    if (targets[r] != kIgnoreIndex) continue;
    for (int c = 0; c < vocab; ++c) ASSERT_EQ(gpu.gradient[r * static_cast<std::size_t>(vocab) + c], 0.0f) << "ignored row " << r;
  }
}

TEST(LossesGpu, CrossEntropyV1ThreadPerRow) {
  FRUGAL_SKIP_WITHOUT_GPU();
  check_cross_entropy(cross_entropy_v1, 37, 1000, 2.0, 7);
}

TEST(LossesGpu, CrossEntropyV2OnlineBlockPerRow) {
  FRUGAL_SKIP_WITHOUT_GPU();
  check_cross_entropy(cross_entropy_v2, 37, 1000, 2.0, 7);
}

TEST(LossesGpu, CrossEntropyV3ClusterHoldsTheRow) {
  FRUGAL_SKIP_WITHOUT_GPU();
  std::string why;
  if (!thread_block_clusters_available(&why)) GTEST_SKIP() << why;
  check_cross_entropy(cross_entropy_v3, 37, 1000, 2.0, 7);
  check_cross_entropy(cross_entropy_v3, 5, 36, 2.0, 0);  // 9 float4s for 8 blocks: most slices hold one, the last none
}

TEST(LossesGpu, CrossEntropyAtDeepSeekV3Vocabulary) {
  FRUGAL_SKIP_WITHOUT_GPU();
  check_cross_entropy(cross_entropy_v1, 6, 129280, 3.0, 0);
  check_cross_entropy(cross_entropy_v2, 6, 129280, 3.0, 0);
  if (thread_block_clusters_available()) check_cross_entropy(cross_entropy_v3, 6, 129280, 3.0, 0);
}

// MTP depth k = 2 of D = 2, λ = 0.3 (V3 §4.2: λ = 0.3 for the first 10T tokens): the GPU keeps all
// batch × seq_len rows with the targets shifted two places; core's model gathers the rows
// i < seq_len − 2 of each sequence and takes their cross-entropy with scale λ/D.
TEST(LossesGpu, MtpDepthThroughShiftedTargets) {
  FRUGAL_SKIP_WITHOUT_GPU();
  const int batch = 3, seq_len = 9, depth = 2, vocab = 1000;
  const float scale = 0.3f / 2;
  const std::vector<float> z = random_logits(batch * seq_len, vocab, 2.0, 3);
  const std::vector<int> targets = random_targets(batch * seq_len, vocab, 0, 4);
  const std::vector<int> shifted = mtp_shifted_targets(targets, batch, seq_len, depth);
  core::Matrix<double> gathered(batch * (seq_len - depth), vocab);
  std::vector<int> gathered_targets;
  for (int b = 0; b < batch; ++b)
    for (int i = 0; i < seq_len - depth; ++i) {  // as core/src/model.cpp builds depth k's rows
      for (int c = 0; c < vocab; ++c) gathered(b * (seq_len - depth) + i, c) = z[static_cast<std::size_t>(b * seq_len + i) * vocab + c];
      gathered_targets.push_back(targets[static_cast<std::size_t>(b * seq_len + i + depth)]);
    }
  core::Matrix<double> grad;
  const double loss = core::cross_entropy(gathered, gathered_targets, &grad, scale);
  std::vector<CrossEntropy> versions{cross_entropy_v1, cross_entropy_v2};
  if (thread_block_clusters_available()) versions.push_back(cross_entropy_v3);
  for (CrossEntropy version : versions) {
    const GpuLoss gpu = run_cross_entropy(version, z, shifted, vocab, scale);
    EXPECT_EQ(gpu.valid, batch * (seq_len - depth));
    EXPECT_NEAR(gpu.mean, loss, 1e-5 * loss);
    EXPECT_LT(relative_error(gpu.gradient, spread(grad, shifted, vocab)), 1e-5);
  }
}

using Distillation = void (*)(const LossShape&, float*, const float*, const int*, const DistillationOptions&, const DistillationOutputs&,
                              cudaStream_t);

void check_distillation(Distillation version, int rows, int vocab) {
  const std::vector<float> student = random_logits(rows, vocab, 2.0, 5), teacher = random_logits(rows, vocab, 3.0, 6);
  const std::vector<int> targets = random_targets(rows, vocab, 5, 7);
  const DistillationOptions options{2.0f, 0.3f};
  const LossShape shape{rows, vocab};
  DeviceBuffer<float> d_student(student), d_teacher(teacher), d_soft(static_cast<std::size_t>(rows)), d_hard(static_cast<std::size_t>(rows)),
      d_lse(3 * static_cast<std::size_t>(rows));
  DeviceBuffer<int> d_targets(targets), d_valid(1);
  version(shape, d_student.get(), d_teacher.get(), d_targets.get(), options, {d_soft.get(), d_hard.get(), d_lse.get(), d_valid.get()}, nullptr);
  testing::expect_no_cuda_error();
  const int valid = d_valid.host()[0];

  std::vector<int> kept;
  const core::Matrix<double> s = valid_rows_of(student, targets, vocab, &kept), t = valid_rows_of(teacher, targets, vocab, &kept);
  core::Matrix<double> grad;
  const core::DistillationLoss expected = core::distillation_loss(s, t, kept, options.temperature, options.alpha, &grad);
  EXPECT_EQ(valid, count_valid_targets(targets));
  const double hard = mean_over_valid(d_hard.host(), valid), soft = mean_over_valid(d_soft.host(), valid);
  EXPECT_NEAR(hard, expected.cross_entropy, 1e-5 * expected.cross_entropy);
  EXPECT_NEAR(soft, expected.soft, 1e-4 * expected.soft);
  EXPECT_NEAR(options.alpha * soft + (1 - options.alpha) * hard, expected.total, 1e-4 * expected.total);
  EXPECT_LT(relative_error(d_student.host(), spread(grad, targets, vocab)), 1e-5);
}

TEST(LossesGpu, DistillationV1ThreadPerRow) {
  FRUGAL_SKIP_WITHOUT_GPU();
  check_distillation(distillation_v1, 23, 1000);
}

TEST(LossesGpu, DistillationV2OnlineBlockPerRow) {
  FRUGAL_SKIP_WITHOUT_GPU();
  check_distillation(distillation_v2, 23, 1000);
  check_distillation(distillation_v2, 4, 129280);
}

TEST(LossesGpu, DistillationV3ClusterHoldsTheRows) {
  FRUGAL_SKIP_WITHOUT_GPU();
  std::string why;
  if (!thread_block_clusters_available(&why)) GTEST_SKIP() << why;
  check_distillation(distillation_v3, 23, 1000);
  check_distillation(distillation_v3, 4, 129280);
  check_distillation(distillation_v3, 6, 36);  // slices of one float4, the last block's empty
}

TEST(LossesGpu, V2RefusesAVocabularyNotAMultipleOfFour) {
  FRUGAL_SKIP_WITHOUT_GPU();
  EXPECT_THROW(cross_entropy_v2({2, 1001}, nullptr, nullptr, 1.0f, {}), std::invalid_argument);
  EXPECT_THROW(cross_entropy_v3({2, 1001}, nullptr, nullptr, 1.0f, {}), std::invalid_argument);
  EXPECT_THROW(distillation_v2({2, 1001}, nullptr, nullptr, nullptr, {}, {}), std::invalid_argument);
  EXPECT_THROW(distillation_v3({2, 1001}, nullptr, nullptr, nullptr, {}, {}), std::invalid_argument);
}

}  // namespace
}  // namespace frugal::kernels
