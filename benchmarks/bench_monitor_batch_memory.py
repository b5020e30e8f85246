"""Peak memory and time of one CalibrationMonitor.update of a large batch.

A batch of ``--rows`` rows of ``--classes`` float32 logits (a day's file the
command line reads whole) is added to a monitor fitted on 20,000 rows, beside
scikit-learn's ``log_loss`` of the same rows (their softmax computed in float64,
as it needs probabilities). Peak memory is the largest traced allocation
(``tracemalloc``, which numpy reports to) during each call, over the input's
size; times are medians of ``--repeat`` runs.

    python benchmarks/bench_monitor_batch_memory.py [--rows 300000] [--classes 100]
"""

import argparse
import statistics
import time
import tracemalloc

import numpy as np
from scipy.special import softmax
from sklearn.metrics import log_loss

from skcal import CalibrationMonitor


def peak_and_seconds(call, repeat):
    """(peak traced MB of the first run, median seconds of ``repeat`` runs)."""
    seconds = []
    for run in range(repeat):
        if run == 0:
            tracemalloc.start()
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
        if run == 0:
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    return peak, statistics.median(seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(args.rows, args.classes)).astype(np.float32)
    y = (logits + rng.gumbel(size=logits.shape).astype(np.float32)).argmax(axis=1)
    fitted = CalibrationMonitor(chunk_size=50_000).fit(logits[:20_000], y[:20_000])
    labels = np.arange(args.classes)

    def update():  # a copy of the fitted monitor each run: one batch added to it
        CalibrationMonitor.from_dict(fitted.to_dict()).update(logits, y)

    def sklearn():
        log_loss(y, softmax(logits.astype(np.float64), axis=1), labels=labels)

    size = logits.nbytes / 2**20
    print(f"{args.rows} x {args.classes} float32 logits: {size:.0f} MB")
    results = {"CalibrationMonitor.update": peak_and_seconds(update, args.repeat),
               "sklearn log_loss": peak_and_seconds(sklearn, args.repeat)}
    for name, (peak, seconds) in results.items():
        print(f"{name:<28} peak {peak:7.0f} MB ({peak / size:4.2f}x the input)  "
              f"{seconds:6.3f} s")
    ratio = results["CalibrationMonitor.update"][1] / results["sklearn log_loss"][1]
    print(f"update / log_loss time: {ratio:.2f}x")


if __name__ == "__main__":
    main()
