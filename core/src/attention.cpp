// Attention blocks (attention.hpp): MHA/GQA and MLA, forward and backward.
#include "frugal/core/attention.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "frugal/core/random.hpp"

namespace frugal::core {

template <class T>
AttentionBlock<T>::AttentionBlock(const AttentionConfig& config, Index hidden, Parameters<T>& params,
                                  const std::string& prefix, Index num_layers, const std::optional<Fp8GemmOptions>& fp8)
    : config_(config), hidden_(hidden), num_layers_(num_layers), fp8_(fp8) {
  const Index H = config.num_heads;
  if (config.kind == AttentionKind::mla) {
    const Index qk = config.qk_nope_head_dim + config.qk_rope_head_dim;
    if (config.q_lora_rank > 0) {
      w_dq_ = params.add(prefix + ".w_dq", hidden, config.q_lora_rank);
      q_norm_ = params.add(prefix + ".q_norm", 1, config.q_lora_rank, false);
      w_uq_ = params.add(prefix + ".w_uq", config.q_lora_rank, H * qk);
    } else {
      w_q_ = params.add(prefix + ".w_q", hidden, H * qk);
    }
    w_dkv_ = params.add(prefix + ".w_dkv", hidden, config.kv_lora_rank);
    kv_norm_ = params.add(prefix + ".kv_norm", 1, config.kv_lora_rank, false);
    w_uk_ = params.add(prefix + ".w_uk", config.kv_lora_rank, H * config.qk_nope_head_dim);
    w_uv_ = params.add(prefix + ".w_uv", config.kv_lora_rank, H * config.v_head_dim);
    if (config.qk_rope_head_dim > 0) w_kr_ = params.add(prefix + ".w_kr", hidden, config.qk_rope_head_dim);
    w_o_ = params.add(prefix + ".w_o", H * config.v_head_dim, hidden);
  } else {
    const Index d = config.head_dim;
    w_q_ = params.add(prefix + ".w_q", hidden, H * d);
    w_k_ = params.add(prefix + ".w_k", hidden, config.num_kv_heads * d);
    w_v_ = params.add(prefix + ".w_v", hidden, config.num_kv_heads * d);
    w_o_ = params.add(prefix + ".w_o", H * d, hidden);
  }
}

// RoPE over `heads` slices of `dim` columns (layers.hpp RopeSlices), with this block's base and,
// for MLA, its YaRN correction.
template <class T>
RopeSlices AttentionBlock<T>::rope_slices(Index heads, Index stride, Index offset, Index dim) const {
  RopeSlices s;
  s.seq_len = shape_.seq_len;
  s.first_position = first_position_;
  s.heads = heads;
  s.stride = stride;
  s.offset = offset;
  s.dim = dim;
  s.base = config_.rope_theta;
  if (config_.kind == AttentionKind::mla) s.yarn = config_.yarn;
  return s;
}

// Normal(0, std) for projections, std/sqrt(2·layers) for the output projection that feeds the
// residual stream (GPT-2, Radford et al. 2019 §2.3), ones for norm gains.
template <class T>
void AttentionBlock<T>::init(Parameters<T>& params, Rng& rng, double std) const {
  for (int id : {w_q_, w_k_, w_v_, w_dq_, w_uq_, w_dkv_, w_uk_, w_uv_, w_kr_, w_o_}) {
    if (id < 0) continue;
    fill_normal(params.mutable_value(id), rng, id == w_o_ ? std / std::sqrt(2.0 * static_cast<double>(num_layers_)) : std);
  }
  for (int id : {q_norm_, kv_norm_})
    if (id >= 0) params.mutable_value(id).setOnes();
}

template <class T>
void AttentionBlock<T>::forward(Matrix<T>& out, const Matrix<T>& x, Index batch, Index seq_len,
                                const Parameters<T>& params) {
  x_ = x;
  shape_.batch = batch;
  shape_.seq_len = seq_len;
  shape_.heads = config_.num_heads;
  first_position_ = 0;
  if (config_.kind == AttentionKind::mla) project_mla(x, params);
  else project_mha(x, params);
  attention_forward(attn_out_, attn_cache_, q_, k_, v_, shape_);
  linear_forward(out, attn_out_, params.value(w_o_), fp8());
}

template <class T>
void AttentionBlock<T>::decode(Matrix<T>& out, const Matrix<T>& x, Index batch, Index position, KvCache<T>& cache,
                               const Parameters<T>& params) {
  if (position < 0 || position >= cache.max_len)
    throw std::invalid_argument("decode: position " + std::to_string(position) + " outside the cache's " +
                                std::to_string(cache.max_len));
  shape_.batch = batch;
  shape_.seq_len = 1;
  shape_.heads = config_.num_heads;
  first_position_ = position;
  if (config_.kind == AttentionKind::mla) project_mla(x, params);
  else project_mha(x, params);
  if (position == 0) {
    cache.k.resize(batch * cache.max_len, k_.cols());
    cache.v.resize(batch * cache.max_len, v_.cols());
  }
  for (Index b = 0; b < batch; ++b) {
    cache.k.row(b * cache.max_len + position) = k_.row(b);
    cache.v.row(b * cache.max_len + position) = v_.row(b);
  }
  attention_decode(attn_out_, q_, cache.k, cache.v, shape_, position + 1, cache.max_len);
  linear_forward(out, attn_out_, params.value(w_o_), fp8());
}

template <class T>
void AttentionBlock<T>::backward(Matrix<T>& dx, const Matrix<T>& dout, Parameters<T>& params) {
  if (config_.kind == AttentionKind::mla) backward_mla(dx, dout, params);
  else backward_mha(dx, dout, params);
}

// q = RoPE(x·W_q), k = RoPE(x·W_k), v = x·W_v (then out = Attention(q, k, v)·W_o)
template <class T>
void AttentionBlock<T>::project_mha(const Matrix<T>& x, const Parameters<T>& params) {
  const Index d = config_.head_dim;
  shape_.kv_heads = config_.num_kv_heads;
  shape_.qk_dim = shape_.v_dim = d;
  linear_forward(q_, x, params.value(w_q_), fp8());
  linear_forward(k_, x, params.value(w_k_), fp8());
  linear_forward(v_, x, params.value(w_v_), fp8());
  rope_forward(q_, rope_slices(shape_.heads, d, 0, d));
  rope_forward(k_, rope_slices(shape_.kv_heads, d, 0, d));
}

template <class T>
void AttentionBlock<T>::backward_mha(Matrix<T>& dx, const Matrix<T>& dout, Parameters<T>& params) {
  const Index d = config_.head_dim;
  Matrix<T> dattn, dq, dk, dv;
  linear_backward(&dattn, params.grad(w_o_), dout, attn_out_, params.value(w_o_), false, fp8());
  attention_backward(dq, dk, dv, dattn, attn_cache_, q_, k_, v_, shape_);
  rope_backward(dq, rope_slices(shape_.heads, d, 0, d));
  rope_backward(dk, rope_slices(shape_.kv_heads, d, 0, d));
  linear_backward(&dx, params.grad(w_q_), dq, x_, params.value(w_q_), false, fp8());
  linear_backward(&dx, params.grad(w_k_), dk, x_, params.value(w_k_), true, fp8());
  linear_backward(&dx, params.grad(w_v_), dv, x_, params.value(w_v_), true, fp8());
}

// MLA, V3 report §2.1.1 (d_c = kv_lora_rank, d'_c = q_lora_rank, d_h = qk_nope, d_h^R = qk_rope):
//   c_KV = RMSNorm(x·W^DKV)                          eq. 1 (the norm: inference/model.py kv_norm)
//   k^C  = c_KV·W^UK,  v^C = c_KV·W^UV               eq. 2, 5
//   k^R  = RoPE(x·W^KR), shared by every head        eq. 3
//   k_h  = [k^C_h ; k^R]                             eq. 4
//   c_Q  = RMSNorm(x·W^DQ);  [q^C_h ; q^R_h] = c_Q·W^UQ, q^R = RoPE(q^R)   eq. 6–9
//   o_h  = softmax(q_hᵀ k_h / sqrt(d_h + d_h^R)) v^C_h;  out = [o_1 … o_H]·W^O   eq. 10–11
// With YaRN (config_.yarn), as inference/model.py: RoPE's frequencies are corrected
// (rope_inverse_frequencies) and the softmax scale is multiplied by mscale² (MLA.__init__).
template <class T>
void AttentionBlock<T>::project_mla(const Matrix<T>& x, const Parameters<T>& params) {
  const Index H = config_.num_heads, dn = config_.qk_nope_head_dim, dr = config_.qk_rope_head_dim;
  const Index qk = dn + dr;
  shape_.kv_heads = H;
  shape_.qk_dim = qk;
  shape_.v_dim = config_.v_head_dim;
  shape_.softmax_scale_factor = config_.yarn ? yarn_softmax_scale_factor(*config_.yarn) : 1.0;

  if (w_dq_ >= 0) {
    linear_forward(c_q_, x, params.value(w_dq_), fp8());
    rmsnorm_forward(c_q_normed_, q_norm_cache_, c_q_, params.value(q_norm_));
    linear_forward(q_, c_q_normed_, params.value(w_uq_), fp8());
  } else {
    linear_forward(q_, x, params.value(w_q_), fp8());
  }
  if (dr > 0) rope_forward(q_, rope_slices(H, qk, dn, dr));

  linear_forward(c_kv_, x, params.value(w_dkv_), fp8());
  rmsnorm_forward(c_kv_normed_, kv_norm_cache_, c_kv_, params.value(kv_norm_));
  Matrix<T> k_nope;
  linear_forward(k_nope, c_kv_normed_, params.value(w_uk_), fp8());
  linear_forward(v_, c_kv_normed_, params.value(w_uv_), fp8());
  Matrix<T> k_rope;
  if (dr > 0) {
    linear_forward(k_rope, x, params.value(w_kr_), fp8());
    rope_forward(k_rope, rope_slices(1, dr, 0, dr));
  }
  k_.resize(x.rows(), H * qk);
  for (Index h = 0; h < H; ++h) {
    k_.middleCols(h * qk, dn) = k_nope.middleCols(h * dn, dn);
    if (dr > 0) k_.middleCols(h * qk + dn, dr) = k_rope;
  }
}

// The shared k^R receives the sum of every head's gradient; the rest is eq. 1–11 read backwards.
template <class T>
void AttentionBlock<T>::backward_mla(Matrix<T>& dx, const Matrix<T>& dout, Parameters<T>& params) {
  const Index H = config_.num_heads, dn = config_.qk_nope_head_dim, dr = config_.qk_rope_head_dim;
  const Index qk = dn + dr;
  Matrix<T> dattn, dq, dk, dv;
  linear_backward(&dattn, params.grad(w_o_), dout, attn_out_, params.value(w_o_), false, fp8());
  attention_backward(dq, dk, dv, dattn, attn_cache_, q_, k_, v_, shape_);

  Matrix<T> dk_nope(dk.rows(), H * dn), dk_rope = Matrix<T>::Zero(dk.rows(), dr);
  for (Index h = 0; h < H; ++h) {
    dk_nope.middleCols(h * dn, dn) = dk.middleCols(h * qk, dn);
    if (dr > 0) dk_rope += dk.middleCols(h * qk + dn, dr);
  }
  Matrix<T> dc_kv_normed, dc_kv;
  linear_backward(&dc_kv_normed, params.grad(w_uk_), dk_nope, c_kv_normed_, params.value(w_uk_), false, fp8());
  linear_backward(&dc_kv_normed, params.grad(w_uv_), dv, c_kv_normed_, params.value(w_uv_), true, fp8());
  rmsnorm_backward(dc_kv, params.grad(kv_norm_), dc_kv_normed, kv_norm_cache_, params.value(kv_norm_));
  linear_backward(&dx, params.grad(w_dkv_), dc_kv, x_, params.value(w_dkv_), false, fp8());
  if (dr > 0) {
    rope_backward(dk_rope, rope_slices(1, dr, 0, dr));
    linear_backward(&dx, params.grad(w_kr_), dk_rope, x_, params.value(w_kr_), true, fp8());
    rope_backward(dq, rope_slices(H, qk, dn, dr));
  }
  if (w_dq_ >= 0) {
    Matrix<T> dc_q_normed, dc_q;
    linear_backward(&dc_q_normed, params.grad(w_uq_), dq, c_q_normed_, params.value(w_uq_), false, fp8());
    rmsnorm_backward(dc_q, params.grad(q_norm_), dc_q_normed, q_norm_cache_, params.value(q_norm_));
    linear_backward(&dx, params.grad(w_dq_), dc_q, x_, params.value(w_dq_), true, fp8());
  } else {
    linear_backward(&dx, params.grad(w_q_), dq, x_, params.value(w_q_), true, fp8());
  }
}

template class AttentionBlock<float>;
template class AttentionBlock<double>;

}  // namespace frugal::core
