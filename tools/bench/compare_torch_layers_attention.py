#!/usr/bin/env python3
"""Runs tools/bench/bench_layers_attention.cpp's workloads in recgrad and in PyTorch (CPU) side by side and
prints time ratios (recgrad / torch; below 1.0 means recgrad is faster).

    /usr/bin/python3 tools/bench/compare_torch_layers_attention.py [--binary build/tools/bench_layers_attention]
"""
import argparse
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_torch import median_time_us, recgrad_times_us  # noqa: E402

B, T, D = 256, 50, 64


def padding_mask():
    return torch.tensor([[t < (b * 7) % T for t in range(T)] for b in range(B)])


def causal():
    return torch.triu(torch.ones(T, T, dtype=torch.bool), 1)


def rotate_half(x):
    return torch.cat([-x[..., x.shape[-1] // 2:], x[..., :x.shape[-1] // 2]], -1)


class QwenLayer(torch.nn.Module):
    """The same computation as nn::QwenDecoderLayer (RMSNorm, RoPE, GQA, SwiGLU)."""

    def __init__(self, hidden, heads, kv_heads, inter):
        super().__init__()
        self.heads, self.kv, self.hd = heads, kv_heads, hidden // heads
        self.q = torch.nn.Linear(hidden, hidden)
        self.k = torch.nn.Linear(hidden, kv_heads * self.hd)
        self.v = torch.nn.Linear(hidden, kv_heads * self.hd)
        self.o = torch.nn.Linear(hidden, hidden, bias=False)
        self.gate, self.up = torch.nn.Linear(hidden, inter, bias=False), torch.nn.Linear(hidden, inter, bias=False)
        self.down = torch.nn.Linear(inter, hidden, bias=False)
        self.n1, self.n2 = torch.nn.Parameter(torch.ones(hidden)), torch.nn.Parameter(torch.ones(hidden))
        inv = 10000.0 ** (-torch.arange(0, self.hd, 2).float() / self.hd)
        ang = torch.arange(T).float()[:, None] * inv
        self.cos, self.sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)

    def rms(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w

    def forward(self, x):
        b, t, _ = x.shape
        h = self.rms(x, self.n1)
        q = self.q(h).view(b, t, self.heads, self.hd).transpose(1, 2)
        k = self.k(h).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v(h).view(b, t, self.kv, self.hd).transpose(1, 2)
        q, k = q * self.cos + rotate_half(q) * self.sin, k * self.cos + rotate_half(k) * self.sin
        g = self.heads // self.kv
        k, v = k.repeat_interleave(g, 1), v.repeat_interleave(g, 1)
        s = (q @ k.transpose(-1, -2) / math.sqrt(self.hd)).masked_fill(causal(), float("-inf"))
        a = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, t, -1)
        x = x + self.o(a)
        h = self.rms(x, self.n2)
        return x + self.down(torch.nn.functional.silu(self.gate(h)) * self.up(h))


def torch_workloads():
    torch.manual_seed(0)
    work = {}
    x = torch.randn(B, T, D, requires_grad=True)
    mask = padding_mask()
    mha = torch.nn.MultiheadAttention(D, 2, batch_first=True)
    work["BM_mha_self_attention"] = lambda: mha(x, x, x, key_padding_mask=mask, attn_mask=causal(),
                                                need_weights=False)[0].sum().backward()
    layer = torch.nn.TransformerEncoderLayer(D, 2, D, 0.2, activation="gelu", batch_first=True, norm_first=True)
    work["BM_sasrec_encoder_layer"] = lambda: layer(x, src_mask=causal(), src_key_padding_mask=mask).sum().backward()
    qwen = QwenLayer(D, 4, 2, 2 * D)
    work["BM_qwen_decoder_layer"] = lambda: qwen(x).sum().backward()
    return work


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="build/tools/bench_layers_attention")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    ours = recgrad_times_us(args.binary, args.threads, min_time=0.5)
    torch.set_num_threads(args.threads)
    theirs = {name: median_time_us(fn) for name, fn in torch_workloads().items()}
    print(f"threads: {args.threads}; torch {torch.__version__}")
    print(f"{'workload':32} {'recgrad ms':>12} {'torch ms':>12} {'ratio':>7}")
    for name, ours_us in ours.items():
        if name in theirs:
            print(f"{name:32} {ours_us / 1e3:12.2f} {theirs[name] / 1e3:12.2f} {ours_us / theirs[name]:7.2f}")


if __name__ == "__main__":
    main()
