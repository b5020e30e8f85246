"""Time of compare_calibrators with every default method, and each method's share.

    python benchmarks/bench_compare.py [--rows 10000] [--classes 100] [--cv 5] [--n-jobs 1]
                                       [--repeat 3] [--rst OUT]

Scores are synthetic float64 logits of an overconfident model (labels drawn
from softmax(z / 2)). The share of each method is its fit time summed over
folds, over the total wall time. The yardstick is the time of 50 passes of
``scipy.special.logsumexp`` over the same matrix, measured in the same run;
the comparison's median time is reported as a multiple of it. ``--rst`` writes
the result for the documentation.
"""

import argparse
import statistics
import time

import numpy as np
from scipy.special import logsumexp

from skcal import compare_calibrators


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rst", metavar="OUT", help="also write the result as reStructuredText")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=4.0, size=(args.rows, args.classes))
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape), axis=1)
    yardsticks, totals = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        for _ in range(50):
            logsumexp(logits, axis=1)
        yardsticks.append(time.perf_counter() - start)
        start = time.perf_counter()
        comparison = compare_calibrators(logits, y, cv=args.cv, n_jobs=args.n_jobs)
        totals.append(time.perf_counter() - start)
    total, yardstick = statistics.median(totals), statistics.median(yardsticks)
    print(comparison)
    results = comparison.cv_results_
    print(f"\n{args.rows} x {args.classes} scores, {args.cv} folds, n_jobs={args.n_jobs}: "
          f"median {total:.2f} s in all; 50 logsumexp passes: {yardstick:.2f} s; "
          f"ratio {total / yardstick:.1f}x\n")
    print(f"{'method':<24}{'fit s (all folds)':>19}{'share':>8}")
    table = []
    for name, mean_fit in zip(results["method"], results["mean_fit_time"]):
        seconds = mean_fit * args.cv
        table.append((name, f"{seconds:.2f}", f"{100 * seconds / total:.1f} %"))
        print(f"{name:<24}{seconds:>19.2f}{100 * seconds / total:>7.1f}%")
    print("\nshare: fit time over the total; the rest is prediction and metrics")
    if args.rst:
        from tables import rst_table, write_text

        lines = [f"Every default method, {args.cv} folds, {args.rows} x {args.classes} float64 "
                 f"scores, ``n_jobs={args.n_jobs}``: median of {args.repeat} runs "
                 f"{total:.2f} s in all, {total / yardstick:.1f} times 50 ``logsumexp`` passes "
                 f"over the same matrix ({yardstick:.2f} s, measured in the same run). Fit "
                 "time of each method over all folds, and its share of the total (the rest "
                 "is prediction and metrics):", ""]
        write_text(args.rst, lines + rst_table(("method", "fit s", "share"), table))


if __name__ == "__main__":
    main()
