#!/usr/bin/env python3
"""ReferenceEquivalence.GateAndMoe: core's Router and MoeLayer against a numpy port of DeepSeek-V3's
inference/model.py Gate and MoE.

The port below is written from model.py's semantics, line by line (the torch lines are quoted
above their numpy twins), not from core's code. It runs on the weights, biases and inputs that
tests/reference/reference_moe_dump.cpp drew for core, in double, and must give the same experts,
in the same order, for every token, and the same gate weights and MoE outputs within 1e-12.

Ties: torch.topk does not document which of two equal values it returns first. The port takes the
lower index first (a stable argsort of the negated scores), the order core documents for
route_top_k; the C++ side copies gate columns so that such ties occur, and this script checks that
they do, at the edge of the chosen experts or of the kept groups, so that the order is exercised.

Usage: reference_equivalence_moe.py PATH/TO/reference_moe_dump   (exit 77: numpy missing, skipped)
"""
import json
import subprocess
import sys

try:
    import numpy as np
except ImportError:  # pragma: no cover
    print("numpy is not installed: skipped")
    sys.exit(77)

TOLERANCE = 1e-12


def topk_indices(values, k):
    """torch.topk(values, k, dim=-1)[1], ties to the lower index."""
    return np.argsort(-values, axis=-1, kind="stable")[..., :k]


def gate_forward(case, x):
    """model.py Gate.forward; returns (weights, indices)."""
    weight = np.array(case["gate_weight"])
    bias = None if case["bias"] is None else np.array(case["bias"])
    n_groups, topk_groups, topk = case["n_groups"], case["topk_groups"], case["topk"]
    # scores = linear(x, self.weight)
    scores = x @ weight.T
    # if self.score_func == "softmax": scores = scores.softmax(dim=-1, dtype=torch.float32)
    # else: scores = scores.sigmoid()
    if case["score_func"] == "softmax":
        e = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores = e / e.sum(axis=-1, keepdims=True)
    else:
        scores = 1.0 / (1.0 + np.exp(-scores))
    # original_scores = scores
    original_scores = scores
    # if self.bias is not None: scores = scores + self.bias
    if bias is not None:
        scores = scores + bias
    if n_groups > 1:
        # scores = scores.view(x.size(0), self.n_groups, -1)
        scores = scores.reshape(x.shape[0], n_groups, -1)
        # if self.bias is None: group_scores = scores.amax(dim=-1)
        # else: group_scores = scores.topk(2, dim=-1)[0].sum(dim=-1)
        group_scores = group_scores_of(scores, bias is not None)
        # indices = group_scores.topk(self.topk_groups, dim=-1)[1]
        indices = topk_indices(group_scores, topk_groups)
        # mask = scores.new_ones(x.size(0), self.n_groups, dtype=bool).scatter_(1, indices, False)
        mask = np.ones((x.shape[0], n_groups), dtype=bool)
        np.put_along_axis(mask, indices, False, axis=1)
        # scores = scores.masked_fill_(mask.unsqueeze(-1), float("-inf")).flatten(1)
        scores = np.where(mask[..., None], -np.inf, scores).reshape(x.shape[0], -1)
    # indices = torch.topk(scores, self.topk, dim=-1)[1]
    indices = topk_indices(scores, topk)
    # weights = original_scores.gather(1, indices)
    weights = np.take_along_axis(original_scores, indices, axis=1)
    # if self.score_func == "sigmoid": weights /= weights.sum(dim=-1, keepdim=True)
    if case["score_func"] == "sigmoid":
        weights = weights / weights.sum(axis=-1, keepdims=True)
    # weights *= self.route_scale
    weights = weights * case["route_scale"]
    return weights, indices, original_scores


def group_scores_of(grouped, has_bias):
    """amax without a bias; the sum of the top-2 (largest first, as topk returns them) with one."""
    if not has_bias:
        return grouped.max(axis=-1)
    ordered = np.sort(grouped, axis=-1)
    return ordered[..., -1] + ordered[..., -2]


def silu(v):
    return v / (1.0 + np.exp(-v))


def expert_forward(expert, x):
    """model.py Expert.forward / MLP.forward: self.w2(F.silu(self.w1(x)) * self.w3(x))."""
    w1, w2, w3 = (np.array(expert[name]) for name in ("w1", "w2", "w3"))
    return (silu(x @ w1.T) * (x @ w3.T)) @ w2.T


