// The DeepSeekMoE router (V3 report §2.1.2) and, for comparison, the classic softmax top-k router
// with an auxiliary loss and a capacity factor (Switch Transformer, Fedus et al. 2021 §2.1–2.2;
// GShard, Lepikhin et al. 2020).
//
// Per token t with input u_t and expert centroids e_i (the columns of W_gate), in the order of
// DeepSeek-V3's inference/model.py Gate.forward:
//   s_{i,t} = sigmoid(u_tᵀ e_i)            (V3 eq. 15)  — or softmax over i (V2, Switch)
//   choose K_t = TopK(s_{i,t} + b_i, k)    (V3 eq. 16)  — b_i only *selects*, never weights
//          restricted to the M best groups (§2.1.2, "node-limited routing"), a group scored by
//            the max of its s when there is no bias (V2's device-limited routing),
//            the sum of its top-2 (s + b) when there is one (V3),
//          as model.py: "group_scores = scores.amax(dim=-1)" if self.bias is None, else
//          "scores.topk(2, dim=-1)[0].sum(dim=-1)"
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
#include <string>
#include <vector>

#include "frugal/config/model_config.hpp"
#include "frugal/core/parameters.hpp"
#include "frugal/core/random.hpp"
#include "frugal/core/tensor.hpp"

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
// `bias` may be null: no selection bias (aux-loss or no balancing), and groups are scored by max.
template <class T>
void route_top_k(const T* scores, const T* bias, const MoeConfig& moe, int* chosen);
// Its first stage, for one token: each group's score (max of s without a bias, sum of the top-2
// s + b with one), and the groups_per_token groups kept, best first (ties to the lower index).
template <class T>
void group_scores(const T* scores, const T* bias, const MoeConfig& moe, T* out);
template <class T>
void kept_groups(const T* group_score, const MoeConfig& moe, int* kept);

// N × k expert ids, one row per token, a column per slot (row-major, as Router::chosen() stores them).
using ExpertIds = Eigen::Matrix<int, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstExpertIdsMap = Eigen::Map<const ExpertIds>;
// N × k flags, 1 where the (token, slot) assignment was kept, 0 where the capacity limit dropped it.
using ConstSlotFlagsMap = Eigen::Map<const Eigen::Matrix<char, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

// ---- balance loss: per sequence (V3 eq. 17–20) or per batch (V2 eq. 23–25, Switch eq. 4–6) -------
// For each group of T rows (a sequence, or the whole batch):
//   f_i = E/(k·T) Σ_t 1(i ∈ K_t),  s'_{i,t} = s_{i,t} / Σ_j s_{j,t},  P_i = (1/T) Σ_t s'_{i,t}
//   L = α Σ_i f_i P_i, averaged over the groups.
using BalanceRow = Eigen::Array<double, 1, Eigen::Dynamic>;
struct BalanceLossCache {
  Index rows_per_group = 0;
  double alpha = 0;
  Eigen::ArrayXXd f;  // groups × E: f_i of each group, counted once, in the forward pass
};
template <class T>
double balance_loss_forward(BalanceLossCache& cache, const Matrix<T>& scores, ConstExpertIdsMap chosen,
                            Index rows_per_group, double alpha);
// dscores += ∂L/∂s, with f held constant (a count): ∂L/∂s'_{i,t} = α f_i / (T · groups), and
// through s' = s / Σ_j s_j: ∂L/∂s_{j,t} = (∂L/∂s'_{j,t} − Σ_i ∂L/∂s'_{i,t} s'_{i,t}) / Σ_i s_{i,t}.
template <class T>
void balance_loss_backward(Matrix<T>& dscores, const BalanceLossCache& cache, const Matrix<T>& scores);

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
  const std::vector<int>& chosen() const { return chosen_; }  // N × k expert ids, flat row-major
  ConstExpertIdsMap chosen_ids() const { return {chosen_.data(), weights_.rows(), moe_.top_k}; }  // the same, (t, j)
  const Matrix<T>& weights() const { return weights_; }       // N × k gate values g
  const std::vector<char>& kept() const { return kept_; }     // N × k: 0 where dropped
  ConstSlotFlagsMap kept_slots() const { return {kept_.data(), weights_.rows(), moe_.top_k}; }  // the same, (t, j)
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
  // Flat, as the dispatch plans (kernels/moe_layout.hpp) and the MPI exchange take them; read as
  // N × k matrices through chosen_ids() and kept_slots().
  std::vector<int> chosen_;
  std::vector<char> kept_;
  LoadStats load_;
  BalanceLossCache balance_;
};

}  // namespace frugal::core
