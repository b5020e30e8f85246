"""Progress reports of long passes over files."""

import numpy as np


def test_progress_is_reported_for_every_slab_of_a_pass_within_the_block_only(tmp_path):
    """A memory-mapped pass reports each slab it reads to the callbacks of the
    report_progress blocks it runs in, and to nobody outside them."""
    from skcal.metrics import nll_from_logits
    from skcal.rows._progress import report_progress

    logits = np.random.default_rng(0).normal(size=(50_000, 40)).astype(np.float32)
    np.save(tmp_path / "logits.npy", logits)
    mapped = np.load(tmp_path / "logits.npy", mmap_mode="r")
    y = np.zeros(50_000, dtype=int)
    inner, outer = [], []
    with report_progress(outer.append):
        with report_progress(inner.append):
            nll_from_logits(y, mapped)
        nll_from_logits(y, mapped)
    nll_from_logits(y, mapped)
    assert sum(inner) == 50_000  # one pass over every row
    assert sum(outer) == 100_000  # both passes in its block, not the one after
