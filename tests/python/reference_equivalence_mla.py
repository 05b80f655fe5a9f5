#!/usr/bin/env python3
"""ReferenceEquivalence.Mla: core's MLA block against a numpy port of DeepSeek-V3's inference/model.py.

Runs tests/reference/reference_mla_dump (its path is the only argument), which prints core's MLA
weights, inputs and forward outputs in double as JSON, rebuilds model.py's tensors from those weights
(model.py's Linear keeps weight as out x in and computes x @ weight.T; core keeps W as in x out),
runs model.py's MLA.forward with attn_impl = "naive" and start_pos = 0, and requires the two outputs
to agree within 1e-12 relative. The port follows model.py's text (quoted above each step), not
core's code. Exit status 77 (skipped) when numpy is missing.
"""
import json
import math
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    print("numpy is not installed: ReferenceEquivalence.Mla skipped")
    sys.exit(77)

TOLERANCE = 1e-12
RMS_NORM_EPS = 1e-6  # model.py: class RMSNorm, "def __init__(self, dim: int, eps: float = 1e-6)"


class Args:
    """model.py ModelArgs, the fields MLA reads; yarn defaults from ModelArgs' "# yarn" block."""

    def __init__(self, case):
        self.max_seq_len = case["max_seq_len"]
        self.dim = case["hidden"]
        self.n_heads = case["n_heads"]
        self.q_lora_rank = case["q_lora_rank"]
        self.kv_lora_rank = case["kv_lora_rank"]
        self.qk_nope_head_dim = case["qk_nope_head_dim"]
        self.qk_rope_head_dim = case["qk_rope_head_dim"]
        self.v_head_dim = case["v_head_dim"]
        self.rope_theta = case["rope_theta"]
        yarn = case["yarn"] or {}
        self.original_seq_len = yarn.get("original_seq_len", 4096)
        self.rope_factor = yarn.get("rope_factor", 40)
        self.beta_fast = yarn.get("beta_fast", 32)
        self.beta_slow = yarn.get("beta_slow", 1)
        self.mscale = yarn.get("mscale", 1.0)


def linear(x, weight):
    """model.py linear(): "F.linear(x, weight, bias)", i.e. y = x A^T."""
    return x @ weight.T


