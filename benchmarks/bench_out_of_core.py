"""Token logits larger than memory: temperature fit and metrics on a float16 .npy file.

Writes (once, in chunks) a synthetic file of N x V float16 logits whose labels
are drawn from ``softmax(z / 1.5)``, so the logits are over-confident and the
fit has work to do. Then, each in a fresh process, measures wall time and the
peak of anonymous memory the process allocates (pages of the memory-mapped file
itself are not counted: the OS can drop them):

- ``floor``: one plain numpy pass over the file: read a block, convert to
  float32, row max, ``exp(z - max)`` summed per row;

The file is read once, untimed, before the first task, so that every task finds
it in the page cache (on a machine with less memory than the file, every task
reads from disk instead).
- ``fit``: ``TemperatureScaling().fit`` on the memory map;
- ``perplexity``: ``perplexity(y, logits=...)``;
- ``ece``: top-label ``expected_calibration_error(y, logits=...)``;
- ``cli-fit``: ``skcal fit temperature FILE LABELS --quiet``, the command line's
  whole job: the fit, then the NLL before and after (in one pass over the file);
- ``cli-predict``: ``skcal predict CALIBRATOR FILE --labels LABELS``, a saved
  temperature (fitted, untimed, on the first 5000 rows) applied to the whole
  file: the NLL before and after, in one pass;
- ``cli-predict-write``: the same with ``--write-proba`` to a ``.npy`` file in
  ``--dir`` (float32, twice the file's size; not run by default), removed after;
- ``cli-predict-write-log``: the same with ``--write-log-proba`` instead (not
  run by default);
- ``dask``: the same fit on a Dask array of the file on a LocalCluster of two
  worker processes, opened with ``skcal.io.dask_scores`` (each worker
  memory-maps its own rows), reporting the client's memory and each worker's;
- ``dask-memmap``: the same with ``da.from_array`` of the memory map, which the
  client pickles into the graph (not run by default).

    python benchmarks/bench_out_of_core.py --tokens 200000 --vocab 32000

Prints a table with ratios to the floor and, with ``--markdown``, a table for
the documentation.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

TRUE_TEMPERATURE = 1.5
GIB = 2.0**30


def anonymous_memory(pid="self"):
    """Resident anonymous memory of a process, in bytes (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("RssAnon not found in /proc/<pid>/status (Linux only)")


class PeakSampler:
    """Samples the anonymous memory of some processes every 10 ms; keeps the peak."""

    def __init__(self, pids=("self",)):
        self.pids = list(pids)
        self.baseline = {pid: anonymous_memory(pid) for pid in self.pids}
        self.peak = dict(self.baseline)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for pid in self.pids:
                try:
                    self.peak[pid] = max(self.peak[pid], anonymous_memory(pid))
                except (OSError, RuntimeError):
                    pass
            self._stop.wait(0.01)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def extra(self, pid="self"):
        return self.peak[pid] - self.baseline[pid]


def write_file(path, n_tokens, vocab, seed=0):
    """Float16 logits ~ N(0, 3^2) and labels ~ softmax(z / 1.5), written in chunks."""
    labels_path = path.with_suffix(".labels.npy")
    if path.exists() and labels_path.exists():
        existing = np.load(path, mmap_mode="r")
        if existing.shape == (n_tokens, vocab):
            return labels_path
    rng = np.random.default_rng(seed)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(n_tokens, vocab))
    labels = np.empty(n_tokens, dtype=np.int64)
    step = max(1, 2**25 // vocab)
    start_time = time.perf_counter()
    for start in range(0, n_tokens, step):
        stop = min(start + step, n_tokens)
        z = rng.standard_normal((stop - start, vocab), dtype=np.float32)
        z *= 3.0
        gumbel = rng.random((stop - start, vocab), dtype=np.float32)
        with np.errstate(divide="ignore"):  # a draw of exactly 0: a Gumbel of -inf
            np.log(gumbel, out=gumbel)
            np.negative(gumbel, out=gumbel)
            np.log(gumbel, out=gumbel)
        labels[start:stop] = np.argmax(z / TRUE_TEMPERATURE - gumbel, axis=1)
        out[start:stop] = z
    out.flush()
    del out
    np.save(labels_path, labels)
    print(f"wrote {path} ({n_tokens} x {vocab} float16, "
          f"{n_tokens * vocab * 2 / GIB:.1f} GiB) in {time.perf_counter() - start_time:.0f} s",
          file=sys.stderr)
    return labels_path


def warm_page_cache(path):
    """Read the file once, untimed, so every task finds it in the page cache (the
    first reader would otherwise pay for the disk alone)."""
    buffer = bytearray(2**26)
    with open(path, "rb", buffering=0) as file:
        while file.readinto(buffer):
            pass


def floor_pass(logits, block_rows):
    """One plain numpy pass: read, convert to float32, max, exp-sum per row."""
    total = 0.0
    for start in range(0, logits.shape[0], block_rows):
        z = np.asarray(logits[start : start + block_rows], dtype=np.float32)
        top = z.max(axis=1, keepdims=True)
        z -= top
        np.exp(z, out=z)
        total += float(np.log(z.sum(axis=1)).sum())
    return total


def dask_array(path, rows_per_chunk, *, memory_map=False):
    """A Dask array over a .npy file: ``skcal.io.dask_scores`` (each task memory-maps
    and reads its own rows), or, with ``memory_map``, ``da.from_array`` of the memory
    map, which puts the memory map in the graph."""
    if memory_map:
        import dask.array as da

        logits = np.load(path, mmap_mode="r")
        return da.from_array(logits, chunks=(rows_per_chunk, logits.shape[1]))
    from skcal.io import dask_scores

    return dask_scores(path, rows_per_chunk=rows_per_chunk)


def run_task(task, path, labels_path):
    """Run one measurement in this process; print a JSON line."""
    logits = np.load(path, mmap_mode="r")
    y = np.load(labels_path)
    result = {"task": task}
    if task in ("dask", "dask-memmap"):
        import warnings

        from distributed import Client, LocalCluster

        from skcal import TemperatureScaling

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None, memory_limit=0) as cluster, \
                Client(cluster) as client:
            worker_pids = list(client.run(os.getpid).values())
            X = dask_array(path, max(1, 2**27 // logits.shape[1]),
                           memory_map=task == "dask-memmap")
            warnings.simplefilter("ignore")  # dask-memmap: skcal's warning is the point
            with PeakSampler(["self"] + worker_pids) as sampler:
                start = time.perf_counter()
                ts = TemperatureScaling().fit(X, y)
                result["seconds"] = time.perf_counter() - start
            result["temperature"] = float(ts.temperature_)
            result["passes"] = int(ts.n_iter_)
            result["peak_extra_bytes"] = sampler.extra("self")
            result["worker_peak_extra_bytes"] = [sampler.extra(pid) for pid in worker_pids]
        print(json.dumps(result))
        return
    from skcal import TemperatureScaling
    from skcal.metrics import expected_calibration_error, perplexity

    if task.startswith("cli-predict"):  # the calibrator to apply, fitted untimed
        from skcal import save_calibrator

        calibrator = path.with_suffix(".temperature.json")  # removed by command_line_predict
        save_calibrator(TemperatureScaling().fit(np.asarray(logits[:5000], dtype=np.float32),
                                                 y[:5000]), calibrator)
    with PeakSampler() as sampler:
        start = time.perf_counter()
        if task == "floor":
            floor_pass(logits, max(1, 2**20 // logits.shape[1]))
        elif task == "fit":
            ts = TemperatureScaling().fit(logits, y)
            result["temperature"] = float(ts.temperature_)
            result["passes"] = int(ts.n_iter_)
        elif task == "perplexity":
            result["value"] = perplexity(y, logits=logits)
        elif task == "ece":
            result["value"] = expected_calibration_error(y, logits=logits)
        elif task == "cli-fit":
            result["note"] = command_line_fit(path, labels_path)
        elif task.startswith("cli-predict"):
            option = {"cli-predict-write": "--write-proba",
                      "cli-predict-write-log": "--write-log-proba"}.get(task)
            result["note"] = command_line_predict(calibrator, path, labels_path, option)
        else:
            raise ValueError(task)
        result["seconds"] = time.perf_counter() - start
    result["peak_extra_bytes"] = sampler.extra()
    print(json.dumps(result))


def command_line_fit(path, labels_path):
    """Run ``skcal fit temperature`` on the file; its NLLs before and after, as text."""
    import contextlib
    import io
    import tempfile

    from skcal.cli._main import main as skcal_command

    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "fit.json"
        with contextlib.redirect_stdout(io.StringIO()):
            status = skcal_command(["fit", "temperature", str(path), str(labels_path),
                                    "--quiet", "--json", str(report)])
        if status != 0:
            raise SystemExit(f"skcal fit exited with {status}")
        fitted = json.loads(report.read_text())
    return (f"T = {fitted['parameters']['temperature_']:.6f}, NLL {fitted['nll_before']:.4f} "
            f"-> {fitted['nll_after']:.4f}")


def command_line_predict(calibrator, path, labels_path, option):
    """Run ``skcal predict`` with a saved calibrator on the file (with ``option``,
    ``--write-proba`` or ``--write-log-proba``, if given, writing to a file beside
    it); its NLLs, as text. The calibrator's file and the files the command wrote
    are removed."""
    import contextlib
    import io

    from skcal.cli._main import main as skcal_command

    report = Path(calibrator).with_name("predict.json")
    written = path.with_suffix(".calibrated.npy") if option else None
    command = ["predict", str(calibrator), str(path), "--labels", str(labels_path),
               "--quiet", "--json", str(report)]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            status = skcal_command(command + ([option, str(written)] if option else []))
        if status != 0:
            raise SystemExit(f"skcal predict exited with {status}")
        if written:
            size = Path(written).stat().st_size / GIB
        applied = json.loads(report.read_text())
    finally:
        for scratch in (written, calibrator, report):
            if scratch:
                Path(scratch).unlink(missing_ok=True)
    return (f"NLL {applied['nll_before']:.4f} -> {applied['nll_after']:.4f}"
            + (f", {size:.1f} GiB written" if written else ""))


def write_rst(path, header, rows):
    """The table as an RST list-table, for the documentation."""
    lines = [f"{header}, measured by ``benchmarks/bench_out_of_core.py``:", "",
             ".. list-table::", "   :header-rows: 1", ""]
    cells = [("task", "seconds", "vs floor", "peak anonymous memory (GiB)", "result")]
    cells += [(task, f"{seconds:.1f}", ratio, f"{extra:.3f}", note or " ")
              for task, seconds, ratio, extra, note in rows]
    for row in cells:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    Path(path).write_text("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=200_000)
    parser.add_argument("--vocab", type=int, default=32_000)
    parser.add_argument("--dir", default=".", help="where the logits file is written")
    parser.add_argument("--tasks", nargs="+",
                        default=["floor", "fit", "cli-fit", "cli-predict", "perplexity",
                                 "ece", "dask"])
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--rst", metavar="OUT", help="also write the table as reStructuredText")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = Path(args.dir) / f"token_logits_{args.tokens}x{args.vocab}.npy"
    if args.run:
        run_task(args.run, path, path.with_suffix(".labels.npy"))
        return
    write_file(path, args.tokens, args.vocab)
    warm_page_cache(path)
    results = {}
    for task in args.tasks:
        out = subprocess.run(
            [sys.executable, __file__, "--tokens", str(args.tokens), "--vocab",
             str(args.vocab), "--dir", args.dir, "--run", task],
            capture_output=True, text=True,
        )
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            if task == "dask-memmap":  # the failure it shows: the file copied into the graph
                print(f"{task}: failed (exit status {out.returncode})", file=sys.stderr)
                continue
            raise SystemExit(f"task {task} failed")
        results[task] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{task}: {results[task]}", file=sys.stderr)
    floor = results.get("floor", {}).get("seconds")
    size = args.tokens * args.vocab * 2
    rows = []
    for task, r in results.items():
        ratio = f"{r['seconds'] / floor:.2f}x" if floor else ""
        extra = r["peak_extra_bytes"] / GIB
        note = ""
        if "temperature" in r:
            note = f"T = {r['temperature']:.6f}, {r['passes']} passes"
        if "value" in r:
            note = f"{r['value']:.6g}"
        if "note" in r:
            note = r["note"]
        if "worker_peak_extra_bytes" in r:
            workers = ", ".join(f"{b / GIB:.2f}" for b in r["worker_peak_extra_bytes"])
            note += f"; workers' peak {workers} GiB"
        rows.append((task, r["seconds"], ratio, extra, note))
    if "fit" in results and "dask" in results:
        rel = abs(results["dask"]["temperature"] / results["fit"]["temperature"] - 1)
        print(f"Dask T vs memory-mapped T: relative difference {rel:.1e}")
    header = f"{args.tokens} x {args.vocab} float16 logits ({size / GIB:.1f} GiB)"
    if args.rst:
        write_rst(args.rst, header, rows)
    if args.markdown:
        print(f"\n{header}\n")
        print("| task | seconds | vs floor | peak anonymous memory (GiB) | result |")
        print("|---|---|---|---|---|")
        for task, seconds, ratio, extra, note in rows:
            print(f"| {task} | {seconds:.1f} | {ratio} | {extra:.3f} | {note} |")
    else:
        print(header)
        for task, seconds, ratio, extra, note in rows:
            print(f"{task:<22}{seconds:>9.1f} s {ratio:>8} {extra:>8.3f} GiB  {note}")


if __name__ == "__main__":
    main()
