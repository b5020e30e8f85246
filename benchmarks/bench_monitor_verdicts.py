"""The monitor's verdicts against the truth, on streams whose cause is known.

    python benchmarks/bench_monitor_verdicts.py [--classes 4 10] [--seeds 10]
                                                [--chunk-size 1000] [--float32]
                                                [--too-confident 0.02 0.04 0.125 ... 50 100]

A reference of 5000 rows of a calibrated model, then 3000 production rows of
the same model made ``s`` times too confident (its logits times ``s``; below 1,
too little confident), with
a share of the labels replaced by random ones (``noise``: the model's ranking
got worse, which no recalibration mends) and with or without label shift.
The right verdict is "recalibrate" without noise and "retrain" with it. Per
scenario: the refinement part's rise over the reference as the monitor
estimates it, the same rise measured exactly (a temperature and class offsets
fitted by L-BFGS on the chunk, their NLL on 20000 new rows like it), and the
verdicts of the chunks in alarm over all seeds. ``--float32`` gives the monitor
the production logits as float32, as served models often write them (the
monitor's per-row arithmetic then runs in float32).
"""

import argparse
import collections

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

from skcal import CalibrationMonitor


def stream(rng, n, k, sharpen=1.0, noise=0.0, shift=False):
    logits = rng.normal(scale=2.0, size=(n, k))
    if shift:  # class 0 three times as frequent, which the scores do not know
        logits[:, 0] += np.log(3.0)
    y = (softmax(logits, axis=1).cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    noisy = rng.random(n) < noise
    y[noisy] = rng.integers(0, k, noisy.sum())
    if shift:
        logits[:, 0] -= np.log(3.0)
    return logits * sharpen, y


def exact_refinement(scores, y, new_scores, new_y):
    """NLL on new rows of ``softmax(beta * log p + b)`` fitted on ``scores``."""
    log_p, new_log_p = log_softmax(scores, axis=1), log_softmax(new_scores, axis=1)
    k = scores.shape[1]

    def nll(x, log_p, y):
        log_q = log_softmax(x[0] * log_p + np.r_[x[1:], 0.0], axis=1)
        return -log_q[np.arange(y.shape[0]), y].mean()

    fits = [minimize(nll, np.r_[beta, np.zeros(k - 1)], args=(log_p, y), method="L-BFGS-B")
            for beta in (0.01, 0.1, 1.0)]
    best = min(fits, key=lambda fit: fit.fun)
    return nll(best.x, new_log_p, new_y)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, nargs="+", default=[4, 10])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--too-confident", type=float, nargs="+", metavar="S",
                        default=[0.02, 0.04, 0.125, 0.2, 0.5, 1.5, 2, 3, 4, 6, 8, 12, 20, 30, 50, 100],
                        help="factors the production logits are multiplied by")
    parser.add_argument("--float32", action="store_true",
                        help="production logits as float32 (the reference's too)")
    args = parser.parse_args()
    dtype = np.float32 if args.float32 else np.float64
    scenarios = [(s, noise, shift) for noise in (0.0, 0.4) for shift in (False, True)
                 for s in args.too_confident]
    print("| classes | too confident | noise | label shift | refinement rise, monitor "
          "| refinement rise, exact | verdicts of chunks in alarm | right |")
    print("|---|---|---|---|---|---|---|---|")
    for k in args.classes:
        for s, noise, shift in scenarios:
            verdicts, estimated, exact = collections.Counter(), [], []
            for seed in range(args.seeds):
                rng = np.random.default_rng(seed)
                reference = stream(rng, 5000, k)
                monitor = CalibrationMonitor(chunk_size=args.chunk_size).fit(
                    reference[0].astype(dtype), reference[1])
                scores, y = stream(rng, 3 * args.chunk_size, k, s, noise, shift)
                monitor.update(scores.astype(dtype), y)
                base = monitor.reference_["nll_refinement"]
                for row in monitor.to_dict()["chunks"]:
                    estimated.append(row["nll_refinement"] - base)
                    if row["alarm"]:
                        verdicts[row["verdict"]] += 1
                rows = slice(0, args.chunk_size)  # the first chunk, measured exactly
                truth = exact_refinement(scores[rows], y[rows],
                                         *stream(rng, 20000, k, s, noise, shift))
                exact.append(truth - exact_refinement(*reference, *stream(rng, 20000, k)))
            right = "retrain" if noise else "recalibrate"
            share = verdicts[right] / max(sum(verdicts.values()), 1)
            print(f"| {k} | {s:g}x | {noise:.0%} | {'yes' if shift else 'no'} | "
                  f"{np.mean(estimated):+.3f} | {np.mean(exact):+.3f} | "
                  f"{', '.join(f'{v} {c}' for v, c in sorted(verdicts.items()))} | "
                  f"{share:.0%} |", flush=True)


if __name__ == "__main__":
    main()
