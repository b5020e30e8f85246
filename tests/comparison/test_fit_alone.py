"""A calibrator fitted inside compare_calibrators, where candidates share work on a
fold, predicts what it predicts when fitted alone on the same fold."""

import numpy as np
from sklearn.base import clone

from skcal import compare_calibrators
from skcal.calibrators._registry import default_calibrators

# Platt scaling starts from the temperature fit and beta calibration from Platt's
# when the comparison holds them; alone they start elsewhere and stop at their
# tolerance from the other side (measured: 4e-7 in probability)
WARM_STARTED = {"PlattScaling", "BetaCalibration"}


def test_out_of_fold_predictions_equal_fits_alone_on_each_fold():
    rng = np.random.default_rng(0)
    n, k = 3000, 5
    logits = rng.normal(scale=3.0, size=(n, k))
    y = (logits / 2 + rng.gumbel(size=logits.shape)).argmax(axis=1)
    folds = [(np.flatnonzero(np.arange(n) % 3 != f), np.flatnonzero(np.arange(n) % 3 == f))
             for f in range(3)]
    comparison = compare_calibrators(logits, y, cv=folds)
    for name, calibrator in default_calibrators().items():
        alone = np.empty((n, k))
        for train, test in folds:
            alone[test] = clone(calibrator).fit(logits[train], y[train]).predict_proba(
                logits[test])
        inside = np.asarray(comparison.predictions_[name])
        if name in WARM_STARTED:
            np.testing.assert_allclose(inside, alone, rtol=0, atol=1e-5, err_msg=name)
        else:
            np.testing.assert_array_equal(inside, alone, err_msg=name)
