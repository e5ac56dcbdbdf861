"""Writes Tests/OneClassTests/Fixtures/gmm_sklearn.json: scikit-learn GaussianMixture results that
Grain's GaussianMixture (Sources/OneClass) must reproduce.

    pip install scikit-learn
    python3 Scripts/reference/gmm_fixtures.py

Layout (all numbers float64, written by json.dump, which round-trips doubles exactly):

  "datasets": {NAME: {"x": [[...], ...]}}            data, rounded to 3 decimals so the text is
                                                     short and both sides read identical doubles
  "given":    [{dataset, covariance_type, n_components, reg_covar, tol, max_iter,
                init: {weights, means, precisions},   sklearn's weights_init/means_init/precisions_init
                weights, means, covariances, precisions_cholesky (d = 5 only), n_iter, converged,
                lower_bound, score_samples, predict_proba, bic, aic}]
  "m_step_resp": [[...], ...]                       fixed responsibilities [300, 3] for "small", rows summing to 1
  "m_step":   [{dataset, covariance_type, reg_covar, nk, means, covariances}]
               _estimate_gaussian_parameters on m_step_resp (a private sklearn function)
  "m_step_onehot_indices", "m_step_onehot": the same for responsibility 1 at one sample per
               component and 0 elsewhere (the k-means++ start; tied then includes every other
               sample uncentred)
  "kmeanspp": [{dataset, covariance_type, n_components, init_params, random_state, n_init, score}]
               mean log-likelihood after fitting with sklearn's own initialisations, 3 restarts
               (a single k-means++ start puts two centres in one cluster about 2.5 % of the time
               on this data). Tied k-means++ stops on a plateau (-11.9345, the same to 1e-6 for
               random_state 0…4 and 42) before the optimum that k-means reaches (-10.3068, or
               k-means++ with tol 1e-10 after 303 iterations): its tied start covariance includes
               every sample uncentred (XᵀX/Σ Nₖ with responsibility on k samples only). The
               Swift test expects the plateau value too.

Shapes follow sklearn: precisions/covariances are [k, d, d] (full), [d, d] (tied), [k, d] (diag),
[k] (spherical); precisions_cholesky is sklearn's upper-triangular factor U with precision = U Uᵀ.
"""
import json
import os

import numpy as np
import sklearn
from sklearn.mixture import GaussianMixture
from sklearn.mixture._gaussian_mixture import _estimate_gaussian_parameters

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "Tests", "OneClassTests", "Fixtures", "gmm_sklearn.json")
TYPES = ["full", "tied", "diag", "spherical"]


def anisotropic_clusters(rng, n, d, centres, scales):
    """n points from len(centres) Gaussian clusters, each with its own random linear shear."""
    k = len(centres)
    labels = np.arange(n) % k
    x = np.empty((n, d))
    for j in range(k):
        rows = labels == j
        shear = rng.normal(size=(d, d)) * 0.4 + np.diag(scales[j])
        x[rows] = rng.normal(size=(rows.sum(), d)) @ shear + centres[j]
    return np.round(x, 3)


def given_initialisation(rng, x, k, covariance_type):
    """A deliberately imperfect start: perturbed random data points, uniform weights, precisions
    from the pooled variance."""
    n, d = x.shape
    means = x[rng.choice(n, size=k, replace=False)] + rng.normal(size=(k, d)) * 0.5
    weights = np.full(k, 1.0 / k)
    variance = x.var(axis=0)
    if covariance_type == "full":
        precisions = np.stack([np.diag(1.0 / variance)] * k)
    elif covariance_type == "tied":
        precisions = np.diag(1.0 / variance)
    elif covariance_type == "diag":
        precisions = np.stack([1.0 / variance] * k)
    else:
        precisions = np.full(k, 1.0 / variance.mean())
    return {"weights": weights, "means": means, "precisions": precisions}


def to_lists(value):
    return value.tolist() if isinstance(value, np.ndarray) else value


