#!/usr/bin/env python3
"""Pretext training throughput: Grain (`grain benchmark-train`) against PyTorch, side by side.

Both sides train the same network on the same kind of random data: the authors' low-level feature
extractor (Scripts/reference/extractor.py, PyTorch's default initialisation, the SRM filters
frozen) with an 11-class head and a 1-value regression head on its 528-d feature; loss
cross-entropy + L1 on the regression target (unweighted sum); Adam, learning rate 1e-5. Each
step is forward, loss, backward and the Adam update on a batch of random crops
(--batch-size images of --crop-size², i.e. (crop/16)² patches each). Each side warms up for 2
steps, then times --steps steps.

Each round runs both programs once, in alternating order (Grain first in odd rounds), with 2
threads. Printed: per-round times, best and median over rounds, patches/s, the ratio
PyTorch time / Grain time (> 1: Grain faster), and the load average.

    swift build -c release --product grain
    python3 Scripts/compare/train_speed.py [--batch-size 8 --crop-size 64 --steps 20 --rounds 5]
    python3 Scripts/compare/train_speed.py --torch-only   # the PyTorch side once (JSON)

The measurement protocol (Scripts/compare/measurement.py): waits for an idle machine before each
round, marks rounds in which other processes used > 10 % of the machine (excluded from best and
median), runs both sides without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, and prints Grain's kernel
level and OpenBLAS core and the Python side's BLAS / OpenMP libraries.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import measurement

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def torch_side(batch_size, crop_size, steps, warmup, threads):
    """Times `steps` training steps in this process; returns the JSON summary."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    sys.path.insert(0, os.path.join(ROOT, "Scripts", "reference"))
    from extractor import LowLevelFeatureExtractor

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    extractor = LowLevelFeatureExtractor().train()
    classifier, regressor = nn.Linear(528, 11), nn.Linear(528, 1)
    parameters = [p for m in (extractor, classifier, regressor) for p in m.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(parameters, lr=1e-5)
    patches = (crop_size // 16) ** 2
    generator = torch.Generator().manual_seed(0)
    batches = [(torch.rand(batch_size, patches, 3, 16, 16, generator=generator),
                torch.randint(0, 11, (batch_size,), generator=generator),
                torch.randint(0, 1000, (batch_size,), generator=generator).float() / 5000)
               for _ in range(warmup + steps)]

    def step(tokens, labels, targets):
        features = extractor(tokens)
        loss = F.cross_entropy(classifier(features), labels) + F.l1_loss(regressor(features).reshape(-1), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    for batch in batches[:warmup]:
        step(*batch)
    start = time.perf_counter()
    for batch in batches[warmup:]:
        loss = step(*batch)
    seconds = time.perf_counter() - start
    images_per_second = steps * batch_size / seconds
    return {"batch_size": batch_size, "crop_size": crop_size, "steps": steps, "seconds": seconds,
            "seconds_per_step": seconds / steps, "images_per_second": images_per_second,
            "patches_per_second": images_per_second * patches, "last_loss": loss}


def run(command, environment):
    completed = subprocess.run(command, capture_output=True, text=True, env=environment)
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crop-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--grain", default=os.path.join(ROOT, ".build/release/grain"))
    parser.add_argument("--torch-only", action="store_true", help="run the PyTorch side in this process and print its JSON")
    measurement.protocol_arguments(parser)
    args = parser.parse_args()

    if args.torch_only:
        print(json.dumps(torch_side(args.batch_size, args.crop_size, args.steps, args.warmup, args.threads)))
        return
    measurement.reexec_without_overrides()
    environment = measurement.benchmark_environment(threads=args.threads)
    runtime = measurement.print_runtime(args.grain, environment, python_modules=["torch"])
    protocol = measurement.Protocol.from_arguments(args)
    shape = ["--batch-size", str(args.batch_size), "--crop-size", str(args.crop_size), "--steps", str(args.steps),
             "--warmup", str(args.warmup)]
    grain_command = [args.grain, "benchmark-train"] + shape
    torch_command = [sys.executable, os.path.abspath(__file__), "--torch-only", "--threads", str(args.threads)] + shape
    grain, torch, loads = [], [], []
    for round_index in range(args.rounds):
        order = ("grain", "torch") if round_index % 2 == 0 else ("torch", "grain")
        with protocol.round() as current:
            for side in order:
                if side == "grain":
                    grain.append(run(grain_command, environment)["seconds"])
                else:
                    torch.append(run(torch_command, environment)["seconds"])
        loads.append(os.getloadavg()[0])
        print(f"round {round_index + 1}: grain {grain[-1]:.2f} s, pytorch {torch[-1]:.2f} s, "
              f"ratio {torch[-1] / grain[-1]:.2f} (load average {loads[-1]:.2f}; {current.describe()})", file=sys.stderr)
    all_rounds = {"grain_seconds": grain, "pytorch_seconds": torch}
    grain, torch = protocol.clean(grain), protocol.clean(torch)

    patches = args.steps * args.batch_size * (args.crop_size // 16) ** 2
    summary = {
        "batch_size": args.batch_size, "crop_size": args.crop_size, "steps": args.steps, "threads": args.threads,
        "rounds": args.rounds,
        "grain_seconds_best": min(grain), "grain_seconds_median": statistics.median(grain),
        "pytorch_seconds_best": min(torch), "pytorch_seconds_median": statistics.median(torch),
        "grain_patches_per_second_best": patches / min(grain),
        "pytorch_patches_per_second_best": patches / min(torch),
        "speedup_best": min(torch) / min(grain),
        "speedup_median": statistics.median(torch) / statistics.median(grain),
        "speedup_median_of_rounds": statistics.median(t / g for t, g in zip(torch, grain)),
        "load_average_during_rounds": [min(loads), max(loads)],
        "all_rounds": all_rounds, "runtime": runtime,
    }
    summary.update(protocol.summary())
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
