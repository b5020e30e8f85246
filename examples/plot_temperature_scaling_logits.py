"""
Temperature scaling of a neural network's logits
================================================

Any model's validation logits, as a NumPy array, are enough: the calibrator needs no
access to the network. Here the "network" is simulated: its logits are twice as sharp
as the true probabilities, the typical overconfidence of a modern deep network.

The NLL is convex in the inverse temperature; skcal finds its minimum with a few
Newton passes over the data.
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import softmax

from skcal import TemperatureScaling
from skcal.metrics import nll

rng = np.random.default_rng(0)


def simulate(n):
    logits = rng.normal(scale=5.0, size=(n, 10))
    true_proba = softmax(logits / 2.0, axis=1)
    labels = (true_proba.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return logits, labels


val_logits, val_y = simulate(5000)
test_logits, test_y = simulate(10000)

ts = TemperatureScaling().fit(val_logits, val_y)
print(f"temperature {ts.temperature_:.3f} found in {ts.n_iter_} Newton passes")
print(f"test NLL: raw {nll(test_y, softmax(test_logits, axis=1)):.4f}, "
      f"scaled {nll(test_y, ts.predict_proba(test_logits)):.4f} nats")

# %%
# The validation NLL as a function of the temperature, and the fitted minimum.
temperatures = np.linspace(0.8, 5, 60)
curve = [nll(val_y, softmax(val_logits / t, axis=1)) for t in temperatures]
fig, ax = plt.subplots()
ax.plot(temperatures, curve)
ax.axvline(ts.temperature_, color="k", linestyle=":", label=f"T = {ts.temperature_:.2f}")
ax.set(xlabel="temperature", ylabel="validation NLL (nats)")
ax.legend()
plt.show()
