"""Histogram binning one-vs-rest against top-label, on real classifier outputs;
with ``--isotonic``, isotonic calibration likewise.

The CIFAR-10 and CIFAR-100 outputs of ``../shared/data`` (probabilities or
logits of the test sets; see its README) are split in halves, 5 seeded times:
each binning is fitted on one half and scored on the other (held-out NLL and
accuracy, means over the splits); then the synthetic 10,000 x 100 logits of
the comparison benchmark, split once.

Top-label isotonic calibration is not a skcal option: measured here (an
isotonic regression of "the prediction is right" on the top confidence, per
predicted class, the rest of the mass spread as top-label binning spreads it),
it lost to one-vs-rest isotonic calibration on every dataset, so it was not
added.

    python benchmarks/bench_top_label.py [--isotonic]
"""

import argparse
from pathlib import Path

import numpy as np
from scipy.special import log_softmax, softmax
from sklearn.isotonic import IsotonicRegression

from skcal import HistogramBinning, IsotonicCalibration
from skcal.calibrators._top_label import spread

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FILES = {
    "LeNet-5, CIFAR-10": "netcal_lenet-5-cifar-10_test.npz",
    "WideResNet-16-4, CIFAR-10": "netcal_wideresnet-16-4-cifar-10_test.npz",
    "VGG16, CIFAR-10": "cifar10_vgg16_test.npz",
    "ResNet-50 FLSD-53, CIFAR-10": "cifar10_resnet50_flsd53_val_test.npz",
    "LeNet-5, CIFAR-100": "netcal_lenet-5-cifar-100_test.npz",
    "WideResNet-16-4, CIFAR-100": "netcal_wideresnet-16-4-cifar-100_test.npz",
    "DenseNet-BC-100, CIFAR-100": "netcal_densenet-bc-100-cifar-100_test.npz",
}


def scores(name):
    data = np.load(DATA / name)
    if "probs" in data.files:
        return np.log(np.maximum(data["probs"].astype(np.float64), 1e-30)), data["y"]
    return data["logits_test"], data["y_test"]


class TopLabelIsotonic:
    """The top-label isotonic calibration measured (not a skcal option): per
    predicted class with at least 20 rows (else all rows), an isotonic regression
    of correctness on the top confidence; the rest spread as top-label binning does."""

    def fit(self, logits, y):
        proba = softmax(logits, axis=1)
        top = proba.argmax(axis=1)
        confidence, correct = proba.max(axis=1), (top == y).astype(float)
        self.maps = {label: self._regression(confidence[top == label], correct[top == label])
                     for label in np.unique(top) if np.sum(top == label) >= 20}
        self.overall = self._regression(confidence, correct)
        return self

    @staticmethod
    def _regression(x, y):
        return IsotonicRegression(out_of_bounds="clip", y_min=1e-3, y_max=1 - 1e-3).fit(x, y)

    def predict_proba(self, logits):
        proba = softmax(logits, axis=1)
        rows, top = np.arange(proba.shape[0]), proba.argmax(axis=1)
        calibrated = np.empty(proba.shape[0])
        for label in np.unique(top):
            chosen = top == label
            regression = self.maps.get(label, self.overall)
            calibrated[chosen] = regression.predict(proba[chosen, label])
        calibrated = np.clip(calibrated, 1.0 / proba.shape[1], 1.0)
        others = proba.copy()
        others[rows, top] = 0.0
        out = spread(others, 1.0 - calibrated, calibrated)
        out[rows, top] = calibrated
        return out


def held_out(logits, y, train, test, isotonic=False):
    """(NLL, accuracy) of uncalibrated, one-vs-rest and top-label on ``test``."""
    rows = np.arange(test.shape[0])
    out = [(-log_softmax(logits[test], axis=1)[rows, y[test]].mean(),
            (logits[test].argmax(axis=1) == y[test]).mean())]
    if isotonic:
        methods = (IsotonicCalibration(), TopLabelIsotonic())
    else:
        methods = (HistogramBinning(multiclass="one-vs-rest"),
                   HistogramBinning(multiclass="top-label"))
    for method in methods:
        proba = method.fit(logits[train], y[train]).predict_proba(logits[test])
        out.append((-np.log(np.maximum(proba[rows, y[test]], 1e-300)).mean(),
                    (proba.argmax(axis=1) == y[test]).mean()))
    return np.array(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--isotonic", action="store_true",
                        help="isotonic calibration instead of histogram binning")
    isotonic = parser.parse_args().isotonic
    print(f"{'isotonic calibration' if isotonic else 'histogram binning'}, held-out NLL")
    print("| model | uncalibrated | one-vs-rest | top-label | accuracy (uncal. / OvR / top) |")
    print("|---|---|---|---|---|")
    rows = []
    if DATA.is_dir():
        for label, name in FILES.items():
            logits, y = scores(name)
            results = []
            for seed in range(5):
                order = np.random.default_rng(seed).permutation(y.shape[0])
                half = y.shape[0] // 2
                results.append(held_out(logits, y, order[:half], order[half:], isotonic))
            rows.append((label, np.mean(results, axis=0)))
    else:
        print(f"(real outputs skipped: {DATA} is absent)")
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(10000, 100))
    y = (logits / 2 + rng.gumbel(size=logits.shape)).argmax(axis=1)
    rows.append(("synthetic 10000 x 100", held_out(logits, y, np.arange(5000),
                                                   np.arange(5000, 10000), isotonic)))
    for label, r in rows:
        print(f"| {label} | {r[0, 0]:.4f} | {r[1, 0]:.4f} | {r[2, 0]:.4f} | "
              f"{r[0, 1]:.3f} / {r[1, 1]:.3f} / {r[2, 1]:.3f} |")


if __name__ == "__main__":
    main()
