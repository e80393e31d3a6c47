"""The bitnet-b1.58 graph bitjit runs (../../../shared/spec/MODEL.md), in PyTorch, trained
quantization-aware as the BitNet b1.58 papers train it: every BitLinear sees absmean-ternary
weights (one scale per tensor, as BitNet's converter's weight_quant) and per-token absmax int8
activations, with straight-through gradients to the latent float weights.

`exact=True` runs the shipped model's math in float32 instead: the same ternary weights (the
file holds exactly these), no STE, and the token embedding rounded to F16 as the GGUF stores it.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-5


def weight_quant(w):
    """BitNet's converter: W' = round(W * s).clamp(-1, 1) / s with s = 1 / mean|W|."""
    s = 1.0 / w.abs().mean().clamp(min=1e-5)
    return (w * s).round().clamp(-1, 1) / s


def act_quant(x):
    """Per-token absmax int8: q = round_half_even(x * 127 / max|x|), clamped to int8."""
    s = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
    return (x * s).round().clamp(-128, 127) / s


class _StraightThrough(torch.autograd.Function):
    """Forward: the quantized value; backward: the gradient passes to the float value as it is
    (the STE). One node instead of x + (q(x) - x).detach(), which costs two more full passes."""

    @staticmethod
    def forward(ctx, x, quant):
        return quant(x)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class BitLinear(nn.Linear):
    def __init__(self, k, n):
        super().__init__(k, n, bias=False)
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x, exact=False):
        w = self.weight
        if exact:
            return F.linear(act_quant(x), weight_quant(w))
        return F.linear(_StraightThrough.apply(x, act_quant), _StraightThrough.apply(w, weight_quant))


class RMSNorm(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * self.weight


def rope_tables(n_ctx, d, base):
    inv = base ** (-torch.arange(0, d // 2, dtype=torch.float64) * 2 / d)
    ang = torch.arange(n_ctx, dtype=torch.float64)[:, None] * inv[None, :]
    return torch.cos(ang).float(), torch.sin(ang).float()


def rope_neox(x, cos, sin):
    """Rotates pairs (i, i + d/2) of each head; x is [B, heads, T, d]."""
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        e, kv = c["n_embd"], c["n_head_kv"] * c["n_embd"] // c["n_head"]
        self.c = c
        self.attn_norm = RMSNorm(e)
        self.attn_q, self.attn_k, self.attn_v = BitLinear(e, e), BitLinear(e, kv), BitLinear(e, kv)
        self.attn_sub_norm = RMSNorm(e)
        self.attn_output = BitLinear(e, e)
        self.ffn_norm = RMSNorm(e)
        self.ffn_gate, self.ffn_up = BitLinear(e, c["n_ff"]), BitLinear(e, c["n_ff"])
        self.ffn_sub_norm = RMSNorm(c["n_ff"])
        self.ffn_down = BitLinear(c["n_ff"], e)

    def forward(self, x, cos, sin, mask, exact):
        b, t, e = x.shape
        nh, nkv = self.c["n_head"], self.c["n_head_kv"]
        d = e // nh
        h = self.attn_norm(x)
        q = self.attn_q(h, exact).view(b, t, nh, d).transpose(1, 2)
        k = self.attn_k(h, exact).view(b, t, nkv, d).transpose(1, 2)
        v = self.attn_v(h, exact).view(b, t, nkv, d).transpose(1, 2)
        q, k = rope_neox(q, cos, sin), rope_neox(k, cos, sin)
        # GQA: query head j reads kv head j / (nh / nkv).
        k = k.repeat_interleave(nh // nkv, dim=1)
        v = v.repeat_interleave(nh // nkv, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(d) + mask
        a = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, e)
        x = x + self.attn_output(self.attn_sub_norm(a), exact)
        h = self.ffn_norm(x)
        f = F.relu(self.ffn_gate(h, exact)).square() * self.ffn_up(h, exact)
        return x + self.ffn_down(self.ffn_sub_norm(f), exact)


class BitNet(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.token_embd = nn.Parameter(torch.randn(c["n_vocab"], c["n_embd"]) * 0.02)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c["n_layer"]))
        self.output_norm = RMSNorm(c["n_embd"])
        cos, sin = rope_tables(c["n_ctx"], c["n_embd"] // c["n_head"], c["rope_base"])
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def forward(self, ids, exact=False):
        t = ids.shape[1]
        emb = self.token_embd.half().float() if exact else self.token_embd
        x = emb[ids]
        mask = torch.full((t, t), float("-inf")).triu(1)
        cos, sin = self.cos[:t], self.sin[:t]
        for blk in self.blocks:
            x = blk(x, cos, sin, mask, exact)
        return self.output_norm(x) @ emb.t()  # tied output projection
