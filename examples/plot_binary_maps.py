"""
Platt scaling and beta calibration
==================================

Both fit a map of a binary classifier's probability by NLL. Platt's sigmoid acts on
the logit, ``sigmoid(a * logit(p) + b)``, and cannot bend differently near 0 and near
1; beta calibration, ``logit(q) = a log p - b log(1 - p) + c``, can. Here the true
probability is ``p ** 2``: an overconfident model near 1, a very overconfident one
near 0.
"""

import matplotlib.pyplot as plt
import numpy as np

from skcal import BetaCalibration, PlattScaling
from skcal.metrics import nll

rng = np.random.default_rng(0)
p = rng.uniform(0.001, 0.999, size=20000)
y = (rng.random(20000) < p**2).astype(int)
p_test = rng.uniform(0.001, 0.999, size=20000)
y_test = (rng.random(20000) < p_test**2).astype(int)

grid = np.linspace(0.001, 0.999, 300)
fig, ax = plt.subplots(figsize=(5, 5))
ax.plot(grid, grid**2, "k:", label="true map p ** 2")
for Calibrator in (PlattScaling, BetaCalibration):
    model = Calibrator().fit(p, y)
    held_out = nll(y_test, model.predict_proba(p_test))
    ax.plot(grid, model.predict_proba(grid)[:, 1],
            label=f"{Calibrator.__name__} (held-out NLL {held_out:.4f})")
ax.set(xlabel="predicted probability p", ylabel="calibrated probability")
ax.legend()
plt.show()
