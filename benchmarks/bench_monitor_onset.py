"""Where the monitor says a drift began, against the truth, and what it does to a
recalibration fitted on the rows since then.

    python benchmarks/bench_monitor_onset.py [--seeds 20] [--classes 5]
                                             [--chunk-size 2000] [--too-confident 1.5]

A reference of 40000 rows of a calibrated model (5000 in the small-reference
scenario), then 30 production chunks, from a known chunk on made ``s`` times
too confident (its logits times ``s``). Scenarios: a step at chunk 18; the
same with a small reference; a step at chunk 25 (few chunks after it); a model
too confident from the first chunk; a step at 18 after a passing episode of
drift (chunks 5 to 8); and a drift that grows over 5 chunks from chunk 18.
Per scenario and rule, over the seeds whose last chunk is in alarm: how often
the onset is the change's chunk, early or late, the mean number of chunks it
is early by, and the temperature fitted on the labelled rows since the onset
(``TemperatureScaling``, the recalibration ``skcal monitor --recalibrate``
makes) as its median and largest relative error to ``s``. The rules:
``CalibrationMonitor.drift_onset`` and the first chunk of the CUSUM's
current run above 0 (the textbook CUSUM estimate, which the monitor used
before).
"""

import argparse
import warnings

import numpy as np

from skcal import CalibrationMonitor, TemperatureScaling

SCENARIOS = {  # name: (reference rows, change chunk, episode or None, gradual)
    "step at 18": (40000, 18, None, False),
    "step at 18, reference of 5000 rows": (5000, 18, None, False),
    "step at 25": (40000, 25, None, False),
    "from the first chunk": (40000, 0, None, False),
    "step at 18 after an episode at 5-8": (40000, 18, (5, 9), False),
    "growing over 5 chunks from 18": (40000, 18, None, True),
}
N_CHUNKS = 30


def chunks(rng, n, k, scale):
    logits = rng.normal(scale=2.0, size=(n, k))
    y = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
    return logits * scale, y


def factor(chunk, change, episode, gradual, s):
    if episode is not None and episode[0] <= chunk < episode[1]:
        return s
    if chunk < change:
        return 1.0
    return 1.0 + (s - 1.0) * min(1.0, (chunk - change + 1) / 5) if gradual else s


def cusum_run_start(table):
    start = None
    for row in reversed(table):
        if not row["cusum"] > 0:
            break
        start = row["chunk"]
    return start


def one_stream(seed, scenario, args):
    n_reference, change, episode, gradual = scenario
    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():  # the small reference's warning, expected
        warnings.simplefilter("ignore", UserWarning)
        monitor = CalibrationMonitor(chunk_size=args.chunk_size).fit(
            *chunks(rng, n_reference, args.classes, 1.0))
    stream = [chunks(rng, args.chunk_size, args.classes,
                     factor(c, change, episode, gradual, args.too_confident))
              for c in range(N_CHUNKS)]
    for scores, y in stream:
        monitor.update(scores, y)
    table = monitor.to_dict()["chunks"]
    if not table[-1]["alarm"]:
        return None
    results = {}
    for rule, onset in (("drift_onset", monitor.drift_onset()),
                        ("CUSUM run start", cusum_run_start(table))):
        scores = np.concatenate([s for s, _ in stream[onset:]])
        y = np.concatenate([y for _, y in stream[onset:]])
        temperature = TemperatureScaling().fit(scores, y).temperature_
        results[rule] = (onset - change, temperature / args.too_confident - 1.0)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--too-confident", type=float, default=1.5)
    args = parser.parse_args()
    print(f"{args.seeds} seeds, {args.classes} classes, chunks of {args.chunk_size}, "
          f"{N_CHUNKS} chunks, a model {args.too_confident} times too confident\n")
    header = (f"{'scenario':38s} {'rule':16s} {'alarms':>6s} {'exact':>5s} {'early':>5s} "
              f"{'late':>4s} {'mean early by':>13s} {'T error median':>14s} {'T error max':>11s}")
    print(header)
    print("-" * len(header))
    for name, scenario in SCENARIOS.items():
        outcomes = [r for r in (one_stream(seed, scenario, args) for seed in range(args.seeds))
                    if r is not None]
        for rule in ("drift_onset", "CUSUM run start"):
            offsets = np.array([r[rule][0] for r in outcomes])
            errors = np.abs([r[rule][1] for r in outcomes])
            early = offsets[offsets < 0]
            print(f"{name:38s} {rule:16s} {len(outcomes):6d} {np.sum(offsets == 0):5d} "
                  f"{early.shape[0]:5d} {np.sum(offsets > 0):4d} "
                  f"{-early.mean() if early.shape[0] else 0.0:13.1f} "
                  f"{np.median(errors):14.1%} {errors.max():11.1%}")


if __name__ == "__main__":
    main()
