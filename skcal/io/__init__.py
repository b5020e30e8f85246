"""Score files opened where they are read: a ``.npy`` or Zarr file of scores as a
Dask array whose tasks read their own rows on the workers; .npy and .npz files
opened only when they are what their name says."""

from ._dask_scores import dask_scores

__all__ = ["dask_scores"]
