"""``skcal monitor`` runs over every day's file while a writer appends to them.

A writer appends ``--days`` CSV logs of ``--rows`` rows each (4 classes of
logits, a label and a request id a row), one after the other, in blocks of 1 to
``--block`` bytes every ``--pause`` seconds, so that a run finds a line cut
anywhere. Meanwhile runs of ``python -m skcal monitor ref.npz day*.csv`` (one
process each, on one state file) follow one another, and a last one runs on
the finished files. The state is then compared with that of one run over the
finished files: the rows counted (all the days' rows, once), and each chunk's
mean NLL.

    python benchmarks/bench_monitor_growing_files.py [--days 3] [--rows 4000]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

K = 4


def log_text(rng, n, day):
    """``(CSV bytes, logits, labels)`` of ``n`` rows of a calibrated model."""
    logits = rng.normal(scale=2.0, size=(n, K))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    lines = ["logit_0,logit_1,logit_2,logit_3,label,request"] + [
        ",".join(f"{v:.6g}" for v in row) + f",{label},day{day}-{i}"
        for i, (row, label) in enumerate(zip(logits.astype(np.float32), y))]
    return ("\n".join(lines) + "\n").encode(), logits.astype(np.float32), y


def write(path, text, rng, block, pause):
    with open(path, "wb") as file:
        position = 0
        while position < len(text):
            step = int(rng.integers(1, block + 1))
            file.write(text[position:position + step])
            file.flush()
            position += step
            time.sleep(pause)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--block", type=int, default=2000)
    parser.add_argument("--pause", type=float, default=0.05)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        _, scores, labels = log_text(rng, 3000, "reference")
        np.savez(folder / "ref.npz", scores=scores, labels=labels)
        command = [sys.executable, "-m", "skcal", "monitor", "ref.npz"]
        options = ["--chunk-size", "500", "--scores", "logit_*", "--id-column", "request"]
        runs, stopped = 0, 0
        for day in range(args.days):
            text = log_text(rng, args.rows, day)[0]
            writer = threading.Thread(target=write, args=(
                folder / f"day{day}.csv", text, np.random.default_rng(day), args.block,
                args.pause))
            writer.start()
            while writer.is_alive():
                files = sorted(path.name for path in folder.glob("day*.csv"))
                status = subprocess.run(command + files + options + ["--state", "state.json"],
                                        cwd=folder, capture_output=True).returncode
                runs += 1
                stopped += status not in (0, 1)
            writer.join()
        files = sorted(path.name for path in folder.glob("day*.csv"))
        for state in ("state.json", "once.json"):  # the last run; one run over the files
            subprocess.run(command + files + options + ["--state", state], cwd=folder,
                           capture_output=True, check=False)
        grown, once = (json.loads((folder / name).read_text())
                       for name in ("state.json", "once.json"))
    difference = max((abs(a["nll"] - b["nll"]) for a, b in zip(grown["chunks"],
                                                                once["chunks"])), default=0)
    print(f"{runs} runs while {args.days} logs of {args.rows} rows were written "
          f"({stopped} stopped with exit 2)")
    print(f"rows in the state: {grown['n_rows']} (written: {args.days * args.rows}; one run "
          f"over the finished files: {once['n_rows']})")
    print(f"chunks: {len(grown['chunks'])} against {len(once['chunks'])}; largest difference "
          f"of a chunk's mean NLL: {difference:.3g}")


if __name__ == "__main__":
    main()
