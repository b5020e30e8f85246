"""
Calibrating an overconfident classifier in a pipeline
=====================================================

A logistic regression with almost no regularisation fits the training digits too
well and becomes overconfident on new ones. Wrapping it in a calibrator inside the
pipeline fixes its probabilities: the calibrator cross-fits the classifier, learns a
temperature on out-of-fold scores, and refits the classifier on all the data.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcal import ReliabilityDisplay, TemperatureScaling
from skcal.metrics import expected_calibration_error, nll

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0)

raw = make_pipeline(StandardScaler(), LogisticRegression(C=1000, max_iter=5000))
calibrated = make_pipeline(
    StandardScaler(), TemperatureScaling(LogisticRegression(C=1000, max_iter=5000), cv=5)
)
raw.fit(X_train, y_train)
calibrated.fit(X_train, y_train)

for name, model in [("raw", raw), ("temperature-scaled", calibrated)]:
    proba = model.predict_proba(X_test)
    print(f"{name:>20}: NLL {nll(y_test, proba):.3f} nats, "
          f"ECE {100 * expected_calibration_error(y_test, proba):.1f} %")
print(f"fitted temperature: {calibrated[-1].temperature_:.2f}")

# %%
# The reliability diagrams show the raw model's confidence running ahead of its
# accuracy (points below the diagonal), and the calibrated one following it.
fig, ax = plt.subplots(figsize=(5, 5))
ReliabilityDisplay.from_estimator(raw, X_test, y_test, name="raw", ax=ax, n_bins=10)
ReliabilityDisplay.from_estimator(
    calibrated, X_test, y_test, name="temperature-scaled", ax=ax, n_bins=10, hist=False
)
plt.show()
