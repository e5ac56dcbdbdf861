"""Splits the real test photos of a `grain evaluate` report by their original file format and
scores each subset against every generator: does the detector separate PNG real photos from the
(PNG) generated images as well as it separates JPEG real photos from them?

    python3 Scripts/analysis/format_split.py REPORT/scores.csv [SETTING]

The format is read from each file's first bytes (JPEG: FF D8, PNG: 89 50 4E 47). Needs
scikit-learn (exploration only; the AUC is scikit-learn's roc_auc_score with generated = positive
on the negated log-likelihood, the same convention as Grain's Metrics).
"""
import csv
import sys
from collections import defaultdict

import numpy as np
from sklearn.metrics import roc_auc_score


def file_format(path):
    with open(path, "rb") as f:
        head = f.read(4)
    return "JPEG" if head[:2] == b"\xff\xd8" else "PNG" if head == b"\x89PNG" else "other"


def main(path, setting="original"):
    scores = defaultdict(list)
    photos = defaultdict(set)
    for row in csv.DictReader(open(path)):
        if row["setting"] != setting:
            continue
        file = row["sample"].split("#")[0]
        key = ("real", file_format(file)) if row["source"] == "real" else (row["source"], None)
        scores[key].append(float(row["log_likelihood"]))
        photos[key].add(file)
    generators = sorted(k for k in scores if k[0] != "real")
    print(f"setting {setting}; AUC of each real subset against each generator (generated = positive)")
    print(f"{'real subset':22} {'samples':>8} {'median LL':>10}  " + "  ".join(f"{g[0][:14]:>14}" for g in generators)
          + f"  {'all':>8}")
    pooled = np.concatenate([scores[g] for g in generators])
    for key in sorted(k for k in scores if k[0] == "real"):
        real = np.array(scores[key])
        aucs = [roc_auc_score(np.r_[np.zeros(len(real)), np.ones(len(scores[g]))], -np.r_[real, scores[g]]) for g in generators]
        auc_all = roc_auc_score(np.r_[np.zeros(len(real)), np.ones(len(pooled))], -np.r_[real, pooled])
        label = f"{key[1]} ({len(photos[key])} photos)"
        print(f"{label:22} {len(real):8d} {np.median(real):10.1f}  " + "  ".join(f"{a:14.3f}" for a in aucs) + f"  {auc_all:8.3f}")
    for g in generators:
        print(f"{g[0]:22} {len(scores[g]):8d} {np.median(scores[g]):10.1f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
