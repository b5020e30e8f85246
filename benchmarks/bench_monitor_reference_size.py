"""What a monitor can see, by the size of its reference.

    python benchmarks/bench_monitor_reference_size.py [--chunk-size 500]
                                                       [--chunks 1 2 3 5 10 20 50 200]

A calibrated 3-class model (logits of scale 2, labels drawn from them). For
each reference of ``--chunks`` chunks, the monitor's thresholds (simulated at
fit) and ``detectable_rise_``: the sustained NLL rise over the reference's that
the CUSUM flags within 10 chunks, and the rise a single chunk alarms at, in
nats. Every chunk is compared with the reference's NLL, whose own error all
chunks share: a small reference raises the CUSUM's threshold, which keeps the
false-alarm bound, and the rises it sees grow with it. ``fit`` warns below 3
chunks.
"""

import argparse
import time
import warnings

import numpy as np

from skcal import CalibrationMonitor


def calibrated(rng, n):
    logits = rng.normal(scale=2.0, size=(n, 3))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return logits, (proba.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument("--chunks", type=float, nargs="+",
                        default=[1, 2, 3, 5, 10, 20, 50, 200])
    args = parser.parse_args()
    logits, y = calibrated(np.random.default_rng(0), int(max(args.chunks) * args.chunk_size))
    print(f"chunks of {args.chunk_size} rows; rises in nats")
    print(f"{'reference chunks':>16} {'rows':>7} {'CUSUM h':>8} {'chunk z':>8} "
          f"{'rise, CUSUM':>12} {'rise, chunk':>12} {'warned':>7} {'fit s':>6}")
    for chunks in args.chunks:
        n = int(chunks * args.chunk_size)
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            monitor = CalibrationMonitor(chunk_size=args.chunk_size).fit(logits[:n], y[:n])
        seconds = time.perf_counter() - start
        rise = monitor.detectable_rise_
        print(f"{chunks:>16g} {n:>7} {monitor.cusum_threshold_:>8.1f} "
              f"{monitor.chunk_threshold_:>8.2f} {rise['cusum']:>12.3f} "
              f"{rise['chunk']:>12.3f} {'yes' if caught else 'no':>7} {seconds:>6.2f}")


if __name__ == "__main__":
    main()
