"""The monitor's state with rows waiting for a label: its size, and the time to
write and read it, with the waiting rows' float32 log-probabilities as base64
of their bytes (state version 4) against the same values as JSON numbers (as
versions up to 3 wrote them, and as every version still reads them).

A monitor fitted on 10,000 rows of ``--classes`` classes adds ``--waiting``
rows without labels (ids given, their labels to come later). "write" is
``json.dumps(monitor.to_dict())``, "read" is
``CalibrationMonitor.from_dict(json.loads(text))``; each is the median of
``--repeat`` runs, both encodings timed in turn in one process.

    python benchmarks/bench_monitor_state.py [--classes 100] [--waiting 50000] [--repeat 5]
"""

import argparse
import json

import numpy as np

from skcal import CalibrationMonitor

from bench_fit import timed  # the same timing as the fit benchmark


def as_numbers(state, log_proba):
    """The state as versions up to 3 wrote it: log-probabilities as numbers."""
    return dict(state, version=3, pending_log_proba=log_proba.astype(np.float64).tolist())


def median_seconds(work, repeat):
    return timed(work, repeat)[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--waiting", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = 10_000 + args.waiting
    logits = rng.normal(scale=3.0, size=(n, args.classes))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    monitor = CalibrationMonitor(chunk_size=1000).fit(logits[:10_000], y[:10_000])
    monitor.update(logits[10_000:], None, ids=np.arange(args.waiting))
    log_proba = monitor._pending.log_proba

    encodings = {
        "float32 bytes (base64)": lambda: json.dumps(monitor.to_dict()),
        "numbers": lambda: json.dumps(as_numbers(monitor.to_dict(), log_proba)),
    }
    rows = []
    for name, write in encodings.items():
        text = write()
        restored = CalibrationMonitor.from_dict(json.loads(text))
        assert np.array_equal(restored._pending.log_proba, log_proba)
        rows.append((name, len(text) / 2**20, median_seconds(write, args.repeat),
                     median_seconds(lambda: CalibrationMonitor.from_dict(json.loads(text)),
                                    args.repeat)))
    print(f"{args.waiting} rows waiting for a label, {args.classes} classes, "
          f"median of {args.repeat} runs")
    print(f"{'waiting rows saved as':<26}{'MiB':>8}{'write s':>10}{'read s':>10}")
    for name, size, write, read in rows:
        print(f"{name:<26}{size:>8.1f}{write:>10.3f}{read:>10.3f}")
    (_, size_new, write_new, read_new), (_, size_old, write_old, read_old) = rows
    print(f"{'numbers / bytes':<26}{size_old / size_new:>7.1f}x{write_old / write_new:>9.1f}x"
          f"{read_old / read_new:>9.1f}x")


if __name__ == "__main__":
    main()
