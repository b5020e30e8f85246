"""Fit time, NLL and peak memory: skcal against scikit-learn, side by side.

    python benchmarks/bench_fit.py [--repeat 3] [--quick] [--readme README.md] [--rst OUT]

scikit-learn is timed through its internal calibrators (``_TemperatureScaling``,
``_SigmoidCalibration``) fitted directly on the score matrix: the cheapest way to
run its fit, with none of ``CalibratedClassifierCV``'s wrapping overhead. Times are
medians over ``--repeat`` runs; memory is the tracemalloc peak during one fit,
as a multiple of the input's size. ``--readme`` writes the table into the
README, between its ``bench_fit`` markers; ``--rst`` writes it for the docs.
"""

import argparse
import statistics
import time
import tracemalloc

import numpy as np
from scipy.special import log_softmax
from sklearn.calibration import _SigmoidCalibration, _TemperatureScaling

from skcal import PlattScaling, TemperatureScaling


def synthetic_logits(n_samples, n_classes, dtype, seed=0):
    """Logits of an overconfident model: labels drawn from softmax(z / 2)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=4.0, size=(n_samples, n_classes)).astype(dtype)
    # Gumbel-max draws a label from softmax(z / 2) row by row without an n x K copy
    y = np.empty(n_samples, dtype=np.intp)
    for start in range(0, n_samples, 10_000):
        block = logits[start : start + 10_000].astype(np.float64) / 2
        y[start : start + 10_000] = np.argmax(block + rng.gumbel(size=block.shape), axis=1)
    return logits, y


def mean_nll(logits, y, beta):
    log_p = log_softmax(beta * logits.astype(np.float64), axis=1)
    return -log_p[np.arange(y.shape[0]), y].mean()


def timed(fit, repeat):
    seconds, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fit()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def peak_memory(fit):
    tracemalloc.start()
    fit()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def temperature_row(n_samples, n_classes, dtype, repeat):
    logits, y = synthetic_logits(n_samples, n_classes, dtype)
    if n_classes == 2:  # one binary score: scikit-learn reads it as (-s, s)
        scores = logits[:, 1] - logits[:, 0]

        def ours():
            return 1.0 / TemperatureScaling().fit(scores, y).temperature_

        def theirs():
            return 2.0 * float(_TemperatureScaling().fit(scores, y).beta_)

        nbytes = scores.nbytes
        logits = np.column_stack([np.zeros_like(scores), scores])
    else:

        def ours():
            return 1.0 / TemperatureScaling().fit(logits, y).temperature_

        def theirs():
            return float(_TemperatureScaling().fit(logits, y).beta_)

        nbytes = logits.nbytes
    t_ours, beta_ours = timed(ours, repeat)
    t_theirs, beta_theirs = timed(theirs, repeat)
    return {
        "case": f"TemperatureScaling {n_samples} x {n_classes} {np.dtype(dtype).name}",
        "skcal_s": t_ours,
        "sklearn_s": t_theirs,
        "nll_diff": mean_nll(logits, y, beta_ours) - mean_nll(logits, y, beta_theirs),
        "skcal_mem": peak_memory(ours) / nbytes,
        "sklearn_mem": peak_memory(theirs) / nbytes,
    }


def platt_row(n_samples, repeat):
    rng = np.random.default_rng(0)
    s = rng.normal(scale=3.0, size=n_samples)
    y = (rng.random(n_samples) < 1 / (1 + np.exp(-(0.5 * s - 0.3)))).astype(int)

    def nll(a, b):
        u = a * s + b
        return np.mean(np.logaddexp(0, u) - y * u)

    def ours():
        fitted = PlattScaling().fit(s, y)
        return fitted.coef_[0], fitted.intercept_[0]

    def theirs():
        fitted = _SigmoidCalibration().fit(s, y)
        return -fitted.a_, -fitted.b_  # scikit-learn's p = 1 / (1 + exp(a s + b))

    t_ours, ab_ours = timed(ours, repeat)
    t_theirs, ab_theirs = timed(theirs, repeat)
    return {
        "case": f"PlattScaling {n_samples} binary float64",
        "skcal_s": t_ours,
        "sklearn_s": t_theirs,
        "nll_diff": nll(*ab_ours) - nll(*ab_theirs),
        "skcal_mem": peak_memory(ours) / s.nbytes,
        "sklearn_mem": peak_memory(theirs) / s.nbytes,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--readme", metavar="README",
                        help="also write the table into README's bench_fit section")
    parser.add_argument("--rst", metavar="OUT", help="also write the table as reStructuredText")
    args = parser.parse_args()
    if args.quick:
        rows = [
            temperature_row(10_000, 100, np.float32, args.repeat),
            platt_row(100_000, args.repeat),
        ]
    else:
        rows = [
            temperature_row(10_000, 100, np.float32, args.repeat),
            temperature_row(50_000, 1000, np.float32, args.repeat),
            temperature_row(1_000_000, 10, np.float64, args.repeat),
            temperature_row(1_000_000, 2, np.float32, args.repeat),
            platt_row(1_000_000, args.repeat),
        ]
    header = (
        f"{'case':<46}{'skcal s':>9}{'sklearn s':>11}{'speed-up':>10}"
        f"{'NLL skcal-sklearn':>19}{'mem skcal':>11}{'mem sklearn':>13}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['case']:<46}{r['skcal_s']:>9.3f}{r['sklearn_s']:>11.3f}"
            f"{r['sklearn_s'] / r['skcal_s']:>9.1f}x{r['nll_diff']:>19.2e}"
            f"{r['skcal_mem']:>10.2f}x{r['sklearn_mem']:>12.2f}x"
        )
    print("\nspeed-up: sklearn median time / skcal median time; mem: tracemalloc peak / input size")
    header, table = text_table(rows)
    if args.readme:
        from tables import markdown_table, replace_section

        replace_section(args.readme, "bench_fit", markdown_table(header, table))
    if args.rst:
        from tables import rst_table, write_text

        write_text(args.rst, rst_table(header, table))


def text_table(rows):
    """The header and rows of the table the README and the docs show."""
    header = ("fit", "skcal", "scikit-learn", "speed-up", "NLL difference",
              "peak extra memory (skcal / sklearn)")
    table = [(r["case"], f"{r['skcal_s']:.3f} s", f"{r['sklearn_s']:.3f} s",
              f"{r['sklearn_s'] / r['skcal_s']:.1f}x", f"{r['nll_diff']:.0e}",
              f"{r['skcal_mem']:.2f}x / {r['sklearn_mem']:.2f}x the input") for r in rows]
    return header, table


if __name__ == "__main__":
    main()
