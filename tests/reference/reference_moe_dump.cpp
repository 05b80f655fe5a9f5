// Core's Router and MoeLayer in double on seeded random weights, written out as JSON for
// tests/python/reference_equivalence_moe.py, which runs a numpy port of DeepSeek-V3's
// inference/model.py Gate and MoE on the same weights and inputs and compares.
//
// Three cases: V3 (sigmoid, a selection bias with many negative s + b, group score = top-2 sum),
// V2-style (softmax, no bias, group score = max), and V3 without groups. In every case some gate
// columns (and their biases) are copies of others — one whole group a copy of another — so that
// scores tie exactly and the tie order is tested: core gives a tie to the lower expert / group
// index. The gate weights and inputs are multiples of 1/16, so x·W is exact in any summation
// order and both sides start from bit-identical logits.
//
// Weights are written in model.py's layout (nn.Linear: out_features × in_features): Gate.weight
// is E × dim, Expert.w1/w3 are inter × dim, w2 is dim × inter. Usage: reference_moe_dump > out.json
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/core/moe.hpp"

namespace {

using frugal::core::Index;
using frugal::core::Matrix;
using Json = nlohmann::json;

Json rows_of(const Eigen::Ref<const Matrix<double>>& m) {
  Json out = Json::array();
  for (Index r = 0; r < m.rows(); ++r) {
    Json row = Json::array();
    for (Index c = 0; c < m.cols(); ++c) row.push_back(m(r, c));
    out.push_back(row);
  }
  return out;
}

int find_tensor(const frugal::core::Parameters<double>& params, const std::string& name) {
  const auto& tensors = params.tensors();
  for (std::size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].name == name) return static_cast<int>(i);
  throw std::runtime_error("no parameter " + name);
}

// Rounds to a multiple of 1/16 (exact products and sums in double for these magnitudes).
double sixteenths(double v) { return std::round(v * 16.0) / 16.0; }

struct Case {
  std::string name;
  frugal::MoeConfig moe;
  frugal::core::Balancing balancing;
  std::uint64_t seed;
};

// Core's FeedForward computes (silu(x·W_gate) ⊙ x·W_up)·W_down; model.py's Expert
// w2(silu(w1(x)) * w3(x)) with nn.Linear weights: w1 = W_gateᵀ, w3 = W_upᵀ, w2 = W_downᵀ.
Json expert_json(const frugal::core::Parameters<double>& params, const std::string& prefix) {
  return {{"w1", rows_of(params.value(find_tensor(params, prefix + ".w_gate")).transpose())},
          {"w3", rows_of(params.value(find_tensor(params, prefix + ".w_up")).transpose())},
          {"w2", rows_of(params.value(find_tensor(params, prefix + ".w_down")).transpose())}};
}

Json run_case(const Case& c) {
  using namespace frugal;
  using namespace frugal::core;
  constexpr Index hidden = 16, tokens = 64;
  const MoeConfig& moe = c.moe;
  const Index E = moe.routed_experts, per_group = E / moe.groups;
  RouterOptions options;
  options.balancing = c.balancing;
  Parameters<double> params;
  MoeLayer<double> layer(moe, options, hidden, params, "moe");
  params.allocate();
  Rng rng(c.seed);
  layer.init(params, rng, 0.5, 1);

  // Gate: multiples of 1/16; expert 1's column copied to expert 5 (another group) and expert 2's
  // to expert 3 (the same group); the last group a copy of the one before it.
  MatrixMap<double> gate = params.mutable_value(find_tensor(params, "moe.router.w_gate"));
  gate = gate.unaryExpr([](double v) { return sixteenths(v); });
  gate.col(5) = gate.col(1);
  gate.col(3) = gate.col(2);
  if (moe.groups > 1)
    for (Index i = E - per_group; i < E; ++i) gate.col(i) = gate.col(i - per_group);

  // Selection bias b ∈ [−1.2, 0.2) with the same copies: most s + b are negative (s ∈ (0, 1)).
  const bool has_bias = c.balancing == Balancing::aux_free;
  std::vector<double>& bias = layer.router().bias();
  if (has_bias) {
    for (double& b : bias) b = -1.2 + 1.4 * rng.uniform();
    bias[5] = bias[1];
    bias[3] = bias[2];
    if (moe.groups > 1)
      for (Index i = E - per_group; i < E; ++i) bias[static_cast<std::size_t>(i)] = bias[static_cast<std::size_t>(i - per_group)];
  }

  Matrix<double> x(tokens, hidden);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = sixteenths(rng.normal());

  Matrix<double> y;
  layer.forward(y, x, 1, tokens, params);
  const Router<double>& router = layer.router();

  Json experts = Json::array(), shared = Json::array();
  for (Index e = 0; e < E; ++e) experts.push_back(expert_json(params, "moe.expert." + std::to_string(e)));
  for (Index s = 0; s < moe.shared_experts; ++s) shared.push_back(expert_json(params, "moe.shared." + std::to_string(s)));
  Json indices = Json::array();
  for (Index t = 0; t < tokens; ++t) {
    Json row = Json::array();
    for (Index j = 0; j < moe.top_k; ++j) row.push_back(router.chosen_ids()(t, j));
    indices.push_back(row);
  }
  return {{"name", c.name},
          {"score_func", moe.score_func == ScoreFunc::sigmoid ? "sigmoid" : "softmax"},
          {"n_groups", moe.groups},
          {"topk_groups", moe.groups_per_token},
          {"topk", moe.top_k},
          {"route_scale", moe.route_scale},
          {"gate_weight", rows_of(Matrix<double>(gate.transpose()))},
          {"bias", has_bias ? Json(bias) : Json(nullptr)},
          {"experts", experts},
          {"shared_experts", shared},
          {"x", rows_of(x)},
          {"core", {{"scores", rows_of(router.scores())}, {"indices", indices}, {"weights", rows_of(router.weights())}, {"y", rows_of(y)}}}};
}

frugal::MoeConfig sixteen_experts(frugal::ScoreFunc score_func, std::int64_t groups, std::int64_t kept,
                                        std::int64_t top_k, double route_scale) {
  frugal::MoeConfig m;
  m.routed_experts = 16;
  m.shared_experts = 2;
  m.expert_intermediate_size = 6;
  m.top_k = top_k;
  m.groups = groups;
  m.groups_per_token = kept;
  m.score_func = score_func;
  // model.py normalises the chosen weights for sigmoid only ("if self.score_func == "sigmoid":
  // weights /= weights.sum(dim=-1, keepdim=True)").
  m.normalize_top_k = score_func == frugal::ScoreFunc::sigmoid;
  m.route_scale = route_scale;
  return m;
}

}  // namespace

int main() {
  using frugal::core::Balancing;
  using frugal::ScoreFunc;
  // route_scale 2.5: V3's inference/configs/config_671B.json; 16.0 for the softmax case, any scale
  // other than 1 shows where it is applied.
  const std::vector<Case> cases{
      {"v3_sigmoid_bias_groups", sixteen_experts(ScoreFunc::sigmoid, 4, 2, 4, 2.5), Balancing::aux_free, 11},
      {"v2_softmax_no_bias_groups", sixteen_experts(ScoreFunc::softmax, 4, 2, 3, 16.0), Balancing::aux_loss, 12},
      {"v3_sigmoid_bias_no_groups", sixteen_experts(ScoreFunc::sigmoid, 1, 1, 4, 2.5), Balancing::aux_free, 13},
  };
  Json out = {{"cases", Json::array()}};
  for (const Case& c : cases) out["cases"].push_back(run_case(c));
  std::cout << out.dump() << '\n';
  return 0;
}
