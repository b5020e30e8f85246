"""A large batch is summarised in blocks of rows, its chunks' summaries added
up, with the same result as at once. Before, every per-row array of a batch
was made whole: a batch of 300,000 rows of 100 float32 classes (114 MB) took
762 MB at its peak, and 121 MB in blocks."""

import numpy as np
import pandas as pd
import pytest

from skcal import CalibrationMonitor
from skcal.monitoring import _batches


def _batch(rng, n, k=4):
    logits = rng.normal(scale=2.0, size=(n, k))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1).astype(float)
    y[rng.random(n) < 0.3] = np.nan  # a third of the labels still to come
    return logits, y


def _monitors(**params):
    """Two monitors fitted alike on the same reference."""
    rng = np.random.default_rng(0)
    reference = _batch(rng, 2000)
    labelled = ~np.isnan(reference[1])
    return [CalibrationMonitor(**params).fit(reference[0][labelled],
                                             reference[1][labelled]) for _ in range(2)]


def _assert_same(whole, blocks):
    a, b = whole.to_frame(), blocks.to_frame()
    assert len(a) == len(b) > 1
    numbers = a.select_dtypes("number").columns
    # the same sums in blocks: rounding in the last digits only
    np.testing.assert_allclose(b[numbers].to_numpy(float), a[numbers].to_numpy(float),
                               rtol=1e-10, atol=1e-12)
    assert (a["verdict"] == b["verdict"]).all()
    for name in ("rows", "ids", "chunks"):
        np.testing.assert_array_equal(getattr(whole._pending, name),
                                      getattr(blocks._pending, name))
    np.testing.assert_allclose(whole._pending.log_proba, blocks._pending.log_proba,
                               rtol=1e-6)  # kept in float32


@pytest.mark.parametrize("block_rows", [1, 7, 1000], ids=lambda r: f"{r} rows a block")
def test_chunks_of_rows_are_summarised_alike_in_blocks(monkeypatch, block_rows):
    whole, blocks = _monitors(chunk_size=300)
    logits, y = _batch(np.random.default_rng(1), 2500)
    ids = np.array([f"row-{i}" for i in range(2500)])
    whole.update(logits, y, ids=ids)
    monkeypatch.setattr(_batches, "BLOCK_VALUES", 4 * block_rows)  # 4 classes a row
    blocks.update(logits, y, ids=ids)
    _assert_same(whole, blocks)
    # the late labels find the same rows
    late = np.flatnonzero(np.isnan(y))[:200]
    for monitor in (whole, blocks):
        monitor.add_labels(ids=ids[late], y=np.zeros(200))
    _assert_same(whole, blocks)


def test_periods_in_any_order_are_summarised_alike_in_blocks(monkeypatch):
    whole, blocks = _monitors(chunk_period="6h", chunk_size=300)
    rng = np.random.default_rng(2)
    logits, y = _batch(rng, 4000)
    times = (pd.Timestamp("2026-11-01") + pd.to_timedelta(rng.uniform(0, 3 * 86400, 4000),
                                                          unit="s")).to_numpy()  # shuffled
    whole.update(logits, y, times)
    monkeypatch.setattr(_batches, "BLOCK_VALUES", 4 * 333)
    blocks.update(logits, y, times)
    _assert_same(whole, blocks)


def test_a_bad_block_changes_nothing(monkeypatch):
    _, monitor = _monitors(chunk_size=300)
    logits, y = _batch(np.random.default_rng(3), 2500)
    logits[2400, 1] = np.nan  # in the last block
    monkeypatch.setattr(_batches, "BLOCK_VALUES", 4 * 500)
    before = monitor.to_dict()
    with pytest.raises(ValueError, match="non-finite"):
        monitor.update(logits, y)
    assert monitor.to_dict() == before
