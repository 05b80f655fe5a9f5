// Every layer's hand-written backward pass against central finite differences, in double
// precision (relative error < 1e-4).
#include <gtest/gtest.h>

#include "frugal/core/layers.hpp"
#include "gradient_check.hpp"

namespace frugal::core {
namespace {
using testing::expect_gradient;
using testing::project;
using testing::random_matrix;

TEST(LayerGradients, RmsNorm) {
  Rng rng(1);
  Matrix<double> x = random_matrix(5, 8, rng), gain = random_matrix(1, 8, rng), r = random_matrix(5, 8, rng);
  Matrix<double> y, dx, dgain = Matrix<double>::Zero(1, 8);
  RmsNormCache<double> cache;
  auto loss = [&] {
    rmsnorm_forward(y, cache, x, ConstMatrixMap<double>(gain.data(), 1, 8));
    return project(y, r);
  };
  loss();
  rmsnorm_backward(dx, MatrixMap<double>(dgain.data(), 1, 8), r, cache, ConstMatrixMap<double>(gain.data(), 1, 8));
  expect_gradient("x", loss, x.data(), dx.data(), x.size());
  expect_gradient("gain", loss, gain.data(), dgain.data(), gain.size());
}

TEST(LayerGradients, RopeIsARotationAndItsBackwardTheInverse) {
  Rng rng(2);
  const RopeSlices s{4, 2, 6, 2, 4};
  Matrix<double> x = random_matrix(8, 12, rng), r = random_matrix(8, 12, rng);
  Matrix<double> y = x;
  rope_forward(y, s);
  EXPECT_NEAR(y.norm(), x.norm(), 1e-12);  // rotations keep lengths
  EXPECT_TRUE(y.col(0).isApprox(x.col(0)));  // columns outside the slices are untouched
  EXPECT_TRUE(y.row(0).isApprox(x.row(0)));  // position 0 is not rotated
  Matrix<double> dx = r;
  rope_backward(dx, s);
  auto loss = [&] {
    Matrix<double> z = x;
    rope_forward(z, s);
    return project(z, r);
  };
  expect_gradient("x", loss, x.data(), dx.data(), x.size());
}

void check_attention(const AttentionShape& s) {
  Rng rng(3);
  const Index rows = s.batch * s.seq_len;
  Matrix<double> q = random_matrix(rows, s.heads * s.qk_dim, rng), k = random_matrix(rows, s.kv_heads * s.qk_dim, rng),
                 v = random_matrix(rows, s.kv_heads * s.v_dim, rng), r = random_matrix(rows, s.heads * s.v_dim, rng);
  Matrix<double> out, dq, dk, dv;
  AttentionCache<double> cache;
  auto loss = [&] {
    attention_forward(out, cache, q, k, v, s);
    return project(out, r);
  };
  loss();
  attention_backward(dq, dk, dv, r, cache, q, k, v, s);
  expect_gradient("q", loss, q.data(), dq.data(), q.size());
  expect_gradient("k", loss, k.data(), dk.data(), k.size());
  expect_gradient("v", loss, v.data(), dv.data(), v.size());
}

TEST(LayerGradients, CausalAttention) { check_attention({2, 5, 2, 2, 4, 3}); }
TEST(LayerGradients, GroupedQueryAttention) { check_attention({2, 5, 4, 2, 4, 3}); }

TEST(LayerGradients, CausalAttentionIgnoresTheFuture) {
  Rng rng(4);
  const AttentionShape s{1, 6, 1, 1, 4, 4};
  Matrix<double> q = random_matrix(6, 4, rng), k = random_matrix(6, 4, rng), v = random_matrix(6, 4, rng);
  Matrix<double> before, after;
  AttentionCache<double> cache;
  attention_forward(before, cache, q, k, v, s);
  k.row(5).setConstant(9.0);
  v.row(5).setConstant(-9.0);
  attention_forward(after, cache, q, k, v, s);
  EXPECT_TRUE(before.topRows(5).isApprox(after.topRows(5)));
  EXPECT_FALSE(before.row(5).isApprox(after.row(5)));
}

TEST(LayerGradients, SwiGlu) {
  Rng rng(5);
  Matrix<double> x = random_matrix(6, 4, rng), wg = random_matrix(4, 7, rng), wu = random_matrix(4, 7, rng),
                 wd = random_matrix(7, 4, rng), r = random_matrix(6, 4, rng);
  Matrix<double> dwg = Matrix<double>::Zero(4, 7), dwu = Matrix<double>::Zero(4, 7), dwd = Matrix<double>::Zero(7, 4);
  auto weights = [&] {
    return SwigluWeights<double>{ConstMatrixMap<double>(wg.data(), 4, 7), ConstMatrixMap<double>(wu.data(), 4, 7),
                                 ConstMatrixMap<double>(wd.data(), 7, 4)};
  };
  Matrix<double> y, dx;
  SwigluCache<double> cache;
  auto loss = [&] {
    swiglu_forward(y, cache, x, weights());
    return project(y, r);
  };
  loss();
  swiglu_backward(dx, SwigluGrads<double>{MatrixMap<double>(dwg.data(), 4, 7), MatrixMap<double>(dwu.data(), 4, 7),
                                          MatrixMap<double>(dwd.data(), 7, 4)},
                  r, cache, x, weights());
  expect_gradient("x", loss, x.data(), dx.data(), x.size());
  expect_gradient("w_gate", loss, wg.data(), dwg.data(), wg.size());
  expect_gradient("w_up", loss, wu.data(), dwu.data(), wu.size());
  expect_gradient("w_down", loss, wd.data(), dwd.data(), wd.size());
}

TEST(LayerGradients, CrossEntropy) {
  Rng rng(6);
  Matrix<double> logits = random_matrix(5, 11, rng, 3.0), dlogits;
  const std::vector<int> targets{0, 3, 10, 3, 7};
  cross_entropy(logits, targets, &dlogits);
  expect_gradient("logits", [&] { return cross_entropy(logits, targets); }, logits.data(), dlogits.data(), logits.size());
}

TEST(LayerGradients, LogitDistillation) {
  Rng rng(7);
  Matrix<double> student = random_matrix(5, 9, rng, 2.0);
  const Matrix<double> teacher = random_matrix(5, 9, rng, 2.0);
  const std::vector<int> targets{1, 8, 0, 4, 4};
  for (double temperature : {1.0, 2.0, 4.0}) {
    Matrix<double> dstudent;
    distillation_loss(student, teacher, targets, temperature, 0.7, &dstudent);
    expect_gradient("student logits, T = " + std::to_string(temperature),
                    [&] { return distillation_loss(student, teacher, targets, temperature, 0.7).total; }, student.data(),
                    dstudent.data(), student.size());
  }
}

TEST(LayerGradients, DistillationLimits) {
  Rng rng(8);
  const Matrix<double> student = random_matrix(4, 6, rng), teacher = random_matrix(4, 6, rng);
  const std::vector<int> targets{0, 1, 2, 3};
  // α = 0 is the hard-label loss; a student equal to its teacher has zero soft loss.
  EXPECT_NEAR(distillation_loss(student, teacher, targets, 3.0, 0.0).total, cross_entropy(student, targets), 1e-12);
  EXPECT_NEAR(distillation_loss(teacher, teacher, targets, 3.0, 1.0).total, 0.0, 1e-12);
  // High temperature: T² · KL → ½ · mean over classes of the centred logit differences squared
  // (Hinton et al. §2.1: "logit matching"), here for zero-mean logits per row.
  Matrix<double> zs = student, zt = teacher;
  for (Index r = 0; r < 4; ++r) {
    zs.row(r).array() -= zs.row(r).mean();
    zt.row(r).array() -= zt.row(r).mean();
  }
  const double matching = 0.5 * (zs - zt).rowwise().squaredNorm().mean() / 6.0;
  EXPECT_NEAR(distillation_loss(zs, zt, targets, 1000.0, 1.0).total, matching, 1e-3 * matching);
}

TEST(LayerGradients, CrossEntropyOfUniformLogitsIsLogVocabulary) {
  const Matrix<double> logits = Matrix<double>::Zero(3, 256);
  EXPECT_NEAR(cross_entropy(logits, std::vector<int>{1, 2, 3}), std::log(256.0), 1e-12);
}

}  // namespace
}  // namespace frugal::core
