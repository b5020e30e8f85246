"""The row engine: walking row blocks of scores wherever they are held (numpy,
memory maps, Zarr, Dask, array API devices), reading and checking scores,
labels and weights once at the boundary, and the device kernels. No public names.
"""
