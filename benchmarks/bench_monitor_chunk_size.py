"""False alarms of a period monitor whose thresholds were simulated for smaller
chunks than its periods hold.

Streams without drift: a reference of 2000 rows of a calibrated 3-class model,
then 10 complete daily chunks of 10,000 rows each. The share of streams with any
alarm, for a monitor fitted with ``chunk_size=500`` (thresholds for chunks of
500 labelled rows; the monitor warns of such chunks) and with
``chunk_size=10000`` (the rows a day holds). ``alpha=0.05`` bounds the share
over 100 chunks, so over 10 it should stay well below 5%.

    python benchmarks/bench_monitor_chunk_size.py [--streams 100]
"""

import argparse
import warnings

import numpy as np
import pandas as pd

from skcal import CalibrationMonitor


def calibrated_rows(rng, n, day=None):
    logits = rng.normal(scale=2.0, size=(n, 3))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = (proba.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    if day is None:
        return logits, y
    times = pd.Timestamp(day) + pd.to_timedelta(np.sort(rng.uniform(0, 86400, n)), unit="s")
    return logits, y, times.to_numpy()


def alarmed_streams(chunk_size, streams):
    alarmed = 0
    for seed in range(streams):
        rng = np.random.default_rng(seed)
        monitor = CalibrationMonitor(chunk_period="D", chunk_size=chunk_size,
                                     random_state=seed).fit(*calibrated_rows(rng, 2000))
        for day in range(11):  # the 11th day completes the 10th
            monitor.update(*calibrated_rows(rng, 10000, f"2026-11-{day + 1:02d}"))
        alarmed += bool(monitor.to_frame()["alarm"].any())
    return alarmed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=100)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the warning of the too small chunk_size
    for chunk_size in (500, 10000):
        alarmed = alarmed_streams(chunk_size, args.streams)
        print(f"chunk_size={chunk_size:>5}: {alarmed}/{args.streams} streams without drift "
              "alarm within 10 daily chunks of 10000 rows", flush=True)


if __name__ == "__main__":
    main()
