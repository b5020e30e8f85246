"""Two checkpoints' token logits, larger than memory, compared by held-out NLL.

Writes (once) a float16 ``.npy`` file of N x V logits with its labels (as
``bench_out_of_core.py`` does) and a second checkpoint's file, the first one's
logits times 0.8 (a less confident checkpoint). Then, in this process, times
``compare_models`` on the two memory maps with the tokens grouped in documents
of 512, and the peak of anonymous memory it allocates, beside the floor: one
plain numpy pass over each file (read, float32, row max, exp-sum).

With ``--calibrate METHOD`` the checkpoints are ranked after METHOD
cross-fitted over ``--cv`` folds of documents (``compare_models(...,
calibrate=METHOD)``): the second checkpoint is then the first one, and the
table says so; the ratio to the floor is the price of the fits.

    python benchmarks/bench_compare_models.py --tokens 200000 --vocab 32000
    python benchmarks/bench_compare_models.py --tokens 50000 --calibrate temperature
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from bench_out_of_core import GIB, PeakSampler, floor_pass, warm_page_cache, write_file

from skcal import compare_models


def second_checkpoint(path, factor=0.8):
    """``path``'s logits times ``factor``, written beside it in row blocks."""
    target = path.with_name(path.stem + f"_x{factor}.npy")
    first = np.load(path, mmap_mode="r")
    if target.exists() and np.load(target, mmap_mode="r").shape == first.shape:
        return target
    out = np.lib.format.open_memmap(target, mode="w+", dtype=np.float16, shape=first.shape)
    step = max(1, 2**25 // first.shape[1])
    for start in range(0, first.shape[0], step):
        out[start:start + step] = first[start:start + step].astype(np.float32) * factor
    out.flush()
    return target


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=200_000)
    parser.add_argument("--vocab", type=int, default=32_000)
    parser.add_argument("--folder", default="/tmp/skcal-bench")
    parser.add_argument("--calibrate", metavar="METHOD", default=None)
    parser.add_argument("--cv", type=int, default=5)
    args = parser.parse_args()
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    first = folder / f"logits_{args.tokens}x{args.vocab}.npy"
    labels = np.load(write_file(first, args.tokens, args.vocab))
    second = second_checkpoint(first)
    mapped = {"checkpoint": np.load(first, mmap_mode="r"),
              "checkpoint x0.8": np.load(second, mmap_mode="r")}
    documents = np.arange(args.tokens) // 512
    timings = {}
    for path in (first, second):
        warm_page_cache(path)
    with PeakSampler() as sampler:  # first, so that no earlier pass's memory is reused
        start = time.perf_counter()
        result = compare_models(mapped, labels, groups=documents, calibrate=args.calibrate,
                                cv=None if args.calibrate is None else args.cv)
        timings["compare"] = time.perf_counter() - start
    start = time.perf_counter()
    for logits in mapped.values():
        floor_pass(logits, max(1, 2**20 // args.vocab))
    timings["floor"] = time.perf_counter() - start
    size = 2 * args.tokens * args.vocab * 2 / GIB
    print(result)
    print(json.dumps({
        "tokens": args.tokens, "vocab": args.vocab, "files_gib": round(size, 1),
        "calibrate": args.calibrate, "cv": args.cv if args.calibrate else None,
        "compare_seconds": round(timings["compare"], 1),
        "floor_seconds": round(timings["floor"], 1),
        "ratio_to_floor": round(timings["compare"] / timings["floor"], 2),
        "peak_extra_mib": round(sampler.extra() / 2**20, 1)}))


if __name__ == "__main__":
    sys.exit(main())