def moe_forward(case, x):
    """model.py MoE.forward (one process: world_size 1)."""
    # weights, indices = self.gate(x); y = torch.zeros_like(x)
    weights, indices, _ = gate_forward(case, x)
    y = np.zeros_like(x)
    # for i in range(self.experts_start_idx, self.experts_end_idx): ...
    #     idx, top = torch.where(indices == i)
    #     y[idx] += expert(x[idx]) * weights[idx, top, None]
    for i, expert in enumerate(case["experts"]):
        idx, top = np.nonzero(indices == i)
        if idx.size == 0:
            continue
        np.add.at(y, idx, expert_forward(expert, x[idx]) * weights[idx, top, None])
    # z = self.shared_experts(x): one MLP of width n_shared_experts * moe_inter_dim. Core keeps N_s
    # experts of moe_inter_dim; side by side they are that MLP (w1, w3 stacked by rows, w2 by columns).
    shared = case["shared_experts"]
    z = np.zeros_like(x)
    if shared:
        wide = {"w1": np.vstack([np.array(s["w1"]) for s in shared]),
                "w3": np.vstack([np.array(s["w3"]) for s in shared]),
                "w2": np.hstack([np.array(s["w2"]) for s in shared])}
        z = expert_forward(wide, x)
    # return (y + z).view(shape)
    return y + z, weights, indices


def boundary_ties(values, k):
    """Rows where the k-th and (k+1)-th largest values are equal: the tie order decides the set."""
    ordered = -np.sort(-values, axis=-1)
    return int(np.sum(np.isfinite(ordered[:, k]) & (ordered[:, k - 1] == ordered[:, k])))


def check_case(case):
    name = case["name"]
    x = np.array(case["x"])
    core = case["core"]
    y, weights, indices = moe_forward(case, x)
    core_indices = np.array(core["indices"])
    failures = []

    scores_gap = np.max(np.abs(gate_forward(case, x)[2] - np.array(core["scores"])))
    if scores_gap > TOLERANCE:
        failures.append(f"scores differ by {scores_gap:.3g}")
    mismatched = np.nonzero(np.any(indices != core_indices, axis=1))[0]
    if mismatched.size:
        t = mismatched[0]
        failures.append(f"{mismatched.size} tokens chose other experts, first token {t}: "
                        f"model.py {indices[t].tolist()}, core {core_indices[t].tolist()}")
    weights_gap = np.max(np.abs(weights - np.array(core["weights"])))
    if weights_gap > TOLERANCE:
        failures.append(f"gate weights differ by {weights_gap:.3g}")
    y_gap = np.max(np.abs(y - np.array(core["y"])))
    if y_gap > TOLERANCE:
        failures.append(f"MoE outputs differ by {y_gap:.3g}")

    # The case must exercise what it is there for.
    biased = np.array(core["scores"]) + (0.0 if case["bias"] is None else np.array(case["bias"]))
    n_groups, topk = case["n_groups"], case["topk"]
    ties = 0
    masked = biased
    if n_groups > 1:
        grouped = biased.reshape(x.shape[0], n_groups, -1)
        has_bias = case["bias"] is not None
        chosen_groups = np.sort(topk_indices(group_scores_of(grouped, has_bias), case["topk_groups"]), axis=1)
        other_rule = np.sort(topk_indices(group_scores_of(grouped, not has_bias), case["topk_groups"]), axis=1)
        if not np.any(chosen_groups != other_rule):
            failures.append("the max and top-2-sum group rules never disagree: the group rule is untested")
        ties += boundary_ties(group_scores_of(grouped, has_bias), case["topk_groups"])
        mask = np.ones((x.shape[0], n_groups), dtype=bool)
        np.put_along_axis(mask, chosen_groups, False, axis=1)
        masked = np.where(mask[..., None], -np.inf, grouped).reshape(x.shape[0], -1)
    ties += boundary_ties(masked, topk)
    if ties == 0:
        failures.append("no exact tie at the edge of a choice: the tie order is untested")
    # model.py masks the groups it drops with −inf, not 0: a kept expert with s + b < 0 must still win.
    if case["bias"] is not None and n_groups > 1 and not np.any(np.take_along_axis(biased, indices, axis=1) < 0):
        failures.append("no chosen expert has a negative biased score")

    status = "FAIL" if failures else "ok"
    print(f"{status:4} {name}: {x.shape[0]} tokens, {ties} deciding ties, |Δweights| {weights_gap:.2g}, |Δy| {y_gap:.2g}")
    for f in failures:
        print(f"     {f}")
    return not failures


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    dump = subprocess.run([sys.argv[1]], check=True, capture_output=True, text=True).stdout
    cases = json.loads(dump)["cases"]
    results = [check_case(case) for case in cases]
    return 0 if cases and all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
