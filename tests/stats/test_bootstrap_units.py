"""What one draw of ``bootstrap`` takes: a row of the labels' first axis (a
whole sequence for tokens of shape (batch, length)), or a whole group with
``groups``; rows labelled ``ignore_index`` count for nothing.

Standard errors are checked against the analytic ones of the same sampling
scheme (the delta method for a ratio of sums over units): with 4000 resamples
the bootstrap's standard error is itself within about 1.1 % (its relative
error is about ``1 / sqrt(2 x 4000)``) of the bootstrap's exact value, and the
delta method is exact to first order, so 8 % allows both with room.
"""

import functools

import numpy as np
import pytest

from conftest import sample_labels, softmax
from skcal.metrics import brier_score, expected_calibration_error, nll, nll_from_logits
from skcal.stats import bootstrap


def documents(seed=0, n_documents=60, length=30, n_classes=5):
    """Tokens of documents on which the model is right and overconfident in
    different degrees (labels drawn at a temperature of each document's own):
    labels (n_documents, length), logits (n_documents, length, n_classes)."""
    rng = np.random.default_rng(seed)
    logits = 3.0 * rng.normal(size=(n_documents, length, n_classes))
    temperature = np.repeat(rng.uniform(0.5, 6.0, size=n_documents), length)[:, None]
    y = sample_labels(softmax(logits.reshape(-1, n_classes) / temperature), rng)
    return y.reshape(n_documents, length), logits


def unit_standard_error(losses, unit):
    """The delta-method standard error of the mean of ``losses`` under draws of
    whole units (the bootstrap's own scheme: units drawn with replacement,
    no small-sample correction)."""
    sums = np.bincount(unit, weights=losses)
    sizes = np.bincount(unit).astype(float)
    mean = sums.sum() / sizes.sum()
    residual = sums - mean * sizes
    return np.sqrt(residual @ residual) / sizes.sum()


def test_tokens_are_drawn_as_whole_sequences():
    y, logits = documents()
    n_documents, length, k = logits.shape
    proba = softmax(logits.reshape(-1, k)).reshape(logits.shape)
    result = bootstrap("nll", y, proba, n_resamples=4000, random_state=0)
    assert result.statistic == pytest.approx(nll(y.ravel(), proba.reshape(-1, k)), rel=1e-12)
    losses = -np.log(proba.reshape(-1, k)[np.arange(y.size), y.ravel()])
    sequence = np.repeat(np.arange(n_documents), length)
    assert result.standard_error == pytest.approx(unit_standard_error(losses, sequence),
                                                  rel=0.08)
    # the same draws as the flat tokens with each sequence named as a group
    flat = bootstrap("nll", y.ravel(), proba.reshape(-1, k), groups=sequence,
                     n_resamples=4000, random_state=0)
    # per-sequence sums of the same losses in the same order: equal to rounding
    np.testing.assert_allclose(result.bootstrap_distribution, flat.bootstrap_distribution,
                               rtol=1e-12)


def test_groups_are_drawn_whole_and_widen_the_interval_of_correlated_rows():
    y, logits = documents(seed=1)
    n_documents, length, k = logits.shape
    tokens, proba = y.ravel(), softmax(logits.reshape(-1, k))
    document = np.repeat(np.arange(n_documents), length)
    shuffled = np.random.default_rng(2).permutation(tokens.size)  # rows in any order
    tokens, proba, document = tokens[shuffled], proba[shuffled], document[shuffled]
    losses = -np.log(proba[np.arange(tokens.size), tokens])
    by_token = bootstrap(nll, tokens, proba, n_resamples=4000, random_state=0)
    by_document = bootstrap(nll, tokens, proba, groups=document, n_resamples=4000,
                            random_state=0)
    assert by_token.standard_error == pytest.approx(
        unit_standard_error(losses, np.arange(tokens.size)), rel=0.08)
    assert by_document.standard_error == pytest.approx(
        unit_standard_error(losses, document), rel=0.08)
    assert by_document.standard_error > 1.5 * by_token.standard_error  # 1.8x here
    brier_rows = ((proba - np.eye(k)[tokens]) ** 2).sum(axis=1)
    brier = bootstrap(brier_score, tokens, proba, groups=document, n_resamples=4000,
                      random_state=0)
    assert brier.standard_error == pytest.approx(unit_standard_error(brier_rows, document),
                                                 rel=0.08)


