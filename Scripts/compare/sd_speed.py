"""Stable Diffusion v1.4 parts on the CPU, Grain beside diffusers, side by side in one run.

    swift build -c release --product grain
    python3 Scripts/compare/sd_speed.py --folder DIR [--threads 2] [--repetitions 3] [--markdown]

DIR is a diffusers folder (unet/, vae/, text_encoder/); `python3 Scripts/reference/sd_fixtures.py
--full DIR0` writes one with random weights at DIR0/sd-v1-4-random (no download). Without
--folder both sides use random weights of the SD v1.4 configurations.

Each case runs in its own process for each side (so the peak resident memory, read with wait4,
is that case's alone): U-Net forward on [1,4,32,32] and [1,4,64,64] latents (timestep 981, a
[1,77,768] context), VAE encode (posterior mean) and decode at 256² and 512², CLIP text forward
on the empty prompt. Each process loads its part, runs it once to warm up, then reports the best
of --repetitions timed runs. Both sides use --threads threads (torch.set_num_threads;
OPENBLAS_NUM_THREADS and Grain's own two-core split), float32, no autograd.

On a shared machine the load moves times by 2× and more: --rounds R repeats every case R times,
alternating which side goes first, and reports the best time over the rounds (and the median of
the rounds' best times); the peak memory reported is the largest over the rounds.

Needs: pip install diffusers transformers accelerate; a release build of grain
(.build/release/grain, or --grain PATH).

The measurement protocol (Scripts/compare/measurement.py): waits for an idle machine before each
round, marks rounds in which other processes used > 10 % of the machine (excluded from best and
median), runs both sides without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, and prints Grain's kernel
level and OpenBLAS core and the Python side's BLAS / OpenMP libraries.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import measurement

HERE = os.path.dirname(os.path.abspath(__file__))

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CASES = [("unet", 32), ("unet", 64), ("vae-encode", 256), ("vae-encode", 512),
         ("vae-decode", 256), ("vae-decode", 512), ("clip", 77)]


def worker(args):
    """One diffusers/transformers case in this process; prints one JSON line."""
    import torch
    torch.set_num_threads(args.threads)
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel
    sys.path.insert(0, os.path.join(ROOT, "Scripts", "reference"))
    from sd_fixtures import FULL_CLIP, FULL_UNET, FULL_VAE

    g = torch.Generator().manual_seed(0)
    load_start = time.perf_counter()
    kw = {"variant": args.variant} if args.variant else {}
    if args.part == "unet":
        model = (UNet2DConditionModel.from_pretrained(args.folder, subfolder="unet", **kw) if args.folder
                 else UNet2DConditionModel(**FULL_UNET))
        sample = torch.randn(1, 4, args.size, args.size, generator=g)
        context = torch.randn(1, 77, 768, generator=g)
        shape = list(sample.shape)
        run = lambda: model(sample, 981, encoder_hidden_states=context).sample
    elif args.part in ("vae-encode", "vae-decode"):
        model = (AutoencoderKL.from_pretrained(args.folder, subfolder="vae", **kw) if args.folder
                 else AutoencoderKL(**FULL_VAE))
        if args.part == "vae-encode":
            image = torch.rand(1, 3, args.size, args.size, generator=g) * 2 - 1
            shape = list(image.shape)
            run = lambda: model.encode(image).latent_dist.mean
        else:
            latent = torch.randn(1, 4, args.size // 8, args.size // 8, generator=g)
            shape = list(latent.shape)
            run = lambda: model.decode(latent).sample
    elif args.part == "clip":
        model = (CLIPTextModel.from_pretrained(args.folder, subfolder="text_encoder", **kw) if args.folder
                 else CLIPTextModel(CLIPTextConfig(**FULL_CLIP)))
        ids = torch.tensor([[49406] + [49407] * 76])
        shape = list(ids.shape)
        run = lambda: model(input_ids=ids).last_hidden_state
    else:
        sys.exit(f"unknown part {args.part}")
    model.eval()
    load_seconds = time.perf_counter() - load_start
    times = []
    with torch.inference_mode():
        for _ in range(args.repetitions + 1):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
    print(json.dumps({"part": args.part, "input": shape, "load_seconds": load_seconds, "first_seconds": times[0],
                      "best_seconds": min(times[1:]) if args.repetitions else times[0],
                      "threads": torch.get_num_threads()}))


def measure(command, env):
    """Runs `command`, returns its JSON line and its peak resident memory in MB (wait4)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed with status {process.returncode}")
    result = json.loads(output.strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", help="a diffusers folder; random SD v1.4 weights when absent")
    parser.add_argument("--variant", help="weight variant to load (e.g. fp16)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1, help="repeat every case, alternating which side goes first")
    parser.add_argument("--grain", default=os.path.join(ROOT, ".build", "release", "grain"))
    parser.add_argument("--cases", default="all", help="comma-separated part:size list, e.g. unet:32,clip:77")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table at the end")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--part", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    measurement.protocol_arguments(parser)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    measurement.reexec_without_overrides()

    cases = CASES if args.cases == "all" else [(c.split(":")[0], int(c.split(":")[1])) for c in args.cases.split(",")]
    env = measurement.benchmark_environment(threads=args.threads)
    runtime = measurement.print_runtime(args.grain, env, python_modules=["torch", "diffusers"])
    print(json.dumps({"runtime": runtime}), flush=True)
    rows = []
    for part, size in cases:
        common = ["--part", part, "--size", str(size), "--repetitions", str(args.repetitions)]
        if args.folder:
            common += ["--folder", args.folder]
        if args.variant:
            common += ["--variant", args.variant]
        runs = {"grain": [], "diffusers": []}
        commands = {"grain": [args.grain, "benchmark-sd"] + common,
                    "diffusers": [sys.executable, __file__, "--worker", "--threads", str(args.threads)] + common}
        protocol = measurement.Protocol.from_arguments(args)
        for round_index in range(args.rounds):
            order = ["grain", "diffusers"] if round_index % 2 == 0 else ["diffusers", "grain"]
            with protocol.round() as current:
                for side in order:
                    result = measure(commands[side], env)
                    runs[side].append(result)
                    print(json.dumps({"part": part, "size": size, "round": round_index, "side": side, **result}), flush=True)
            print(json.dumps({"part": part, "size": size, "round": round_index, **current.record()}), flush=True)
        runs = {side: protocol.clean(results) for side, results in runs.items()}
        clean_rounds = protocol.summary()["protocol"]["clean_rounds"]

        def summary(results):
            times = sorted(r["best_seconds"] for r in results)
            return {"best_seconds": times[0], "median_seconds": times[len(times) // 2],
                    "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
                    "load_seconds": min(r["load_seconds"] for r in results), "input": results[0]["input"]}
        ours, theirs = summary(runs["grain"]), summary(runs["diffusers"])
        rows.append((part, theirs, ours, clean_rounds, max(r.foreign_load for r in protocol.rounds)))
        print(json.dumps({"part": part, "input": ours["input"], "diffusers": theirs, "grain": ours, **protocol.summary()}),
              flush=True)

    if args.markdown:
        print()
        grain_runtime = runtime.get("grain", {})
        print(f"Grain kernels {grain_runtime.get('kernels')}, OpenBLAS core {grain_runtime.get('openblas_core')}; "
              f"PyTorch {runtime.get('python')}")
        print()
        print("| part | input | diffusers best (s) | Grain best (s) | Grain / diffusers, best | "
              "Grain / diffusers, median | diffusers peak (MB) | Grain peak (MB) | clean rounds | max other load |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for part, theirs, ours, clean, load in rows:
            print(f"| {part} | {ours['input']} | {theirs['best_seconds']:.2f} | {ours['best_seconds']:.2f} | "
                  f"{ours['best_seconds'] / theirs['best_seconds']:.2f}× | "
                  f"{ours['median_seconds'] / theirs['median_seconds']:.2f}× | {theirs['peak_rss_mb']:.0f} | "
                  f"{ours['peak_rss_mb']:.0f} | {clean}/{args.rounds} | {load:.0%} |")


if __name__ == "__main__":
    main()
