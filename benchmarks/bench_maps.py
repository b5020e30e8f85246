"""Fit time and held-out NLL of every calibration map, beside the closest peers.

    python benchmarks/bench_maps.py [--repeat 3]

Peers, when installed (each is optional; a missing one is reported and skipped):
probmetrics' temperature, vector and matrix scaling (which need torch), and the
betacal package for beta calibration. Everyone gets the same float64
probabilities of a synthetic overconfident model (labels drawn from
softmax(z / 2)); fits use 10000 rows and NLL is measured on 10000 other rows.
Beta calibration is binary (betacal has no multiclass mode): its rows use the
binary problem "class 0 against the rest". Times are medians over --repeat runs.
"""

import argparse
import statistics
import time
import warnings

import numpy as np

from skcal import (
    BetaCalibration,
    HistogramBinning,
    IsotonicCalibration,
    MatrixScaling,
    PlattScaling,
    TemperatureScaling,
    VectorScaling,
)
from skcal.metrics import nll


def overconfident_probabilities(n_rows, n_classes, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(n_rows, n_classes))
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape), axis=1)
    logits -= logits.max(axis=1, keepdims=True)
    proba = np.exp(logits)
    return proba / proba.sum(axis=1, keepdims=True), y


def peers():
    """name -> factory of an unfitted peer calibrator taking probabilities."""
    found = {}
    try:
        from probmetrics.calibrators.logistic import (
            MatrixScalingCalibrator,
            VectorScalingCalibrator,
        )
        from probmetrics.calibrators.temperature_scaling import TemperatureScalingCalibrator

        found["TemperatureScaling"] = ("probmetrics", TemperatureScalingCalibrator)
        found["VectorScaling"] = ("probmetrics", VectorScalingCalibrator)
        found["MatrixScaling"] = ("probmetrics", MatrixScalingCalibrator)
    except ImportError as exc:
        print(f"probmetrics not available ({exc}); pip install torch probmetrics")
    try:
        import betacal

        found["BetaCalibration"] = ("betacal", _BetacalAdapter)
        del betacal
    except ImportError:
        print("betacal not available; pip install betacal")
    return found


class _BetacalAdapter:
    """betacal's binary beta calibration behind fit(P, y) / predict_proba(P)."""

    def fit(self, P, y):
        import betacal

        self.model_ = betacal.BetaCalibration(parameters="abm").fit(P[:, 1], y)
        return self

    def predict_proba(self, P):
        p = self.model_.predict(P[:, 1])
        return np.column_stack([1 - p, p])


def median_fit(factory, P, y, repeat):
    seconds, fitted = [], None
    for _ in range(repeat):
        model = factory()
        start = time.perf_counter()
        fitted = model.fit(P, y)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), fitted


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    available = peers()
    ours = {
        "TemperatureScaling": TemperatureScaling,
        "VectorScaling": VectorScaling,
        "MatrixScaling": MatrixScaling,
        "PlattScaling": PlattScaling,
        "BetaCalibration": BetaCalibration,
        "IsotonicCalibration": IsotonicCalibration,
        "HistogramBinning": HistogramBinning,
    }
    header = (
        f"{'map':<21}{'size':>11}{'skcal s':>9}{'peer':>13}{'peer s':>9}{'speed-up':>10}"
        f"{'NLL skcal':>11}{'NLL peer':>10}"
    )
    print(header)
    print("-" * len(header))
    for n_classes in (10, 100):
        P_fit, y_fit = overconfident_probabilities(10_000, n_classes, seed=0)
        P_test, y_test = overconfident_probabilities(10_000, n_classes, seed=1)
        for name, Calibrator in ours.items():
            fit_P, fit_y, test_P, test_y, size = P_fit, y_fit, P_test, y_test, n_classes
            if name == "BetaCalibration":
                if n_classes != 10:
                    continue
                fit_P, test_P = _class_zero(P_fit), _class_zero(P_test)
                fit_y, test_y, size = (y_fit == 0).astype(int), (y_test == 0).astype(int), 2
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_ours, model = median_fit(
                    lambda C=Calibrator: C(score_type="probabilities"), fit_P, fit_y, args.repeat
                )
                nll_ours = nll(test_y, model.predict_proba(test_P))
                row = f"{name:<21}{f'10000 x {size}':>11}{t_ours:>9.3f}"
                if name in available:
                    peer_name, factory = available[name]
                    t_peer, peer = median_fit(factory, fit_P, fit_y, args.repeat)
                    nll_peer = nll(test_y, np.asarray(peer.predict_proba(test_P)))
                    row += (
                        f"{peer_name:>13}{t_peer:>9.3f}{t_peer / t_ours:>9.1f}x"
                        f"{nll_ours:>11.4f}{nll_peer:>10.4f}"
                    )
                else:
                    row += f"{'-':>13}{'-':>9}{'-':>10}{nll_ours:>11.4f}{'-':>10}"
            print(row)
    print("\nspeed-up: peer median fit time / skcal's; NLL on 10000 held-out rows")


def _class_zero(P):
    p = P[:, 0]
    return np.column_stack([1 - p, p])


if __name__ == "__main__":
    main()
