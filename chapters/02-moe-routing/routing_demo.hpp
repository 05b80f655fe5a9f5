// Chapter 2's tiny batch, shared by the chapter and its test: one DeepSeekMoE layer (1 shared +
// 8 routed experts of width 4, hidden 8, top-2 inside 2 of 4 groups, sigmoid gate, normalised
// weights) and 6 tokens, all seeded.
#pragma once

#include <memory>

#include "frugal/core/moe.hpp"

namespace frugal::chapters {

struct RoutingDemo {
  MoeConfig moe;
  core::Parameters<float> params;
  std::unique_ptr<core::MoeLayer<float>> layer;
  core::Matrix<float> x;  // 6 tokens × 8
  static constexpr core::Index tokens = 6, hidden = 8;
};

inline std::unique_ptr<RoutingDemo> make_routing_demo() {
  auto d = std::make_unique<RoutingDemo>();
  d->moe.routed_experts = 8;
  d->moe.shared_experts = 1;
  d->moe.top_k = 2;
  d->moe.expert_intermediate_size = 4;
  d->moe.groups = 4;
  d->moe.groups_per_token = 2;
  d->moe.score_func = ScoreFunc::sigmoid;
  d->moe.normalize_top_k = true;
  core::RouterOptions options;
  options.bias_update_speed = 0.05;  // large, so one update is visible
  d->layer = std::make_unique<core::MoeLayer<float>>(d->moe, options, RoutingDemo::hidden, d->params, "moe");
  d->params.allocate();
  core::Rng rng(2024);
  d->layer->init(d->params, rng, 0.5, 1);
  d->x.resize(RoutingDemo::tokens, RoutingDemo::hidden);
  core::fill_normal(d->x, rng, 1.0);
  return d;
}

}  // namespace frugal::chapters
