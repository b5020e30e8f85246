"""MatrixScaling and compare_calibrators on many classes: time and peak memory.

    python benchmarks/bench_matrix_many_classes.py [--rows 2400]
                                                  [--classes 300 500 700 1000]
                                                  [--unbounded-limit-gb 6]

Each task runs in a fresh process (its peak resident memory is its own):
``MatrixScaling().fit`` on ``--rows`` rows of synthetic logits of an
overconfident model for each number of classes; then the same fit at the
largest number of classes with the bound on matrix scaling's class blocks
lifted (``CLASS_BLOCK_VALUES``, as before the bound existed), under an
address-space limit of ``--unbounded-limit-gb`` so that it fails instead of
exhausting the machine (without a limit it grew past 23 GB on a 24 GiB
machine and was killed); and ``compare_calibrators`` with its default
methods at the largest number of classes (which leave MatrixScaling out
beyond 500 classes).
"""

import argparse
import json
import subprocess
import sys
import textwrap

TASK = textwrap.dedent("""
    import json, resource, sys, time, warnings
    import numpy as np
    warnings.simplefilter("ignore")
    from skcal import MatrixScaling, compare_calibrators
    from skcal.solvers import _matrix_fit
    task, n_rows, n_classes, limit_gb = sys.argv[1], *map(int, sys.argv[2:5])
    rng = np.random.default_rng(0)
    logits = 3.0 * rng.normal(size=(n_rows, n_classes))
    y = (logits / 2 + rng.gumbel(size=logits.shape)).argmax(axis=1)
    if task == "unbounded":
        _matrix_fit.CLASS_BLOCK_VALUES = float("inf")
        limit = limit_gb * 2**30
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    start = time.perf_counter()
    try:
        if task == "compare":
            comparison = compare_calibrators(logits, y, n_jobs=1)
            detail = f"{len(comparison.ranking_) - 1} methods"
        else:
            fitted = MatrixScaling().fit(logits, y)
            detail = f"{fitted.n_iter_} iterations"
    except MemoryError:
        detail = f"MemoryError at the {limit_gb} GB limit"
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps({"seconds": seconds, "peak_gb": peak, "detail": detail}))
""")


def run(task, rows, classes, limit_gb):
    out = subprocess.run([sys.executable, "-c", TASK, task, str(rows), str(classes),
                          str(limit_gb)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2400)
    parser.add_argument("--classes", type=int, nargs="+", default=[300, 500, 700, 1000])
    parser.add_argument("--unbounded-limit-gb", type=int, default=6)
    args = parser.parse_args()
    largest = max(args.classes)
    tasks = [("MatrixScaling().fit", "fit", k) for k in args.classes]
    tasks += [("the same, class blocks unbounded", "unbounded", largest),
              ("compare_calibrators, default methods", "compare", largest)]
    print(f"{args.rows} rows of synthetic logits, each task in a fresh process\n")
    print(f"{'task':<40}{'classes':>8}{'seconds':>9}{'peak GB':>9}  detail")
    for label, task, k in tasks:
        result = run(task, args.rows, k, args.unbounded_limit_gb)
        print(f"{label:<40}{k:>8}{result['seconds']:>9.1f}{result['peak_gb']:>9.2f}  "
              f"{result['detail']}")


if __name__ == "__main__":
    main()
