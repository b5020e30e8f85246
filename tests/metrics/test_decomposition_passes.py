"""nll_decomposition's temperature cross-fit: every fold fitted in the same passes
over the rows, with the split that fold-by-fold fits give."""

import numpy as np
import pytest
from scipy.special import log_softmax

import skcal.rows._blocks as blocks
from skcal import TemperatureScaling
from skcal.metrics import nll_decomposition
from skcal.metrics._decomposition import stratified_folds


def test_the_folds_share_their_passes_and_split_the_nll_as_fold_by_fold_fits(monkeypatch):
    """40000 x 50 probabilities: the floor, the folds' fit (warm-started on a
    subsample, settled by five temperatures in one pass) and the held-out pass
    read every row 4 times; fitted fold by fold, 17. The refinement equals the
    held-out NLL of TemperatureScaling fitted on each fold's training rows, to
    their tolerance (1e-7 on |beta * gradient|, 1e-9 relative on the NLL)."""
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(40000, 50))
    y = (logits / 1.5 + rng.gumbel(size=logits.shape)).argmax(axis=1)
    proba = np.exp(log_softmax(logits, axis=1))
    full_passes, reduce = [], blocks.Rows.reduce

    def counting(rows, *args, **kwargs):
        full_passes.extend([1] * (rows.n_rows == y.shape[0]))
        return reduce(rows, *args, **kwargs)

    monkeypatch.setattr(blocks.Rows, "reduce", counting)
    split = nll_decomposition(y, proba, cv=5)
    monkeypatch.undo()
    assert len(full_passes) <= 5
    folds = stratified_folds(y, 5)
    held_out = np.empty(y.shape[0])
    for fold in range(5):
        fitted = TemperatureScaling().fit(proba[folds != fold], y[folds != fold])
        test = folds == fold
        held_out[test] = np.log(fitted.predict_proba(proba[test])[np.arange(test.sum()),
                                                                    y[test]])
    assert split.refinement == pytest.approx(-held_out.mean(), rel=1e-9)
    assert split.calibration == pytest.approx(split.nll - split.refinement, rel=1e-12)
