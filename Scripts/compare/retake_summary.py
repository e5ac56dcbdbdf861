#!/usr/bin/env python3
"""Turns the outputs of Scripts/compare/retake_all.sh (one folder) into one Markdown summary.

    python3 Scripts/compare/retake_summary.py FOLDER > FOLDER/summary.md

Every row carries its clean rounds (rounds in which other processes used <= 10 % of the machine),
the largest other load seen, and the kernel level and BLAS cores of both sides.
"""
import json
import os
import sys


def last_json(path):
    """The last JSON document of a script's stdout (the summary), or None."""
    if not os.path.exists(path):
        return None
    text = open(path).read()
    start = text.rfind("\n{\n")
    candidates = [text[start + 1:]] if start >= 0 else []
    candidates += [line for line in reversed(text.splitlines()) if line.startswith("{")]
    if text.startswith("{"):
        candidates.append(text)
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    return None


def protocol_cell(summary):
    protocol = summary.get("protocol", {})
    rounds = protocol.get("rounds", [])
    worst = max((r["foreign_load"] for r in rounds), default=float("nan"))
    flag = " (all loaded)" if protocol.get("all_rounds_loaded") else ""
    return f"{protocol.get('clean_rounds', '?')}/{len(rounds)} clean, max other load {worst:.0%}{flag}"


def python_blas(runtime):
    entries = runtime.get("python") if isinstance(runtime, dict) else None
    if not isinstance(entries, list):
        return str(entries)
    return "; ".join(f"{e.get('internal_api')} {e.get('architecture') or ''} ×{e.get('num_threads')}".strip() for e in entries)


def main():
    folder = sys.argv[1]
    runtime = json.load(open(os.path.join(folder, "runtime.json")))
    print(f"# Speed retake ({os.path.basename(os.path.normpath(folder))})\n")
    print(f"Grain: kernels `{runtime['kernels']}`, OpenBLAS core `{runtime['openblas_core']}`, "
          f"OpenBLAS threads per call {runtime['openblas_threads_per_call']}, Grain workers {runtime['grain_threads']}. "
          "OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset in every benchmark process.\n")
    print("| work | Grain | reference | ratio | rounds | reference BLAS |")
    print("|---|---|---|---|---|---|")
    extractor = last_json(os.path.join(folder, "extractor.out"))
    if extractor:
        print(f"| extractor, {extractor['patches']:,} patches | {extractor['grain_seconds_best']:.3f} s best "
              f"(median {extractor['grain_seconds_median']:.3f}) | PyTorch {extractor['pytorch_seconds_best']:.3f} s "
              f"(median {extractor['pytorch_seconds_median']:.3f}) | speed-up {extractor['speedup_best']:.2f}× best, "
              f"{extractor['speedup_median']:.2f}× median | {protocol_cell(extractor)} | {python_blas(extractor.get('runtime'))} |")
    gmm = last_json(os.path.join(folder, "gmm.out"))
    if gmm:
        print(f"| GMM EM, {gmm['samples']:,} × {gmm['dimensions']}, K = {gmm['components']} full | "
              f"{gmm['grain_seconds_per_iteration']:.3f} s / iteration | scikit-learn {gmm['sklearn_seconds_per_iteration']:.3f} s "
              f"| speed-up {gmm['speedup_per_iteration']:.2f}× per iteration ({gmm['speedup_best']:.2f}× best fit) | "
              f"{protocol_cell(gmm)} | {python_blas(gmm.get('runtime'))} |")
    detect = last_json(os.path.join(folder, "detect.out"))
    if detect:
        print(f"| detection, {detect['images']} × {detect['size']} | {detect['grain_images_per_second_best']:.2f} images/s | "
              f"PyTorch + Pillow + scikit-learn {detect['pytorch_images_per_second_best']:.2f} images/s | "
              f"speed-up {detect['speedup_best']:.2f}× best, {detect['speedup_median']:.2f}× median | "
              f"{protocol_cell(detect)} | {python_blas(detect.get('runtime'))} |")
    train = last_json(os.path.join(folder, "train.out"))
    if train:
        print(f"| pretext training, batch {train['batch_size']} × {train['crop_size']}² | {train['grain_seconds_best']:.2f} s | "
              f"PyTorch {train['pytorch_seconds_best']:.2f} s | speed-up {train['speedup_best']:.2f}× best | "
              f"{protocol_cell(train)} | {python_blas(train.get('runtime'))} |")
    sd_path = os.path.join(folder, "sd.out")
    if os.path.exists(sd_path):
        for line in open(sd_path):
            row = json.loads(line) if line.startswith("{") else {}
            if isinstance(row.get("diffusers"), dict) and "best_seconds" in row.get("grain", {}):
                ours, theirs = row["grain"], row["diffusers"]
                print(f"| SD {row['part']}, {ours['input']} | {ours['best_seconds']:.2f} s | diffusers {theirs['best_seconds']:.2f} s | "
                      f"Grain / diffusers {ours['best_seconds'] / theirs['best_seconds']:.2f}× best | {protocol_cell(row)} | |")
    ops = os.path.join(folder, "ops.out")
    if os.path.exists(ops):
        print("\n## Op by op (Scripts/compare/compare.py)\n")
        print(open(ops).read())
    for name in ("extractor", "gmm", "detect", "sd", "train", "ops"):
        if os.path.exists(os.path.join(folder, name + ".cmd")) and not os.path.getsize(os.path.join(folder, name + ".out")):
            print(f"\n{name}: no output (see {name}.err)")


if __name__ == "__main__":
    main()