def rms_norm(x, weight):
    """model.py RMSNorm.forward: "F.rms_norm(x, (self.dim,), self.weight, self.eps)"."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + RMS_NORM_EPS) * weight


def precompute_freqs_cis(args):
    """model.py precompute_freqs_cis, line by line (float64 instead of float32)."""
    dim = args.qk_rope_head_dim
    seqlen = args.max_seq_len
    beta_fast, beta_slow = args.beta_fast, args.beta_slow
    base, factor = args.rope_theta, args.rope_factor

    def find_correction_dim(num_rotations, dim, base, max_seq_len):
        return dim * math.log(max_seq_len / (num_rotations * 2 * math.pi)) / (2 * math.log(base))

    def find_correction_range(low_rot, high_rot, dim, base, max_seq_len):
        low = math.floor(find_correction_dim(low_rot, dim, base, max_seq_len))
        high = math.ceil(find_correction_dim(high_rot, dim, base, max_seq_len))
        return max(low, 0), min(high, dim - 1)

    def linear_ramp_factor(min, max, dim):  # noqa: A002 - model.py's names
        if min == max:
            max += 0.001
        linear_func = (np.arange(dim, dtype=np.float64) - min) / (max - min)
        return np.clip(linear_func, 0, 1)

    freqs = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
    if seqlen > args.original_seq_len:
        low, high = find_correction_range(beta_fast, beta_slow, dim, base, args.original_seq_len)
        smooth = 1 - linear_ramp_factor(low, high, dim // 2)
        freqs = freqs / factor * (1 - smooth) + freqs * smooth
    t = np.arange(seqlen)
    freqs = np.outer(t, freqs)
    return np.exp(1j * freqs)  # torch.polar(torch.ones_like(freqs), freqs)


def apply_rotary_emb(x, freqs_cis):
    """model.py apply_rotary_emb: adjacent pairs as complex numbers, times freqs_cis[position].

    x: (bsz, seqlen, heads, rope_dim); freqs_cis: (seqlen, rope_dim / 2).
    """
    xc = x[..., 0::2] + 1j * x[..., 1::2]  # torch.view_as_complex(x.view(*x.shape[:-1], -1, 2))
    y = xc * freqs_cis[None, :, None, :]  # freqs_cis.view(1, x.size(1), 1, x.size(-1))
    out = np.empty_like(x)
    out[..., 0::2], out[..., 1::2] = y.real, y.imag  # torch.view_as_real(...).flatten(3)
    return out


def softmax_scale(args):
    """model.py MLA.__init__."""
    scale = (args.qk_nope_head_dim + args.qk_rope_head_dim) ** -0.5
    if args.max_seq_len > args.original_seq_len:
        mscale = 0.1 * args.mscale * math.log(args.rope_factor) + 1.0
        scale = scale * mscale * mscale
    return scale


def model_py_weights(case):
    """model.py's MLA parameters (out x in) assembled from core's (in x out)."""
    w = {name.split(".", 1)[1]: np.array(value, dtype=np.float64) for name, value in case["weights"].items()}
    heads, nope, v = case["n_heads"], case["qk_nope_head_dim"], case["v_head_dim"]
    # wkv_b: n_heads * (qk_nope_head_dim + v_head_dim) rows, viewed per head as [k_nope rows; v rows].
    wkv_b = np.concatenate(
        [np.concatenate([w["w_uk"][:, h * nope:(h + 1) * nope].T, w["w_uv"][:, h * v:(h + 1) * v].T]) for h in range(heads)])
    return {
        "wq_a": w["w_dq"].T, "q_norm": w["q_norm"][0], "wq_b": w["w_uq"].T,
        # wkv_a = Linear(dim, kv_lora_rank + qk_rope_head_dim): the latent first, then k_pe.
        "wkv_a": np.concatenate([w["w_dkv"].T, w["w_kr"].T]), "kv_norm": w["kv_norm"][0],
        "wkv_b": wkv_b, "wo": w["w_o"].T,
    }


def mla_forward(args, p, x, freqs_cis):
    """model.py MLA.forward, attn_impl == "naive", start_pos = 0, with Transformer.forward's mask."""
    bsz, seqlen, _ = x.shape
    h, nope, rope, vd = args.n_heads, args.qk_nope_head_dim, args.qk_rope_head_dim, args.v_head_dim
    freqs_cis = freqs_cis[:seqlen]  # Transformer.forward: self.freqs_cis[start_pos:start_pos+seqlen]
    q = linear(rms_norm(linear(x, p["wq_a"]), p["q_norm"]), p["wq_b"])
    q = q.reshape(bsz, seqlen, h, nope + rope)
    q_nope, q_pe = q[..., :nope], q[..., nope:]
    q_pe = apply_rotary_emb(q_pe, freqs_cis)
    kv = linear(x, p["wkv_a"])
    kv, k_pe = kv[..., :args.kv_lora_rank], kv[..., args.kv_lora_rank:]
    k_pe = apply_rotary_emb(k_pe[:, :, None, :], freqs_cis)
    q = np.concatenate([q_nope, q_pe], axis=-1)
    kv = linear(rms_norm(kv, p["kv_norm"]), p["wkv_b"]).reshape(bsz, seqlen, h, nope + vd)
    k_nope, v = kv[..., :nope], kv[..., nope:]
    k = np.concatenate([k_nope, np.broadcast_to(k_pe, (bsz, seqlen, h, rope))], axis=-1)
    scores = np.einsum("bshd,bthd->bsht", q, k) * softmax_scale(args)
    mask = np.triu(np.full((seqlen, seqlen), -np.inf), 1)  # torch.full(..., float("-inf")).triu_(1)
    scores = scores + mask[:, None, :]
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    scores = scores / scores.sum(axis=-1, keepdims=True)
    out = np.einsum("bsht,bthd->bshd", scores, v)
    return linear(out.reshape(bsz, seqlen, h * vd), p["wo"])


def check(case):
    args = Args(case)
    bsz, seqlen = case["batch"], case["seq_len"]
    x = np.array(case["x"], dtype=np.float64).reshape(bsz, seqlen, args.dim)
    core = np.array(case["out"], dtype=np.float64)
    weights = model_py_weights(case)
    ours = mla_forward(args, weights, x, precompute_freqs_cis(args)).reshape(bsz * seqlen, args.dim)
    error = np.abs(ours - core).max() / np.abs(core).max()
    print(f"{case['name']}: max |model.py - core| / max |core| = {error:.3e}")
    ok = error <= TOLERANCE
    if case["yarn"] is not None:
        # Not vacuous: the same weights without YaRN (max_seq_len back to the original length) differ.
        args.max_seq_len = args.original_seq_len
        plain = mla_forward(args, weights, x, precompute_freqs_cis(args)).reshape(bsz * seqlen, args.dim)
        effect = np.abs(plain - core).max() / np.abs(core).max()
        print(f"{case['name']}: without YaRN the output moves by {effect:.3e} (must exceed 1e-3)")
        ok = ok and effect > 1e-3
    return ok


def main():
    if len(sys.argv) != 2:
        print("usage: reference_equivalence_mla.py PATH/TO/reference_mla_dump")
        return 2
    dump = subprocess.run([sys.argv[1]], check=True, capture_output=True, text=True).stdout
    cases = json.loads(dump)["cases"]
    results = [check(case) for case in cases]
    if len(cases) != 2 or not all(results):
        print("FAILED")
        return 1
    print("PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
