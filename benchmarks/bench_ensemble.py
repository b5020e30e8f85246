"""Calibrating an ensemble: before or after averaging? Measured on real outputs.

Three CIFAR-10 classifiers whose test outputs share one label order
(``../shared/data``: WideResNet-16-4, VGG16, ResNet-50 FLSD-53; see its README)
form an ensemble. The test set is split in halves, 20 seeded times: temperature
scaling is fitted on one half, and the predictive NLL measured on the other:
the raw average, the average temperature-scaled (one temperature on the log of
the mean probabilities), and the members temperature-scaled before averaging.

    python benchmarks/bench_ensemble.py [--splits 20]
"""

import argparse
from pathlib import Path

import numpy as np

from skcal import TemperatureScaling
from skcal.metrics import ensemble_nll, nll_from_logits, predictive_log_proba

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def members():
    """(log-probabilities of each member (3, 10000, 10), labels)."""
    wrn = np.load(DATA / "netcal_wideresnet-16-4-cifar-10_test.npz")
    vgg = np.load(DATA / "cifar10_vgg16_test.npz")
    resnet = np.load(DATA / "cifar10_resnet50_flsd53_val_test.npz")
    y = wrn["y"]
    assert (vgg["y"] == y).all() and (resnet["y_test"] == y).all(), "label orders differ"
    floor = np.finfo(np.float32).tiny
    log_p = [np.log(np.maximum(wrn["probs"].astype(np.float64), floor)),
             np.log(np.maximum(vgg["probs"].astype(np.float64), floor)),
             resnet["logits_test"] - np.logaddexp.reduce(resnet["logits_test"], axis=1,
                                                         keepdims=True)]
    return np.stack(log_p), y


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=20)
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent (real classifier outputs, never copied here)")
        return
    samples, y = members()
    whole = ensemble_nll(y, samples, score_type="logits")
    print(f"Members' NLL {np.round(whole.member_nlls, 4)}; their mean (the ELBO's "
          f"likelihood term) {whole.members_nll:.4f}; the ensemble's predictive NLL "
          f"{whole.predictive_nll:.4f}; gain {whole.gain:.4f} nats")
    rows = {"raw average": [], "average, then one temperature": [],
            "each member's temperature, then the average": []}
    for seed in range(args.splits):
        order = np.random.default_rng(seed).permutation(y.shape[0])
        fit, test = order[:5000], order[5000:]
        mean_log = predictive_log_proba(samples, score_type="logits")
        rows["raw average"].append(nll_from_logits(y[test], mean_log[test]))
        after = TemperatureScaling().fit(mean_log[fit], y[fit])
        rows["average, then one temperature"].append(
            nll_from_logits(y[test], np.log(after.predict_proba(mean_log[test]))))
        scaled = np.stack([np.log(TemperatureScaling().fit(s[fit], y[fit]).predict_proba(s))
                           for s in samples])
        rows["each member's temperature, then the average"].append(
            nll_from_logits(y[test], predictive_log_proba(scaled, score_type="logits")[test]))
    print(f"Held-out predictive NLL over {args.splits} seeded halves (mean ± sd):")
    print("| ensemble | NLL (nats) |")
    print("|---|---|")
    for name, values in rows.items():
        print(f"| {name} | {np.mean(values):.4f} ± {np.std(values):.4f} |")


if __name__ == "__main__":
    main()
