"""
The calibration / refinement split of the NLL
=============================================

:func:`skcal.metrics.nll_decomposition` splits a model's NLL into what recalibration
can remove (the calibration part) and what it cannot (the refinement part, the
cross-fitted NLL after recalibrating). The same logits, sharpened or softened by a
factor, change only the calibration part.
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import softmax

from skcal.metrics import nll_decomposition

rng = np.random.default_rng(0)
logits = rng.normal(scale=3.0, size=(6000, 4))
y = (softmax(logits, axis=1).cumsum(axis=1) > rng.random((6000, 1))).argmax(axis=1)

factors = [0.25, 0.5, 1.0, 2.0, 4.0]
parts = [nll_decomposition(y, softmax(logits * f, axis=1)) for f in factors]
for f, p in zip(factors, parts):
    print(f"logits x {f:<4}: NLL {p.nll:.3f} = calibration {p.calibration:.3f} "
          f"+ refinement {p.refinement:.3f}")

# %%
fig, ax = plt.subplots()
labels = [f"x {f}" for f in factors]
refinement = [p.refinement for p in parts]
ax.bar(labels, refinement, label="refinement")
ax.bar(labels, [p.calibration for p in parts], bottom=refinement, label="calibration")
ax.set(xlabel="logits multiplied by", ylabel="NLL (nats)")
ax.legend()
plt.show()
