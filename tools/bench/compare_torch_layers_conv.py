#!/usr/bin/env python3
"""Runs recgrad's convolution benchmarks (tools/bench/bench_layers_conv.cpp, linked into bench_ops) and the
same workloads with torch.nn.Conv2d and the pooling functions on the CPU, side by side on this machine, and
prints time ratios (recgrad / torch; below 1.0 means recgrad is faster).

    /usr/bin/python3 tools/bench/compare_torch_layers_conv.py [--binary build/tools/bench_ops] [--threads N]

Shapes (Caser): batch 256, sequence L = 10, embedding d = 64, 16 horizontal filters per height h = 1..10
(kernel (h, d), relu, max over time) and 4 vertical filters (kernel (L, 1)); also a generic 3x3 convolution
[32, 16, 32, 32] -> [32, 32, 32, 32] and a 2x2 max pooling of [32, 32, 32, 32].
"""
import argparse
import json
import os
import subprocess

import torch
import torch.nn.functional as F

from compare_torch import median_time_us

B, L, D, NH, NV = 256, 10, 64, 16, 4


class CaserConvolutions(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.horizontal = torch.nn.ModuleList([torch.nn.Conv2d(1, NH, (h, D)) for h in range(1, L + 1)])
        self.vertical = torch.nn.Conv2d(1, NV, (L, 1))

    def forward(self, x):
        parts = [torch.relu(conv(x)).squeeze(3).max(dim=2).values for conv in self.horizontal]
        parts.append(self.vertical(x).reshape(x.size(0), -1))
        return torch.cat(parts, 1)


def train_step(module, x, g):
    def step():
        module.zero_grad(set_to_none=True)
        x.grad = None
        module(x).backward(g)
    return step


def torch_workloads():
    torch.manual_seed(0)
    work = {}
    block = CaserConvolutions()
    x = torch.randn(B, 1, L, D, requires_grad=True)
    work["BM_caser_conv_train"] = train_step(block, x, torch.randn(B, L * NH + NV * D))
    x_plain = torch.randn(B, 1, L, D)

    def inference():
        with torch.no_grad():
            return block(x_plain)

    work["BM_caser_conv_inference"] = inference
    for h in (1, 5, 10):
        conv = torch.nn.Conv2d(1, NH, (h, D))
        work[f"BM_conv2d_caser_horizontal/{h}"] = train_step(conv, x, torch.randn(B, NH, L - h + 1, 1))
    work["BM_conv2d_caser_vertical"] = train_step(torch.nn.Conv2d(1, NV, (L, 1)), x, torch.randn(B, NV, 1, D))
    work["BM_conv2d_3x3"] = train_step(torch.nn.Conv2d(16, 32, 3, padding=1),
                                       torch.randn(32, 16, 32, 32, requires_grad=True), torch.randn(32, 32, 32, 32))
    xp, gp = torch.randn(32, 32, 32, 32, requires_grad=True), torch.randn(32, 32, 16, 16)

    def max_pool():
        xp.grad = None
        F.max_pool2d(xp, 2).backward(gp)

    work["BM_max_pool2d"] = max_pool
    return work


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="build/tools/bench_ops")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()

    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    filter_ = "BM_caser_conv|BM_conv2d|BM_max_pool2d"
    out = subprocess.run([args.binary, "--benchmark_format=json", "--benchmark_min_time=0.5",
                          f"--benchmark_filter={filter_}"], env=env, check=True, capture_output=True, text=True).stdout
    ours = {b["name"]: b["real_time"] * {"us": 1, "ms": 1e3, "ns": 1e-3}[b["time_unit"]]
            for b in json.loads(out)["benchmarks"]}

    torch.set_num_threads(args.threads)
    theirs = {name: median_time_us(fn) for name, fn in torch_workloads().items()}

    print(f"threads: {args.threads}; torch {torch.__version__} (mkldnn {torch.backends.mkldnn.is_available()}); "
          f"B={B} L={L} d={D} horizontal={NH}/height vertical={NV}")
    print(f"{'workload':34} {'recgrad us':>12} {'torch us':>12} {'ratio':>7}")
    for name, ours_us in ours.items():
        if name in theirs:
            print(f"{name:34} {ours_us:12.1f} {theirs[name]:12.1f} {ours_us / theirs[name]:7.2f}")


if __name__ == "__main__":
    main()
