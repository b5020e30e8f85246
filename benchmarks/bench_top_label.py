"""Histogram binning one-vs-rest against top-label, on real classifier outputs.

The CIFAR-10 and CIFAR-100 outputs of ``../shared/data`` (probabilities or
logits of the test sets; see its README) are split in halves, 5 seeded times:
each binning is fitted on one half and scored on the other (held-out NLL and
accuracy, means over the splits); then the synthetic 10,000 x 100 logits of
the comparison benchmark, split once.

    python benchmarks/bench_top_label.py
"""

from pathlib import Path

import numpy as np
from scipy.special import log_softmax

from skcal import HistogramBinning

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


def held_out(logits, y, train, test):
    """(NLL, accuracy) of uncalibrated, one-vs-rest and top-label on ``test``."""
    rows = np.arange(test.shape[0])
    out = [(-log_softmax(logits[test], axis=1)[rows, y[test]].mean(),
            (logits[test].argmax(axis=1) == y[test]).mean())]
    for multiclass in ("one-vs-rest", "top-label"):
        proba = HistogramBinning(multiclass=multiclass).fit(
            logits[train], y[train]).predict_proba(logits[test])
        out.append((-np.log(np.maximum(proba[rows, y[test]], 1e-300)).mean(),
                    (proba.argmax(axis=1) == y[test]).mean()))
    return np.array(out)


def main():
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
                results.append(held_out(logits, y, order[:half], order[half:]))
            rows.append((label, np.mean(results, axis=0)))
    else:
        print(f"(real outputs skipped: {DATA} is absent)")
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(10000, 100))
    y = (logits / 2 + rng.gumbel(size=logits.shape)).argmax(axis=1)
    rows.append(("synthetic 10000 x 100", held_out(logits, y, np.arange(5000),
                                                   np.arange(5000, 10000))))
    for label, r in rows:
        print(f"| {label} | {r[0, 0]:.4f} | {r[1, 0]:.4f} | {r[2, 0]:.4f} | "
              f"{r[0, 1]:.3f} / {r[1, 1]:.3f} / {r[2, 1]:.3f} |")


if __name__ == "__main__":
    main()
