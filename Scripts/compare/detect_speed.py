#!/usr/bin/env python3
"""Detection throughput: `grain detect` against the same pipeline in PyTorch + Pillow + scikit-learn.

1. Writes --images deterministic 512x512 PNGs (centre crops of the real photos in
   ../shared/data/dev/real, resized with Pillow's bicubic filter; mirrored copies when more are
   asked for than there are photos) into a temporary folder.
2. Fits a small detector once with `grain fit` on random 64x64 crops of those PNGs (6 full-
   covariance components, regularisation 1e-2 since there are few samples — the scores are only
   for timing and for checking that both pipelines agree).
3. Each round (alternating which side goes first) times, wall clock:
   - Grain: `grain detect --json --detector D FOLDER` on all images and on one image; the
     steady-state rate is (images - 1) / (T(all) - T(one)), which removes process start-up, the
     weight and detector loading and the first image's warm-up; the whole-process rate is also
     reported.
   - PyTorch: a worker process that loads the same extractor weights (from the detector file) and
     the same mixture (weights, means, precision Cholesky factors set on a scikit-learn
     GaussianMixture), then for every file: Pillow decode -> RGB -> centre crop to a multiple of 16
     -> [0,1] -> CLIP normalisation -> 16x16 patches in raster order -> the reference extractor
     (Scripts/reference/extractor.py) -> GaussianMixture.score_samples -> compare with the
     threshold. torch.set_num_threads(2). The steady-state rate times the loop over files after a
     warm-up image; the whole-process rate includes Python start-up and imports.
4. Prints images/s for both, the ratios, the largest relative difference between the two sides'
   log-likelihoods, whether the two-way verdicts (log-likelihood at or above the threshold) agree
   (a score within 1e-5 of the threshold, a calibration photo's own, counts as a tie), and how
   many of Grain's verdicts are "uncertain" (a verdict the reference has no notion of).

    swift build -c release --product grain
    python3 Scripts/compare/detect_speed.py [--images 32 --rounds 3]

The measurement protocol (Scripts/compare/measurement.py): waits for an idle machine before each
round, marks rounds in which other processes used > 10 % of the machine (excluded from best and
median), runs both sides without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, and prints Grain's kernel
level and OpenBLAS core and the Python side's BLAS / OpenMP libraries.
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import measurement

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared"))
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def make_images(folder, count, size=512):
    from PIL import Image, ImageOps
    sources = sorted(glob.glob(os.path.join(SHARED, "data/dev/real/*")))
    paths = []
    for index in range(count):
        image = Image.open(sources[index % len(sources)]).convert("RGB")
        if (index // len(sources)) % 2 == 1:
            image = ImageOps.mirror(image)
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side)).resize((size, size), Image.BICUBIC)
        path = os.path.join(folder, f"image{index:04d}.png")
        image.save(path)
        paths.append(path)
    return paths


def worker(detector_path, files, threads):
    """The PyTorch + Pillow + scikit-learn pipeline; prints JSON timings and scores."""
    started = time.perf_counter()
    import numpy as np
    import torch
    from PIL import Image
    from safetensors import safe_open
    from sklearn.mixture import GaussianMixture
    sys.path.insert(0, os.path.join(ROOT, "Scripts/reference"))
    from extractor import LowLevelFeatureExtractor

    torch.set_num_threads(threads)
    with safe_open(detector_path, framework="np") as file:
        metadata = json.loads(file.metadata()["grain.detector"])
        prefix = "member0.extractor."
        state = {key[len(prefix):]: torch.from_numpy(file.get_tensor(key)) for key in file.keys() if key.startswith(prefix)}
        weights = file.get_tensor("member0.mixture.weights")
        means = file.get_tensor("member0.mixture.means")
        factors = file.get_tensor("member0.mixture.precisions_cholesky")
    model = LowLevelFeatureExtractor()
    model.load_state_dict(state, strict=True)
    model.eval()
    member = metadata["members"][0]
    threshold = member["threshold"]
    mixture = GaussianMixture(n_components=len(weights), covariance_type="full")
    mixture.weights_, mixture.means_, mixture.precisions_cholesky_ = weights, means, factors
    mean = torch.tensor(CLIP_MEAN).reshape(3, 1, 1)
    std = torch.tensor(CLIP_STD).reshape(3, 1, 1)

    def judge(path):
        image = Image.open(path).convert("RGB")
        pixels = torch.from_numpy(np.asarray(image)).permute(2, 0, 1).float() / 255  # [3, H, W]
        h, w = (pixels.shape[1] // 16) * 16, (pixels.shape[2] // 16) * 16
        top, left = (pixels.shape[1] - h) // 2, (pixels.shape[2] - w) // 2
        pixels = (pixels[:, top:top + h, left:left + w] - mean) / std
        patches = pixels.reshape(3, h // 16, 16, w // 16, 16).permute(1, 3, 0, 2, 4).reshape(1, -1, 3, 16, 16)
        with torch.no_grad():
            feature = model(patches[:, :19200]).double().numpy()
        score = float(mixture.score_samples(feature)[0])
        return score, "real" if score >= threshold else "generated"

    judge(files[0])  # warm-up
    loaded = time.perf_counter()
    results = [judge(path) for path in files]
    finished = time.perf_counter()
    print(json.dumps({"setup_seconds": loaded - started, "loop_seconds": finished - loaded,
                      "scores": [r[0] for r in results], "verdicts": [r[1] for r in results]}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--grain", default=os.path.join(ROOT, ".build/release/grain"))
    parser.add_argument("--weights", default=os.path.join(SHARED, "weights/beyond-generation/basic.safetensors"))
    parser.add_argument("--keep", help="Use (or create) this folder for the images and the detector instead of a temporary one.")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    measurement.protocol_arguments(parser)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1:], args.threads)
        return
    measurement.reexec_without_overrides()

    environment = measurement.benchmark_environment(threads=args.threads)
    runtime = measurement.print_runtime(args.grain, environment, python_modules=["torch", "sklearn", "PIL"])
    protocol = measurement.Protocol.from_arguments(args)
    folder = args.keep or tempfile.mkdtemp(prefix="grain-detect-speed-")
    images_folder = os.path.join(folder, "images")
    detector = os.path.join(folder, "detector.safetensors")
    os.makedirs(images_folder, exist_ok=True)
    files = sorted(glob.glob(os.path.join(images_folder, "*.png")))
    if len(files) != args.images:
        shutil.rmtree(images_folder)
        os.makedirs(images_folder)
        files = make_images(images_folder, args.images)
        if os.path.exists(detector):
            os.remove(detector)
    if not os.path.exists(detector):
        print("fitting the detector ...", file=sys.stderr)
        subprocess.run([args.grain, "fit", "--weights", args.weights, "--real", images_folder, "--out", detector,
                        "--components", "6", "--regularization", "1e-2", "--crops-per-image", "16", "--crop-size", "64",
                        "--seed", "0"], check=True, env=environment)

    def run_grain(paths):
        start = time.perf_counter()
        completed = subprocess.run([args.grain, "detect", "--json", "--detector", detector] + paths,
                                   capture_output=True, text=True, env=environment)
        seconds = time.perf_counter() - start
        if completed.returncode != 0:
            sys.exit(f"grain detect failed:\n{completed.stderr}")
        return seconds, [json.loads(line) for line in completed.stdout.splitlines()]

    def run_torch():
        start = time.perf_counter()
        completed = subprocess.run([sys.executable, os.path.abspath(__file__), "--threads", str(args.threads),
                                    "--worker", detector] + files, capture_output=True, text=True, env=environment)
        seconds = time.perf_counter() - start
        if completed.returncode != 0:
            sys.exit(f"PyTorch worker failed:\n{completed.stderr}")
        return seconds, json.loads(completed.stdout.strip().splitlines()[-1])

    grain_all, grain_one, grain_steady, torch_process, torch_steady, loads = [], [], [], [], [], []
    grain_rows = torch_result = None
    n = len(files)
    for round_index in range(args.rounds):
        sides = ("grain", "torch") if round_index % 2 == 0 else ("torch", "grain")
        with protocol.round() as current:
            for side in sides:
                if side == "grain":
                    seconds_one, _ = run_grain(files[:1])
                    seconds_all, grain_rows = run_grain(files)
                    grain_all.append(seconds_all)
                    grain_one.append(seconds_one)
                    grain_steady.append((n - 1) / max(seconds_all - seconds_one, 1e-9))
                else:
                    seconds, torch_result = run_torch()
                    torch_process.append(seconds)
                    torch_steady.append(n / torch_result["loop_seconds"])
        loads.append(os.getloadavg()[0])
        print(f"round {round_index + 1}: grain {grain_steady[-1]:.2f} images/s ({n / grain_all[-1]:.2f} whole process), "
              f"pytorch {torch_steady[-1]:.2f} images/s ({n / torch_process[-1]:.2f} whole process), "
              f"load average {loads[-1]:.2f}; {current.describe()}", file=sys.stderr)
    all_rounds = {"grain_images_per_second": grain_steady, "pytorch_images_per_second": torch_steady}
    grain_all, grain_steady = protocol.clean(grain_all), protocol.clean(grain_steady)
    torch_process, torch_steady = protocol.clean(torch_process), protocol.clean(torch_steady)

    by_path = {row["path"]: row for row in grain_rows}
    differences = [abs(by_path[path]["logLikelihood"] - score) / max(abs(score), 1e-12)
                   for path, score in zip(files, torch_result["scores"])]
    # The reference pipeline knows only the two-way rule; Grain may also answer "uncertain" (outside
    # the fitted domain, or inside the threshold band), so the comparison is of the two-way decision
    # (log-likelihood at or above the threshold), and Grain's uncertain verdicts are counted apart.
    # The calibrated threshold is one calibration photo's own score, and those photos are among the
    # timed images: there the two sides' float rounding (~1e-6 relative) decides the side, so a
    # reference score within 1e-5 (relative) of the threshold is a tie and agrees either way.
    def two_way(row):
        return "real" if row["logLikelihood"] >= row["threshold"] else "generated"
    ties, agree = 0, True
    for path, score, verdict in zip(files, torch_result["scores"], torch_result["verdicts"]):
        row = by_path[path]
        if abs(score - row["threshold"]) <= 1e-5 * max(abs(row["threshold"]), 1.0):
            ties += 1
        elif two_way(row) != verdict:
            agree = False
    uncertain = sum(1 for path in files if by_path[path]["verdict"] == "uncertain")
    summary = {
        "images": n, "size": "512x512 PNG", "threads": args.threads, "rounds": args.rounds,
        "grain_images_per_second_best": max(grain_steady), "grain_images_per_second_median": statistics.median(grain_steady),
        "pytorch_images_per_second_best": max(torch_steady), "pytorch_images_per_second_median": statistics.median(torch_steady),
        "speedup_best": max(grain_steady) / max(torch_steady),
        "speedup_median": statistics.median(grain_steady) / statistics.median(torch_steady),
        "grain_whole_process_images_per_second_best": n / min(grain_all),
        "pytorch_whole_process_images_per_second_best": n / min(torch_process),
        "whole_process_speedup_best": min(torch_process) / min(grain_all),
        "max_relative_log_likelihood_difference": max(differences),
        "verdicts_agree": agree,
        "verdict_ties_at_threshold": ties,
        "grain_uncertain_verdicts": uncertain,
        "load_average_during_rounds": [min(loads), max(loads)],
        "folder": folder,
        "all_rounds": all_rounds, "runtime": runtime,
    }
    summary.update(protocol.summary())
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
