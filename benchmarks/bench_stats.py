"""Calibration tests and intervals: speed beside the peers, then validity by simulation.

Speed (medians of ``--repeat`` runs, one process): the SKCE on 10,000 x 10
probabilities in its blocked form (one thread and every core) beside the
dense n x n numpy computation; the smooth ECE beside relplot's ``smECE`` (its
authors' package, when installed); the NLL bootstrap beside
``scipy.stats.bootstrap`` on the same per-row losses.

Validity (seeded simulations of ``--simulations`` data sets each): predictions
``softmax(z)``, ``z ~ N(0, 2^2)``, labels drawn from ``softmax(z / T)``. At
``T = 1`` the model is calibrated and each test's rejection rate at 5% is its
size; at ``T = 1.5`` (overconfident) it is its power. Bootstrap coverage: the
share of 95% intervals holding the population NLL and binned ECE.

    python benchmarks/bench_stats.py --rst docs/_stats_table.rst
"""

import argparse
from pathlib import Path

import numpy as np

from skcal.metrics import expected_calibration_error, nll, skce, smooth_ece
from skcal.stats import bootstrap, calibration_test

from bench_fit import peak_memory as peak_bytes, timed  # the fit benchmark's timing
from tables import rst_table


def draw(rng, n, n_classes, temperature=1.0):
    logits = rng.normal(0, 2, size=(n, n_classes))
    proba = np.exp(logits)
    proba /= proba.sum(axis=1, keepdims=True)
    truth = np.exp(logits / temperature)
    truth /= truth.sum(axis=1, keepdims=True)
    y = (truth.cumsum(axis=1) > rng.uniform(size=(n, 1))).argmax(axis=1)
    return y, proba, truth


def dense_skce(y, proba):
    """The unbiased SKCE as one would write it with n x n matrices."""
    distance = 0.5 * np.abs(proba[:, None, :] - proba[None, :, :]).sum(axis=2)
    kernel = np.exp(-distance / np.median(distance))
    residual = -proba
    residual[np.arange(len(y)), y] += 1
    h = kernel * (residual @ residual.T)
    n = len(y)
    return (h.sum() - np.trace(h)) / (n * (n - 1))


def speed_rows(repeat):
    rows = []
    rng = np.random.default_rng(0)
    y, proba, _ = draw(rng, 10_000, 10, 1.5)
    t_one, value_one = timed(lambda: skce(y, proba, n_jobs=1), repeat)
    t_all, value_all = timed(lambda: skce(y, proba), repeat)
    memory = peak_bytes(lambda: skce(y, proba))
    rows.append(("skce unbiased, 10000 x 10, every core", t_all, "blocked, 1 thread",
                 t_one, f"{memory / 2**20:.0f} MiB peak; equal to 1e-15: "
                 f"{abs(value_one - value_all) < 1e-15}"))
    small_y, small_p = y[:3000], proba[:3000]
    t_dense, dense_value = timed(lambda: dense_skce(small_y, small_p), 1)
    t_ours, ours_value = timed(lambda: skce(small_y, small_p), repeat)
    dense_memory = peak_bytes(lambda: dense_skce(small_y, small_p))
    ours_memory = peak_bytes(lambda: skce(small_y, small_p))
    rows.append(("skce unbiased, 3000 x 10", t_ours, "dense n x n numpy", t_dense,
                 f"memory {ours_memory / 2**20:.0f} vs {dense_memory / 2**20:.0f} MiB; "
                 f"difference {abs(ours_value - dense_value):.1e}"))
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import relplot
    except ImportError:
        relplot = None
    for n in (10_000, 100_000, 1_000_000):
        y, proba, _ = draw(np.random.default_rng(n), n, 2, 1.5)
        t_ours, ours = timed(lambda: smooth_ece(y, proba), repeat)
        if relplot is None:
            rows.append((f"smooth_ece, {n} binary rows", t_ours, "relplot not installed",
                         float("nan"), ""))
            continue
        positive = (y == 1).astype(float)
        t_theirs, theirs = timed(lambda: relplot.smECE(proba[:, 1], positive), repeat)
        rows.append((f"smooth_ece, {n} binary rows", t_ours, "relplot.smECE", t_theirs,
                     f"difference {abs(ours - theirs):.1e}"))
    from scipy import stats

    y, proba, _ = draw(np.random.default_rng(1), 100_000, 10, 1.5)
    losses = -np.log(proba[np.arange(len(y)), y])
    for method, scipy_method in (("percentile", "percentile"), ("bca", "BCa")):
        t_ours, ours = timed(lambda: bootstrap(nll, y, proba, method=method, random_state=0),
                             repeat)
        t_theirs, theirs = timed(lambda: stats.bootstrap(
            (losses,), np.mean, method=scipy_method, n_resamples=1000,
            rng=np.random.default_rng(0), batch=50), repeat)
        rows.append((f"bootstrap NLL {method}, 100000 x 10, 1000 resamples", t_ours,
                     "scipy.stats.bootstrap on the losses", t_theirs,
                     f"interval ({ours.confidence_interval.low:.4f}, "
                     f"{ours.confidence_interval.high:.4f}) vs "
                     f"({theirs.confidence_interval.low:.4f}, "
                     f"{theirs.confidence_interval.high:.4f})"))
    y, proba, _ = draw(np.random.default_rng(2), 10_000, 10, 1.0)
    for method in ("consistency", "skce"):
        t_ours, result = timed(lambda: calibration_test(y, proba, method=method,
                                                        random_state=0), repeat)
        rows.append((f"calibration_test {method}, 10000 x 10, 1000 resamples", t_ours, "", float("nan"),
                     f"p = {result.pvalue:.3f}"))
    return rows


