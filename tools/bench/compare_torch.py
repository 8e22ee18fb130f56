#!/usr/bin/env python3
"""Runs recgrad's micro-benchmarks and the same workloads in PyTorch (CPU),
side by side on this machine, and prints time ratios (recgrad / torch; below
1.0 means recgrad is faster).

    /usr/bin/python3 tools/bench/compare_torch.py [--binary build/tools/bench_ops]

PyTorch (Debian's python3-torch) is only a yardstick here; nothing in the build
or the tests needs it.
"""
import argparse
import json
import os
import subprocess
import time

import torch

B, T, D, H = 256, 50, 64, 256


def median_time_us(fn, min_time=0.5, repeats=5):
    """Median over `repeats` runs of the mean time per call, each run lasting ~min_time/repeats."""
    fn()  # warm-up
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    iters = max(1, int(min_time / repeats / once))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iters):
            fn()
        samples.append((time.perf_counter() - start) / iters * 1e6)
    samples.sort()
    return samples[len(samples) // 2]


def recgrad_times_us(binary, threads, min_time=0.5):
    """Runs a Google Benchmark binary with OMP_NUM_THREADS=threads; returns {benchmark name: real time in us}."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([binary, "--benchmark_format=json", f"--benchmark_min_time={min_time}"], env=env,
                         check=True, capture_output=True, text=True).stdout
    return {b["name"]: b["real_time"] * {"us": 1, "ms": 1e3, "ns": 1e-3}[b["time_unit"]]
            for b in json.loads(out)["benchmarks"]}


def compare_side_by_side(description, default_binary, workloads, min_time=2.0):
    """The main() of a comparison script: parses --binary and --threads, times the binary's benchmarks and the
    PyTorch `workloads()` ({benchmark name: fn}) on the same thread count, prints a table in milliseconds and
    returns (ours, theirs, threads), times in us."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--binary", default=default_binary)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    ours = recgrad_times_us(args.binary, args.threads, min_time=min_time)
    torch.set_num_threads(args.threads)
    theirs = {name: median_time_us(fn, min_time=min_time) for name, fn in workloads().items()}
    print(f"threads: {args.threads}; torch {torch.__version__}")
    print(f"{'workload':24} {'recgrad ms':>12} {'torch ms':>12} {'ratio':>7}")
    for name, ours_us in ours.items():
        if name in theirs:
            print(f"{name:24} {ours_us / 1e3:12.2f} {theirs[name] / 1e3:12.2f} {ours_us / theirs[name]:7.2f}")
    return ours, theirs, args.threads


def torch_workloads():
    torch.manual_seed(0)
    work = {}
    a, b = torch.randn(B * T, D), torch.randn(D, D)
    work["BM_matmul"] = lambda: a @ b
    for c in (4096, 100000):
        x = torch.randn(B, c)
        work[f"BM_softmax/{c}"] = lambda x=x: torch.softmax(x, -1)
    x = torch.randn(B, T, D, requires_grad=True)
    w, bias = torch.ones(D, requires_grad=True), torch.zeros(D, requires_grad=True)
    g = torch.randn(B, T, D)
    work["BM_layer_norm"] = lambda: torch.nn.functional.layer_norm(x, (D,), w, bias).backward(g)
    for c in (4096, 100000):
        logits = torch.randn(B, c, requires_grad=True)
        targets = torch.randint(0, c, (B,))
        work[f"BM_cross_entropy/{c}"] = (
            lambda logits=logits, targets=targets: torch.nn.functional.cross_entropy(logits, targets).backward())
    for v in (4096, 100000):
        table = torch.randn(v, D, requires_grad=True)
        ids = torch.randint(1, v, (B, T))
        work[f"BM_embedding_backward/{v}"] = (
            lambda table=table, ids=ids: torch.nn.functional.embedding(ids, table, padding_idx=0).backward(g))
    model = torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.ReLU(), torch.nn.Linear(H, D))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    xin, target = torch.randn(B, T, D), torch.randn(B, T, D)

    def mlp_step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(xin), target)
        loss.backward()
        opt.step()

    work["BM_mlp_train_step"] = mlp_step
    return work


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="build/tools/bench_ops")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()

    ours = recgrad_times_us(args.binary, args.threads)

    torch.set_num_threads(args.threads)
    theirs = {name: median_time_us(fn) for name, fn in torch_workloads().items()}

    print(f"threads: {args.threads}; torch {torch.__version__}")
    print(f"{'workload':32} {'recgrad us':>12} {'torch us':>12} {'ratio':>7}")
    for name, ours_us in ours.items():
        if name in theirs:
            print(f"{name:32} {ours_us:12.1f} {theirs[name]:12.1f} {ours_us / theirs[name]:7.2f}")


if __name__ == "__main__":
    main()
