"""CalibrationMonitor.update throughput and state size.

1,000,000 rows x 10 classes of float32 logits, added in batches of 10,000 to a
monitor with chunks of 1,000 rows, against computing the NLL of the same rows
once with ``skcal.metrics.nll_from_logits`` (and scikit-learn's ``log_loss`` on
their probabilities). Medians of ``--repeat`` runs (the update's ratio: the
median of each repeat's update time over the NLL pass timed right after it);
the state size is the
length of ``json.dumps(monitor.to_dict())``.

    python benchmarks/bench_monitor.py --repeat 3 [--too-confident S]

``--too-confident S`` multiplies the production logits by ``S`` (the reference
is unchanged): beyond about 16 the rows' NLL still falls at an inverse
temperature of 1/16, and the monitor keeps its recalibration terms at 1/32,
1/64 and 1/128 too (below about 1/8, at 16, 32 and 64).
"""

import argparse
import json

import numpy as np
from scipy.special import softmax
from sklearn.metrics import log_loss

from skcal import CalibrationMonitor
from skcal.metrics import nll_from_logits

from bench_fit import timed  # the same timing as the fit benchmark


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--too-confident", type=float, default=1.0, metavar="S")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(args.rows, args.classes)).astype(np.float32)
    y = np.argmax(logits / 1.5 + rng.gumbel(size=logits.shape), axis=1)
    reference = (logits[:20000].copy(), y[:20000])
    logits *= np.float32(args.too_confident)

    def fitted():
        return CalibrationMonitor(chunk_size=args.chunk_size).fit(*reference)

    def add_all_batches(monitor):
        for start in range(0, args.rows, args.batch):
            monitor.update(logits[start : start + args.batch], y[start : start + args.batch])
        return monitor

    fit_seconds, _ = timed(fitted, args.repeat)
    # the update and the NLL pass timed in turn, so that both meet the same load
    # of a shared machine; the ratio is the median of the repeats' ratios
    update_times, nll_times = [], []
    for _ in range(args.repeat):  # each repeat on a fresh monitor, the fit not timed
        monitor = fitted()
        update_seconds, monitor = timed(lambda: add_all_batches(monitor), 1)
        update_times.append(update_seconds)
        nll_times.append(timed(lambda: nll_from_logits(y, logits), 1)[0])
    update_seconds, nll_seconds = float(np.median(update_times)), float(np.median(nll_times))
    ratio = float(np.median(np.array(update_times) / np.array(nll_times)))
    proba = softmax(logits.astype(np.float64), axis=1)
    sklearn_seconds, _ = timed(lambda: log_loss(y, proba, labels=np.arange(args.classes)),
                               args.repeat)
    state = json.dumps(monitor.to_dict())
    print(f"{args.rows} rows x {args.classes} classes, batches of {args.batch}, chunks of "
          f"{args.chunk_size}; production logits {args.too_confident:g} times too confident; "
          f"medians of {args.repeat}")
    print("| what | seconds | rows per second | vs one nll_from_logits pass |")
    print("|---|---|---|---|")
    print(f"| nll_from_logits, once | {nll_seconds:.3f} | {args.rows / nll_seconds:,.0f} | 1.0x |")
    print(f"| sklearn log_loss, once | {sklearn_seconds:.3f} | "
          f"{args.rows / sklearn_seconds:,.0f} | {sklearn_seconds / nll_seconds:.1f}x |")
    print(f"| CalibrationMonitor.update, all batches | {update_seconds:.3f} | "
          f"{args.rows / update_seconds:,.0f} | {ratio:.1f}x |")
    print(f"| CalibrationMonitor.fit (20000-row reference, thresholds) | {fit_seconds:.3f} | | |")
    print(f"State: {len(state) / 1024:.0f} KiB as JSON for {len(monitor.to_dict()['chunks'])} "
          f"chunks ({len(state) / len(monitor.to_dict()['chunks']) / 1024:.1f} KiB per chunk; "
          "at most `history` chunks are kept, 1000 by default)")


if __name__ == "__main__":
    main()
