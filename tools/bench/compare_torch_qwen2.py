#!/usr/bin/env python3
"""Times MiniOneRec's decoder in recgrad (tools/bench/bench_qwen2.cpp) and the same decoder, batch and decoding step
in PyTorch (CPU, the same thread count, this script), and prints time ratios (recgrad / torch; below 1.0 means
recgrad is faster) and the training tokens per second of each.

The PyTorch decoder below is Hugging Face's modeling_qwen2 written as a plain torch module, as
tests/fixtures/make_qwen2_fixtures.py writes it for the fixtures that tests/nn/test_qwen2.cpp matches (RMSNorm,
q/k/v projections with bias and o without, RoPE, grouped-query attention, SwiGLU, tied LM head), with a KV cache.
Both sides: vocabulary 4118, hidden 128, 4 layers, 4 heads and 4 key/value heads, SwiGLU 352; the training step
is forward, the cross-entropy of the last 5 positions of each of 64 left-padded rows of 48 tokens, backward and
AdamW (lr 1e-3); the decoding step reorders 1280 cached sequences (64 prompts x 20 beams, 40 positions) by their
parent beams, reads one token each and takes the log-softmax over the whole vocabulary.

    /usr/bin/python3 tools/bench/compare_torch_qwen2.py [--binary build/tools/bench_qwen2] [--threads N]
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare_torch import compare_side_by_side  # noqa: E402

VOCAB, HIDDEN, LAYERS, HEADS, KV_HEADS, INTER, THETA, EPS = 4118, 128, 4, 4, 4, 352, 10000.0, 1e-6
ROWS, LENGTH, RESPONSE, BEAMS, CACHED = 64, 48, 5, 20, 40


class RMSNorm(torch.nn.Module):
    def __init__(self, width):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(width))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class Layer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        d = HIDDEN // HEADS
        self.input_layernorm, self.post_attention_layernorm = RMSNorm(HIDDEN), RMSNorm(HIDDEN)
        self.q_proj = torch.nn.Linear(HIDDEN, HEADS * d)
        self.k_proj = torch.nn.Linear(HIDDEN, KV_HEADS * d)
        self.v_proj = torch.nn.Linear(HIDDEN, KV_HEADS * d)
        self.o_proj = torch.nn.Linear(HEADS * d, HIDDEN, bias=False)
        self.gate_proj = torch.nn.Linear(HIDDEN, INTER, bias=False)
        self.up_proj = torch.nn.Linear(HIDDEN, INTER, bias=False)
        self.down_proj = torch.nn.Linear(INTER, HIDDEN, bias=False)

    def forward(self, x, cos, sin, masked, cache):
        b, t, _ = x.shape
        d = HIDDEN // HEADS
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(b, t, HEADS, d).transpose(1, 2)
        k = self.k_proj(h).view(b, t, KV_HEADS, d).transpose(1, 2)
        v = self.v_proj(h).view(b, t, KV_HEADS, d).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if cache is not None:
            if cache:
                k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
            cache[:] = [k, v]
        if KV_HEADS != HEADS:
            k, v = k.repeat_interleave(HEADS // KV_HEADS, 1), v.repeat_interleave(HEADS // KV_HEADS, 1)
        scores = (q @ k.transpose(-1, -2) / math.sqrt(d)).masked_fill(masked, float("-inf"))
        probs = scores.softmax(-1).nan_to_num(0.0)  # a query with every key masked (padding) attends to nothing
        x = x + self.o_proj((probs @ v).transpose(1, 2).reshape(b, t, HEADS * d))
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Qwen2(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(VOCAB, HIDDEN)
        torch.nn.init.normal_(self.embed_tokens.weight, std=0.02)
        self.layers = torch.nn.ModuleList(Layer() for _ in range(LAYERS))
        self.norm = RMSNorm(HIDDEN)
        d = HIDDEN // HEADS
        self.inv_freq = 1.0 / (THETA ** (torch.arange(0, d, 2, dtype=torch.float32) / d))

    def hidden_states(self, tokens, padding, caches=None):
        """tokens [B, T] after `past` cached positions; padding [B, past + T] (True = padding)."""
        b, t = tokens.shape
        past = caches[0][0].shape[2] if caches and caches[0] else 0
        angles = torch.arange(past, past + t, dtype=torch.float32)[:, None] * self.inv_freq[None, :]
        cos, sin = torch.cat([angles.cos()] * 2, -1), torch.cat([angles.sin()] * 2, -1)
        causal = torch.ones(t, past + t, dtype=torch.bool).triu(past + 1)
        masked = causal[None, None] | padding[:, None, None, :]
        x = self.embed_tokens(tokens)
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, masked, None if caches is None else caches[i])
        return self.norm(x)

    def logits(self, hidden):
        return hidden @ self.embed_tokens.weight.T


def bench_tokens(rows, length):
    """Row b: (b mod 8) padding positions, then tokens (13 b + 7 t) mod (V - 1) + 1 (as bench_qwen2.cpp)."""
    padding = torch.tensor([[t < b % 8 for t in range(length)] for b in range(rows)])
    tokens = torch.tensor([[0 if t < b % 8 else (13 * b + 7 * t) % (VOCAB - 1) + 1 for t in range(length)]
                           for b in range(rows)])
    return tokens, padding


def torch_workloads():
    torch.manual_seed(0)
    model = Qwen2()
    tokens, padding = bench_tokens(ROWS, LENGTH)
    positions = torch.tensor([b * LENGTH + t for b in range(ROWS) for t in range(LENGTH - RESPONSE - 1, LENGTH - 1)])
    targets = tokens.reshape(-1)[positions + 1]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        hidden = model.hidden_states(tokens, padding).reshape(ROWS * LENGTH, HIDDEN)
        F.cross_entropy(model.logits(hidden[positions]), targets).backward()
        optimizer.step()

    sequences = ROWS * BEAMS
    prompt, prompt_padding = bench_tokens(sequences, CACHED)
    prefilled = [[] for _ in range(LAYERS)]
    with torch.no_grad():
        model.hidden_states(prompt, prompt_padding, prefilled)
    parent = torch.tensor([s // BEAMS * BEAMS + (s % BEAMS + 1) % BEAMS for s in range(sequences)])
    step_input = torch.tensor([[(7 * s) % (VOCAB - 1) + 1] for s in range(sequences)])

    def beam_step():
        with torch.no_grad():
            caches = [[k.index_select(0, parent), v.index_select(0, parent)] for k, v in prefilled]
            mask = torch.cat([prompt_padding.index_select(0, parent), torch.zeros(sequences, 1, dtype=torch.bool)], 1)
            hidden = model.hidden_states(step_input, mask, caches)[:, 0]
            return model.logits(hidden).log_softmax(1)

    return {"BM_qwen2_train_step": train_step, "BM_qwen2_beam_step": beam_step}


def main():
    ours, theirs, _ = compare_side_by_side(__doc__.splitlines()[0], "build/tools/bench_qwen2", torch_workloads)
    tokens = ROWS * LENGTH
    print(f"training tokens per second: recgrad {tokens / ours['BM_qwen2_train_step'] * 1e6:,.0f}, "
          f"torch {tokens / theirs['BM_qwen2_train_step'] * 1e6:,.0f}")


if __name__ == "__main__":
    main()
