"""The streaming reduction: walk the row blocks of an array, wherever it is held,
and add up each block's small result.

Almost everything skcal computes is a sum over rows: a map's loss, gradient and
Hessian, a metric's totals and bin counts. A caller says only what one block
contributes (``func(block, *vector_blocks) -> partial result``); :class:`Rows`
decides how the blocks are read:

- a numpy array: views of consecutive rows, no copy;
- a numpy memory map or a Zarr array: read a slab at a time (Zarr slabs follow its
  chunks), so only the slab being worked on is in memory;
- a Dask array: each row chunk is one task running the same block loop, and the
  partial results are added up in a tree, all in one graph, so the pass runs on
  any Dask scheduler and only small results reach the client
  (:mod:`skcal.rows._dask_rows`).

Every block is handed to ``func`` in the dtype skcal computes in: float16 is
read as float16 and converted block by block to float32; float32 stays float32,
anything else becomes float64. Partial results are floats or small arrays,
accumulated in float64. Dask and Zarr are never imported here: an array is
recognised only when its library is already loaded.

Think twice before adding to this module: it knows nothing of labels, scores or
probabilities; what a block means is the caller's business (``prepare``).
"""

import numpy as np

from . import _device_kernels as device
from ._namespaces import (
    device_namespace,
    device_of,
    is_dask,
    is_device_array,
    is_zarr,
    like,
    sum_dtype,
    to_host,
)
from ._progress import report_rows_read
from ._block_loops import map_local, reduce_local
from ._remote import is_remote, refuse_rows_here

# Values per compute block: 2**16 float32 values are 256 KiB, small enough for a
# core's cache and large enough that numpy's per-call overhead is negligible.
BLOCK_ELEMENTS = 2**16
# Columns beyond this count as this many when a block is sized: a reduction also
# does work per column in each block (adding its column sums, the parameters'
# exponentials), which on a language-model vocabulary (2**16 values are 2 rows of
# 32000, or 1 of 128000) cost as much as the block itself, so wider scores get
# blocks of 2**16 / 8192 = 8 rows. A vector-scaling pass over 666 x 32000 took 112
# ms in blocks of 2 rows, 69 in blocks of 8 (79 in 16, 216 in 32); 200 x 128000
# took 379 ms, 253 in 8. Narrower scores are unchanged.
WIDE_COLUMNS = 8192
# Values per read from a file (memory map or Zarr): 64 MiB of float32.
READ_ELEMENTS = 2**24
# Values per compute block of an array of another library (array API dispatch):
# on a GPU, large blocks (64 MiB of float32) keep it busy between launches; on the
# CPU (a PyTorch CPU tensor), 4 MiB blocks were fastest (2^18: 4% slower, 2^22: 50%).
DEVICE_BLOCK_ELEMENTS = 2**24
CPU_DEVICE_BLOCK_ELEMENTS = 2**20


