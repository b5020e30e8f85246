"""nll_decomposition against a cross-fitted TemperatureScaling on the same data.

20000 x 1000 float32 probabilities of an over-confident model; medians of
``--repeat`` runs; peak memory from tracemalloc as a multiple of the input.

    python benchmarks/bench_decomposition.py --repeat 3
"""

import argparse
import numpy as np
from sklearn.model_selection import StratifiedKFold

from skcal import TemperatureScaling
from skcal.metrics import nll_decomposition

from bench_fit import peak_memory, timed  # the same timing as the fit benchmark


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(args.rows, args.classes)).astype(np.float32)
    y = np.argmax(logits / 1.5 + rng.gumbel(size=logits.shape).astype(np.float32), axis=1)
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)

    def decomposition():
        return nll_decomposition(y, proba)

    def cross_fitted_temperature():
        folds = StratifiedKFold(5, shuffle=True, random_state=0).split(proba, y % 5)
        for train, test in folds:
            TemperatureScaling(score_type="probabilities").fit(
                proba[train], y[train]).predict_proba(proba[test])

    t_decomposition, _ = timed(decomposition, args.repeat)
    t_cross_fit, _ = timed(cross_fitted_temperature, args.repeat)
    size = proba.nbytes
    print(f"{args.rows} x {args.classes} float32 probabilities, medians of {args.repeat}")
    print(f"nll_decomposition:            {t_decomposition:.3f} s, peak "
          f"{peak_memory(decomposition) / size:.2f}x the input")
    print(f"cross-fitted temperature fit: {t_cross_fit:.3f} s, peak "
          f"{peak_memory(cross_fitted_temperature) / size:.2f}x the input")
    print(f"ratio: {t_decomposition / t_cross_fit:.2f}x")


if __name__ == "__main__":
    main()
