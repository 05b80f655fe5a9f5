#!/usr/bin/env python3
"""What PyTorch's autograd keeps for backward in one eager Llama block, per token.

The simulator's `training.kernels: "eager"` (sim/src/training_memory.cpp, eager_layer_activations)
lists the tensors plain PyTorch modules keep for backward, one line per op. This script is where
that list comes from: it builds one block the way Lit-GPT wrote it when it published its resource
tables (tutorials/resource-tables.md @b73298666, PyTorch 2.1: a hand-written RMSNorm
x * rsqrt(mean(x * x)), one fused QKV projection split into views, apply_rope, scaled_dot_product
_attention, an LLaMA SwiGLU MLP, and LoRA on query and value with dropout 0.05 and zero_pad's
index_copy), runs its forward under torch.autograd.graph.saved_tensors_hooks, and adds up the
distinct storages autograd holds, in bytes per token.

SDPA is replaced by a stand-in that keeps what CUDA's FlashAttention keeps (q, k, v, out and the
fp32 log-sum-exp: PyTorch's derivatives.yaml, _scaled_dot_product_flash_attention), because on a
CPU PyTorch picks another kernel. A CPU dropout keeps a 2-byte mask where CUDA's native_dropout
keeps 1 byte, so the CPU total is d bytes above CUDA's.

Modes: lora (the frozen base, LoRA on q and v), qlora (the same, every base Linear replaced by a
Function that keeps its input, as bitsandbytes' MatMul4Bit does: 'if any(ctx.needs_input_grad[:2]):
ctx.tensors = (A, B)'), full (every weight trains).

Needs PyTorch (not a dependency of FrugalLM: `pip install torch==2.1.0`; the CPU is enough).
    python3 scripts/measure_eager_activations.py 4096 32 128 11008 lora

Measured with torch 2.1.0 on CPU for Llama 2 7B (4096 32 128 11008), bytes per token per layer:
lora 181,412, or 177,316 with CUDA's 1-byte dropout mask, against the eager list's 176,768
((13.5 d + 3 x 11,008 + 2 x 32) x 2; the 548 bytes between are an int64 index, the rank-8 LoRA
activation and the norms' rsqrt); qlora +38,400 and full +54,784 over lora, the list's
(2d + 11,008) x 2 and (4d + 11,008) x 2 exactly. Lit-GPT's own table gives 7.77 GB per extra
1,304-token sequence over 32 layers: 186,200.
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

d, heads, head_dim, ffn = (int(a) for a in sys.argv[1:5])
mode = sys.argv[5] if len(sys.argv) > 5 else "lora"
rank, tokens, dtype = 8, 128, torch.bfloat16


class KeepsItsInput(torch.autograd.Function):
    """A frozen Linear that keeps its input whenever the input needs a gradient (bitsandbytes)."""

    @staticmethod
    def forward(ctx, a, w):
        ctx.save_for_backward(a)
        ctx.w = w
        return F.linear(a, w)

    @staticmethod
    def backward(ctx, g):
        return g @ ctx.w, None


class Linear(nn.Linear):
    def forward(self, x):
        return KeepsItsInput.apply(x, self.weight) if mode == "qlora" else super().forward(x)


class FlashStandIn(torch.autograd.Function):
    """Keeps what CUDA's FlashAttention keeps: q, k, v, the output and the fp32 log-sum-exp."""

    @staticmethod
    def forward(ctx, q, k, v):
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        ctx.save_for_backward(q, k, v, out, torch.zeros(q.shape[:3], dtype=torch.float32))
        return out

    @staticmethod
    def backward(ctx, g):
        return g, g, g


class RMSNorm(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(torch.mean(x * x, dim=-1, keepdim=True) + 1e-5))


def rope(x, cos, sin):
    half = x.size(-1) // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return ((x * cos) + (rotated * sin)).to(dtype=x.dtype)


class QkvWithLora(nn.Module):
    """One fused projection; LoRA on query and value, the update zero-padded into place."""

    def __init__(self):
        super().__init__()
        self.linear = Linear(d, 3 * d, bias=False)
        self.lora_a = nn.Parameter(torch.randn(2 * rank, d) * 0.01)
        self.lora_b = nn.Parameter(torch.randn(2 * d, rank) * 0.01)
        self.dropout = nn.Dropout(0.05)
        self.index = torch.tensor(list(range(0, d)) + list(range(2 * d, 3 * d)))

    def forward(self, x):
        after_a = F.linear(self.dropout(x), self.lora_a)
        after_b = F.conv1d(after_a.transpose(-2, -1), self.lora_b.unsqueeze(-1), groups=2).transpose(-2, -1)
        flat = after_b.transpose(0, 1)
        padded = flat.new_zeros((*flat.shape[:-1], 3 * d)).view(-1, 3 * d)
        padded = padded.index_copy(1, self.index, flat.reshape(-1, 2 * d))
        return self.linear(x) + padded.view((*flat.shape[:-1], 3 * d)).transpose(0, 1) * 2.0


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm_1, self.norm_2 = RMSNorm(d), RMSNorm(d)
        self.qkv = QkvWithLora()
        self.proj = Linear(d, d, bias=False)
        self.fc_1, self.fc_2 = Linear(d, ffn, bias=False), Linear(d, ffn, bias=False)
        self.down = Linear(ffn, d, bias=False)

    def forward(self, x, cos, sin):
        b, t, c = x.shape
        qkv = self.qkv(self.norm_1(x)).view(b, t, heads, 3, head_dim).permute(0, 2, 3, 1, 4)
        q, k, v = (part.reshape(b, -1, t, head_dim) for part in qkv.split((1, 1, 1), dim=2))
        y = FlashStandIn.apply(rope(q, cos, sin), rope(k, cos, sin), v)
        x = self.proj(y.transpose(1, 2).reshape(b, t, c)) + x
        n = self.norm_2(x)
        return self.down(F.silu(self.fc_1(n)) * self.fc_2(n)) + x


block = Block().to(dtype)
for name, p in block.named_parameters():
    p.requires_grad = mode == "full" or "lora_" in name
theta = 1.0 / (10000 ** (torch.arange(0, head_dim, 2).float() / head_dim))
angles = torch.outer(torch.arange(tokens).float(), theta).repeat(1, 2)
cos, sin = torch.cos(angles), torch.sin(angles)
constants = {p.data_ptr() for p in block.parameters()} | {cos.data_ptr(), sin.data_ptr()}
kept = {}


def pack(t):
    if t.numel() > 0 and t.data_ptr() not in constants:
        storage = t.untyped_storage()
        kept[storage.data_ptr()] = (storage.nbytes(), tuple(t.shape), t.dtype)
    return t


with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
    block(torch.randn(1, tokens, d, dtype=dtype, requires_grad=True), cos, sin)
total = sum(n for n, _, _ in kept.values())
print(f"{mode}: {total / tokens:,.0f} bytes per token per layer ({total / tokens / 2 / d:.2f} x d in 2-byte elements)")
for n, shape, dt in sorted(kept.values(), key=lambda v: -v[0]):
    print(f"  {n / tokens:>10,.0f}  {shape} {dt}")
