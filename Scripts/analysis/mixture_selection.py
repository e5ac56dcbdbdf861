"""Chooses the Gaussian mixture for a small real-photo set from the features `grain evaluate
--save-features` wrote, without looking at generated images: photo-grouped cross-validated
log-likelihood of held-out real crops, and BIC on all fit crops.

    python3 Scripts/analysis/mixture_selection.py REPORT/features.safetensors

Needs numpy, scikit-learn and safetensors (exploration only; Grain's GaussianMixture matches
scikit-learn's to 1e-12 on the committed fixtures, so the numbers carry over). For reference it
also prints the pooled test AUC of each choice — NOT used to choose.
"""
import json
import sys

import numpy as np
from safetensors import safe_open
from sklearn.metrics import roc_auc_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GroupKFold

CONFIGS = [
    ("spherical", 1, 1e-6), ("spherical", 6, 1e-6),
    ("diag", 1, 1e-6), ("diag", 2, 1e-6), ("diag", 4, 1e-6), ("diag", 6, 1e-6), ("diag", 10, 1e-6),
    ("full", 1, 1e-6), ("full", 1, 1e-4), ("full", 1, 1e-3), ("full", 1, 1e-2),
    ("full", 6, 1e-3), ("full", 6, 1e-2), ("tied", 6, 1e-3),
]


def main(path):
    with safe_open(path, "np") as f:
        metadata = f.metadata()
        fit = f.get_tensor("fit").astype(np.float64)
        fit_names = json.loads(metadata["fit"])
        test = {key: (f.get_tensor(key).astype(np.float64), json.loads(metadata[key]))
                for key in f.keys() if key.startswith("original/")}
    groups = np.array([name.split("#")[0] for name in fit_names])
    real = test["original/real"][0]
    fakes = np.concatenate([x for key, (x, _) in test.items() if key != "original/real"])
    print(f"{fit.shape[0]} fit crops from {len(set(groups))} photos, d = {fit.shape[1]}; "
          f"test: {real.shape[0]} real samples, {fakes.shape[0]} generated")
    print(f"{'covariance':10} {'K':>3} {'reg':>7}  {'CV held-out LL':>15} {'± s.e.':>7}  {'BIC':>12}  {'test AUC (not used)':>20}")
    folds = GroupKFold(n_splits=4)
    for kind, k, reg in CONFIGS:
        scores = []
        try:
            for train, held in folds.split(fit, groups=groups):
                model = GaussianMixture(k, covariance_type=kind, reg_covar=reg, random_state=42).fit(fit[train])
                scores.append(model.score_samples(fit[held]).mean())
            model = GaussianMixture(k, covariance_type=kind, reg_covar=reg, random_state=42).fit(fit)
            bic = model.bic(fit)
            y = np.r_[np.zeros(len(real)), np.ones(len(fakes))]
            auc = roc_auc_score(y, -np.r_[model.score_samples(real), model.score_samples(fakes)])
            print(f"{kind:10} {k:3d} {reg:7.0e}  {np.mean(scores):15.1f} {np.std(scores) / np.sqrt(len(scores)):7.1f}"
                  f"  {bic:12.4g}  {auc:20.3f}")
        except ValueError as error:
            print(f"{kind:10} {k:3d} {reg:7.0e}  failed: {str(error)[:60]}")


if __name__ == "__main__":
    main(sys.argv[1])
