"""Pandas inputs that hold the same rows in different orders are refused where
they enter. Scores, labels, weights and groups are paired by position; a
model's scores sorted or shuffled after its labels were taken (the same index
labels, in another order) were paired with other rows' labels, silently:
``compare_models`` read a model at 1.9 nats instead of 0.8, and a calibrator
was fitted on noise."""

import numpy as np
import pytest

from skcal import CalibrationMonitor, TemperatureScaling, compare_calibrators, compare_models
from skcal.metrics import nll, nll_from_logits

pd = pytest.importorskip("pandas", reason="row order is a pandas index's")

ORDER = "in different orders"


def indexed_logits(n=2000, seed=0):
    """Logits of a 4-class model as a DataFrame and labels as a Series, both
    indexed by row ids 1000.. (as after ``set_index('id')``)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(n, 4))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    index = pd.Index(np.arange(1000, 1000 + n), name="id")
    return pd.DataFrame(logits, index=index, columns=list("abcd")), pd.Series(y, index=index)


def test_compare_models_refuses_a_model_whose_rows_were_reordered():
    frame, y = indexed_logits()
    shuffled = (frame / 1.5).sample(frac=1.0, random_state=0)
    with pytest.raises(ValueError, match=r"models\['B'\] and models\['A'\] hold the same "
                                         rf"rows \(their pandas index\) {ORDER}"):
        compare_models({"A": frame, "B": shuffled}, y)
    # put back in the rows' order, the model is read as it is
    ranked = compare_models({"A": frame, "B": shuffled.loc[frame.index]}, y).to_frame()
    expected = nll_from_logits(y.to_numpy(), frame.to_numpy() / 1.5)
    assert ranked.loc["B", "nll"] == pytest.approx(expected, rel=1e-12)  # summation order


def test_calibrators_metrics_and_comparison_refuse_labels_in_another_order():
    frame, y = indexed_logits()
    y_sorted = y.sort_values()
    with pytest.raises(ValueError, match=f"y and X hold the same rows .*{ORDER}"):
        TemperatureScaling().fit(frame, y_sorted)
    with pytest.raises(ValueError, match=f"y_true and y_prob hold the same rows .*{ORDER}"):
        nll(y_sorted, np.exp(frame).div(np.exp(frame).sum(axis=1), axis=0))
    with pytest.raises(ValueError, match=f"y and X hold the same rows .*{ORDER}"):
        compare_calibrators(frame, y_sorted, cv=3)
    weights = pd.Series(1.0, index=frame.index[::-1])
    with pytest.raises(ValueError, match=f"sample_weight and X hold the same rows .*{ORDER}"):
        TemperatureScaling().fit(frame, y, sample_weight=weights)


def test_the_monitor_refuses_labels_in_another_order():
    frame, y = indexed_logits(n=3000)
    monitor = CalibrationMonitor(chunk_size=500)
    with pytest.raises(ValueError, match=f"y and scores hold the same rows .*{ORDER}"):
        monitor.fit(frame, y.sort_values())
    monitor.fit(frame, y)
    batch, labels = indexed_logits(n=1000, seed=1)
    with pytest.raises(ValueError, match=f"y and X hold the same rows .*{ORDER}"):
        monitor.update(batch, labels.sample(frac=1.0, random_state=1))
    assert monitor.n_rows_ == 0  # the refused batch added nothing


def test_indexes_of_other_rows_are_paired_by_position_as_scikit_learn_pairs_them():
    frame, y = indexed_logits()
    reset = y.reset_index(drop=True)  # 0..n-1: other labels than the frame's ids
    fitted = TemperatureScaling().fit(frame, reset)
    expected = TemperatureScaling().fit(frame.to_numpy(), y.to_numpy())
    assert fitted.temperature_ == pytest.approx(expected.temperature_, rel=1e-12)
    # and a permutation passed as an array is the caller's order
    TemperatureScaling().fit(frame, y.sort_values().to_numpy())
