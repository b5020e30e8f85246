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

