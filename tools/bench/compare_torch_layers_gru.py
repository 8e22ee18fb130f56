#!/usr/bin/env python3
"""Runs recgrad's GRU benchmarks (tools/bench/bench_layers_gru.cpp, linked into bench_ops) and the same
workloads with torch.nn.GRU on the CPU, side by side on this machine, and prints time ratios
(recgrad / torch; below 1.0 means recgrad is faster).

    /usr/bin/python3 tools/bench/compare_torch_layers_gru.py [--binary build/tools/bench_ops]

Shapes: batch 256, sequence 50, input 64, hidden 64, batch_first. The masked workload gives recgrad a
left-padding mask and torch the same lengths through pack_padded_sequence (torch then skips the padded
steps; recgrad runs them as no-op steps).
"""
import argparse
import json
import os
import subprocess
import time

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


B, T, IN, H = 256, 50, 64, 64


def median_times_us(fn, min_time=1.0, repeats=5):
    """(wall, cpu): medians over `repeats` runs of the mean wall-clock and process CPU time per call.
    CPU time (all threads of the process) is the steadier yardstick on a machine shared with other jobs."""
    fn()  # warm-up
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    iters = max(1, int(min_time / repeats / once))
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(iters):
            fn()
        walls.append((time.perf_counter() - wall) / iters * 1e6)
        cpus.append((time.process_time() - cpu) / iters * 1e6)
    return sorted(walls)[len(walls) // 2], sorted(cpus)[len(cpus) // 2]


def torch_workloads():
    torch.manual_seed(0)
    work = {}
    g = torch.randn(B, T, H)
    for layers in (1, 2):
        gru = torch.nn.GRU(IN, H, num_layers=layers, batch_first=True)
        x = torch.randn(B, T, IN, requires_grad=True)

        def train(gru=gru, x=x):
            gru.zero_grad(set_to_none=True)
            x.grad = None
            out, _ = gru(x)
            out.backward(g)

        work[f"BM_gru_train/{layers}"] = train

    gru = torch.nn.GRU(IN, H, batch_first=True)
    x = torch.randn(B, T, IN, requires_grad=True)
    lengths = torch.tensor([1 + b % T for b in range(B)])

    def train_masked():
        gru.zero_grad(set_to_none=True)
        x.grad = None
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = gru(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
        out.backward(g)

    work["BM_gru_train_masked"] = train_masked
    x_plain = torch.randn(B, T, IN)

    def inference():
        with torch.no_grad():
            return gru(x_plain)[0]

    work["BM_gru_inference"] = inference
    return work


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="build/tools/bench_ops")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()

    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    out = subprocess.run([args.binary, "--benchmark_format=json", "--benchmark_min_time=1",
                          "--benchmark_repetitions=5", "--benchmark_report_aggregates_only=true",
                          "--benchmark_filter=BM_gru"], env=env, check=True, capture_output=True, text=True).stdout
    ours = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            scale = {"us": 1, "ms": 1e3, "ns": 1e-3}[b["time_unit"]]
            ours[b["run_name"]] = (b["real_time"] * scale, b["cpu_time"] * scale)

    torch.set_num_threads(args.threads)
    theirs = {name: median_times_us(fn) for name, fn in torch_workloads().items()}

    print(f"threads: {args.threads}; torch {torch.__version__}; B={B} T={T} in={IN} H={H}; medians of 5")
    print(f"{'workload':24} {'recgrad wall/cpu us':>22} {'torch wall/cpu us':>22} {'ratio wall':>10} {'ratio cpu':>9}")
    for name, (wall, cpu) in ours.items():
        if name in theirs:
            t_wall, t_cpu = theirs[name]
            print(f"{name:24} {wall:10.0f} /{cpu:10.0f} {t_wall:10.0f} /{t_cpu:10.0f} {wall / t_wall:10.2f} "
                  f"{cpu / t_cpu:9.2f}")


if __name__ == "__main__":
    main()
