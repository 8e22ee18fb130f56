#!/usr/bin/env python3
"""Times TIGER in recgrad (tools/bench/bench_tiger.cpp) and the same model, batch and beam search in PyTorch
(CPU, the same thread count, this script), and prints time ratios (recgrad / torch; below 1.0 means recgrad is
faster).

The PyTorch model is tests/fixtures/torch_t5.py, the reference that tests/recsys/test_tiger_fixture.cpp proves
equal to recgrad's Tiger (loss, every gradient, beam search). Both sides: the default (CPU) size, 3686 items with
3 levels of 256 codes plus the deduplication level, 2000 user buckets, a batch of 256 histories of up to 10 items,
dropout 0; the training step is loss + backward + AdamW (lr 1e-3, weight decay 0.01); the decoding batch is a
constrained beam search of width 20 with a KV cache (PyTorch: fixed beams per row and top-k per step, the trie as
tensors, as Hugging Face's generate does it; the encoder tokens are built outside its timing).

    /usr/bin/python3 tools/bench/compare_torch_tiger.py [--binary build/tools/bench_tiger] [--threads N]
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "fixtures"))
from compare_torch import compare_side_by_side  # noqa: E402
from torch_t5 import TensorTrie, Tiger, beam_search  # noqa: E402

ITEMS, ROWS, WINDOW = 3686, 256, 10


def item_codes():
    """Row i: the three bytes of (i * 2654435761) mod 2^24, then the deduplication code 0 (as bench_tiger.cpp)."""
    rows = [[0, 0, 0, 0]]
    for item in range(1, ITEMS + 1):
        code = (item * 2654435761) % (1 << 24)
        rows.append([(code >> 16) & 255, (code >> 8) & 255, code & 255, 0])
    return rows


def batch():
    history = [[0 if j < b % WINDOW else (31 * b + 17 * j) % ITEMS + 1 for j in range(WINDOW)] for b in range(ROWS)]
    return (torch.tensor(history), torch.tensor([(7 * b) % ITEMS + 1 for b in range(ROWS)]),
            torch.arange(ROWS))


def torch_workloads():
    torch.manual_seed(0)
    codes = item_codes()
    sizes = [256, 256, 256, 1]
    model = Tiger(sizes, 2000, 128, 2, 4, 32, 512, 32, 128)
    history, targets, users = batch()
    tokens = model.encoder_tokens(history, users, codes, WINDOW)
    sid = model.sid_tokens(targets, codes)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        model.loss(tokens, targets, sid=sid).backward()
        optimizer.step()

    trie = TensorTrie(codes, sizes)
    return {"BM_tiger_train_step": train_step, "BM_tiger_beam_search": lambda: beam_search(model, tokens, trie, 20)}


def main():
    compare_side_by_side(__doc__.splitlines()[0], "build/tools/bench_tiger", torch_workloads)


if __name__ == "__main__":
    main()
