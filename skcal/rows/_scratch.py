"""Scratch arrays that the blocks of one pass reuse instead of allocating.

A block's temporaries are a few hundred KiB each. Allocated afresh at every
block, several of them alive at once, they come from the system as new pages
each time (glibc hands such chunks back when they are freed), and the page
faults cost as much as the arithmetic: vector scaling's curvature pass spent
two fifths of its time there. A :class:`Scratch` made for one pass keeps one
array per name and hands out views of it, block after block.
"""

import math
import threading

import numpy as np


class Scratch:
    """Named scratch arrays (float64 unless asked otherwise), reused from
    block to block (one set per thread, so blocks summed in parallel never
    share one).

    Examples
    --------
    >>> scratch = Scratch()
    >>> first = scratch("p", (3, 4))
    >>> second = scratch("p", (2, 4))  # a smaller block: a view of the same memory
    >>> np.shares_memory(first, second), second.shape
    (True, (2, 4))
    >>> np.shares_memory(first, scratch("q", (3, 4)))
    False
    """

    def __init__(self):
        self._local = threading.local()

    def __call__(self, name, shape, dtype=np.float64):
        """An uninitialised array of ``shape`` and ``dtype``, this thread's ``name``."""
        buffers = self._local.__dict__.setdefault("buffers", {})
        size = math.prod(shape)
        key = (name, np.dtype(dtype))
        buffer = buffers.get(key)
        if buffer is None or buffer.size < size:
            buffer = buffers[key] = np.empty(size, dtype=dtype)
        return buffer[:size].reshape(shape)

    def __getstate__(self):  # sent to a Dask worker: its buffers start empty there
        return {}

    def __setstate__(self, state):
        self._local = threading.local()
