#!/usr/bin/env python3
"""Grain against PyTorch, side by side, in one run.

Builds Benchmarks/'s grain-opbench in release, then alternates, for --rounds rounds, a run of
grain-opbench and a run of torch_opbench.py (PyTorch CPU, float32, forward only, 2 threads).
Each run warms every op up and times it --repeats times. Per op and shape the table shows the
best time over all rounds ("best-of") and the median of the rounds' medians, and the ratios:

  matmul      Grain GFLOP/s against raw cblas_sgemm in the same Swift process (bar: ≥ 0.95×)
              and Grain time / PyTorch time
  conv2d      Grain time / PyTorch time (bar: ≤ 1.3, goal ≤ 1.0)
  memory ops  GB/s (bytes that must move: inputs read + output written) against a 64 MB memcpy
              in the same Swift process (bar: ≥ 50 % of copy bandwidth), and Grain / PyTorch time

Usage: Scripts/compare/compare.py [--rounds 3] [--repeats 10] [--only op1,op2] [--skip-build]
                                  [--hugepages] [--target-cpu NAME] [--json results.jsonl]

--hugepages runs both sides with GLIBC_TUNABLES=glibc.malloc.hugetlb=1: glibc then asks for
transparent huge pages on large allocations, which makes the first touch of a fresh 64 MB output
several times cheaper on machines where 4 KB page faults are slow (VMs in particular).
--target-cpu NAME builds Grain with -Xswiftc -target-cpu NAME (e.g. znver3: AVX2 and FMA) in its
own build folder; the default build, like any SwiftPM build without flags, targets baseline
x86-64 (SSE2), while PyTorch picks AVX2/AVX-512 kernels at run time.
GRAIN_KERNELS=portable (or avx2) in the environment makes Grain use its Swift SIMD kernels (or
the AVX2 ones) instead of the widest C kernels the CPU supports; the table's header names it.
Grain runs OpenBLAS single-threaded and splits large products over its own workers (the raw
cblas_sgemm bar runs with OpenBLAS's own threads, as many as Grain's workers).

The measurement protocol (Scripts/compare/measurement.py): waits for an idle machine before each
round, marks rounds in which other processes used > 10 % of the machine (their records are left
out of best-of and medians), runs both sides without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, and
prints Grain's kernel level and OpenBLAS core and PyTorch's BLAS / OpenMP libraries.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import measurement

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BENCHMARKS = ROOT / "Benchmarks"

MATMUL_BAR = 0.95      # Grain GFLOP/s ≥ 0.95 × raw cblas_sgemm
CONV_BAR = 1.3         # Grain time ≤ 1.3 × PyTorch
BANDWIDTH_BAR = 0.5    # ≥ 50 % of memcpy bandwidth
MEMORY_OPS = ["add", "mul", "gelu", "layer_norm", "group_norm", "softmax"]


def child_environment(args):
    """The environment of both benchmark processes (no OpenBLAS overrides)."""
    env = measurement.benchmark_environment()
    if args.hugepages:
        tunables = [t for t in env.get("GLIBC_TUNABLES", "").split(":") if t]
        env["GLIBC_TUNABLES"] = ":".join(tunables + ["glibc.malloc.hugetlb=1"])
    return env


def run_lines(command, env=None):
    """Runs `command` and returns its stdout JSON lines."""
    result = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=env)
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def build_arguments(args):
    """`swift build` arguments: release, and with --target-cpu its own build folder and flags."""
    arguments = ["-c", "release"]
    if args.target_cpu:
        arguments += ["--scratch-path", str(BENCHMARKS / f".build-cpu-{args.target_cpu}"),
                      "-Xswiftc", "-target-cpu", "-Xswiftc", args.target_cpu]
    return arguments


def build_grain(args):
    print("building grain-opbench (release)…", file=sys.stderr, flush=True)
    subprocess.run(["swift", "build", *build_arguments(args), "--product", "grain-opbench"],
                   cwd=BENCHMARKS, check=True, stdout=subprocess.DEVNULL)
    return grain_binary(args)


def grain_binary(args):
    path = subprocess.run(["swift", "build", *build_arguments(args), "--show-bin-path"], cwd=BENCHMARKS,
                          check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    return Path(path) / "grain-opbench"


def collect(args, binary, protocol):
    """Per (implementation, op, shape): the records of every round.

    Each round runs every op once in Grain and once in PyTorch, op by op and alternating which
    side goes first, so that both sides of one comparison run minutes apart at most: the machine
    is shared, and its load drifts.
    """
    grain_ops = subprocess.run([binary, "--list"], check=True, stdout=subprocess.PIPE, text=True).stdout.split()
    torch_ops = subprocess.run([sys.executable, str(HERE / "torch_opbench.py"), "--list"], check=True,
                               stdout=subprocess.PIPE, text=True).stdout.split()
    wanted = args.only.split(",") if args.only else [op for op in grain_ops if op != "memcpy"]
    unknown = [op for op in wanted if op not in grain_ops and op not in torch_ops]
    if unknown:
        sys.exit(f"compare.py: unknown ops {unknown}; Grain has {grain_ops}, PyTorch has {torch_ops}")
    env = child_environment(args)
    records = {}

    def run_grain(op):
        for line in run_lines([str(binary), "--repeats", str(args.repeats), "--only", op], env=env):
            records.setdefault(("grain", line["op"], line["shape"]), []).append(dict(line, round=round_index))

    def run_torch(op):
        command = [sys.executable, str(HERE / "torch_opbench.py"), "--repeats", str(args.repeats), "--threads", "2",
                   "--only", op]
        for line in run_lines(command, env=env):
            records.setdefault(("torch", line["op"], line["shape"]), []).append(dict(line, round=round_index))

    for round_index in range(args.rounds):
        print(f"round {round_index + 1}/{args.rounds}", file=sys.stderr, flush=True)
        with protocol.round() as current:
            # The copy baseline every round: the bandwidth ratios need it.
            run_grain("memcpy")
            for op in wanted:
                sides = [(run_grain, op in grain_ops), (run_torch, op in torch_ops)]
                if round_index % 2 == 1:
                    sides.reverse()
                for run, available in sides:
                    if available:
                        run(op)
        print(f"round {round_index + 1}: {current.describe()}", file=sys.stderr, flush=True)
    # Records of loaded rounds are left out (all kept when every round was loaded).
    for key, lines in records.items():
        clean = [line for line in lines if not protocol.rounds[line["round"]].loaded]
        records[key] = clean or lines
    return records


def summary(records, key):
    """(best seconds, median of the rounds' medians, first record) or None."""
    lines = records.get(key)
    if not lines:
        return None
    return (min(line["seconds"] for line in lines), statistics.median(line["median"] for line in lines), lines[0])


def fmt_time(seconds):
    if seconds is None:
        return "—"
    return f"{seconds * 1e3:.2f} ms" if seconds < 10 else f"{seconds:.1f} s"


def fmt_ratio(value, digits=2):
    return "—" if value is None else f"{value:.{digits}f}"


def verdict(ok):
    return "—" if ok is None else ("met" if ok else "**missed**")


def shapes_of(records, implementation, op):
    seen = []
    for (impl, o, shape) in records:
        if impl == implementation and o == op and shape not in seen:
            seen.append(shape)
    return seen


def table(records):
    out = []
    # Matmul against raw cblas and PyTorch.
    out.append("### matmul (square n×n float32)\n")
    out.append("| n | Grain best | Grain GFLOP/s | cblas_sgemm GFLOP/s | Grain / cblas (bar ≥ 0.95) | "
               "PyTorch best | PyTorch GFLOP/s | Grain / PyTorch time | median Grain / cblas |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for shape in shapes_of(records, "grain", "matmul") or shapes_of(records, "torch", "matmul"):
        grain = summary(records, ("grain", "matmul", shape))
        blas = summary(records, ("grain", "cblas_sgemm", shape))
        torch = summary(records, ("torch", "matmul", shape))
        flops = (grain or torch)[2]["flops"]
        grain_rate = flops / grain[0] / 1e9 if grain else None
        blas_rate = flops / blas[0] / 1e9 if blas else None
        torch_rate = flops / torch[0] / 1e9 if torch else None
        to_blas = grain_rate / blas_rate if grain and blas else None
        median_to_blas = blas[1] / grain[1] if grain and blas else None
        ok = to_blas >= MATMUL_BAR if to_blas is not None else None
        out.append(f"| {shape} | {fmt_time(grain and grain[0])} | {fmt_ratio(grain_rate, 1)} | {fmt_ratio(blas_rate, 1)} | "
                   f"{fmt_ratio(to_blas)} {verdict(ok)} | {fmt_time(torch and torch[0])} | {fmt_ratio(torch_rate, 1)} | "
                   f"{fmt_ratio(grain[0] / torch[0] if grain and torch else None)} | {fmt_ratio(median_to_blas)} |")
    # Convolutions against PyTorch.
    out.append("\n### conv2d 3×3, padding 1, batch 1, with bias (C→C at H×W)\n")
    out.append("| C×H×W | Grain best | Grain GFLOP/s | PyTorch best | PyTorch GFLOP/s | Grain / PyTorch time "
               "(bar ≤ 1.3, goal ≤ 1.0) | median ratio |")
    out.append("|---|---|---|---|---|---|---|")
    for shape in shapes_of(records, "torch", "conv2d") or shapes_of(records, "grain", "conv2d"):
        grain = summary(records, ("grain", "conv2d", shape))
        torch = summary(records, ("torch", "conv2d", shape))
        flops = (grain or torch)[2]["flops"]
        ratio = grain[0] / torch[0] if grain and torch else None
        median_ratio = grain[1] / torch[1] if grain and torch else None
        ok = ratio <= CONV_BAR if ratio is not None else None
        out.append(f"| {shape} | {fmt_time(grain and grain[0])} | {fmt_ratio(grain and flops / grain[0] / 1e9, 1)} | "
                   f"{fmt_time(torch and torch[0])} | {fmt_ratio(torch and flops / torch[0] / 1e9, 1)} | "
                   f"{fmt_ratio(ratio)} {verdict(ok)} | {fmt_ratio(median_ratio)} |")
    # Attention against PyTorch.
    attention_shapes = shapes_of(records, "torch", "attention") or shapes_of(records, "grain", "attention")
    if attention_shapes:
        out.append("\n### scaled dot-product attention [1, heads, L = S, E] (no bar)\n")
        out.append("| heads×L×E | Grain best | Grain GFLOP/s | PyTorch best | PyTorch GFLOP/s | Grain / PyTorch time | "
                   "median ratio |")
        out.append("|---|---|---|---|---|---|---|")
        for shape in attention_shapes:
            grain = summary(records, ("grain", "attention", shape))
            torch = summary(records, ("torch", "attention", shape))
            flops = (grain or torch)[2]["flops"]
            out.append(f"| {shape} | {fmt_time(grain and grain[0])} | {fmt_ratio(grain and flops / grain[0] / 1e9, 1)} | "
                       f"{fmt_time(torch and torch[0])} | {fmt_ratio(torch and flops / torch[0] / 1e9, 1)} | "
                       f"{fmt_ratio(grain[0] / torch[0] if grain and torch else None)} | "
                       f"{fmt_ratio(grain[1] / torch[1] if grain and torch else None)} |")
    # Memory-bound ops against memcpy and PyTorch.
    copy = summary(records, ("grain", "memcpy", "64MB"))
    copy_rate = copy[2]["bytes"] / copy[0] / 1e9 if copy else None
    out.append(f"\n### memory-bound ops on 64 MB (16 Mi floats); memcpy 64 MB: {fmt_ratio(copy_rate, 1)} GB/s "
               f"(read + write, best-of)\n")
    out.append("| op | shape | Grain best | Grain GB/s | % of copy (bar ≥ 50 %) | PyTorch best | PyTorch GB/s | "
               "Grain / PyTorch time | median ratio |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for op in MEMORY_OPS:
        for shape in shapes_of(records, "torch", op) or shapes_of(records, "grain", op):
            grain = summary(records, ("grain", op, shape))
            torch = summary(records, ("torch", op, shape))
            moved = (grain or torch)[2]["bytes"]
            grain_rate = moved / grain[0] / 1e9 if grain else None
            torch_rate = moved / torch[0] / 1e9 if torch else None
            share = grain_rate / copy_rate if grain and copy_rate else None
            ok = share >= BANDWIDTH_BAR if share is not None else None
            out.append(f"| {op} | {shape} | {fmt_time(grain and grain[0])} | {fmt_ratio(grain_rate, 1)} | "
                       f"{'—' if share is None else f'{share * 100:.0f} %'} {verdict(ok)} | "
                       f"{fmt_time(torch and torch[0])} | {fmt_ratio(torch_rate, 1)} | "
                       f"{fmt_ratio(grain[0] / torch[0] if grain and torch else None)} | "
                       f"{fmt_ratio(grain[1] / torch[1] if grain and torch else None)} |")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="alternating Grain/PyTorch runs (default 3)")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per op and round (default 10)")
    parser.add_argument("--only", default=None, help="comma-separated ops (matmul, conv2d, add, mul, gelu, "
                                                     "layer_norm, group_norm, softmax, attention)")
    parser.add_argument("--skip-build", action="store_true", help="use the existing release build")
    parser.add_argument("--target-cpu", default=None,
                        help="build Grain for this CPU (-Xswiftc -target-cpu NAME, e.g. znver3), in "
                             "Benchmarks/.build-cpu-NAME; the default build targets baseline x86-64 (SSE2)")
    parser.add_argument("--hugepages", action="store_true",
                        help="run both sides with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (transparent huge pages)")
    parser.add_argument("--json", default=None, help="also write every raw record to this JSON-lines file")
    measurement.protocol_arguments(parser)
    args = parser.parse_args()
    measurement.reexec_without_overrides()
    threads = os.environ.get("OPENBLAS_NUM_THREADS")
    if threads not in (None, "", "2"):
        print(f"warning: OPENBLAS_NUM_THREADS={threads}; the comparison assumes 2 threads", file=sys.stderr)
    binary = grain_binary(args) if args.skip_build else build_grain(args)
    grain_cli = str(ROOT / ".build" / "release" / "grain")
    runtime = measurement.print_runtime(grain_cli if os.path.exists(grain_cli) else None, child_environment(args),
                                        python_modules=["torch"])
    protocol = measurement.Protocol.from_arguments(args)
    load_before = os.getloadavg()
    records = collect(args, binary, protocol)
    load_after = os.getloadavg()
    if args.json:
        with open(args.json, "w") as handle:
            for (impl, _, _), lines in sorted(records.items()):
                for line in lines:
                    handle.write(json.dumps({"implementation": impl, **line}) + "\n")
    print(f"{args.rounds} rounds × {args.repeats} repeats; best-of over all runs, median of the rounds' medians; "
          f"PyTorch {torch_version()} with 2 threads; "
          f"{'GLIBC_TUNABLES=' + child_environment(args)['GLIBC_TUNABLES'] if args.hugepages else 'default glibc malloc'}; "
          f"Grain built for {args.target_cpu or 'baseline x86-64'}"
          f"{', GRAIN_KERNELS=' + os.environ['GRAIN_KERNELS'] if os.environ.get('GRAIN_KERNELS') else ''}; load average (1 min) "
          f"{load_before[0]:.1f} before, {load_after[0]:.1f} after on {os.cpu_count()} CPUs")
    grain_runtime = runtime.get("grain", {})
    rounds = protocol.summary()["protocol"]
    loads = ", ".join(f"{r['foreign_load']:.0%}" for r in rounds["rounds"])
    print(f"Grain kernels {grain_runtime.get('kernels', '?')}, OpenBLAS core {grain_runtime.get('openblas_core', '?')}; "
          f"PyTorch BLAS {runtime.get('python', '?')}; clean rounds {rounds['clean_rounds']}/{args.rounds} "
          f"(other load per round: {loads})")
    print(table(records))


def torch_version():
    try:
        return subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"], check=True,
                              stdout=subprocess.PIPE, text=True).stdout.strip()
    except (subprocess.CalledProcessError, OSError):
        return "?"


if __name__ == "__main__":
    main()
