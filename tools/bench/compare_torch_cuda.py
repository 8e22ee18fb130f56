#!/usr/bin/env python3
"""Runs recgrad's GPU micro-benchmarks and the same workloads in PyTorch eager on
the same GPU, side by side in one run, and prints per workload the time ratio
(recgrad / torch; the target is <= 1.0) and, for workloads that state their
memory traffic, the achieved bandwidth as a percentage of the device-to-device
copy bandwidth measured in the same run (the target is >= 70% for workloads
large enough to be bound by memory bandwidth).

    python3 tools/bench/compare_torch_cuda.py [--binary build-cuda/tools/bench_cuda]

Both sides are timed the same way: a warm-up call, then calls issued back to
back and the GPU waited for (cuda::synchronize / torch.cuda.synchronize) before
the clock stops; the time per call is the median over repetitions. Without a
GPU, or without a CUDA build of PyTorch, the script says so and exits 0.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

B, T, D = 256, 50, 64
ROWS = B * T  # 12800 rows of activations
SMALL_VOCAB, LARGE_VOCAB = 4096, 100000
REPETITIONS = 5
# Workloads moving at least this many bytes per call are judged against the bandwidth target;
# smaller ones are bound by launch latency and fit in the 50 MB L2 cache (their % is informative).
BANDWIDTH_MIN_BYTES = 64 << 20
BANDWIDTH_TARGET = 0.70
YARDSTICK = "copy_d2d/256MiB"


def run_recgrad(binary, min_time, name_filter):
    """Runs bench_cuda; returns ({name: (us per call, bytes per call or 0, error or None)}, note)."""
    if not os.path.exists(binary):
        sys.exit(f"{binary} not found: build it with a CUDA build and tools on "
                 f"(cmake -DRECGRAD_CUDA=ON -DRECGRAD_BUILD_TOOLS=ON ...; make bench_cuda), or pass --binary")
    command = [binary, "--benchmark_format=json", f"--benchmark_min_time={min_time}",
               f"--benchmark_repetitions={REPETITIONS}", "--benchmark_report_aggregates_only=true"]
    if name_filter:
        command.append(f"--benchmark_filter={re.escape(name_filter)}")
    result = subprocess.run(command, capture_output=True, text=True)
    if result.stdout.startswith("no CUDA device"):
        return None, result.stdout.strip()
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    ours = {}
    for bench in json.loads(result.stdout)["benchmarks"]:
        name = bench.get("run_name", bench["name"])
        if bench.get("error_occurred"):
            ours[name] = (None, 0, bench.get("error_message", "error"))
        elif bench.get("aggregate_name") == "median":
            us = bench["real_time"] * {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[bench["time_unit"]]
            ours[name] = (us, bench.get("bytes_per_call", 0), None)
    return ours, None


def median_time_us(fn, min_time, repeats=REPETITIONS):
    """Median over `repeats` samples of the time per call; a sample issues calls back to back for
    about min_time seconds and waits for the GPU before the clock stops."""
    import torch

    fn()  # warm-up: caching allocator, cuBLAS handle, kernel loading
    torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    once = max(time.perf_counter() - start, 1e-7)
    calls = max(1, int(min_time / once))
    samples = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        torch.cuda.synchronize()
        samples.append((time.perf_counter() - start) / calls * 1e6)
    samples.sort()
    return samples[len(samples) // 2]


def torch_workloads(device="cuda"):
    """{name: setup}; setup() allocates the inputs on `device` and returns the function of one call.
    Names and workloads mirror tools/bench/bench_cuda.cpp."""
    import torch
    import torch.nn.functional as F

    gpu = torch.device(device)

    def randn(*shape, grad=False):
        return torch.randn(*shape, device=gpu, requires_grad=grad)

    def randint(high, *shape):
        return torch.randint(0, high, shape, device=gpu)

    def unary(op, *shape):
        def setup():
            x = randn(*shape)
            return lambda: op(x)
        return setup

    def binary(op, *shape):
        def setup():
            a, b = randn(*shape), randn(*shape)
            return lambda: op(a, b)
        return setup

    work = {}

    def copy_d2d():
        src = torch.randn((256 << 20) // 4, device=gpu)
        dst = torch.empty_like(src)
        return lambda: dst.copy_(src)

    work[YARDSTICK] = copy_d2d

    def adam_step():
        param = randn(LARGE_VOCAB, D, grad=True)
        param.grad = randn(LARGE_VOCAB, D)
        optimizer = torch.optim.Adam([param], lr=1e-3)
        return optimizer.step

    work["adam_step/100000x64"] = adam_step

    for rows, cols in ((ROWS, D), (B, LARGE_VOCAB)):
        shape = f"{rows}x{cols}"
        work[f"add/{shape}"] = binary(torch.add, rows, cols)
        work[f"mul/{shape}"] = binary(torch.mul, rows, cols)
        work[f"gelu/{shape}"] = unary(F.gelu, rows, cols)
        work[f"dropout/{shape}"] = unary(lambda x: F.dropout(x, 0.1, training=True), rows, cols)
        work[f"sum_lastdim/{shape}"] = unary(lambda x: x.sum(-1), rows, cols)
        work[f"softmax/{shape}"] = unary(lambda x: torch.softmax(x, -1), rows, cols)
    logits_shape = f"{B}x{LARGE_VOCAB}"
    work[f"contiguous_transposed/{logits_shape}"] = unary(lambda x: x.t().contiguous(), B, LARGE_VOCAB)
    work[f"topk10/{logits_shape}"] = unary(lambda x: torch.topk(x, 10, -1), B, LARGE_VOCAB)

    for rows, classes in ((B, SMALL_VOCAB), (B, LARGE_VOCAB), (ROWS, SMALL_VOCAB)):
        def cross_entropy(rows=rows, classes=classes):
            logits, targets = randn(rows, classes, grad=True), randint(classes, rows)

            def step():
                logits.grad = None
                F.cross_entropy(logits, targets).backward()
            return step

        work[f"cross_entropy_fwd_bwd/{rows}x{classes}"] = cross_entropy

    def layer_norm():
        x, w, b, g = randn(B, T, D, grad=True), randn(D, grad=True), randn(D, grad=True), randn(B, T, D)

        def step():
            x.grad = w.grad = b.grad = None
            F.layer_norm(x, (D,), w, b).backward(g)
        return step

    work["layer_norm_fwd_bwd/256x50x64"] = layer_norm

    def embedding():
        table, ids, g = randn(LARGE_VOCAB, D, grad=True), randint(LARGE_VOCAB, B, T), randn(B, T, D)

        def step():
            table.grad = None
            F.embedding(ids, table).backward(g)
        return step

    work["embedding_fwd_bwd/100000x64"] = embedding

    def index_select():
        table, ids = randn(LARGE_VOCAB, D), randint(LARGE_VOCAB, ROWS)
        return lambda: table.index_select(0, ids)

    work["index_select/100000x64"] = index_select

    def gather():
        scores, candidates = randn(B, LARGE_VOCAB), randint(LARGE_VOCAB, B, 1000)
        return lambda: scores.gather(1, candidates)

    work[f"gather/{logits_shape}"] = gather

    for m, k, n in ((ROWS, D, D), (B, D, LARGE_VOCAB)):
        for tf32 in (False, True):
            def matmul(m=m, k=k, n=n, tf32=tf32):
                a, b = randn(m, k), randn(k, n)

                def step():
                    torch.backends.cuda.matmul.allow_tf32 = tf32
                    return a @ b
                return step

            work[f"matmul_{'tf32' if tf32 else 'f32'}/{m}x{k}x{n}"] = matmul
    return work


def run_torch(names, min_time):
    """{name: us per call or an error string} for the workloads in `names`, one at a time (inputs freed
    between workloads)."""
    import torch

    theirs = {}
    workloads = torch_workloads()
    for name in names:
        if name not in workloads:
            continue
        try:
            theirs[name] = median_time_us(workloads[name](), min_time)
        except Exception as error:  # report it in the table, keep going
            theirs[name] = f"{type(error).__name__}: {error}"
        torch.cuda.empty_cache()
    torch.backends.cuda.matmul.allow_tf32 = False
    return theirs


def print_table(ours, theirs, device_name, torch_version):
    yardstick_us, yardstick_bytes, _ = ours.get(YARDSTICK, (None, 0, None))
    yardstick = yardstick_bytes / (yardstick_us * 1e-6) if yardstick_us else None
    print(f"device: {device_name}; torch {torch_version}; median of {REPETITIONS}")
    if yardstick:
        print(f"device-to-device copy bandwidth (read + write), the 100% below: {yardstick / 1e9:.0f} GB/s")
    print(f"{'op':24} {'shape':16} {'recgrad ms':>11} {'torch ms':>10} {'ratio':>6} {'GB/s':>7} {'% copy':>7}  verdict")
    within, judged_ratio, fast_enough, judged_bandwidth = 0, 0, 0, 0
    for name, (us, nbytes, error) in ours.items():
        op, _, shape = name.partition("/")
        if error is not None:
            print(f"{op:24} {shape:16} error: {error}")
            continue
        torch_us = theirs.get(name)
        if isinstance(torch_us, str):
            print(f"{op:24} {shape:16} {us / 1e3:11.4f} torch error: {torch_us}")
            continue
        verdict = []
        ratio_text = torch_text = ""
        if torch_us is not None:
            ratio = us / torch_us
            torch_text, ratio_text = f"{torch_us / 1e3:10.4f}", f"{ratio:6.2f}"
            judged_ratio += 1
            within += ratio <= 1.0
            verdict.append("time ok" if ratio <= 1.0 else "slower than torch")
        gbs_text = percent_text = ""
        if nbytes and yardstick:
            rate = nbytes / (us * 1e-6)
            gbs_text, percent_text = f"{rate / 1e9:7.0f}", f"{100 * rate / yardstick:6.0f}%"
            if nbytes >= BANDWIDTH_MIN_BYTES and name != YARDSTICK:
                judged_bandwidth += 1
                fast_enough += rate >= BANDWIDTH_TARGET * yardstick
                verdict.append("bandwidth ok" if rate >= BANDWIDTH_TARGET * yardstick else "below 70% of copy")
        print(f"{op:24} {shape:16} {us / 1e3:11.4f} {torch_text:>10} {ratio_text:>6} {gbs_text:>7} {percent_text:>7}"
              f"  {', '.join(verdict)}")
    print(f"within 1.0x of torch: {within} of {judged_ratio}; "
          f"at >= {BANDWIDTH_TARGET:.0%} of the copy bandwidth: {fast_enough} of {judged_bandwidth} "
          f"(workloads moving >= {BANDWIDTH_MIN_BYTES >> 20} MiB per call)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="build-cuda/tools/bench_cuda")
    parser.add_argument("--min_time", type=float, default=0.2, help="seconds per repetition and workload")
    parser.add_argument("--filter", default=None, help="only workloads whose name contains this")
    args = parser.parse_args()

    try:
        import torch
    except ImportError as error:
        print(f"PyTorch is not available ({error}); nothing to compare with")
        return 0
    if not torch.cuda.is_available():
        print(f"no CUDA device for PyTorch {torch.__version__} "
              f"(built with CUDA {torch.version.cuda}); nothing to compare on")
        if os.path.exists(args.binary):  # what recgrad's side says, when built
            probe = subprocess.run([args.binary, "--benchmark_list_tests=true"], capture_output=True, text=True)
            if probe.stdout.startswith("no CUDA device"):
                print(f"bench_cuda: {probe.stdout.strip()}")
        return 0

    ours, note = run_recgrad(args.binary, args.min_time, args.filter)
    if ours is None:
        print(f"bench_cuda: {note}")
        return 0
    theirs = run_torch(list(ours), args.min_time)
    print_table(ours, theirs, torch.cuda.get_device_name(), torch.__version__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
