"""
Isotonic calibration and histogram binning
==========================================

The non-parametric maps assume only that a higher score means a higher probability
(isotonic regression) or nothing at all within a bin (histogram binning). Both are
step functions; skcal keeps their steps away from exact 0 and 1, which would cost
hundreds of nats under NLL for a single held-out mistake. They need more data than
the parametric maps: compare the held-out NLL at two calibration-set sizes.
"""

import matplotlib.pyplot as plt
import numpy as np

from skcal import HistogramBinning, IsotonicCalibration, PlattScaling
from skcal.metrics import nll

rng = np.random.default_rng(0)


def simulate(n):
    s = rng.normal(scale=2.0, size=n)
    true = 1 / (1 + np.exp(-(np.sign(s) * np.abs(s) ** 1.5)))  # a non-sigmoid shape
    return s, (rng.random(n) < true).astype(int)


s_test, y_test = simulate(20000)
for n in (200, 5000):
    s, y = simulate(n)
    for Calibrator in (PlattScaling, IsotonicCalibration, HistogramBinning):
        model = Calibrator().fit(s, y)
        print(f"n={n:>5} {Calibrator.__name__:>20}: held-out NLL "
              f"{nll(y_test, model.predict_proba(s_test)):.4f}")

# %%
grid = np.linspace(-5, 5, 400)
fig, ax = plt.subplots()
for Calibrator in (IsotonicCalibration, HistogramBinning):
    ax.plot(grid, Calibrator().fit(s, y).predict_proba(grid)[:, 1], label=Calibrator.__name__)
ax.plot(grid, 1 / (1 + np.exp(-(np.sign(grid) * np.abs(grid) ** 1.5))), "k:", label="truth")
ax.set(xlabel="score", ylabel="calibrated probability")
ax.legend()
plt.show()
