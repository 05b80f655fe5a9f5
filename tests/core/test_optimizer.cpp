// AdamW and clipping against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "frugal/core/optimizer.hpp"

namespace frugal::core {
namespace {

TEST(AdamW, FirstStepMovesEachWeightByTheLearningRateAgainstItsGradientSign) {
  // After one step m̂ = g and v̂ = g², so the update is lr · g/(|g| + ε) ≈ lr · sign(g), plus the
  // decoupled decay lr · λ · θ on decayed tensors only.
  Parameters<float> p;
  const int w = p.add("w", 1, 3, true), gain = p.add("gain", 1, 1, false);
  p.allocate();
  p.mutable_value(w) << 1.0f, -2.0f, 0.5f;
  p.mutable_value(gain) << 1.0f;
  p.grad(w) << 0.3f, -4.0f, 0.0f;
  p.grad(gain) << 2.0f;
  AdamW adam({0.9, 0.95, 1e-8, 0.1});
  adam.step(p, 0.01);
  EXPECT_NEAR(p.value(w)(0, 0), 1.0 - 0.01 * (1 + 0.1 * 1.0), 1e-6);
  EXPECT_NEAR(p.value(w)(0, 1), -2.0 - 0.01 * (-1 + 0.1 * -2.0), 1e-6);
  EXPECT_NEAR(p.value(w)(0, 2), 0.5 - 0.01 * 0.1 * 0.5, 1e-6);  // zero gradient: decay only
  EXPECT_NEAR(p.value(gain)(0, 0), 1.0 - 0.01, 1e-6);           // no decay on gains
  EXPECT_EQ(adam.steps_taken(), 1);
}

TEST(AdamW, GradientScaleIsTheClippedGradient) {
  Parameters<float> a, b;
  for (auto* p : {&a, &b}) {
    p->add("w", 1, 2, false);
    p->allocate();
    p->mutable_value(0) << 1.0f, 1.0f;
  }
  a.grad(0) << 3.0f, 4.0f;  // norm 5, clipped to 1 → (0.6, 0.8)
  b.grad(0) << 0.6f, 0.8f;
  AdamW adam_a, adam_b;
  adam_a.step(a, 0.1, clip_scale(gradient_norm(a.grads()), 1.0));
  adam_b.step(b, 0.1);
  EXPECT_FLOAT_EQ(a.value(0)(0, 0), b.value(0)(0, 0));
  EXPECT_FLOAT_EQ(a.value(0)(0, 1), b.value(0)(0, 1));
}

TEST(Clipping, ScaleIsMaxNormOverNormOnlyAboveIt) {
  AlignedVector<float> g{3.0f, 4.0f};
  EXPECT_DOUBLE_EQ(gradient_norm(g), 5.0);
  EXPECT_DOUBLE_EQ(clip_scale(5.0, 1.0), 0.2);
  EXPECT_DOUBLE_EQ(clip_scale(0.5, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(clip_scale(5.0, 0.0), 1.0);  // 0 disables clipping
}

}  // namespace
}  // namespace frugal::core
