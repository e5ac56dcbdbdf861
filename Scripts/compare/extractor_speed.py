#!/usr/bin/env python3
"""Extractor forward speed: Grain (`grain benchmark`) against the PyTorch reference, side by side.

Each round runs both programs once, in alternating order (Grain first in odd rounds), on the same
number of random patches (1,024 = one 512x512 image) with 2 threads; each program warms up, then
reports the best of --repetitions forward passes. The peak resident memory of each process comes
from /usr/bin/time (the whole process: weights, inputs, intermediates, and for PyTorch its
libraries). Printed: per-round times, best-of and median over the clean rounds, patches/s, the
ratio PyTorch time / Grain time (> 1: Grain faster), peak memory, and each round's load.

The measurement protocol (Scripts/compare/measurement.py): waits for an idle machine before each
round, marks rounds in which other processes used > 10 % of the machine (excluded from best and
median), runs both sides without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, and prints Grain's kernel
level and OpenBLAS core and PyTorch's BLAS / OpenMP libraries.

    swift build -c release --product grain
    python3 Scripts/compare/extractor_speed.py [--patches 1024 --rounds 5 --repetitions 5]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

import measurement

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared"))


def timed(command, environment):
    """Runs `command` under /usr/bin/time -v; returns its JSON output and peak RSS in MB."""
    completed = subprocess.run(["/usr/bin/time", "-v"] + command, capture_output=True, text=True, env=environment)
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{completed.stderr}")
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", completed.stderr).group(1)) / 1024
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    return result, peak


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patches", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repetitions", type=int, default=5, help="Grain's timed passes per run (PyTorch's script runs 5)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--grain", default=os.path.join(ROOT, ".build/release/grain"))
    parser.add_argument("--weights", default=os.path.join(SHARED, "weights/beyond-generation/basic.safetensors"))
    measurement.protocol_arguments(parser)
    args = parser.parse_args()
    measurement.reexec_without_overrides()

    environment = measurement.benchmark_environment(threads=args.threads)
    runtime = measurement.print_runtime(args.grain, environment, python_modules=["torch"])
    protocol = measurement.Protocol.from_arguments(args)
    grain_command = [args.grain, "benchmark", "--patches", str(args.patches), "--repetitions", str(args.repetitions),
                     "--weights", args.weights]
    torch_command = [sys.executable, os.path.join(ROOT, "Scripts/reference/extractor.py"), "--bench", str(args.patches),
                     "--threads", str(args.threads)]
    grain, torch, grain_memory, torch_memory, loads = [], [], [], [], []
    for round_index in range(args.rounds):
        order = ("grain", "torch") if round_index % 2 == 0 else ("torch", "grain")
        with protocol.round() as current:
            for side in order:
                if side == "grain":
                    result, peak = timed(grain_command, environment)
                    grain.append(result["seconds"]); grain_memory.append(peak)
                else:
                    result, peak = timed(torch_command, environment)
                    torch.append(result["seconds"]); torch_memory.append(peak)
        loads.append(os.getloadavg()[0])
        print(f"round {round_index + 1}: grain {grain[-1] * 1e3:.0f} ms, pytorch {torch[-1] * 1e3:.0f} ms, "
              f"ratio {torch[-1] / grain[-1]:.2f} (load average {loads[-1]:.2f}; {current.describe()})", file=sys.stderr)
    all_grain, all_torch = grain, torch
    grain, torch = protocol.clean(all_grain), protocol.clean(all_torch)

    summary = {
        "patches": args.patches, "threads": args.threads, "rounds": args.rounds,
        "grain_seconds_best": min(grain), "grain_seconds_median": statistics.median(grain),
        "pytorch_seconds_best": min(torch), "pytorch_seconds_median": statistics.median(torch),
        "grain_patches_per_second_best": args.patches / min(grain),
        "pytorch_patches_per_second_best": args.patches / min(torch),
        "speedup_best": min(torch) / min(grain),
        "speedup_median": statistics.median(torch) / statistics.median(grain),
        "speedup_median_of_rounds": statistics.median(t / g for t, g in zip(torch, grain)),
        "grain_peak_rss_mb": max(grain_memory), "pytorch_peak_rss_mb": max(torch_memory),
        "load_average_during_rounds": [min(loads), max(loads)],
        "grain_seconds_all_rounds": all_grain, "pytorch_seconds_all_rounds": all_torch,
        "runtime": runtime,
    }
    summary.update(protocol.summary())
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
