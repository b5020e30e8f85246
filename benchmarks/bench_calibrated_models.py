"""compare_models(calibrate=METHOD) against the same cross-fit written by hand.

Two models' synthetic logits (one three times too confident, one noisier but
calibrated), N x K in memory. For each METHOD, ``compare_models(models, y,
calibrate=METHOD)`` (its own stratified folds, every model's calibrator fitted on
the rows outside each fold) is timed beside the cross-fit a user would write:
for each model and fold, a fresh calibrator's ``fit(scores[train], y[train])`` and
the held-out rows' log-probability of their label, over the same folds. The
comparison's held-out NLL is checked against the hand-written one. Runs are
paired (one of each, alternating), and the ratio reported is the median over
``--repeats`` of the comparison's time over the hand-written one's.

    python benchmarks/bench_calibrated_models.py [--rows 100000] [--classes 50]
                                                 [--methods platt beta vector matrix]
                                                 [--repeats 3]
"""

import argparse
import statistics
import time

import numpy as np

from skcal import compare_models
from skcal.calibrators._registry import calibrator_class
from skcal.comparison._outer_folds import outer_splits


def two_models(rows, classes, seed=0):
    """(models, labels): ``sharp`` ranks well and is three times too confident,
    ``noisy`` ranks worse."""
    rng = np.random.default_rng(seed)
    truth = 2 * rng.normal(size=(rows, classes))
    y = (truth + rng.gumbel(size=truth.shape)).argmax(axis=1)
    models = {"sharp": 3 * (truth + 0.6 * rng.normal(size=truth.shape)),
              "noisy": truth + 0.7 * rng.normal(size=truth.shape)}
    return models, y


def by_hand(models, y, method, folds):
    """Each model's held-out NLL, every fold's calibrator fitted alone on its rows."""
    nll = {}
    for name, scores in models.items():
        log_p = np.empty(y.shape[0])
        for train, test in folds:
            fitted = calibrator_class(method)().fit(scores[train], y[train])
            proba = fitted.predict_proba(scores[test])
            log_p[test] = np.log(proba[np.arange(test.shape[0]), y[test]])
        nll[name] = -log_p.mean()
    return nll


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--classes", type=int, default=50)
    parser.add_argument("--methods", nargs="+", default=["platt", "beta", "vector", "matrix"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    models, y = two_models(args.rows, args.classes)
    folds = list(outer_splits(5, y, None, 0))  # compare_models' own folds (random_state 0)
    print(f"{args.rows} x {args.classes} logits, two models, 5 folds; medians of "
          f"{args.repeats} paired runs")
    print(f"{'method':8s} {'compare_models s':>17s} {'by hand s':>10s} {'ratio':>6s} "
          f"{'largest NLL difference':>23s}")
    for method in args.methods:
        ours, theirs, ratios = [], [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            result = compare_models(models, y, calibrate=method)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            expected = by_hand(models, y, method, folds)
            theirs.append(time.perf_counter() - start)
            ratios.append(ours[-1] / theirs[-1])
        difference = max(abs(result.results_[name]["nll"] - expected[name]) for name in models)
        print(f"{method:8s} {statistics.median(ours):17.2f} {statistics.median(theirs):10.2f} "
              f"{statistics.median(ratios):6.2f} {difference:23.1e}")


if __name__ == "__main__":
    main()
