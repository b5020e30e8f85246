"""Scratch arrays reused from block to block: one set per thread, none pickled."""

import pickle
import threading

import numpy as np

from skcal.rows._scratch import Scratch


def test_each_thread_gets_its_own_scratch_arrays():
    scratch = Scratch()
    mine = scratch("p", (4, 3))
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(scratch("p", (4, 3))))
    thread.start()
    thread.join()
    assert not np.shares_memory(mine, theirs[0])
    assert np.shares_memory(mine, scratch("p", (4, 3)))


def test_a_larger_block_gets_a_new_array_and_a_pickled_scratch_starts_empty():
    scratch = Scratch()
    small = scratch("p", (2, 3))
    large = scratch("p", (5, 3))
    assert large.shape == (5, 3) and not np.shares_memory(small, large)
    copy = pickle.loads(pickle.dumps(scratch))
    assert not np.shares_memory(copy("p", (5, 3)), large)


def test_each_dtype_gets_its_own_array_under_one_name():
    scratch = Scratch()
    wide = scratch("p", (4, 3))
    narrow = scratch("p", (4, 3), np.float32)
    assert wide.dtype == np.float64 and narrow.dtype == np.float32
    assert not np.shares_memory(wide, narrow)
    assert np.shares_memory(narrow, scratch("p", (2, 3), np.float32))


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
