"""
Choosing hyperparameters by NLL and by ECE
==========================================

skcal's scorers plug into ``GridSearchCV``. Here the regularisation of a logistic
regression is tuned by held-out NLL and by top-label ECE. On this data both criteria
choose the same ``C``. But ECE only looks at calibration, not at how well the classes
are separated; the second search shows where that leads.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skcal.metrics import register_scorers

register_scorers()  # makes "neg_nll", "neg_ece", ... valid scoring strings

X, y = load_digits(return_X_y=True)
model = Pipeline(
    [("scale", StandardScaler()), ("classifier", LogisticRegression(max_iter=5000))]
)
C = np.logspace(-3, 3, 7)
search = GridSearchCV(
    model, {"classifier__C": C}, scoring=["neg_nll", "neg_ece"], refit="neg_nll", cv=5
).fit(X, y)
results = search.cv_results_
print(f"best C by NLL: {C[np.argmax(results['mean_test_neg_nll'])]:g}")
print(f"best C by ECE: {C[np.argmax(results['mean_test_neg_ece'])]:g}")

fig, ax1 = plt.subplots()
ax1.semilogx(C, -results["mean_test_neg_nll"], "o-", label="NLL (nats)")
ax1.set(xlabel="C (inverse regularisation)", ylabel="held-out NLL")
ax2 = ax1.twinx()
ax2.semilogx(C, -100 * results["mean_test_neg_ece"], "s--", color="tab:orange")
ax2.set_ylabel("held-out ECE (%)", color="tab:orange")
plt.show()

# %%
# A model that always predicts the class frequencies is perfectly calibrated in the
# top-label sense (its confidence, about 0.1, is its accuracy) and useless. Asked to
# choose between it and the logistic regression, ECE alone picks it; NLL does not.
candidates = {"classifier": [DummyClassifier(strategy="prior"), LogisticRegression(max_iter=5000)]}
choice = GridSearchCV(model, candidates, scoring=["neg_nll", "neg_ece"], refit=False, cv=5)
results = choice.fit(X, y).cv_results_
for name, nll, ece in zip(
    ["class frequencies", "logistic regression"],
    -results["mean_test_neg_nll"],
    -results["mean_test_neg_ece"],
):
    print(f"{name:>20}: NLL {nll:.3f} nats, ECE {100 * ece:.1f} %")
