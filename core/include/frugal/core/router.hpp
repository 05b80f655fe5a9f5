// The DeepSeekMoE router (V3 report §2.1.2) and, for comparison, the classic softmax top-k router
// with an auxiliary loss and a capacity factor (Switch Transformer, Fedus et al. 2021 §2.1–2.2;
// GShard, Lepikhin et al. 2020).
//
// Per token t with input u_t and expert centroids e_i (the columns of W_gate):
//   s_{i,t} = sigmoid(u_tᵀ e_i)            (V3 eq. 15)  — or softmax over i (V2, Switch)
//   choose K_t = TopK(s_{i,t} + b_i, k)    (V3 eq. 16)  — b_i only *selects*, never weights
//          restricted to the M groups with the largest sum of their top-2 (s + b) (§2.1.2,
//          "node-limited routing"; inference/model.py Gate)
//   g_{i,t} = route_scale · s_{i,t} / Σ_{j∈K_t} s_{j,t}  for i ∈ K_t   (V3 eq. 13, normalize_top_k)
// Balancing:
//   aux_free: after each step b_i −= γ if expert i got more than the mean load, += γ if less
//             (§2.1.2), plus the complementary sequence-wise loss α Σ_i f_i P_i (eq. 17–20);
//   aux_loss: the same f·P loss over the whole batch with a larger α (V2 §2.2.1 eq. 23–25,
//             Switch eq. 4–6), and no bias;
//   capacity_factor > 0: each expert takes at most ceil(cf · N·k / E) tokens, in token order;
//             the rest are dropped (they pass through the residual only). V3 drops none.
#pragma once

#include <cstdint>
#include <vector>

#include "frugal/config/model_config.hpp"
#include "frugal/core/parameters.hpp"
#include "frugal/core/random.hpp"

namespace frugal::core {

enum class Balancing { aux_free, aux_loss, none };
const char* to_string(Balancing b);

struct RouterOptions {
  Balancing balancing = Balancing::aux_free;
  double bias_update_speed = 0.001;      // γ (V3 §4.2: 0.001 for the first 14.3T tokens)
  double sequence_balance_alpha = 1e-4;  // α of the complementary sequence-wise loss (V3 §4.2)
  double aux_loss_alpha = 0.01;          // α of the classic batch-wise auxiliary loss (Switch §2.2: 0.01)
  double capacity_factor = 0.0;          // 0: no token dropping (V3 §2.1.2)
};

// Expert load over one forward pass (one MoE layer).
struct LoadStats {
  std::vector<std::int64_t> tokens_per_expert;  // assignments each expert processed
  std::int64_t dropped = 0;                     // assignments refused by the capacity limit
  // MaxVio = max_i load_i / mean_i load_i − 1 (Wang et al. 2024, arXiv 2408.15664 §4.1)
  double max_violation() const;
};

// The top-k experts of one token, by score + bias, inside the best `groups_per_token` groups.
// Ties go to the lower index. Writes k expert ids in descending order of score + bias.
template <class T>
void route_top_k(const T* scores, const T* bias, const MoeConfig& moe, int* chosen);
// Its first stage, for one token: each group's score (the sum of its top-2 s + b), and the
// groups_per_token groups kept, best first.
template <class T>
void group_scores(const T* scores, const T* bias, const MoeConfig& moe, T* out);
template <class T>
void kept_groups(const T* group_score, const MoeConfig& moe, int* kept);

template <class T>
class Router {
 public:
  Router(const MoeConfig& moe, const RouterOptions& options, Index hidden, Parameters<T>& params,
         const std::string& prefix);
  void init(Parameters<T>& params, Rng& rng, double std) const;

  // Routes every row of x (batch sequences of seq_len tokens). Returns the balance loss (already
  // multiplied by its α; 0 when balancing adds none).
  double forward(const Matrix<T>& x, Index batch, Index seq_len, const Parameters<T>& params);
  // dweights: ∂L/∂g for each (token, slot) (N × k). Adds dW_gate, and dx += ∂(L + balance)/∂x.
  void backward(Matrix<T>& dx, const Matrix<T>& dweights, Parameters<T>& params);

  // V3 §2.1.2: b_i −= γ if load_i > mean, += γ if load_i < mean. Only with aux_free balancing.
  void update_bias();

  Index top_k() const { return moe_.top_k; }
  const std::vector<int>& chosen() const { return chosen_; }  // N × k expert ids
  const Matrix<T>& weights() const { return weights_; }       // N × k gate values g
  const std::vector<char>& kept() const { return kept_; }     // N × k: 0 where dropped
  const Matrix<T>& scores() const { return scores_; }         // N × E affinities s
  const LoadStats& load() const { return load_; }
  // Data parallelism replaces this rank's load by the whole batch's before the bias update.
  LoadStats& mutable_load() { return load_; }
  std::vector<T>& bias() { return bias_; }
  const std::vector<T>& bias() const { return bias_; }
  const RouterOptions& options() const { return options_; }

 private:
  MoeConfig moe_;
  RouterOptions options_;
  int w_gate_ = -1;
  std::vector<T> bias_;

  Matrix<T> x_, scores_, weights_;
  std::vector<int> chosen_;
  std::vector<char> kept_;
  LoadStats load_;
  Index batch_ = 0, seq_len_ = 0;
};

}  // namespace frugal::core
