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

// Group score_g over the experts i of group g (inference/model.py Gate.forward):
//   if self.bias is None: group_scores = scores.amax(dim=-1)                     max_i s_i
//   else:                 group_scores = scores.topk(2, dim=-1)[0].sum(dim=-1)   top-2 sum of s_i + b_i
// (its one s + b when a group has a single expert).
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
    out[g] = bias && per_group >= 2 ? first + second : first;
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
// group score; top-k of (s + b) among their experts. model.py masks the other groups with −inf
// ("scores.masked_fill_(mask.unsqueeze(-1), float("-inf"))"), so an expert outside them is never
// chosen, even when the kept ones have negative s + b; here they are left out of the candidates.
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

// Balance loss, forward: f_i counted once per group and kept for the backward pass.
template <class T>
double balance_loss_forward(BalanceLossCache& cache, const Matrix<T>& scores, ConstExpertIdsMap chosen,
                            Index rows_per_group, double alpha) {
  const Index E = scores.cols(), k = chosen.cols(), rows = rows_per_group, groups = scores.rows() / rows;
  cache.rows_per_group = rows;
  cache.alpha = alpha;
  cache.f = Eigen::ArrayXXd::Zero(groups, E);
  double loss = 0;
  for (Index g = 0; g < groups; ++g) {
    // P_i = (1/T) Σ_t s'_{i,t}, s'_{i,t} = s_{i,t} / Σ_j s_{j,t}  (here still Σ_t, divided below)
    BalanceRow P = BalanceRow::Zero(E);
    for (Index t = g * rows; t < (g + 1) * rows; ++t) {
      for (Index j = 0; j < k; ++j) cache.f(g, chosen(t, j)) += 1.0;
      const double row_sum = static_cast<double>(scores.row(t).sum());
      P += scores.row(t).template cast<double>().array() / row_sum;
    }
    // f_i = E/(k·T) · Σ_t 1(i ∈ K_t);  L_g = α Σ_i f_i P_i
    cache.f.row(g) = cache.f.row(g) * static_cast<double>(E) / static_cast<double>(k * rows);
    for (Index i = 0; i < E; ++i) loss += alpha * cache.f(g, i) * (P(i) / static_cast<double>(rows));
  }
  return loss / static_cast<double>(groups);
}

// Balance loss, backward (router.hpp has the derivative).
template <class T>
void balance_loss_backward(Matrix<T>& dscores, const BalanceLossCache& cache, const Matrix<T>& scores) {
  const Index E = scores.cols(), rows = cache.rows_per_group, groups = cache.f.rows();
  for (Index g = 0; g < groups; ++g) {
    const BalanceRow dnormalized = cache.alpha * cache.f.row(g) / static_cast<double>(rows * groups);  // ∂L/∂s'_{i,t}
    for (Index t = g * rows; t < (g + 1) * rows; ++t) {
      const double row_sum = static_cast<double>(scores.row(t).sum());
      double dot = 0;  // Σ_i ∂L/∂s'_{i,t} · s'_{i,t}
      for (Index i = 0; i < E; ++i) dot += dnormalized(i) * static_cast<double>(scores(t, i)) / row_sum;
      dscores.row(t) += ((dnormalized - dot) / row_sum).template cast<T>().matrix();
    }
  }
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

// In the order of inference/model.py Gate.forward:
//   scores = linear(x, self.weight); scores = scores.softmax(...) or scores.sigmoid()
//   original_scores = scores; scores = scores + self.bias           (selection only)
//   group_scores → topk_groups kept; indices = torch.topk(scores, self.topk, dim=-1)[1]
//   weights = original_scores.gather(1, indices); weights /= weights.sum() (sigmoid); weights *= route_scale
// then what training adds: the capacity limit, the load, and the balance loss.
template <class T>
double Router<T>::forward(const Matrix<T>& x, Index batch, Index seq_len, const Parameters<T>& params) {
  const Index N = x.rows(), E = moe_.routed_experts, k = moe_.top_k;
  x_ = x;

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

  // K_t: group-limited top-k of s + b (the bias only with aux-loss-free balancing).
  const T* bias = options_.balancing == Balancing::aux_free ? bias_.data() : nullptr;
  chosen_.assign(static_cast<std::size_t>(N * k), 0);
  Eigen::Map<ExpertIds> chosen(chosen_.data(), N, k);
  for (Index t = 0; t < N; ++t) route_top_k(scores_.row(t).data(), bias, moe_, &chosen(t, 0));

  // g = route_scale · s / Σ_K s (or route_scale · s without normalisation), from s, not s + b.
  weights_.resize(N, k);
  for (Index t = 0; t < N; ++t) {
    T sum = 0;
    for (Index j = 0; j < k; ++j) sum += scores_(t, chosen(t, j));
    const T denominator = moe_.normalize_top_k ? sum : T(1);
    for (Index j = 0; j < k; ++j) weights_(t, j) = static_cast<T>(moe_.route_scale) * scores_(t, chosen(t, j)) / denominator;
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

  const BalanceGroups bg = balance_groups(options_, batch, seq_len);
  if (bg.alpha == 0) {
    balance_ = BalanceLossCache{};
    return 0.0;
  }
  return balance_loss_forward(balance_, scores_, chosen_ids(), bg.rows, bg.alpha);
}

// Through the normalised top-k weights, g_i = r·s_i/S with S = Σ_{j∈K} s_j:
//   ∂L/∂s_k = (r/S) · (∂L/∂g_k − Σ_{j∈K} ∂L/∂g_j · s_j/S)     for k ∈ K
// Through the balance loss: balance_loss_backward.
// Through the score function:
//   sigmoid: ∂L/∂u_i = ∂L/∂s_i · s_i (1 − s_i);  softmax: ∂L/∂u = s ⊙ (∂L/∂s − Σ_i ∂L/∂s_i s_i)
template <class T>
void Router<T>::backward(Matrix<T>& dx, const Matrix<T>& dweights, Parameters<T>& params) {
  const Index N = x_.rows(), E = moe_.routed_experts, k = moe_.top_k;
  const T r = static_cast<T>(moe_.route_scale);
  const ConstExpertIdsMap chosen = chosen_ids();
  Matrix<T> dscores = Matrix<T>::Zero(N, E);
  for (Index t = 0; t < N; ++t) {
    if (moe_.normalize_top_k) {
      T S = 0, weighted = 0;
      for (Index j = 0; j < k; ++j) S += scores_(t, chosen(t, j));
      for (Index j = 0; j < k; ++j) weighted += dweights(t, j) * scores_(t, chosen(t, j)) / S;
      for (Index j = 0; j < k; ++j) dscores(t, chosen(t, j)) += r / S * (dweights(t, j) - weighted);
    } else {
      for (Index j = 0; j < k; ++j) dscores(t, chosen(t, j)) += r * dweights(t, j);
    }
  }

  if (balance_.alpha != 0) balance_loss_backward(dscores, balance_, scores_);  // V3 eq. 17–20

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
template double balance_loss_forward<float>(BalanceLossCache&, const Matrix<float>&, ConstExpertIdsMap, Index, double);
template double balance_loss_forward<double>(BalanceLossCache&, const Matrix<double>&, ConstExpertIdsMap, Index, double);
template void balance_loss_backward<float>(Matrix<float>&, const BalanceLossCache&, const Matrix<float>&);
template void balance_loss_backward<double>(Matrix<double>&, const BalanceLossCache&, const Matrix<double>&);
template class Router<float>;
template class Router<double>;

}  // namespace frugal::core
