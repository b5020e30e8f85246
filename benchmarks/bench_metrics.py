"""Metric time and peak memory: skcal against scikit-learn's log_loss, side by side.

    python benchmarks/bench_metrics.py [--repeat 5] [--rows 50000] [--classes 1000]
                                       [--readme README.md] [--rst OUT]

All metrics get the same float32 probability matrix. Times are medians over
``--repeat`` runs; memory is the tracemalloc peak during one call, as a multiple
of the input's size. ``--readme`` writes the table into the README, between
its ``bench_metrics`` markers; ``--rst`` writes it for the docs.
"""

import argparse
import statistics
import time
import tracemalloc

import numpy as np
from sklearn.metrics import log_loss

from skcal.metrics import expected_calibration_error, nll, nll_from_logits


def probabilities(n_rows, n_classes, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(n_rows, n_classes)).astype(np.float32)
    y = rng.integers(0, n_classes, size=n_rows)
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    return logits, y


def measure(function, repeat):
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        seconds.append(time.perf_counter() - start)
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(seconds), peak, value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--readme", metavar="README",
                        help="also write the table into README's bench_metrics section")
    parser.add_argument("--rst", metavar="OUT", help="also write the table as reStructuredText")
    args = parser.parse_args()
    proba, y = probabilities(args.rows, args.classes)
    labels = np.arange(args.classes)
    log_proba = np.log(proba)
    cases = {
        "sklearn log_loss": lambda: log_loss(y, proba, labels=labels),
        "skcal nll": lambda: nll(y, proba),
        "skcal nll_from_logits": lambda: nll_from_logits(y, log_proba),
        "skcal expected_calibration_error": lambda: expected_calibration_error(y, proba),
        "skcal ECE classwise": lambda: expected_calibration_error(y, proba, kind="classwise"),
    }
    print(f"{args.rows} x {args.classes} float32 probabilities ({proba.nbytes / 1e6:.0f} MB)\n")
    header = f"{'metric':<34}{'median s':>10}{'vs log_loss':>13}{'peak mem':>11}{'value':>12}"
    print(header)
    print("-" * len(header))
    reference, table = None, []
    for name, function in cases.items():
        seconds, peak, value = measure(function, args.repeat)
        reference = reference or seconds
        table.append((name, f"{seconds:.3f} s", f"{reference / seconds:.1f}x",
                      f"{peak / proba.nbytes:.2f}x the input", f"{value:.5f}"))
        print(
            f"{name:<34}{seconds:>10.3f}{reference / seconds:>12.1f}x"
            f"{peak / proba.nbytes:>10.2f}x{value:>12.5f}"
        )
    print("\nvs log_loss: log_loss time / this time (above 1: faster); peak mem: / input size")
    header = (f"metric on {args.rows} x {args.classes} float32 probabilities", "median",
              "speed-up over log_loss", "peak extra memory", "value")
    if args.readme:
        from tables import markdown_table, replace_section

        replace_section(args.readme, "bench_metrics", markdown_table(header, table))
    if args.rst:
        from tables import rst_table, write_text

        write_text(args.rst, rst_table(header, table))


if __name__ == "__main__":
    main()
