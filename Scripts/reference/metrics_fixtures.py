"""Writes Tests/EvaluationTests/Fixtures/metrics_sklearn.json: scikit-learn's detection metrics that
Grain's Metrics (Sources/OneClass/Metrics*.swift) must reproduce.

    pip install scikit-learn
    python3 Scripts/reference/metrics_fixtures.py

Conventions (as Grain's): a score is a log-likelihood (higher = more real); the positive class is
"generated" (label 1), so scikit-learn sees y = is_generated and the decision statistic
-log_likelihood; at a threshold t a sample is judged generated when log_likelihood < t.

Each case: {name, log_likelihoods, labels (0 real / 1 generated), threshold,
            tn, fp, fn, tp, accuracy, balanced_accuracy, auc, ap,
            roc_fpr, roc_tpr, roc_cutoffs (log-likelihood cutoffs; the first is -inf, written as null),
            tpr_at_1pct_fpr, tpr_at_5pct_fpr}
The ROC is roc_curve(..., drop_intermediate=False); its thresholds t on -log_likelihood become
cutoffs -t. TPR at a fixed FPR is the highest TPR among ROC points with FPR <= rate (no
interpolation). Scores are rounded (to 1 or 2 decimals) in several cases so that ties occur.

"pca": {x [40, 5], explained_variance (PCA(n_components=3).explained_variance_),
        explained_variance_ratio, components (rows; sign is sklearn's svd_flip, compare up to sign)}
"""
import json
import os

import numpy as np
import sklearn
from sklearn.decomposition import PCA
from sklearn.metrics import (accuracy_score, average_precision_score, balanced_accuracy_score,
                             confusion_matrix, roc_auc_score, roc_curve)


def case(name, scores, labels, threshold):
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    predicted = (scores < threshold).astype(np.int64)
    tn, fp, fn, tp = confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    fpr, tpr, thresholds = roc_curve(labels, -scores, drop_intermediate=False)
    cutoffs = [None if np.isinf(t) else float(-t) for t in thresholds]
    return {
        "name": name,
        "log_likelihoods": scores.tolist(),
        "labels": labels.tolist(),
        "threshold": float(threshold),
        "tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp),
        "accuracy": float(accuracy_score(labels, predicted)),
        "balanced_accuracy": float(balanced_accuracy_score(labels, predicted)),
        "auc": float(roc_auc_score(labels, -scores)),
        "ap": float(average_precision_score(labels, -scores)),
        "roc_fpr": fpr.tolist(), "roc_tpr": tpr.tolist(), "roc_cutoffs": cutoffs,
        "tpr_at_1pct_fpr": float(tpr[fpr <= 0.01].max()),
        "tpr_at_5pct_fpr": float(tpr[fpr <= 0.05].max()),
    }


def main():
    rng = np.random.default_rng(7)
    cases = []
    # Overlapping Gaussians, continuous scores (no ties).
    real = rng.normal(0.0, 1.0, 120)
    fake = rng.normal(-1.2, 1.3, 80)
    cases.append(case("continuous", np.concatenate([real, fake]), [0] * 120 + [1] * 80, -1.5))
    # Same, rounded to one decimal: many ties within and across classes.
    scores = np.round(np.concatenate([real, fake]), 1)
    cases.append(case("ties", scores, [0] * 120 + [1] * 80, -0.5))
    # Coarse integer scores, interleaved order, ties dominate.
    scores = np.round(rng.normal(0, 1.5, 60))
    labels = rng.integers(0, 2, 60)
    cases.append(case("coarse_ties", scores, labels, 0.0))
    # Perfect separation, inverted scoring, all tied.
    cases.append(case("separated", [5.0, 4.0, 3.0, -1.0, -2.0], [0, 0, 0, 1, 1], 0.0))
    cases.append(case("inverted", [5.0, 4.0, 3.0, -1.0, -2.0], [1, 1, 1, 0, 0], 0.0))
    cases.append(case("all_tied", [1.0] * 6, [0, 1, 0, 1, 1, 0], 1.0))
    # Large imbalance (1 % FPR meaningful), log-likelihood scale like the GMM's.
    real = rng.normal(1500, 40, 400)
    fake = rng.normal(1380, 60, 50)
    cases.append(case("imbalanced", np.round(np.concatenate([real, fake]), 2), [0] * 400 + [1] * 50, 1420.0))
    x = np.round(rng.normal(0, 1, (40, 5)) @ rng.normal(0, 1, (5, 5)) + rng.normal(0, 3, 5), 3)
    pca = PCA(n_components=3).fit(x)
    out = {"sklearn_version": sklearn.__version__, "cases": cases,
           "pca": {"x": x.tolist(), "explained_variance": pca.explained_variance_.tolist(),
                   "explained_variance_ratio": pca.explained_variance_ratio_.tolist(),
                   "components": pca.components_.tolist()}}
    path = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "EvaluationTests", "Fixtures", "metrics_sklearn.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print(f"wrote {len(cases)} cases to {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
