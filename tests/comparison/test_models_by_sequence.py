"""compare_models on token labels of shape (batch, length) without groups: each
sequence is a group, as groups=np.arange(batch) makes it, since a sequence's
tokens share its difficulty; flat rows stay independent."""

import numpy as np
import pytest

from skcal import compare_models


def tokens(seed=0, batch=30, length=25, n_classes=8):
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 3.0, size=(batch, 1, 1))  # each sequence its difficulty
    logits = rng.normal(size=(batch, length, n_classes)) * scale
    y = (logits / 1.5 + rng.gumbel(size=logits.shape)).argmax(axis=-1)
    return logits, y


def test_sequences_are_the_groups_by_default():
    logits, y = tokens()
    # a second model sharper on some sequences, flatter on others: the two differ by
    # sequence, and the tokens of one sequence share that difference
    factor = np.random.default_rng(1).uniform(0.4, 2.0, size=(30, 1, 1))
    models = {"first": logits, "second": logits * factor}
    default = compare_models(models, y)
    by_sequence = compare_models(models, y, groups=np.arange(30))
    assert default.se_method_ == "sequences" and default.n_groups_ == 30
    for name in models:
        for key in ("nll_diff_se", "pvalue", "best_set_pvalue"):
            # the same sums over the same units: equal to rounding
            assert default.results_[name][key] == pytest.approx(
                by_sequence.results_[name][key], rel=1e-12, nan_ok=True)
    assert "cluster-robust over 30 sequences" in str(default)
    flat = compare_models({name: s.reshape(-1, 8) for name, s in models.items()},
                          y.reshape(-1))
    assert flat.se_method_ == "rows" and flat.n_groups_ == 750
    worse = default.ranking_[1]
    # tokens taken as independent understate the error of these sequences
    assert default.results_[worse]["nll_diff_se"] > 1.5 * flat.results_[worse]["nll_diff_se"]


def test_one_sequence_is_refused_with_the_fix():
    logits, y = tokens(batch=1)
    with pytest.raises(ValueError, match=r"The labels hold 1 sequence with weight; a standard "
                                         r"error over sequences needs at least 2.*"
                                         r"y.reshape\(-1\)"):
        compare_models({"a": logits, "b": logits / 2}, y)
    flat = compare_models({"a": logits.reshape(-1, 8), "b": logits.reshape(-1, 8) / 2},
                          y.reshape(-1))
    assert flat.se_method_ == "rows"