def test_a_metric_recomputed_on_each_resample_sees_whole_groups():
    rng = np.random.default_rng(3)
    sizes = rng.integers(1, 8, size=40)
    group = np.repeat(np.arange(40) * 7 + 3, sizes)  # ids that are not 0..G-1
    proba = softmax(rng.normal(size=(group.size, 3)))
    y = sample_labels(proba, rng)

    row_group = {tuple(row): g for row, g in zip(proba, group)}  # rows are distinct
    size_of = dict(zip(np.arange(40) * 7 + 3, sizes))

    def whole_groups(y_true, y_prob, labels=None):
        """1.0 when every group among the rows holds a whole number of its rows."""
        ids = np.array([row_group[tuple(row)] for row in y_prob])
        return float(all(np.count_nonzero(ids == g) % size_of[g] == 0
                         for g in np.unique(ids)))

    result = bootstrap(whole_groups, y, proba, groups=group, n_resamples=50,
                       method="bca", random_state=0)
    assert result.bootstrap_distribution.tolist() == [1.0] * 50
    by_row = bootstrap(whole_groups, y, proba, n_resamples=50, random_state=0)
    assert by_row.bootstrap_distribution.min() == 0.0  # the check sees split groups


@pytest.mark.parametrize("metric", ["ece", "nll", "brier"])
def test_the_fast_paths_with_groups_equal_the_metric_recomputed(metric):
    rng = np.random.default_rng(4)
    group = rng.integers(0, 25, size=600)
    proba = softmax(2 * rng.normal(size=(600, 4)))
    y = sample_labels(proba, rng)
    weight = rng.integers(0, 3, size=600).astype(float)
    function = {"ece": expected_calibration_error, "nll": nll, "brier": brier_score}[metric]

    def recomputed(y_true, y_prob, sample_weight=None, labels=None):
        return function(y_true, y_prob, sample_weight=sample_weight, labels=labels)

    for method in ("percentile", "bca"):
        fast = bootstrap(metric, y, proba, sample_weight=weight, groups=group,
                         n_resamples=300, method=method, random_state=5)
        slow = bootstrap(recomputed, y, proba, sample_weight=weight, groups=group,
                         n_resamples=300, method=method, random_state=5)
        # the same draws; sums in another order: equal to a few roundings
        np.testing.assert_allclose(fast.bootstrap_distribution, slow.bootstrap_distribution,
                                   rtol=1e-11, atol=1e-14)
        np.testing.assert_allclose(fast.confidence_interval, slow.confidence_interval,
                                   rtol=1e-11, atol=1e-14)


def test_padding_labelled_ignore_index_counts_for_nothing():
    y, logits = documents(seed=6, n_documents=20, length=12)
    lengths = np.random.default_rng(7).integers(3, 13, size=20)
    lengths[4] = 0  # a sequence of padding alone
    padded = np.where(np.arange(12) < lengths[:, None], y, -100)
    metric = functools.partial(nll_from_logits, ignore_index=-100)
    result = bootstrap(metric, padded, logits, n_resamples=500, method="bca",
                       random_state=0)
    kept = padded != -100
    assert result.statistic == pytest.approx(
        nll_from_logits(padded, logits, ignore_index=-100), rel=1e-12)
    # the same as the kept tokens, each sequence a group; the empty one is never drawn
    sequence = np.broadcast_to(np.arange(20)[:, None], padded.shape)[kept]
    flat = bootstrap(nll_from_logits, padded[kept], logits[kept], groups=sequence,
                     n_resamples=500, method="bca", random_state=0)
    np.testing.assert_allclose(result.bootstrap_distribution, flat.bootstrap_distribution,
                               rtol=1e-12)
    np.testing.assert_allclose(result.confidence_interval, flat.confidence_interval,
                               rtol=1e-12)
    # a metric recomputed on each resample is handed the padding and skips it

    def recomputed(y_true, z, labels=None, ignore_index=None):
        return nll_from_logits(y_true, z, labels=labels, ignore_index=ignore_index)

    recomputed = bootstrap(functools.partial(recomputed, ignore_index=-100), padded, logits,
                           n_resamples=100, random_state=0)
    np.testing.assert_allclose(recomputed.bootstrap_distribution,
                               flat.bootstrap_distribution[:100], rtol=1e-11)


def test_groups_of_another_shape_or_a_single_group_are_refused():
    y, logits = documents(n_documents=10, length=4)
    proba = softmax(logits.reshape(-1, logits.shape[-1])).reshape(logits.shape)
    with pytest.raises(ValueError, match=r"groups has shape \(40,\) for labels whose first "
                                         r"axis has 10 rows.*per sequence"):
        bootstrap("nll", y, proba, groups=np.repeat(np.arange(10), 4))
    with pytest.raises(ValueError, match="a single group; a bootstrap of groups needs at "
                                         "least 2"):
        bootstrap("nll", y, proba, groups=np.zeros(10))
    with pytest.raises(ValueError, match="groups is missing at 1 row"):
        bootstrap("ece", y, proba, groups=[0, 1, 2, None, 4, 5, 6, 7, 8, 9])
