"""Array API dispatch: temperature scaling and NLL on token logits held as a PyTorch tensor.

Loads N x V float16 logits (the synthetic token logits of
``bench_out_of_core.py``: ``N(0, 3^2)`` logits, labels drawn from
``softmax(z / 1.5)``) into memory once, and shares that memory between a numpy
array and a PyTorch CPU tensor (``torch.from_numpy``). Then, side by side in
this process, each task ``--repeats`` times, median seconds:

- ``TemperatureScaling().fit`` on the numpy array (float16 read in float32 blocks);
- the same fit on the tensor inside ``sklearn.config_context(array_api_dispatch=True)``;
- ``nll_from_logits`` on each.

Peak memory is the largest rise of the process's anonymous memory over the
task (sampled every 10 ms), beyond the logits themselves. When a CUDA device is
present the tensor is also copied there and the two tasks are timed on it, with
``torch.cuda.max_memory_allocated`` beyond the logits as the peak; the script
prints which devices it ran on.

    SCIPY_ARRAY_API=1 python benchmarks/bench_array_api.py --tokens 100000 --vocab 32000

(The script sets ``SCIPY_ARRAY_API=1`` itself when it is not set.)
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_out_of_core import GIB, PeakSampler, write_file  # noqa: E402


def timed(func, repeats, sync=None):
    """(median seconds, last result, peak extra anonymous bytes) of ``func()``."""
    seconds, result, peak = [], None, 0
    for _ in range(repeats):
        with PeakSampler() as sampler:
            start = time.perf_counter()
            result = func()
            if sync is not None:
                sync()
            seconds.append(time.perf_counter() - start)
        peak = max(peak, sampler.extra())
    return statistics.median(seconds), result, peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--vocab", type=int, default=32_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=".", help="where the logits file is written")
    parser.add_argument("--rst", metavar="OUT", help="also write the table as reStructuredText")
    args = parser.parse_args()

    import sklearn
    import torch

    from skcal import TemperatureScaling
    from skcal.metrics import nll_from_logits

    path = Path(args.dir) / f"token_logits_{args.tokens}x{args.vocab}.npy"
    labels = np.load(write_file(path, args.tokens, args.vocab))
    logits = np.load(path)  # in memory, 2 bytes a value
    tensor, tensor_labels = torch.from_numpy(logits), torch.from_numpy(labels)
    size = logits.nbytes / GIB
    print(f"{args.tokens} x {args.vocab} float16 logits ({size:.1f} GiB) in memory; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"CUDA: {'yes, ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'no'}",
          file=sys.stderr)

    def fit_numpy():
        return TemperatureScaling().fit(logits, labels).temperature_

    def nll_numpy():
        return nll_from_logits(labels, logits)

    def on_device(func):
        def run():
            with sklearn.config_context(array_api_dispatch=True):
                return func()
        return run

    rows = []
    fit_np = timed(fit_numpy, args.repeats)
    nll_np = timed(nll_numpy, args.repeats)
    fit_cpu = timed(on_device(lambda: TemperatureScaling().fit(tensor, tensor_labels)
                              .temperature_), args.repeats)
    nll_cpu = timed(on_device(lambda: nll_from_logits(tensor_labels, tensor)), args.repeats)
    rows += [
        ("TemperatureScaling().fit", "numpy (float16 array)", fit_np, fit_np),
        ("TemperatureScaling().fit", "PyTorch CPU tensor", fit_cpu, fit_np),
        ("nll_from_logits", "numpy (float16 array)", nll_np, nll_np),
        ("nll_from_logits", "PyTorch CPU tensor", nll_cpu, nll_np),
    ]
    cuda_peaks = {}
    if torch.cuda.is_available():  # pragma: no cover - needs a GPU
        gpu, gpu_labels = tensor.to("cuda"), tensor_labels.to("cuda")
        for name, func, reference in (
            ("TemperatureScaling().fit",
             lambda: TemperatureScaling().fit(gpu, gpu_labels).temperature_, fit_np),
            ("nll_from_logits", lambda: nll_from_logits(gpu_labels, gpu), nll_np),
        ):
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            result = timed(on_device(func), args.repeats, sync=torch.cuda.synchronize)
            cuda_peaks[name] = torch.cuda.max_memory_allocated() - base
            rows.append((name, "PyTorch CUDA tensor", result, reference))
    else:
        print("no CUDA device: the GPU rows are not measured", file=sys.stderr)

    header = f"{args.tokens} x {args.vocab} float16 logits ({size:.1f} GiB)"
    table = []
    for task, where, (seconds, value, peak), (ref_seconds, ref_value, _) in rows:
        if "CUDA" in where:
            memory = f"{cuda_peaks[task] / GIB:.3f} (device)"
        else:
            memory = f"{peak / GIB:.3f}"
        agreement = "" if value == ref_value else f", {abs(value / ref_value - 1):.1e} from numpy"
        table.append((task, where, f"{seconds:.1f}", f"{seconds / ref_seconds:.2f}x", memory,
                      f"{value:.6f}{agreement}"))
    print(header)
    print("| task | array | seconds (median) | vs numpy | peak extra memory (GiB) | result |")
    print("|---|---|---|---|---|---|")
    for row in table:
        print("| " + " | ".join(row) + " |")
    if args.rst:
        lines = [f"{header}, measured by ``benchmarks/bench_array_api.py`` "
                 f"(median of {args.repeats}):", "",
                 ".. list-table::", "   :header-rows: 1", ""]
        cells = [("task", "array", "seconds", "vs numpy", "peak extra memory (GiB)",
                  "result")] + table
        for row in cells:
            lines.append(f"   * - {row[0]}")
            lines += [f"     - {cell}" for cell in row[1:]]
        Path(args.rst).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
