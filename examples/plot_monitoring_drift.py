"""
Monitoring a deployed model's calibration
=========================================

A classifier is deployed with its validation data as the reference. Production rows
then arrive in batches, their labels with them. For a while nothing changes; then the
class mix shifts (some classes become more common), which a recalibration fixes; later
the inputs get noisier, so the model ranks the classes worse, which only retraining
fixes. :class:`skcal.CalibrationMonitor` raises an alarm for each and tells the two
causes apart.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from skcal import CalibrationMonitor

X, y = make_classification(n_samples=80_000, n_features=12, n_informative=8,
                           n_classes=4, n_clusters_per_class=1, random_state=0)
model = LogisticRegression(max_iter=1000).fit(X[:10_000], y[:10_000])
monitor = CalibrationMonitor(chunk_size=500).fit(
    model.predict_proba(X[10_000:20_000]), y[10_000:20_000]
)

# %%
# Forty-five chunks of production rows: fifteen as in training, fifteen where the class
# the model finds hardest is four times as common (label shift), fifteen with noisier
# inputs. (A shift toward an easy class lowers the NLL: no alarm, though the table's
# calibration part shows it.)
rng = np.random.default_rng(0)
pool_X, pool_y = X[20_000:], y[20_000:]
log_p = np.log(model.predict_proba(X[10_000:20_000]))
per_class_nll = [-log_p[y[10_000:20_000] == k, k].mean() for k in range(4)]
hardest = int(np.argmax(per_class_nll))
for chunk in range(45):
    if 15 <= chunk < 30:
        weights = np.where(pool_y == hardest, 4.0, 1.0)
        rows = rng.choice(pool_y.shape[0], size=500, p=weights / weights.sum())
    else:
        rows = rng.choice(pool_y.shape[0], size=500)
    batch = pool_X[rows]
    if chunk >= 30:
        batch = batch + rng.normal(scale=1.5, size=batch.shape)
    monitor.update(model.predict_proba(batch), pool_y[rows])

print(monitor.summary())
table = monitor.to_frame()
print(table[["chunk", "accuracy", "nll", "nll_calibration", "nll_refinement", "alarm",
             "verdict"]].iloc[::3].round(3).to_string(index=False))

# %%
# The held-out NLL per chunk against the band a calibrated model stays in. The
# orange gap is the part a recalibration would remove: most of the rise while the
# classes shift, little of it once the inputs are noisy.
monitor.plot()
plt.show()
