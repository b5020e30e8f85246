"""The row engine on Dask: the block loop of :class:`~skcal.rows._blocks.Rows`
run as one task per row chunk, the small partial results combined in a tree,
all in one graph, so a pass runs on any Dask scheduler (a ``dask.distributed``
cluster included) and only small results reach the client. Dask is imported
only here, and only when a Dask array arrives."""

import numpy as np

from ._block_loops import map_local, reduce_local


def slice_vectors(vectors, start, stop):
    """Each per-row vector (or None) cut to the rows ``start:stop`` of a chunk."""
    return tuple(None if v is None else v[int(start) : int(stop)] for v in vectors)


def warn_if_memmap_in_graph(array):
    """Warn when a Dask array's graph holds a ``numpy.memmap`` and a distributed
    client is active: the memory map is then pickled with the graph, which
    copies the whole file into the client's memory."""
    try:
        from distributed import default_client

        default_client()
    except (ImportError, ValueError):  # no distributed, or no client: nothing is shipped
        return
    for layer in array.__dask_graph__().layers.values():
        mapping = getattr(layer, "mapping", None)  # materialised layers hold the data
        if mapping is None:
            continue
        for value in mapping.values():
            if isinstance(getattr(value, "value", value), np.memmap):
                from ..utils._warnings import warn

                warn("This Dask array's graph holds a numpy.memmap: under a distributed "
                     "client the whole file is pickled and sent from the client. Open the "
                     "file with skcal.io.dask_scores(path), whose tasks read their own rows "
                     "on the workers.", UserWarning)
                return


def _dask_chunks(reader):
    data = reader.data
    if data.ndim == 2 and data.numblocks[1] > 1:
        data = data.rechunk({1: -1})
    chunks = data.to_delayed().ravel()
    offsets = np.concatenate([[0], np.cumsum(data.chunks[0])])
    return chunks, offsets


def reduce_dask(reader, func, vectors, combine, block_elements):
    """``reader.reduce`` of a Dask array: one task per row chunk, the partial
    results combined in a tree, computed at once."""
    import dask
    from dask import delayed

    chunks, offsets = _dask_chunks(reader)
    parts = [
        delayed(_reduce_chunk, pure=False)(
            reader.detached(),
            chunk,
            int(offsets[i]),
            func,
            slice_vectors(vectors, offsets[i], offsets[i + 1]),
            combine,
            block_elements,
        )
        for i, chunk in enumerate(chunks)
    ]
    while len(parts) > 1:  # a tree of pairwise combinations
        parts = [
            delayed(combine, pure=False)(parts[i], parts[i + 1])
            if i + 1 < len(parts)
            else parts[i]
            for i in range(0, len(parts), 2)
        ]
    (result,) = dask.compute(parts[0])
    return result


def map_dask(reader, func, vectors, block_elements):
    """``reader.map_rows`` of a Dask array, as a lazy Dask array chunked like its rows."""
    import dask.array as da
    from dask import delayed

    chunks, offsets = _dask_chunks(reader)
    # the output's width and dtype, from an empty block (nothing is computed)
    probe = np.asarray(func(
        reader._prepared(np.zeros((0,) + reader.shape[1:], dtype=reader.data.dtype), 0),
        *[None if v is None else v[:0] for v in vectors],
    ))
    pieces = []
    for i, chunk in enumerate(chunks):
        n = int(offsets[i + 1] - offsets[i])
        task = delayed(_map_chunk, pure=False)(
            reader.detached(),
            chunk,
            int(offsets[i]),
            func,
            slice_vectors(vectors, offsets[i], offsets[i + 1]),
            block_elements,
        )
        pieces.append(da.from_delayed(task, shape=(n,) + probe.shape[1:], dtype=probe.dtype))
    return da.concatenate(pieces, axis=0)


def _reduce_chunk(reader, chunk, offset, func, vectors, combine, block_elements):
    """One Dask task: the block loop over one row chunk."""
    return reduce_local(reader, np.asarray(chunk), offset, func, vectors, combine,
                        block_elements)


def _map_chunk(reader, chunk, offset, func, vectors, block_elements):
    return map_local(reader, np.asarray(chunk), offset, func, vectors, block_elements)