def main():
    rng = np.random.default_rng(2025)
    small = anisotropic_clusters(rng, 300, 5, centres=[np.zeros(5), np.full(5, 6.0), np.array([6.0, -6, 0, 6, -6])],
                                 scales=[[1, 2, 0.5, 1, 1], [0.5, 1, 1, 2, 1], [1, 1, 1, 0.5, 2]])
    wide_centres = [np.zeros(40), np.concatenate([np.full(20, 3.0), np.full(20, -3.0)])]
    wide = anisotropic_clusters(rng, 200, 40, centres=wide_centres, scales=[np.full(40, 1.0), np.full(40, 1.5)])
    datasets = {"small": small, "wide": wide}
    fixtures = {"sklearn_version": sklearn.__version__,
                "datasets": {name: {"x": x.tolist()} for name, x in datasets.items()},
                "given": [], "m_step": [], "kmeanspp": []}

    for name, k in [("small", 3), ("wide", 2)]:
        x = datasets[name]
        for covariance_type in TYPES:
            if name == "wide" and covariance_type in ("tied", "spherical"):
                continue  # keep the file small: the d = 40 case covers full and diag
            init = given_initialisation(np.random.default_rng(7), x, k, covariance_type)
            gm = GaussianMixture(n_components=k, covariance_type=covariance_type, weights_init=init["weights"],
                                 means_init=init["means"], precisions_init=init["precisions"])
            gm.fit(x)
            case = {"dataset": name, "covariance_type": covariance_type, "n_components": k,
                    "reg_covar": gm.reg_covar, "tol": gm.tol, "max_iter": gm.max_iter,
                    "init": {key: to_lists(value) for key, value in init.items()},
                    "weights": gm.weights_.tolist(), "means": gm.means_.tolist(),
                    "covariances": gm.covariances_.tolist(),
                    "n_iter": int(gm.n_iter_), "converged": bool(gm.converged_),
                    "lower_bound": float(gm.lower_bound_),
                    "score_samples": gm.score_samples(x).tolist(),
                    "predict_proba": gm.predict_proba(x).tolist(),
                    "bic": float(gm.bic(x)), "aic": float(gm.aic(x))}
            if name == "small":
                case["precisions_cholesky"] = gm.precisions_cholesky_.tolist()
            fixtures["given"].append(case)

    x = datasets["small"]
    resp = np.round(np.random.default_rng(11).dirichlet(np.ones(3), size=len(x)), 6)
    resp /= resp.sum(axis=1, keepdims=True)  # rows sum to 1, as in EM (the tied formula assumes it)
    fixtures["m_step_resp"] = resp.tolist()
    for covariance_type in TYPES:
        nk, means, covariances = _estimate_gaussian_parameters(x, resp, 1e-6, covariance_type)
        fixtures["m_step"].append({"dataset": "small", "covariance_type": covariance_type, "reg_covar": 1e-6,
                               "nk": nk.tolist(), "means": means.tolist(),
                               "covariances": covariances.tolist()})

    # The k-means++ / random-from-data start: responsibility 1 on one sample per component only.
    onehot_indices = [5, 100, 200]
    onehot = np.zeros((len(x), 3))
    onehot[onehot_indices, np.arange(3)] = 1
    fixtures["m_step_onehot_indices"] = onehot_indices
    fixtures["m_step_onehot"] = []
    for covariance_type in TYPES:
        nk, means, covariances = _estimate_gaussian_parameters(x, onehot, 1e-6, covariance_type)
        fixtures["m_step_onehot"].append({"dataset": "small", "covariance_type": covariance_type, "reg_covar": 1e-6,
                                          "nk": nk.tolist(), "means": means.tolist(),
                                          "covariances": covariances.tolist()})

    for covariance_type in TYPES:
        for init_params in ["k-means++", "kmeans"]:
            gm = GaussianMixture(n_components=3, covariance_type=covariance_type, init_params=init_params,
                                 n_init=3, random_state=42).fit(x)
            fixtures["kmeanspp"].append({"dataset": "small", "covariance_type": covariance_type, "n_components": 3,
                                         "init_params": init_params, "random_state": 42, "n_init": 3,
                                         "score": float(gm.score(x))})

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixtures, f, separators=(",", ":"))
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT) // 1024} KB)")
    for case in fixtures["given"]:
        print(f"  given {case['dataset']}/{case['covariance_type']}: n_iter {case['n_iter']}, "
              f"converged {case['converged']}, lower bound {case['lower_bound']:.6f}")
    for case in fixtures["kmeanspp"]:
        print(f"  {case['init_params']} {case['covariance_type']}: score {case['score']:.6f}")


if __name__ == "__main__":
    main()
