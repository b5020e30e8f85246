"""
Is it calibrated, and how sure are we?
======================================

A point estimate of the ECE says nothing about noise. Here a real classifier's
outputs, a ResNet-50 trained with focal loss on CIFAR-10 (its validation and test
logits, from ``../shared/data``; a synthetic overconfident model stands in when
that folder is absent), are tested for calibration before and after temperature
scaling: p-values from three tests, bootstrap intervals for the NLL and the ECE,
two calibration errors without bins, and reliability diagrams with consistency
bands.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import softmax

from skcal import ReliabilityDisplay, TemperatureScaling
from skcal.metrics import expected_calibration_error, nll, skce, smooth_ece
from skcal.stats import bootstrap, calibration_test


def shared_data():
    """The shared folder of real classifier outputs, if it is on this machine."""
    for folder in (os.environ.get("SKCAL_SHARED_DATA"), "../shared/data",
                   "../../shared/data"):
        if folder and (Path(folder) / "cifar10_resnet50_flsd53_val_test.npz").exists():
            return Path(folder)
    return None


folder = shared_data()
if folder is not None:
    data = np.load(folder / "cifar10_resnet50_flsd53_val_test.npz")
    logits_val, y_val = data["logits_val"], data["y_val"]
    logits_test, y_test = data["logits_test"], data["y_test"]
    source = "ResNet-50 (focal loss), CIFAR-10"
else:  # a stand-in: labels drawn at temperature 1.6, so the logits are overconfident
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(15000, 10))
    y = (softmax(logits / 1.6, axis=1).cumsum(axis=1) > rng.random((15000, 1))).argmax(axis=1)
    logits_val, y_val, logits_test, y_test = logits[:5000], y[:5000], logits[5000:], y[5000:]
    source = "synthetic overconfident model"

raw = softmax(logits_test, axis=1)
calibrated = TemperatureScaling().fit(logits_val, y_val).predict_proba(logits_test)

# %%
# Tests: is the miscalibration more than chance?
# ----------------------------------------------
# The consistency test draws labels from the predictions themselves (what a
# calibrated model's labels would look like) and asks how often their ECE
# reaches the observed one; the kernel test does the same without bins on the
# SKCE, by the wild bootstrap. Small p-values: real miscalibration. On the
# CIFAR-10 model both tests still reject after temperature scaling: with 10,000
# test rows, the remaining ECE of about 1 % is more than noise, and a
# one-parameter map cannot remove it (``compare_calibrators`` would try others).

for name, proba in (("raw", raw), ("temperature-scaled", calibrated)):
    consistency = calibration_test(y_test, proba, random_state=0)
    kernel = calibration_test(y_test, proba, method="skce", random_state=0)
    print(f"{source}, {name}: ECE {100 * consistency.statistic:.2f}% "
          f"(consistency p = {consistency.pvalue:.3f}), "
          f"SKCE {kernel.statistic:.2e} (kernel test p = {kernel.pvalue:.3f})")

# %%
# Intervals: how precise are the numbers?
# ---------------------------------------
# The bootstrap resamples the test rows; for the NLL each resample is a
# weighted sum of per-row losses, so 1000 resamples take a fraction of a second.

for name, proba in (("raw", raw), ("temperature-scaled", calibrated)):
    nll_interval = bootstrap(nll, y_test, proba, random_state=0).confidence_interval
    ece_interval = bootstrap(expected_calibration_error, y_test, proba, method="bca",
                             random_state=0).confidence_interval
    print(f"{name}: NLL {nll(y_test, proba):.4f} "
          f"[{nll_interval.low:.4f}, {nll_interval.high:.4f}], "
          f"ECE {100 * expected_calibration_error(y_test, proba):.2f}% "
          f"[{100 * ece_interval.low:.2f}, {100 * ece_interval.high:.2f}], "
          f"smooth ECE {100 * smooth_ece(y_test, proba):.2f}%, "
          f"SKCE {skce(y_test, proba):.2e}")

# %%
# Reading a consistency band
# --------------------------
# The shaded band is where a perfectly calibrated model's points would fall, bin
# by bin, 95% of the time: a point outside it is miscalibration that the bin's
# size cannot explain. Bins with few samples have wide bands.

fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharey=True, layout="constrained")
for ax, (name, proba) in zip(axes, (("raw", raw), ("temperature-scaled", calibrated))):
    ReliabilityDisplay.from_predictions(y_test, proba, name=name, ax=ax,
                                        consistency_band=0.95, random_state=0,
                                        min_bin_weight=10)
    ax.set_title(f"{source}: {name}", fontsize="medium")
plt.show()
