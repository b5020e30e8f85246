"""Time of compare_calibrators with every default method, and each method's share.

    python benchmarks/bench_compare.py [--rows 10000] [--classes 100] [--cv 5] [--n-jobs 1]

Scores are synthetic logits of an overconfident model (labels drawn from
softmax(z / 2)). The share of each method is its fit time summed over folds,
over the total wall time.
"""

import argparse
import time

import numpy as np

from skcal import compare_calibrators


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=4.0, size=(args.rows, args.classes))
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape), axis=1)
    start = time.perf_counter()
    comparison = compare_calibrators(logits, y, cv=args.cv, n_jobs=args.n_jobs)
    total = time.perf_counter() - start
    print(comparison)
    results = comparison.cv_results_
    print(f"\n{args.rows} x {args.classes} scores, {args.cv} folds, n_jobs={args.n_jobs}: "
          f"{total:.2f} s in all\n")
    print(f"{'method':<24}{'fit s (all folds)':>19}{'share':>8}")
    for name, mean_fit in zip(results["method"], results["mean_fit_time"]):
        seconds = mean_fit * args.cv
        print(f"{name:<24}{seconds:>19.2f}{100 * seconds / total:>7.1f}%")
    print("\nshare: fit time over the total; the rest is prediction and metrics")


if __name__ == "__main__":
    main()
