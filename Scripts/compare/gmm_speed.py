#!/usr/bin/env python3
"""Gaussian-mixture EM speed: Grain (`grain benchmark-gmm`) against scikit-learn, side by side.

Both fit the same float64 data (a mixture of anisotropic Gaussians, 10,000 x 528 by default) with
K = 6 full covariances from the same starting point (weights, means and precisions of one k-means
labelling, given to scikit-learn as weights_init/means_init/precisions_init and to Grain through a
safetensors file), with tol = 0 so both run exactly --iterations EM iterations. Runs alternate
(Grain, scikit-learn, scikit-learn, Grain, ...) so both see the same machine load. Reported:
best and median fit time, time per iteration as (T(iterations) - T(1)) / (iterations - 1)
(initialisation and scikit-learn's final extra E-step excluded), the ratio, and the largest
difference between the two lower-bound histories (same work, same numbers).

    swift build -c release --product grain
    python3 Scripts/compare/gmm_speed.py [--samples 10000 --dimensions 528 --components 6 --iterations 10 --rounds 5]

The measurement protocol (Scripts/compare/measurement.py): waits for an idle machine before each
round, marks rounds in which other processes used > 10 % of the machine (excluded from best and
median), runs both sides without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, and prints Grain's kernel
level and OpenBLAS core and the Python side's BLAS / OpenMP libraries.
scikit-learn runs in this process, so the script re-executes itself without the OpenBLAS
variables before numpy is imported.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import measurement

if __name__ == "__main__":
    measurement.reexec_without_overrides()  # before numpy loads its OpenBLAS

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_problem(n, d, k, seed):
    """Samples from k anisotropic Gaussians (random rotations of decaying spectra) and a k-means start."""
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(k, 1.0 / k))
    parts = []
    for j in range(k):
        mean = rng.normal(scale=2.0, size=d)
        spectrum = np.exp(-np.linspace(0, 6, d)) * rng.uniform(0.5, 2.0)
        basis, _ = np.linalg.qr(rng.normal(size=(d, d)))
        parts.append(mean + (rng.normal(size=(counts[j], d)) * np.sqrt(spectrum)) @ basis.T)
    x = np.concatenate(parts)[rng.permutation(n)]
    from sklearn.cluster import KMeans
    labels = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(x).labels_
    weights = np.bincount(labels, minlength=k) / n
    means = np.stack([x[labels == j].mean(0) for j in range(k)])
    precisions = np.stack([np.linalg.inv(np.cov(x[labels == j].T, bias=True) + 1e-6 * np.eye(d)) for j in range(k)])
    precisions = (precisions + precisions.transpose(0, 2, 1)) / 2
    return x, weights, means, precisions


def sklearn_fit(x, weights, means, precisions, iterations):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture
    model = GaussianMixture(n_components=len(weights), covariance_type="full", tol=0.0, max_iter=iterations,
                            weights_init=weights, means_init=means, precisions_init=precisions)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(x)
        seconds = time.perf_counter() - start
    return seconds, model


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--dimensions", type=int, default=528)
    parser.add_argument("--components", type=int, default=6)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--grain", default=os.path.join(ROOT, ".build/release/grain"))
    measurement.protocol_arguments(parser)
    args = parser.parse_args()

    from safetensors.numpy import save_file
    from threadpoolctl import threadpool_limits
    threadpool_limits(args.threads)
    x, weights, means, precisions = make_problem(args.samples, args.dimensions, args.components, seed=0)
    folder = tempfile.mkdtemp(prefix="grain-gmm-speed-")
    path = os.path.join(folder, "problem.safetensors")
    save_file({"x": x, "weights": weights, "means": means, "precisions": precisions}, path)
    environment = measurement.benchmark_environment(threads=args.threads)
    runtime = measurement.print_runtime(args.grain, environment, python_modules=["numpy", "scipy", "sklearn"])
    from threadpoolctl import threadpool_info
    runtime["python_in_process"] = [{k: i.get(k) for k in ("internal_api", "architecture", "num_threads", "version")}
                                    for i in threadpool_info()]
    protocol = measurement.Protocol.from_arguments(args)

    grain_full, grain_one, sk_full, sk_one = [], [], [], []
    grain_bounds = sk_bounds = None

    def run_grain():
        nonlocal grain_bounds
        out = subprocess.run([args.grain, "benchmark-gmm", "--input", path, "--iterations", str(args.iterations),
                              "--repetitions", "1"], check=True, capture_output=True, text=True, env=environment).stdout
        result = json.loads(out)
        grain_full.append(result["seconds_best"])
        grain_one.append(result["seconds_one_iteration_median"])
        grain_bounds = result["lower_bounds"]

    def run_sklearn():
        nonlocal sk_bounds
        seconds, model = sklearn_fit(x, weights, means, precisions, args.iterations)
        sk_full.append(seconds)
        sk_one.append(sklearn_fit(x, weights, means, precisions, 1)[0])
        sk_bounds = list(getattr(model, "lower_bounds_", [model.lower_bound_]))

    for round_index in range(args.rounds):
        with protocol.round() as current:
            for run in ((run_grain, run_sklearn) if round_index % 2 == 0 else (run_sklearn, run_grain)):
                run()
        print(f"round {round_index + 1}: grain {grain_full[-1]:.3f} s, scikit-learn {sk_full[-1]:.3f} s "
              f"(load average {os.getloadavg()[0]:.2f}; {current.describe()})", file=sys.stderr)
    all_rounds = {"grain_seconds": grain_full, "sklearn_seconds": sk_full}
    grain_full, grain_one = protocol.clean(grain_full), protocol.clean(grain_one)
    sk_full, sk_one = protocol.clean(sk_full), protocol.clean(sk_one)

    def per_iteration(full, one):
        return (statistics.median(full) - statistics.median(one)) / max(args.iterations - 1, 1)

    bound_difference = max(abs(a - b) for a, b in zip(grain_bounds, sk_bounds)) if sk_bounds else float("nan")
    summary = {
        "samples": args.samples, "dimensions": args.dimensions, "components": args.components,
        "iterations": args.iterations, "threads": args.threads, "rounds": args.rounds,
        "grain_seconds_best": min(grain_full), "grain_seconds_median": statistics.median(grain_full),
        "sklearn_seconds_best": min(sk_full), "sklearn_seconds_median": statistics.median(sk_full),
        "grain_seconds_per_iteration": per_iteration(grain_full, grain_one),
        "sklearn_seconds_per_iteration": per_iteration(sk_full, sk_one),
        "speedup_best": min(sk_full) / min(grain_full),
        "speedup_median": statistics.median(sk_full) / statistics.median(grain_full),
        "speedup_per_iteration": per_iteration(sk_full, sk_one) / per_iteration(grain_full, grain_one),
        "max_lower_bound_difference": bound_difference,
        "load_average": os.getloadavg(),
        "all_rounds": all_rounds, "runtime": runtime,
    }
    summary.update(protocol.summary())
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
