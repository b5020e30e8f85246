"""
Reliability diagrams of several methods on one axis
===================================================

:class:`skcal.ReliabilityDisplay` draws the multiclass top-label reliability diagram,
with the ECE in the legend. Displays drawn on the same axis overlay. A random forest
is underconfident: its averaged votes rarely reach the extremes.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

from skcal import IsotonicCalibration, ReliabilityDisplay, TemperatureScaling

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0)

forest = RandomForestClassifier(n_estimators=100, random_state=0).fit(X_train, y_train)
models = {
    "random forest": forest,
    "temperature": TemperatureScaling(
        RandomForestClassifier(n_estimators=100, random_state=0)
    ).fit(X_train, y_train),
    "isotonic": IsotonicCalibration(
        RandomForestClassifier(n_estimators=100, random_state=0)
    ).fit(X_train, y_train),
}
fig, ax = plt.subplots(figsize=(5, 5))
for name, model in models.items():
    ReliabilityDisplay.from_estimator(
        model, X_test, y_test, name=name, ax=ax, n_bins=10, hist=name == "random forest"
    )
plt.show()
