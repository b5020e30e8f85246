"""How far a temperature refitted on the log-probabilities a monitor served is from
the one fitted on the raw scores.

Rows added to a ``CalibrationMonitor`` without labels wait with their served
log-probabilities in float32; when their labels come (``add_labels``), ``skcal
monitor --recalibrate temperature`` fits a temperature on those, not on the raw
scores it no longer holds. Per seed and setting (classes, how many times too
confident the production rows are): 3000 reference rows, 4000 production rows
labelled late, the relative gap between the two temperatures.

With ``--installed vector`` (or ``matrix``) the rows are served through that
calibrator, fitted on the reference; the run writes it followed by the
temperature, as one map of its class (its parameters divided by the
temperature), and the gap is between that temperature and the one fitted in
float64 on the log-probabilities the calibrator gives the raw scores.

    python benchmarks/bench_served_temperature.py [--seeds 10] [--installed vector]
"""

import argparse

import numpy as np

from skcal import CalibrationMonitor, MatrixScaling, TemperatureScaling, VectorScaling
from skcal.monitoring._served_temperature import join_late_labels, temperature_from_served

SETTINGS = [(4, 2.5), (10, 0.5), (100, 3.0)]  # (classes, times too confident)


INSTALLED = {"none": None, "vector": VectorScaling, "matrix": MatrixScaling}


def relative_gap(seed, k, scale, installed=None):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(7000, k))
    y = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
    logits[3000:] *= scale
    monitor = CalibrationMonitor(chunk_size=1000).fit(logits[:3000], y[:3000])
    if installed is not None:
        installed = monitor.recalibrate(installed().fit(logits[:3000], y[:3000]))
    ids = np.arange(4000)
    monitor.update(logits[3000:], ids=ids)
    log_proba, y_index, _ = join_late_labels(monitor, ids, y[3000:])
    served = temperature_from_served(monitor, log_proba, monitor.classes_[y_index])
    if installed is None:
        raw = TemperatureScaling().fit(logits[3000:], y[3000:])
        return abs(served.temperature_ / raw.temperature_ - 1)
    # every parameter of the installed map divided by the temperature
    temperature = np.linalg.norm(installed.coef_) / np.linalg.norm(served.coef_)
    direct = TemperatureScaling().fit(np.log(installed.predict_proba(logits[3000:])), y[3000:])
    return abs(temperature / direct.temperature_ - 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--installed", choices=list(INSTALLED), default="none")
    args = parser.parse_args()
    print(f"installed calibrator: {args.installed}")
    print("| classes | times too confident | largest gap | median gap |")
    print("|---|---|---|---|")
    every = []
    for k, scale in SETTINGS:
        gaps = [relative_gap(seed, k, scale, INSTALLED[args.installed])
                for seed in range(args.seeds)]
        every += gaps
        print(f"| {k} | {scale} | {max(gaps):.1e} | {np.median(gaps):.1e} |")
    print(f"largest relative gap over {len(every)} fits: {max(every):.1e}")


if __name__ == "__main__":
    main()
