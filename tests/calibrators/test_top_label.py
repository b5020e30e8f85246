"""Top-label histogram binning: every prediction kept, the mass conserved, the top
confidence calibrated, and the fit saved and restored."""

import numpy as np
import pytest

from skcal import HistogramBinning, load_calibrator, save_calibrator
from skcal.calibrators._top_label import spread


def overconfident(seed, n=6000, k=20):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(n, k))
    y = (logits / 2 + rng.gumbel(size=logits.shape)).argmax(axis=1)
    return logits, y


def top_label_ece(proba, y, n_bins=15):
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    gaps = [abs(correct[bins == b].mean() - confidence[bins == b].mean()) * (bins == b).mean()
            for b in range(n_bins) if (bins == b).any()]
    return sum(gaps)


def test_predictions_are_kept_and_the_confidence_calibrated():
    logits, y = overconfident(0)
    binning = HistogramBinning(multiclass="top-label").fit(logits[:3000], y[:3000])
    proba = binning.predict_proba(logits[3000:])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(proba.argmax(axis=1), logits[3000:].argmax(axis=1))
    before = top_label_ece(np.exp(logits[3000:]) / np.exp(logits[3000:]).sum(1, keepdims=True),
                           y[3000:])
    assert top_label_ece(proba, y[3000:]) < before / 3
    one_vs_rest = HistogramBinning().fit(logits[:3000], y[:3000]).predict_proba(logits[3000:])
    assert (one_vs_rest.argmax(axis=1) == logits[3000:].argmax(axis=1)).mean() < 0.9


def test_spread_conserves_the_mass_and_respects_the_cap():
    rng = np.random.default_rng(1)
    weights = rng.exponential(size=(500, 9)) ** 3
    cap = rng.uniform(0.12, 0.6, size=500)
    mass = np.minimum(rng.uniform(0, 1, size=500), 9 * cap)
    out = spread(weights, mass, cap)
    np.testing.assert_allclose(out.sum(axis=1), mass, rtol=1e-12, atol=1e-15)
    assert (out <= cap[:, None] * (1 + 1e-12)).all()
    uncapped = (weights / weights.sum(1, keepdims=True) * mass[:, None] <= cap[:, None]).all(1)
    np.testing.assert_allclose(out[uncapped], (weights / weights.sum(1, keepdims=True)
                                               * mass[:, None])[uncapped], rtol=1e-12)


def test_saved_and_restored(tmp_path):
    logits, y = overconfident(2, n=2000, k=6)
    binning = HistogramBinning(multiclass="top-label", n_bins=5).fit(logits, y)
    save_calibrator(binning, tmp_path / "binning.json")
    restored = load_calibrator(tmp_path / "binning.json")
    assert restored.multiclass == "top-label"
    np.testing.assert_allclose(restored.predict_proba(logits), binning.predict_proba(logits),
                               rtol=1e-12)


def test_binary_problems_are_the_same_either_way():
    logits, y = overconfident(3, n=2000, k=2)
    a = HistogramBinning(multiclass="top-label").fit(logits, y).predict_proba(logits)
    b = HistogramBinning().fit(logits, y).predict_proba(logits)
    np.testing.assert_array_equal(a, b)


def test_an_unknown_option_is_named():
    logits, y = overconfident(4, n=200, k=3)
    with pytest.raises(ValueError, match="multiclass"):
        HistogramBinning(multiclass="top").fit(logits, y)
