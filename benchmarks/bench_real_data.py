"""Every calibrator on the real classifier outputs of ../shared/data.

    python benchmarks/bench_real_data.py [--data ../shared/data] [--markdown]

For each file holding full score matrices: the real validation/test split where
there is one, else a seeded 50/50 split (calibration half, evaluation half).
Every calibrator is fitted on the calibration part; held-out NLL (nats), top-label
ECE (15 equal-width bins, %) and Brier score are printed per model and method,
with the uncalibrated row and the fitted temperature. A "!" marks a method whose
held-out NLL is worse than uncalibrated.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from skcal.calibrators._registry import default_calibrators
from skcal.calibrators._identity import Uncalibrated
from skcal.metrics import brier_score, expected_calibration_error, nll

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def datasets(folder):
    """(name, fit scores, fit labels, test scores, test labels) of each usable file."""
    for path in sorted(folder.glob("*.npz")):
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
            if {"logits_val", "y_val", "logits_test", "y_test"} <= keys:
                yield (path.stem, data["logits_val"], data["y_val"],
                       data["logits_test"], data["y_test"])
            elif {"probs", "y"} <= keys:
                order = np.random.default_rng(0).permutation(data["y"].shape[0])
                half = order.shape[0] // 2
                fit, test = np.sort(order[:half]), np.sort(order[half:])
                yield (path.stem, data["probs"][fit], data["y"][fit],
                       data["probs"][test], data["y"][test])
            # top-1 files (y, pred, conf) hold no score matrix: skipped


def evaluate(y, proba):
    return nll(y, proba), 100 * expected_calibration_error(y, proba), brier_score(y, proba)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"no data folder at {args.data}; pass --data")
    rows = []
    for name, S_fit, y_fit, S_test, y_test in datasets(args.data):
        score_type = "logits" if "logits" in name or "flsd" in name else "probabilities"
        baseline = Uncalibrated(score_type=score_type).fit(S_fit, y_fit)
        reference = evaluate(y_test, baseline.predict_proba(S_test))
        rows.append((name, "uncalibrated", *reference, "", 0.0))
        for method, calibrator in default_calibrators().items():
            calibrator.set_params(score_type=score_type)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted = calibrator.fit(S_fit, y_fit)
            seconds = time.perf_counter() - start
            scores = evaluate(y_test, fitted.predict_proba(S_test))
            extra = f"T = {fitted.temperature_:.3f}" if method == "TemperatureScaling" else ""
            flag = "!" if scores[0] > reference[0] else ""
            rows.append((name, method + flag, *scores, extra, seconds))
        print(f"done: {name} ({S_fit.shape[0]} calibration, {S_test.shape[0]} test rows, "
              f"{S_fit.shape[1]} classes)", flush=True)
    if args.markdown:
        print("\n| model | method | NLL | ECE % | Brier | fit s | |")
        print("|---|---|---|---|---|---|---|")
        for name, method, n, e, b, extra, s in rows:
            print(f"| {name} | {method} | {n:.4f} | {e:.2f} | {b:.4f} | {s:.2f} | {extra} |")
    else:
        print(f"\n{'model':<40}{'method':<22}{'NLL':>8}{'ECE %':>8}{'Brier':>8}{'fit s':>8}")
        for name, method, n, e, b, extra, s in rows:
            print(f"{name:<40}{method:<22}{n:>8.4f}{e:>8.2f}{b:>8.4f}{s:>8.2f}  {extra}")
    print("\n! : held-out NLL worse than uncalibrated")


if __name__ == "__main__":
    main()
