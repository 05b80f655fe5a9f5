// The fused losses against core (docs/ARCHITECTURE.md's pairing pattern): cross-entropy and distillation,
// loss and gradient, with ignored rows, at a small vocabulary and at DeepSeek-V3's 129,280; and the
// MTP path — shifted targets with λ/D — against core's cross-entropy on the rows core's model
// gathers for that depth. core runs in double; the kernels in fp32, so the bound is 1e-5 relative
// (1e-4 for the soft term, a difference of log-sum-exps). Outputs poisoned. Every version of
// kLossVersions, each skipped (saying why) where it cannot run. Skipped without a GPU; the refusal
// of a vocabulary a version cannot take runs everywhere.
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

using CrossEntropy = decltype(&cross_entropy_v1);

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

// MTP depth k = 2 of D = 2, λ = 0.3 (V3 §4.2: λ = 0.3 for the first 10T tokens): the GPU keeps all
// batch × seq_len rows with the targets shifted two places; core's model gathers the rows
// i < seq_len − 2 of each sequence and takes their cross-entropy with scale λ/D.
using Distillation = decltype(&distillation_v1);

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

class LossesGpuVersion : public ::testing::TestWithParam<LossVersion> {};

TEST_P(LossesGpuVersion, CrossEntropy) {
  FRUGAL_SKIP_UNLESS_RUNNABLE(GetParam(), (LossShape{37, 1000}));
  check_cross_entropy(GetParam().cross_entropy, 37, 1000, 2.0, 7);
  check_cross_entropy(GetParam().cross_entropy, 5, 36, 2.0, 0);  // v3: 9 float4s for 8 blocks, most slices hold one, the last none
}

TEST_P(LossesGpuVersion, CrossEntropyAtDeepSeekV3Vocabulary) {
  FRUGAL_SKIP_UNLESS_RUNNABLE(GetParam(), (LossShape{6, 129280}));
  check_cross_entropy(GetParam().cross_entropy, 6, 129280, 3.0, 0);
}

TEST_P(LossesGpuVersion, MtpDepthThroughShiftedTargets) {
  const int batch = 3, seq_len = 9, depth = 2, vocab = 1000;
  const float scale = 0.3f / 2;
  FRUGAL_SKIP_UNLESS_RUNNABLE(GetParam(), (LossShape{batch * seq_len, vocab}));
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
  const GpuLoss gpu = run_cross_entropy(GetParam().cross_entropy, z, shifted, vocab, scale);
  EXPECT_EQ(gpu.valid, batch * (seq_len - depth));
  EXPECT_NEAR(gpu.mean, loss, 1e-5 * loss);
  EXPECT_LT(relative_error(gpu.gradient, spread(grad, shifted, vocab)), 1e-5);
}

TEST_P(LossesGpuVersion, Distillation) {
  FRUGAL_SKIP_UNLESS_RUNNABLE(GetParam(), (LossShape{23, 1000}));
  check_distillation(GetParam().distillation, 23, 1000);
  check_distillation(GetParam().distillation, 4, 129280);
  check_distillation(GetParam().distillation, 6, 36);  // v3: slices of one float4, the last block's empty
}

// A vocabulary off the version's float4 rows is refused by both its losses, before anything
// touches the GPU: runs without one.
TEST_P(LossesGpuVersion, RefusesAVocabularyItCannotLoad) {
  const LossVersion& v = GetParam();
  if (v.vocab_multiple == 1) GTEST_SKIP() << v.name << " takes any vocabulary";
  const LossShape shape{2, 250 * v.vocab_multiple + 1};
  EXPECT_NE(shape_error(v, shape), "");
  EXPECT_THROW(v.cross_entropy(shape, nullptr, nullptr, 1.0f, {}, nullptr), std::invalid_argument);
  EXPECT_THROW(v.distillation(shape, nullptr, nullptr, nullptr, {}, {}, nullptr), std::invalid_argument);
}

// A version that needs a GPU feature this GPU lacks refuses with std::runtime_error.
TEST_P(LossesGpuVersion, RefusesWithoutTheFeatureItNeeds) {
  const LossVersion& v = GetParam();
  if (v.needs == GpuFeature::none) GTEST_SKIP() << v.name << " needs nothing beyond a CUDA GPU";
  FRUGAL_SKIP_WITHOUT_GPU();
  if (gpu_feature_available(v.needs)) GTEST_SKIP() << "this GPU has " << gpu_feature_name(v.needs);
  EXPECT_THROW(v.cross_entropy({2, 1000}, nullptr, nullptr, 1.0f, {}, nullptr), std::runtime_error);
}

INSTANTIATE_TEST_SUITE_P(, LossesGpuVersion, ::testing::ValuesIn(kLossVersions), testing::VersionTestName{});

}  // namespace
}  // namespace frugal::kernels
