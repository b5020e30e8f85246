"""An ensemble's members in files: one ``.npy`` per member, or one stacked file.

``ensemble_nll`` of ``--members`` float32 logit files of ``--rows`` x
``--classes`` (written to a temporary folder, removed at the end), given as a
list of memory maps (``[np.load(f, mmap_mode="r") for f in files]``, as a deep
ensemble saved member by member is opened) and as one stacked memory map of
the same values. Per form: the median time over ``--repeat`` runs (alternated),
and the peak of the memory numpy allocated during a run (``tracemalloc``; a
memory map's pages are the file's, which the OS may drop, and not counted).

    python benchmarks/bench_ensemble_files.py [--members 5] [--rows 100000]
                                              [--classes 1000] [--repeat 3]
"""

import argparse
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from skcal.metrics import ensemble_nll


def write_members(folder, args, rng):
    """One file per member, and the same values stacked in one file."""
    stacked = np.lib.format.open_memmap(folder / "stacked.npy", mode="w+", dtype=np.float32,
                                        shape=(args.members, args.rows, args.classes))
    for s in range(args.members):
        member = np.lib.format.open_memmap(folder / f"member{s}.npy", mode="w+",
                                           dtype=np.float32, shape=(args.rows, args.classes))
        for start in range(0, args.rows, 10_000):
            block = rng.normal(scale=2.0, size=(min(10_000, args.rows - start), args.classes))
            member[start : start + block.shape[0]] = block
            stacked[s, start : start + block.shape[0]] = block
        member.flush()
        del member
    stacked.flush()


def measured(y, samples):
    """(seconds, peak MB allocated, predictive NLL) of one ensemble_nll."""
    tracemalloc.start()
    try:
        start = time.perf_counter()
        result = ensemble_nll(y, samples(), score_type="logits")
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return seconds, peak / 2**20, result.predictive_nll


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    y = rng.integers(args.classes, size=args.rows)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        write_members(folder, args, rng)
        forms = {
            "list of member files": lambda: [np.load(folder / f"member{s}.npy", mmap_mode="r")
                                             for s in range(args.members)],
            "one stacked file": lambda: np.load(folder / "stacked.npy", mmap_mode="r"),
        }
        runs = {form: [] for form in forms}
        for _ in range(args.repeat):
            for form, samples in forms.items():
                runs[form].append(measured(y, samples))
    member_mb = args.rows * args.classes * 4 / 2**20
    print(f"{args.members} members of {args.rows} x {args.classes} float32 logits "
          f"({member_mb:.0f} MiB each); medians of {args.repeat}")
    print("| form | seconds | peak allocated (MiB) | predictive NLL |")
    print("|---|---|---|---|")
    for form, results in runs.items():
        seconds, peak, value = zip(*results)
        print(f"| {form} | {statistics.median(seconds):.2f} | {max(peak):.0f} | "
              f"{value[0]:.6f} |")


if __name__ == "__main__":
    main()