TESTS = [
    ("consistency (ECE)", "consistency", {}),
    ("consistency (NLL)", "consistency", {"metric": "nll"}),
    ("skce, wild bootstrap", "skce", {}),
    ("skce, linear", "skce", {"estimator": "linear"}),
    ("skce, bound", "skce", {"null": "bound"}),
    ("spiegelhalter", "spiegelhalter", {}),
    ("hosmer_lemeshow", "hosmer_lemeshow", {}),
]


def rejection_rate(method, options, n_classes, n, temperature, n_simulations):
    rng = np.random.default_rng(1000 * n_classes + n)
    rejected = 0
    for seed in range(n_simulations):
        y, proba, _ = draw(rng, n, n_classes, temperature)
        extra = dict(options)
        if method == "consistency" or (method == "skce" and not options):
            extra.update(n_resamples=199, random_state=seed)
        rejected += calibration_test(y, proba, method=method, **extra).pvalue <= 0.05
    return rejected / n_simulations


def validity_rows(sizes, n_simulations):
    rows = []
    for label, method, options in TESTS:
        for n_classes in (2, 10):
            if n_classes > 2 and method in ("spiegelhalter", "hosmer_lemeshow"):
                continue
            size = [rejection_rate(method, options, n_classes, n, 1.0, n_simulations)
                    for n in sizes]
            power = [rejection_rate(method, options, n_classes, n, 1.5, n_simulations)
                     for n in sizes]
            rows.append((label, n_classes, size, power))
            print(f"  {label:<22} K={n_classes:<3} size {size}  power {power}", flush=True)
    return rows


def population(n_classes, temperature):
    _, proba, truth = draw(np.random.default_rng(99), 2_000_000, n_classes, temperature)
    true_nll = float(-(truth * np.log(proba)).sum(axis=1).mean())
    top = proba.argmax(axis=1)
    confidence = proba[np.arange(len(top)), top]
    bins = np.searchsorted(np.linspace(0, 1, 16)[1:-1], confidence, side="left")
    gap = truth[np.arange(len(top)), top] - confidence
    return true_nll, float(np.abs(np.bincount(bins, weights=gap, minlength=15)).sum() / len(top))


def coverage_rows(n_simulations):
    rows = []
    for n_classes in (2, 10):
        true_nll, true_ece = population(n_classes, 1.5)
        for n in (500, 2000):
            for method in ("percentile", "bca"):
                rng = np.random.default_rng(n + n_classes)
                covered = {"NLL": 0, "ECE": 0}
                for seed in range(n_simulations):
                    y, proba, _ = draw(rng, n, n_classes, 1.5)
                    for name, metric, truth in (("NLL", nll, true_nll),
                                                ("ECE", expected_calibration_error, true_ece)):
                        low, high = bootstrap(metric, y, proba, labels=np.arange(n_classes),
                                              method=method, random_state=seed,
                                              n_resamples=1000).confidence_interval
                        covered[name] += low <= truth <= high
                rows.append((n_classes, n, method, covered["NLL"] / n_simulations,
                             covered["ECE"] / n_simulations, true_ece))
                print(f"  K={n_classes} n={n} {method}: {rows[-1][3:]}", flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--simulations", type=int, default=1000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 2000])
    parser.add_argument("--skip-validity", action="store_true")
    parser.add_argument("--rst", metavar="OUT", help="also write the tables as reStructuredText")
    args = parser.parse_args()

    print("Speed (medians of", args.repeat, "runs)")
    speed = speed_rows(args.repeat)
    speed_table = []
    for task, ours, peer, theirs, note in speed:
        ratio = "" if np.isnan(theirs) else f"{theirs / ours:.1f}x"
        theirs_text = "" if np.isnan(theirs) else f"{theirs:.3f}"
        print(f"  {task:<55} {ours:8.3f} s | {peer:<36} {theirs_text:>8} {ratio:>7}  {note}")
        speed_table.append((task, f"{ours:.3f}", peer, theirs_text, ratio, note))
    lines = ["Speed, medians of %d runs (speed-up = peer's time / skcal's):" % args.repeat, ""]
    lines += rst_table(("task", "skcal s", "peer", "peer s", "speed-up", "note"), speed_table)
    if not args.skip_validity:
        print(f"Size and power at 5%, {args.simulations} simulations, n = {args.sizes}")
        validity = validity_rows(args.sizes, args.simulations)
        table = [(label, k, " / ".join(f"{100 * r:.1f}" for r in size),
                  " / ".join(f"{100 * r:.1f}" for r in power))
                 for label, k, size, power in validity]
        sizes = " / ".join(map(str, args.sizes))
        lines += [f"Rejection rate at the 5% level (%), {args.simulations} simulated data sets "
                  f"per cell, n = {sizes}:", ""]
        lines += rst_table(("test", "classes", "size (T = 1)", "power (T = 1.5)"), table)
        print(f"Bootstrap coverage of 95% intervals, {args.simulations} simulations")
        coverage = coverage_rows(args.simulations)
        table = [(k, n, method, f"{100 * c_nll:.1f}", f"{100 * c_ece:.1f}", f"{true_ece:.4f}")
                 for k, n, method, c_nll, c_ece, true_ece in coverage]
        lines += [f"Coverage of the 95% bootstrap intervals (%), T = 1.5, {args.simulations} "
                  "simulated data sets per row, 1000 resamples each:", ""]
        lines += rst_table(("classes", "n", "interval", "NLL", "ECE (15 bins)", "true ECE"),
                           table)
    if args.rst:
        Path(args.rst).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
