// The DeepSeekMoE router and the classic auxiliary-loss router (router.hpp has the equations).
#include "frugal/core/router.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "frugal/core/layers.hpp"

namespace frugal::core {

const char* to_string(Balancing b) {
  switch (b) {
    case Balancing::aux_free: return "aux_free";
    case Balancing::aux_loss: return "aux_loss";
    case Balancing::none: return "none";
  }
  return "?";
}

double LoadStats::max_violation() const {
  if (tokens_per_expert.empty()) return 0.0;
  const double total = static_cast<double>(std::accumulate(tokens_per_expert.begin(), tokens_per_expert.end(), std::int64_t{0}));
  if (total == 0) return 0.0;
  const double mean = total / static_cast<double>(tokens_per_expert.size());
  const double max = static_cast<double>(*std::max_element(tokens_per_expert.begin(), tokens_per_expert.end()));
  return max / mean - 1.0;
}

// Orders (value, index) pairs by value, descending, then by index, ascending: deterministic ties.
template <class T>
static bool ranks_before(const std::pair<T, int>& a, const std::pair<T, int>& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

// Group score_g = the sum of the top-2 of (s + b) over the experts of group g (its one s + b
// when a group has a single expert).
template <class T>
void group_scores(const T* scores, const T* bias, const MoeConfig& moe, T* out) {
  const int groups = static_cast<int>(moe.groups), per_group = static_cast<int>(moe.routed_experts) / groups;
  for (int g = 0; g < groups; ++g) {
    T first = std::numeric_limits<T>::lowest(), second = std::numeric_limits<T>::lowest();
    for (int i = g * per_group; i < (g + 1) * per_group; ++i) {
      const T v = scores[i] + (bias ? bias[i] : T(0));
      if (v > first) {
        second = first;
        first = v;
      } else if (v > second) {
        second = v;
      }
    }
    out[g] = per_group >= 2 ? first + second : first;
  }
}

template <class T>
void kept_groups(const T* group_score, const MoeConfig& moe, int* kept) {
  thread_local std::vector<std::pair<T, int>> ranked;
  ranked.clear();
  for (int g = 0; g < static_cast<int>(moe.groups); ++g) ranked.push_back({group_score[g], g});
  std::partial_sort(ranked.begin(), ranked.begin() + moe.groups_per_token, ranked.end(), ranks_before<T>);
  for (std::int64_t m = 0; m < moe.groups_per_token; ++m) kept[m] = ranked[static_cast<std::size_t>(m)].second;
}

// Group-limited top-k (V3 §2.1.2; inference/model.py Gate.forward): keep the M best groups by
// group score; top-k of (s + b) among their experts.
template <class T>
void route_top_k(const T* scores, const T* bias, const MoeConfig& moe, int* chosen) {
  const int experts = static_cast<int>(moe.routed_experts);
  const int groups = static_cast<int>(moe.groups);
  const int per_group = experts / groups;
  // Scratch reused across calls: this runs once per token per MoE layer.
  thread_local std::vector<std::pair<T, int>> candidates;
  thread_local std::vector<T> group_score;
  thread_local std::vector<int> kept;
  thread_local std::vector<char> allowed;
  allowed.assign(static_cast<std::size_t>(experts), 1);
  if (groups > 1 && moe.groups_per_token < groups) {
    group_score.resize(static_cast<std::size_t>(groups));
    kept.resize(static_cast<std::size_t>(moe.groups_per_token));
    group_scores(scores, bias, moe, group_score.data());
    kept_groups(group_score.data(), moe, kept.data());
    std::fill(allowed.begin(), allowed.end(), 0);
    for (int g : kept) std::fill(allowed.begin() + g * per_group, allowed.begin() + (g + 1) * per_group, 1);
  }
  candidates.clear();
  for (int i = 0; i < experts; ++i)
    if (allowed[static_cast<std::size_t>(i)]) candidates.push_back({scores[i] + (bias ? bias[i] : T(0)), i});
  std::partial_sort(candidates.begin(), candidates.begin() + moe.top_k, candidates.end(), ranks_before<T>);
  for (std::int64_t j = 0; j < moe.top_k; ++j) chosen[j] = candidates[static_cast<std::size_t>(j)].second;
}

template <class T>
Router<T>::Router(const MoeConfig& moe, const RouterOptions& options, Index hidden, Parameters<T>& params,
                  const std::string& prefix)
    : moe_(moe), options_(options), bias_(static_cast<std::size_t>(moe.routed_experts), T(0)) {
  w_gate_ = params.add(prefix + ".w_gate", hidden, moe.routed_experts);
}

template <class T>
void Router<T>::init(Parameters<T>& params, Rng& rng, double std) const {
  fill_normal(params.mutable_value(w_gate_), rng, std);
}

// Rows per balance group and the loss weight: the sequence (V3 eq. 17–20) or the whole batch.
struct BalanceGroups {
  Index rows = 0;
  double alpha = 0;
};
static BalanceGroups balance_groups(const RouterOptions& o, Index batch, Index seq_len) {
  switch (o.balancing) {
    case Balancing::aux_free: return {seq_len, o.sequence_balance_alpha};
    case Balancing::aux_loss: return {batch * seq_len, o.aux_loss_alpha};
    case Balancing::none: return {seq_len, 0.0};
  }
  return {seq_len, 0.0};
}

template <class T>
double Router<T>::forward(const Matrix<T>& x, Index batch, Index seq_len, const Parameters<T>& params) {
  const Index N = x.rows(), E = moe_.routed_experts, k = moe_.top_k;
  x_ = x;
  batch_ = batch;
  seq_len_ = seq_len;

  // s = sigmoid(u·e) or softmax_i(u·e)
  Matrix<T> logits;
  linear_forward(logits, x, params.value(w_gate_));
  scores_.resize(N, E);
  if (moe_.score_func == ScoreFunc::sigmoid) {
    scores_ = (T(1) + (-logits.array()).exp()).inverse().matrix();
  } else {
    for (Index t = 0; t < N; ++t) {
      const auto shifted = (logits.row(t).array() - logits.row(t).maxCoeff()).exp();
      scores_.row(t) = shifted / shifted.sum();
    }
  }

  // Choose, then gate: g = route_scale · s / Σ_K s (or route_scale · s without normalisation).
  chosen_.assign(static_cast<std::size_t>(N * k), 0);
  weights_.resize(N, k);
  const T* bias = options_.balancing == Balancing::aux_free ? bias_.data() : nullptr;
  for (Index t = 0; t < N; ++t) {
    int* c = &chosen_[static_cast<std::size_t>(t * k)];
    route_top_k(scores_.row(t).data(), bias, moe_, c);
    T sum = 0;
    for (Index j = 0; j < k; ++j) sum += scores_(t, c[j]);
    const T denominator = moe_.normalize_top_k ? sum : T(1);
    for (Index j = 0; j < k; ++j) weights_(t, j) = static_cast<T>(moe_.route_scale) * scores_(t, c[j]) / denominator;
  }

  // Capacity (Switch §2.2): expert capacity = ceil(cf · N·k / E); first come, first served.
  kept_.assign(chosen_.size(), 1);
  load_.tokens_per_expert.assign(static_cast<std::size_t>(E), 0);
  load_.dropped = 0;
  const std::int64_t capacity = options_.capacity_factor > 0
                                    ? static_cast<std::int64_t>(std::ceil(options_.capacity_factor * static_cast<double>(N * k) / static_cast<double>(E)))
                                    : std::int64_t{-1};
  for (std::size_t a = 0; a < chosen_.size(); ++a) {
    std::int64_t& load = load_.tokens_per_expert[static_cast<std::size_t>(chosen_[a])];
    if (capacity >= 0 && load >= capacity) {
      kept_[a] = 0;
      ++load_.dropped;
    } else {
      ++load;
    }
  }

  // Balance loss, per group of rows (V3 eq. 17–20):
  //   f_i = E/(k·T) Σ_t 1(i ∈ K_t),  s'_{i,t} = s_{i,t} / Σ_j s_{j,t},  P_i = (1/T) Σ_t s'_{i,t}
  //   L = α Σ_i f_i P_i, averaged over the groups
  const BalanceGroups bg = balance_groups(options_, batch, seq_len);
  if (bg.alpha == 0) return 0.0;
  const Index groups = N / bg.rows;
  double loss = 0;
  for (Index g = 0; g < groups; ++g) {
    std::vector<double> f(static_cast<std::size_t>(E), 0.0), P(static_cast<std::size_t>(E), 0.0);
    for (Index t = g * bg.rows; t < (g + 1) * bg.rows; ++t) {
      for (Index j = 0; j < k; ++j) f[static_cast<std::size_t>(chosen_[static_cast<std::size_t>(t * k + j)])] += 1.0;
      const double row_sum = static_cast<double>(scores_.row(t).sum());
      for (Index i = 0; i < E; ++i) P[static_cast<std::size_t>(i)] += static_cast<double>(scores_(t, i)) / row_sum;
    }
    for (Index i = 0; i < E; ++i)
      loss += bg.alpha * (f[static_cast<std::size_t>(i)] * static_cast<double>(E) / static_cast<double>(k * bg.rows)) *
              (P[static_cast<std::size_t>(i)] / static_cast<double>(bg.rows));
  }
  return loss / static_cast<double>(groups);
}

// Through the normalised top-k weights, g_i = r·s_i/S with S = Σ_{j∈K} s_j:
//   ∂L/∂s_k = (r/S) · (∂L/∂g_k − Σ_{j∈K} ∂L/∂g_j · s_j/S)     for k ∈ K
// Through the balance loss (f held constant, as a count):
//   ∂L/∂s'_{i,t} = α f_i / (T · groups),  ∂L/∂s_{j,t} = (∂L/∂s'_{j,t} − Σ_i ∂L/∂s'_{i,t} s'_{i,t}) / Σ_i s_{i,t}
// Through the score function:
//   sigmoid: ∂L/∂u_i = ∂L/∂s_i · s_i (1 − s_i);  softmax: ∂L/∂u = s ⊙ (∂L/∂s − Σ_i ∂L/∂s_i s_i)
template <class T>
void Router<T>::backward(Matrix<T>& dx, const Matrix<T>& dweights, Parameters<T>& params) {
  const Index N = x_.rows(), E = moe_.routed_experts, k = moe_.top_k;
  const T r = static_cast<T>(moe_.route_scale);
  Matrix<T> dscores = Matrix<T>::Zero(N, E);
  for (Index t = 0; t < N; ++t) {
    const int* c = &chosen_[static_cast<std::size_t>(t * k)];
    if (moe_.normalize_top_k) {
      T S = 0, weighted = 0;
      for (Index j = 0; j < k; ++j) S += scores_(t, c[j]);
      for (Index j = 0; j < k; ++j) weighted += dweights(t, j) * scores_(t, c[j]) / S;
      for (Index j = 0; j < k; ++j) dscores(t, c[j]) += r / S * (dweights(t, j) - weighted);
    } else {
      for (Index j = 0; j < k; ++j) dscores(t, c[j]) += r * dweights(t, j);
    }
  }

  const BalanceGroups bg = balance_groups(options_, batch_, seq_len_);
  if (bg.alpha != 0) {
    const Index groups = N / bg.rows;
    for (Index g = 0; g < groups; ++g) {
      std::vector<double> f(static_cast<std::size_t>(E), 0.0);
      for (Index t = g * bg.rows; t < (g + 1) * bg.rows; ++t)
        for (Index j = 0; j < k; ++j) f[static_cast<std::size_t>(chosen_[static_cast<std::size_t>(t * k + j)])] += 1.0;
      for (Index t = g * bg.rows; t < (g + 1) * bg.rows; ++t) {
        const double row_sum = static_cast<double>(scores_.row(t).sum());
        std::vector<double> dnormalized(static_cast<std::size_t>(E));
        double dot = 0;
        for (Index i = 0; i < E; ++i) {
          const double fi = f[static_cast<std::size_t>(i)] * static_cast<double>(E) / static_cast<double>(k * bg.rows);
          dnormalized[static_cast<std::size_t>(i)] = bg.alpha * fi / static_cast<double>(bg.rows * groups);
          dot += dnormalized[static_cast<std::size_t>(i)] * static_cast<double>(scores_(t, i)) / row_sum;
        }
        for (Index i = 0; i < E; ++i)
          dscores(t, i) += static_cast<T>((dnormalized[static_cast<std::size_t>(i)] - dot) / row_sum);
      }
    }
  }

  Matrix<T> dlogits(N, E);
  if (moe_.score_func == ScoreFunc::sigmoid) {
    dlogits = (dscores.array() * scores_.array() * (T(1) - scores_.array())).matrix();
  } else {
    for (Index t = 0; t < N; ++t) {
      const T dot = dscores.row(t).dot(scores_.row(t));
      dlogits.row(t) = scores_.row(t).cwiseProduct((dscores.row(t).array() - dot).matrix());
    }
  }
  linear_backward(&dx, params.grad(w_gate_), dlogits, x_, params.value(w_gate_), /*accumulate_dx=*/true);
}

template <class T>
void Router<T>::update_bias() {
  if (options_.balancing != Balancing::aux_free) return;
  const auto& load = load_.tokens_per_expert;
  const double mean = static_cast<double>(std::accumulate(load.begin(), load.end(), std::int64_t{0})) /
                      static_cast<double>(load.size());
  const T gamma = static_cast<T>(options_.bias_update_speed);
  for (std::size_t i = 0; i < load.size(); ++i) {
    const double l = static_cast<double>(load[i]);
    if (l > mean) bias_[i] -= gamma;
    else if (l < mean) bias_[i] += gamma;
  }
}

template void route_top_k<float>(const float*, const float*, const MoeConfig&, int*);
template void route_top_k<double>(const double*, const double*, const MoeConfig&, int*);
template void group_scores<float>(const float*, const float*, const MoeConfig&, float*);
template void group_scores<double>(const double*, const double*, const MoeConfig&, double*);
template void kept_groups<float>(const float*, const MoeConfig&, int*);
template void kept_groups<double>(const double*, const MoeConfig&, int*);
template class Router<float>;
template class Router<double>;

}  // namespace frugal::core
