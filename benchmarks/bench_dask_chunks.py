"""Dask tasks that read their rows through a memory map, against tasks that copy them.

``skcal.io.dask_scores`` gives each task a view of its rows on the worker's memory
map of the file; a copy (``numpy.array`` of the rows, as it did before) holds each
chunk in the worker's memory. Both fit ``TemperatureScaling`` on the same file on a
``LocalCluster`` of two worker processes, alternated ``--repeat`` times; prints
each side's times, the median of the paired ratios, and the workers' peak
anonymous memory of each side.

    python benchmarks/bench_dask_chunks.py --tokens 20000 --vocab 32000 --dir /tmp

The file is the one ``bench_out_of_core.py`` writes (written here if missing).
"""

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

from bench_out_of_core import PeakSampler, warm_page_cache, write_file


def copied_rows(path, start, stop):
    """A task's rows copied out of the memory map (the reader before)."""
    return np.array(np.load(path, mmap_mode="r")[start:stop])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--vocab", type=int, default=32_000)
    parser.add_argument("--dir", default=".")
    parser.add_argument("--repeat", type=int, default=4)
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    import skcal.io._dask_scores as dask_scores_module
    from skcal import TemperatureScaling
    from skcal.io import dask_scores

    path = Path(args.dir) / f"token_logits_{args.tokens}x{args.vocab}.npy"
    y = np.load(write_file(path, args.tokens, args.vocab))
    warm_page_cache(path)
    readers = {"view": dask_scores_module._read_rows, "copy": copied_rows}
    seconds = {name: [] for name in readers}
    peaks = {name: 0.0 for name in readers}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, memory_limit=0) as cluster, \
            Client(cluster) as client:
        workers = list(client.run(os.getpid).values())
        for _ in range(args.repeat):
            for name, reader in readers.items():
                dask_scores_module._read_rows = reader
                X = dask_scores(path, rows_per_chunk=max(1, 2**27 // args.vocab))
                with PeakSampler(workers) as sampler:
                    start = time.perf_counter()
                    TemperatureScaling().fit(X, y)
                    seconds[name].append(time.perf_counter() - start)
                peaks[name] = max(peaks[name], *(sampler.extra(pid) for pid in workers))
    ratio = statistics.median(c / v for c, v in zip(seconds["copy"], seconds["view"]))
    for name in readers:
        print(f"{name}: {', '.join(f'{s:.1f}' for s in seconds[name])} s; workers' peak "
              f"{peaks[name] / 2**30:.2f} GiB")
    print(f"{args.tokens} x {args.vocab} float16: copy / view, median of paired ratios "
          f"{ratio:.2f}")


if __name__ == "__main__":
    main()
