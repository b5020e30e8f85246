"""Calibrators on a random forest's probabilities, which hold exact zeros, beside
scikit-learn's ``CalibratedClassifierCV`` (sigmoid and isotonic).

Four problems of ``make_classification`` (2, 4, 4 and 10 classes, 9000 rows):
a forest of 100 trees is trained on a third, every calibrator is fitted on the
forest's ``predict_proba`` of the second third (scikit-learn's on the frozen
forest), and the held-out NLL is taken on the last third. "read at -708" is
each skcal map fitted as before ``probability_floor_``: on the logits
``log(max(p, smallest normal))``, so a zero's log is -708. The last column is
each map's NLL minus scikit-learn's sigmoid calibration's (negative: skcal's
is lower).

    python benchmarks/bench_zero_probabilities.py
"""

import warnings

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator

from skcal import (
    BetaCalibration,
    IsotonicCalibration,
    PlattScaling,
    TemperatureScaling,
    VectorScaling,
)
from skcal.metrics import nll

PROBLEMS = [(2, 0), (4, 0), (4, 1), (10, 2)]  # (classes, seed)
MAPS = [TemperatureScaling, VectorScaling, PlattScaling, BetaCalibration, IsotonicCalibration]


def forest_outputs(n_classes, seed):
    X, y = make_classification(9000, n_features=20, n_informative=8, n_classes=n_classes,
                               n_clusters_per_class=2, flip_y=0.05, random_state=seed)
    forest = RandomForestClassifier(100, random_state=0).fit(X[:3000], y[:3000])
    return forest, X[3000:6000], y[3000:6000], X[6000:], y[6000:]


def held_out_nlls(n_classes, seed):
    """(name, NLL) of every method on one problem, and the share of zeros."""
    forest, X_cal, y_cal, X_test, y_test = forest_outputs(n_classes, seed)
    p_cal, p_test = forest.predict_proba(X_cal), forest.predict_proba(X_test)
    rows = [("uncalibrated forest", nll(y_test, p_test))]
    for method in ("sigmoid", "isotonic"):
        peer = CalibratedClassifierCV(FrozenEstimator(forest), method=method)
        rows.append((f"scikit-learn {method}",
                     nll(y_test, peer.fit(X_cal, y_cal).predict_proba(X_test))))
    tiny = np.finfo(np.float64).tiny
    for make in MAPS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings of the maps read at -708
            floored = make().fit(p_cal, y_cal)
            at_708 = make(score_type="logits").fit(np.log(np.maximum(p_cal, tiny)), y_cal)
            rows.append((f"{make.__name__}, read at -708",
                         nll(y_test, at_708.predict_proba(np.log(np.maximum(p_test, tiny))))))
        rows.append((f"{make.__name__} (floor {floored.probability_floor_:.3g})",
                     nll(y_test, floored.predict_proba(p_test))))
    return rows, float((p_cal == 0).mean())


def main():
    for n_classes, seed in PROBLEMS:
        rows, zeros = held_out_nlls(n_classes, seed)
        sigmoid = dict(rows)["scikit-learn sigmoid"]
        print(f"\n{n_classes} classes (seed {seed}), {zeros:.1%} of the calibration "
              "probabilities are exact zeros")
        print(f"{'method':<40}{'held-out NLL':>14}{'vs sigmoid':>12}")
        for name, value in rows:
            print(f"{name:<40}{value:>14.4f}{value - sigmoid:>+12.4f}")


if __name__ == "__main__":
    main()
