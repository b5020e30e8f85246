"""
Comparing calibration methods and reading the ranking
=====================================================

:func:`skcal.compare_calibrators` fits every method on the same folds and scores it on
the held-out fold, so richer maps get no credit for fitting noise. The table gives,
for each method, its mean held-out NLL and its paired difference to the best with a
standard error; ``=`` marks methods not distinguishable from the best, among which
the simplest is the natural choice.
"""

import numpy as np
from scipy.special import softmax

from skcal import compare_calibrators

rng = np.random.default_rng(0)
logits = rng.normal(scale=4.0, size=(4000, 5))
# overconfident, and biased toward class 0: a case for per-class offsets
true_logits = logits / 2 - np.array([1.0, 0, 0, 0, 0])
y = (softmax(true_logits, axis=1).cumsum(axis=1) > rng.random((4000, 1))).argmax(axis=1)

comparison = compare_calibrators(logits, y, cv=5)
print(comparison)

# %%
# ``ranking_`` is the list of method names, best first; ``recommended_`` is the
# simplest method not distinguishable from the best. ``best_calibrator_`` and
# ``recommended_calibrator_`` are those two refitted on all the data, ready to use.
# ``cv_results_`` holds every number of the table as arrays, scikit-learn style, and
# ``to_frame()`` the summary as a DataFrame.
print("ranking:", comparison.ranking_)
print("recommended:", comparison.recommended_)
print(comparison.best_calibrator_, comparison.recommended_calibrator_)
print(comparison.to_frame().round(4).to_string())

# %%
# Reliability diagrams of the out-of-fold predictions of three methods (``plot``
# returns one display per method; the figure is what matters here).
displays = comparison.plot(
    methods=[comparison.ranking_[0], comparison.recommended_, "uncalibrated"]
)
