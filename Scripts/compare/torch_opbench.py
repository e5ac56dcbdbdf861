#!/usr/bin/env python3
"""Times PyTorch (CPU, float32, forward only, no autograd) at the shapes of grain-opbench and
prints the same JSON lines: {"op", "shape", "seconds", "median", "repeats", "bytes"?, "flops"?}.

Each op runs twice to warm up, then --repeats times; "seconds" is the best, "median" the median.
Usage: torch_opbench.py [--repeats N] [--threads 2] [--only op1,op2,...] [--list]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

BANDWIDTH_SHAPE = (4, 64, 256, 256)  # 16 Mi floats, 64 MB
MB64 = 4 * 64 * 256 * 256 * 4
SD_CONVOLUTIONS = [(320, 32), (640, 16), (1280, 8), (512, 64), (128, 256)]


def measure(fn, repeats, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[0], times[len(times) // 2]


def report(op, shape, result, repeats, **extra):
    best, median = result
    line = {"op": op, "shape": shape, "seconds": best, "median": median, "repeats": repeats}
    line.update(extra)
    print(json.dumps(line), flush=True)


def generator(seed):
    return torch.Generator().manual_seed(seed)


def randn(shape, seed):
    return torch.randn(shape, generator=generator(seed), dtype=torch.float32)


def bench_matmul(repeats):
    for n in (512, 1024, 2048):
        a, b = randn((n, n), 1), randn((n, n), 2)
        report("matmul", str(n), measure(lambda: torch.matmul(a, b), repeats), repeats, flops=2.0 * n ** 3)


def bench_conv2d(repeats):
    for channels, size in SD_CONVOLUTIONS:
        x = randn((1, channels, size, size), 1)
        w = randn((channels, channels, 3, 3), 2)
        b = randn((channels,), 3)
        flops = 2.0 * channels * channels * 9 * size * size
        report("conv2d", f"{channels}x{size}x{size}",
               measure(lambda: F.conv2d(x, w, b, padding=1), repeats, warmup=1), repeats, flops=flops)


def bench_add(repeats):
    a, b = randn(BANDWIDTH_SHAPE, 1), randn(BANDWIDTH_SHAPE, 2)
    report("add", "4x64x256x256", measure(lambda: a + b, repeats), repeats, bytes=3.0 * MB64)


def bench_mul(repeats):
    a, b = randn(BANDWIDTH_SHAPE, 1), randn(BANDWIDTH_SHAPE, 2)
    report("mul", "4x64x256x256", measure(lambda: a * b, repeats), repeats, bytes=3.0 * MB64)


def bench_gelu(repeats):
    x = randn(BANDWIDTH_SHAPE, 1)
    report("gelu", "4x64x256x256", measure(lambda: F.gelu(x), repeats), repeats, bytes=2.0 * MB64)


def bench_layer_norm(repeats):
    # Normalised over [C, H, W] with an element-wise affine of that shape (the extractor's LayerNorm).
    x = randn(BANDWIDTH_SHAPE, 1)
    w, b = randn(BANDWIDTH_SHAPE[1:], 2), randn(BANDWIDTH_SHAPE[1:], 3)
    report("layer_norm", "4x64x256x256", measure(lambda: F.layer_norm(x, BANDWIDTH_SHAPE[1:], w, b), repeats),
           repeats, bytes=2.0 * MB64 + 2.0 * MB64 / 4)


def bench_group_norm(repeats):
    x = randn(BANDWIDTH_SHAPE, 1)
    w, b = randn((BANDWIDTH_SHAPE[1],), 2), randn((BANDWIDTH_SHAPE[1],), 3)
    report("group_norm", "4x64x256x256 g32", measure(lambda: F.group_norm(x, 32, w, b), repeats),
           repeats, bytes=2.0 * MB64)


def bench_softmax(repeats):
    x = randn((4096, 4096), 1)
    report("softmax", "4096x4096 last", measure(lambda: torch.softmax(x, dim=-1), repeats), repeats, bytes=2.0 * MB64)


def bench_attention(repeats):
    for tokens in (1024, 4096):
        q, k, v = (randn((1, 8, tokens, 40), seed) for seed in (1, 2, 3))
        report("attention", f"8x{tokens}x40",
               measure(lambda: F.scaled_dot_product_attention(q, k, v), repeats, warmup=1), repeats,
               flops=4.0 * 8 * tokens * tokens * 40)


OPS = {
    "matmul": bench_matmul,
    "conv2d": bench_conv2d,
    "add": bench_add,
    "mul": bench_mul,
    "gelu": bench_gelu,
    "layer_norm": bench_layer_norm,
    "group_norm": bench_group_norm,
    "softmax": bench_softmax,
    "attention": bench_attention,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default=None, help="comma-separated ops (default: all)")
    parser.add_argument("--list", action="store_true", help="print the op names and exit")
    args = parser.parse_args()
    if args.list:
        print("\n".join(OPS))
        return
    torch.set_num_threads(args.threads)
    selected = args.only.split(",") if args.only else list(OPS)
    unknown = [name for name in selected if name not in OPS]
    if unknown:
        parser.error(f"unknown ops {unknown}; known: {list(OPS)}")
    with torch.inference_mode():
        for name in selected:
            OPS[name](args.repeats)


if __name__ == "__main__":
    main()
