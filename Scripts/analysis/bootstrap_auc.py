"""Photo-level bootstrap intervals for the AUCs of a `grain evaluate` report: the real test
samples are crops of a few photos, so resampling crops would overstate the precision. Each
replicate resamples the real photos (with all their crops) and the generated images, with
replacement, and recomputes each generator's AUC and the pooled one.

    python3 Scripts/analysis/bootstrap_auc.py REPORT/scores.csv [SETTING ...]

Prints the AUC and its 95 % percentile interval (2,000 replicates, seed 0). Needs numpy and
scikit-learn (exploration only).
"""
import csv
import sys
from collections import defaultdict

import numpy as np
from sklearn.metrics import roc_auc_score


def auc(real, fake):
    return roc_auc_score(np.r_[np.zeros(len(real)), np.ones(len(fake))], -np.r_[real, fake])


def main(path, settings):
    rows = list(csv.DictReader(open(path)))
    settings = settings or ["original"]
    rng = np.random.default_rng(0)
    for setting in settings:
        photos = defaultdict(list)
        fakes = defaultdict(list)
        for row in rows:
            if row["setting"] != setting:
                continue
            if row["source"] == "real":
                photos[row["sample"].split("#")[0]].append(float(row["log_likelihood"]))
            else:
                fakes[row["source"]].append(float(row["log_likelihood"]))
        names = sorted(photos)
        fakes = {g: np.array(v) for g, v in sorted(fakes.items())}
        fakes["all"] = np.concatenate(list(fakes.values()))
        real = np.concatenate([photos[n] for n in names])
        replicates = defaultdict(list)
        for _ in range(2000):
            chosen = rng.integers(0, len(names), len(names))
            r = np.concatenate([photos[names[i]] for i in chosen])
            for g, f in fakes.items():
                replicates[g].append(auc(r, f[rng.integers(0, len(f), len(f))]))
        print(f"setting {setting}: {len(names)} real photos ({len(real)} crops)")
        for g, f in fakes.items():
            low, high = np.percentile(replicates[g], [2.5, 97.5])
            print(f"  {g:28} AUC {auc(real, f):.3f}  [{low:.3f}, {high:.3f}]")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