def row_blocks(n_rows, n_cols, block_elements=BLOCK_ELEMENTS):
    """Slices covering ``range(n_rows)``, each with about ``block_elements`` values
    (more for scores of over ``WIDE_COLUMNS`` columns, see above).

    Examples
    --------
    >>> list(row_blocks(5, 2, block_elements=4))
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]

    A vocabulary of 32000 tokens gets blocks of 8 rows, not 2:

    >>> [block.stop - block.start for block in row_blocks(20, 32000)]
    [8, 8, 4]
    """
    step = max(1, block_elements // max(1, min(n_cols, WIDE_COLUMNS)))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def total_weight(n_samples, sample_weight):
    """The number of samples, or the sum of their weights."""
    return n_samples if sample_weight is None else float(sample_weight.sum())


def column_sums(values, w=None):
    """Column sums of ``values`` (n, P), weighted by ``w`` (n,) when given: a
    matrix-vector product either way (twice as fast as a sum over axis 0),
    unweighted with a vector of ones of ``values``' dtype."""
    if w is None:
        w = np.ones(values.shape[0], dtype=values.dtype)
    return w @ values


def product_column_sums(a, b, w=None, out=None):
    """Column sums of ``a * b`` (both (n, P)), weighted by ``w`` when given.

    Unweighted, one fused pass (``einsum``, about twice as fast as the product
    and its sums); weighted, the product goes to ``out`` (a free (n, P) array,
    or None) and :func:`column_sums` weighs it.
    """
    if w is None:
        return np.einsum("ij,ij->j", a, b)
    return column_sums(np.multiply(a, b, out=out), w)


def weighted_sum(values, weights):
    """``sum(values)`` or ``weights @ values`` in float64 (a 0-d array beside
    ``values`` when they are on a device)."""
    if is_device_array(values):
        return device.weighted_sum(values, weights)
    values = np.asarray(values, dtype=np.float64)
    return float(values.sum() if weights is None else weights @ values)


def is_streamed(data):
    """True for inputs read block by block rather than validated whole in memory:
    memory maps, Zarr and Dask arrays, remote tables (:mod:`skcal.rows._remote`), and
    float16 arrays (computed in float32)."""
    if isinstance(data, np.memmap) or is_zarr(data) or is_dask(data) or is_remote(data):
        return True
    return isinstance(data, np.ndarray) and data.dtype == np.float16


def compute_dtype(dtype):
    """The dtype blocks are computed in: float32 for float16 and float32, else float64."""
    dtype = np.dtype(dtype)
    return np.dtype(np.float32) if dtype in (np.float16, np.float32) else np.dtype(np.float64)


def add(a, b):
    """Elementwise sum of two partial results (numbers, arrays or tuples of them)."""
    if isinstance(a, tuple):
        return tuple(add(x, y) for x, y in zip(a, b))
    return a + b


def _as_compute_array(block, dtype):
    return np.asarray(block, dtype=dtype)


class Rows:
    """Row blocks of a 1-D or 2-D array, wherever it is held, and reductions over them.

    Parameters
    ----------
    data : ndarray, numpy.memmap, zarr.Array or dask.array.Array
        Rows on the first axis.

    prepare : callable, default=None
        ``prepare(block, start) -> block``: applied to every compute block (in
        the compute dtype) before the caller's function sees it; ``start`` is
        the block's first row, for error messages. It may check the values and
        change the block's width (``n_columns`` says the width it returns).

    n_columns : int, default=None
        Width of the prepared blocks; the data's own width by default.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.rows._blocks import Rows
    >>> rows = Rows(np.arange(12.0).reshape(6, 2))
    >>> rows.reduce(lambda block: block.sum(axis=0), block_elements=4)
    array([30., 36.])
    >>> rows.map_rows(lambda block: block[:, 1] - block[:, 0])
    array([1., 1., 1., 1., 1., 1.])
    """

    def __init__(self, data, prepare=None, n_columns=None):
        self.data = data
        self.shape = tuple(int(n) for n in data.shape)
        self.n_rows = self.shape[0]
        self.xp = device_namespace(data)
        if self.xp is None:
            self.dtype = compute_dtype(data.dtype)
        else:  # an array of another library, on its own device
            self.dtype, self.device_dtype = _device_compute_dtypes(self.xp, data)
            on_cpu = self.xp.__name__ == "array_api_strict" or "cpu" in str(
                device_of(data)).lower()
            self.device_block = CPU_DEVICE_BLOCK_ELEMENTS if on_cpu else DEVICE_BLOCK_ELEMENTS
        self.prepare = prepare
        self.n_columns = (
            n_columns if n_columns is not None else (1 if len(self.shape) == 1 else self.shape[1])
        )
        self.is_dask = is_dask(data)
        self.is_remote = is_remote(data)
        if self.is_dask:
            from ._dask_rows import warn_if_memmap_in_graph

            warn_if_memmap_in_graph(data)
        self._vectors_on_device = {}

    def then(self, func, n_columns=None):
        """These rows with ``func(block)`` applied to every prepared block.

        Examples
        --------
        >>> import numpy as np
        >>> from skcal.rows._blocks import Rows
        >>> Rows(np.ones((3, 2))).then(lambda b: 2 * b[:, :1], n_columns=1).map_rows(
        ...     lambda b: b[:, 0])
        array([2., 2., 2.])
        """
        inner = self.prepare

        def prepare(block, start):
            return func(block if inner is None else inner(block, start))

        return Rows(self.data, prepare, self.n_columns if n_columns is None else n_columns)

    def detached(self):
        """A copy of this reader without its data, to ship to where the rows are
        (a Dask worker, a Spark executor) with the block function."""
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__)
        view.data = None
        view.is_dask = view.is_remote = False
        view._vectors_on_device = {}
        return view

    # -------------------------------------------------------------- reading
    def _read_step(self):
        """Rows per read: the whole array in memory, a slab of a file or Zarr."""
        width = 1 if len(self.shape) == 1 else self.shape[1]
        if isinstance(self.data, np.ndarray) and not isinstance(self.data, np.memmap):
            return max(1, self.n_rows)
        step = max(1, READ_ELEMENTS // max(1, width))
        if is_zarr(self.data):
            chunk_rows = int(self.data.chunks[0])
            step = max(chunk_rows, step // chunk_rows * chunk_rows)
        return step

    def _prepared(self, block, start):
        block = _as_compute_array(block, self.dtype)
        return block if self.prepare is None else self.prepare(block, start)

    def _local_blocks(self, data, offset, block_elements):
        """(rows, prepared block) over an array in memory, a memmap or a Zarr array."""
        if self.xp is not None:
            yield from self._device_blocks(block_elements)
            return
        n = data.shape[0]
        width = 1 if data.ndim == 1 else data.shape[1]
        read_step = self._read_step() if data is self.data else n
        for read_start in range(0, n, max(1, read_step)):
            read_stop = min(read_start + read_step, n)
            slab = data[read_start:read_stop]
            if is_zarr(data):
                slab = np.asarray(slab)
            for rows in row_blocks(read_stop - read_start, width, block_elements):
                block = self._prepared(slab[rows], offset + read_start + rows.start)
                yield slice(read_start + rows.start, read_start + rows.stop), block
            report_rows_read(read_stop - read_start)

    def _device_blocks(self, block_elements):
        """(rows, prepared block) over an array on a device: views, converted to the
        compute dtype one block at a time."""
        width = 1 if len(self.shape) == 1 else self.shape[1]
        for rows in row_blocks(self.n_rows, width, max(block_elements, self.device_block)):
            block = self.data[rows, ...]
            if block.dtype != self.device_dtype:
                block = self.xp.astype(block, self.device_dtype)
            yield rows, block if self.prepare is None else self.prepare(block, rows.start)

    def _on_device(self, vectors):
        """Per-row vectors (labels, weights: numpy, validated on the host) as arrays
        beside the scores, sent once per reader."""
        moved = []
        for vector in vectors:
            if vector is None or not isinstance(vector, np.ndarray):
                moved.append(vector)
                continue
            key = id(vector)
            if key not in self._vectors_on_device:
                dtype = self.xp.int64 if vector.dtype.kind in "iub" else None
                self._vectors_on_device[key] = (vector, like(vector, self.data, dtype=dtype))
            moved.append(self._vectors_on_device[key][1])
        return tuple(moved)

    def blocks(self, block_elements=BLOCK_ELEMENTS):
        """Yield ``(rows, block)`` pairs in order; not for Dask arrays."""
        if self.is_dask:
            raise TypeError("Dask arrays are reduced in a graph; use reduce or map_rows.")
        if self.is_remote:
            refuse_rows_here(self, "Reading the blocks one after another")
        yield from self._local_blocks(self.data, 0, block_elements)

    # ----------------------------------------------------------- reductions
    def reduce(self, func, *vectors, combine=add, block_elements=BLOCK_ELEMENTS):
        """Combine ``func(block, *vector_blocks)`` over all row blocks.

        ``vectors`` are numpy arrays (or None) of one entry per row, sliced like
        the blocks. The partial results are combined with ``combine`` (a sum by
        default). With a Dask array this is one graph, computed at once.
        """
        if self.is_dask:
            from ._dask_rows import reduce_dask

            return reduce_dask(self, func, vectors, combine, block_elements)
        if self.is_remote:  # summed where the rows live; only the result comes back
            return self.data.reduce(self.detached(), func, vectors, combine, block_elements)
        if self.xp is not None:  # summed on the device; only the result comes back
            return to_host(reduce_local(self, self.data, 0, func, self._on_device(vectors),
                                         combine, block_elements))
        return reduce_local(self, self.data, 0, func, vectors, combine, block_elements)

    def map_rows(self, func, *vectors, lazy=False, block_elements=BLOCK_ELEMENTS):
        """``func(block, *vector_blocks)`` of every block, concatenated over rows.

        ``func`` returns an array with one entry (or row) per row of the block.
        With a Dask array the result is computed unless ``lazy`` is True, which
        returns a Dask array chunked like the input rows.
        """
        if self.is_dask:
            from ._dask_rows import map_dask

            result = map_dask(self, func, vectors, block_elements)
            return result if lazy else result.compute()
        if self.is_remote:
            refuse_rows_here(self, "A value for every row")
        if self.xp is not None:  # an array of the same library, on the same device
            vectors = self._on_device(vectors)
            pieces = [func(block, *[None if v is None else v[rows] for v in vectors])
                      for rows, block in self._device_blocks(block_elements)]
            return pieces[0] if len(pieces) == 1 else self.xp.concat(pieces, axis=0)
        return map_local(self, self.data, 0, func, vectors, block_elements)

    def read(self):
        """All the prepared rows in memory (the array itself when nothing is to be
        done to it)."""
        if self.is_remote:
            refuse_rows_here(self, "Reading every row")
        if self.prepare is None and isinstance(self.data, np.ndarray) \
                and not isinstance(self.data, np.memmap) and self.data.dtype == self.dtype:
            return self.data
        return self.map_rows(_identity)

    def take(self, index):
        """The prepared rows at ``index`` (sorted integers), in memory."""
        index = np.asarray(index)
        if self.is_remote:
            refuse_rows_here(self, "A subsample of rows")
        if self.xp is not None:
            selected = self.xp.take(self.data, like(index, self.data, dtype=self.xp.int64),
                                    axis=0)
            selected = self.xp.astype(selected, self.device_dtype)
            return selected if self.prepare is None else self.prepare(selected, 0)
        step = int(index[1] - index[0]) if index.shape[0] > 1 else 1
        regular = index.shape[0] > 1 and step > 0 and np.all(np.diff(index) == step)
        # a regular stride is a slice: a view of an array in memory, a cheap read elsewhere
        selected = (
            self.data[int(index[0]) : int(index[-1]) + 1 : step] if regular else self.data[index]
        )
        if self.is_dask:
            selected = selected.compute()
        if is_zarr(self.data) or self.is_dask:
            selected = np.asarray(selected)
        selected = _as_compute_array(selected, self.dtype)
        if self.prepare is None:
            return selected
        return self.prepare(selected, int(index[0]) if index.shape[0] else 0)


def _device_compute_dtypes(xp, data):
    """(numpy equivalent, device dtype) blocks of ``data`` are computed in: float32
    for 16- and 32-bit floats, else float64 (float32 where the device has no float64)."""
    widest = sum_dtype(xp, device_of(data))
    narrow = xp.isdtype(data.dtype, "real floating") and xp.finfo(data.dtype).bits <= 32
    device_dtype = xp.float32 if narrow else widest
    return np.dtype(np.float32 if device_dtype == xp.float32 else np.float64), device_dtype


def _identity(block):
    return block
