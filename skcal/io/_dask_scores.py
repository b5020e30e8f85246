"""A score file as a Dask array that the workers read themselves."""

from pathlib import Path

import numpy as np

from ._numpy_files import open_npy

# bytes of one chunk of rows by default
CHUNK_BYTES = 2**27


def dask_scores(path, rows_per_chunk=None):
    """Open a ``.npy`` or Zarr file of scores as a Dask array read on the workers.

    ``da.from_array(np.load(path, mmap_mode="r"))`` puts the memory map itself
    in the graph: under a ``dask.distributed`` client it is pickled with the
    graph, which copies the whole file into the client's memory (3.8 GB for a
    3.8 GB file, measured). The array made here holds only the file's path:
    each task memory-maps the file and reads its own rows (a Zarr array: its
    own chunks) on the worker that runs it.

    Parameters
    ----------
    path : str or path-like
        A ``.npy`` file, or a Zarr array (a ``.zarr`` directory), of shape
        (n_rows, n_classes) or (n_rows,). The workers must see the same path
        (a shared or local file system).

    rows_per_chunk : int, default=None
        Rows per task; by default chunks of about 128 MiB.

    Returns
    -------
    scores : dask.array.Array

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skcal.io import dask_scores
    >>> folder = tempfile.mkdtemp()
    >>> np.save(os.path.join(folder, "logits.npy"), np.arange(12.0).reshape(6, 2))
    >>> scores = dask_scores(os.path.join(folder, "logits.npy"), rows_per_chunk=4)
    >>> scores.chunks, float(scores.sum().compute())
    (((4, 2), (2,)), 66.0)
    """
    try:
        import dask.array as da
        from dask import delayed
    except ImportError as exc:
        raise ImportError('dask_scores needs Dask: pip install "skcal[dask]"') from exc
    path = Path(path)
    if path.suffix.lower() == ".zarr" or (path.is_dir() and (path / ".zarray").exists()
                                         or (path / "zarr.json").exists()):
        return _zarr_scores(da, path, rows_per_chunk)
    if path.suffix.lower() != ".npy":
        raise ValueError(f"{path} is not a .npy file or a Zarr array (.zarr); "
                         "save the scores with numpy.save or zarr.")
    if not path.is_file():
        raise FileNotFoundError(f"no such file {str(path)!r}")
    header = open_npy(path)
    shape, dtype = header.shape, header.dtype
    del header
    if len(shape) not in (1, 2):
        raise ValueError(f"{path} holds an array of shape {shape}; scores are (n_rows, "
                         "n_classes) or (n_rows,): reshape(-1, n_classes) before saving.")
    step = _rows_per_chunk(rows_per_chunk, shape, dtype)
    name = str(path.resolve())
    pieces = [da.from_delayed(delayed(_read_rows, pure=True)(name, start,
                                                             min(start + step, shape[0])),
                              shape=(min(start + step, shape[0]) - start, *shape[1:]),
                              dtype=dtype)
              for start in range(0, shape[0], step)]
    return da.concatenate(pieces, axis=0)


def _read_rows(path, start, stop):
    """Rows ``start:stop`` of a ``.npy`` file on the worker that runs this: a view
    of its memory map, whose pages the tasks on them read as they go. A copy
    held each chunk in the worker's memory (0.6 GiB a worker against 0.1-0.15 on
    the 200000 x 32000 float16 file of ``benchmarks/bench_out_of_core.py``) and
    took 1.27x the time (``benchmarks/bench_dask_chunks.py``: the median of 4
    paired fits on 20000 x 32000, twice). Moved to another process, the view is
    pickled as its values, as an array is."""
    return np.asarray(np.load(path, mmap_mode="r")[start:stop])


def _zarr_scores(da, path, rows_per_chunk):
    array = da.from_zarr(str(path))
    if rows_per_chunk is not None:
        array = array.rechunk({0: rows_per_chunk})
    return array


def _rows_per_chunk(rows_per_chunk, shape, dtype):
    if rows_per_chunk is None:
        row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * np.dtype(dtype).itemsize
        return max(1, CHUNK_BYTES // max(row_bytes, 1))
    if not isinstance(rows_per_chunk, (int, np.integer)) or rows_per_chunk < 1:
        raise ValueError(f"rows_per_chunk must be a positive integer; got {rows_per_chunk!r}.")
    return int(rows_per_chunk)
