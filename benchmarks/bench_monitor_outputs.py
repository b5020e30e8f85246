"""What writing the monitor's results costs beside the update of a day.

A monitor that has kept 900 chunks of 1,000 rows (10 classes, float32 logits)
adds a 100,000-row day; then its 100 new chunks are written to a SQL store
that already holds the 900 (SQLite, a real file; and PostgreSQL when the
machine's server is up), the Prometheus textfile is written, and the HTML
report; and the digest of the day's rows that ``skcal monitor`` notes with a
file, to tell one that grew. Each is timed in the same process as the update
(``monitor.update`` alone, and the job a scheduled run does around it: the
JSON state read, the update, the state written atomically), the libraries
imported beforehand (their import times are printed apart: a scheduled run
pays them once). Medians of ``--repeat`` runs, each on a fresh copy of the
monitor.

    python benchmarks/bench_monitor_outputs.py --repeat 7
"""

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from skcal import CalibrationMonitor
from skcal.cli._monitor_inputs import rows_digest
from skcal.utils._files import write_json

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def timed(work, repeat, setup=None):
    """Median seconds of ``work(setup())`` (the setup not timed)."""
    seconds = []
    for _ in range(repeat):
        given = setup() if setup is not None else None
        start = time.perf_counter()
        work(given) if setup is not None else work()
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds))


def import_seconds(module):
    """Seconds a fresh interpreter takes to import ``module``, beyond starting."""
    def run(code):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start

    base = min(run("pass") for _ in range(3))
    return max(min(run(f"import {module}") for _ in range(3)) - base, 0.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--day", type=int, default=100_000)
    parser.add_argument("--kept", type=int, default=900, help="chunks kept before the day")
    args = parser.parse_args()

    import sqlalchemy  # imported before timing; its import is timed apart

    rng = np.random.default_rng(0)
    k, chunk = 10, 1000
    history = args.kept * chunk
    logits = rng.normal(scale=3.0, size=(history + args.day, k)).astype(np.float32)
    y = np.argmax(logits / 1.5 + rng.gumbel(size=logits.shape), axis=1)
    monitor = CalibrationMonitor(chunk_size=chunk).fit(logits[:20000], y[:20000])
    for start in range(0, history, 100_000):
        monitor.update(logits[start:start + 100_000], y[start:start + 100_000])
    before = pickle.dumps(monitor)
    day = (logits[history:], y[history:])
    after = pickle.loads(before).update(*day)
    new_chunks = [row["chunk"] for row in after.to_dict()["chunks"]][-args.day // chunk:]

    update = timed(lambda fresh: fresh.update(*day), args.repeat,
                   setup=lambda: pickle.loads(before))
    state = json.dumps(pickle.loads(before).to_dict())

    def job(folder):  # what a scheduled run does without the outputs
        monitor = CalibrationMonitor.from_dict(json.loads(state))
        write_json(folder / "state.json", monitor.update(*day).to_dict())

    rows = [("update, a day of %d rows" % args.day, update)]
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        run = timed(lambda: job(folder), args.repeat)
        rows.append(("the job: state read, update, state written", run))
        stores = [("SQLite file", f"sqlite:///{folder / 'monitor.db'}", None)]
        from servers import postgres_url

        url, drop = postgres_url()
        if url is not None:
            stores.append(("PostgreSQL", url, drop))
        else:
            print(f"(PostgreSQL skipped: {drop})")
        for name, store, _ in stores:
            after.to_sql(store, model="m")  # the store holds the history already
            seconds = timed(lambda: after.to_sql(store, model="m", chunks=new_chunks),
                            args.repeat)
            rows.append((f"to_sql, {len(new_chunks)} new chunks, {name}", seconds))
            if name == "PostgreSQL":  # a long-lived engine: no connection set up per write
                engine = sqlalchemy.create_engine(
                    store.replace("postgresql://", "postgresql+psycopg://"))
                seconds = timed(lambda: after.to_sql(engine, model="m", chunks=new_chunks),
                                args.repeat)
                engine.dispose()
                rows.append((f"to_sql, {len(new_chunks)} new chunks, {name}, an engine kept",
                             seconds))
        prom = folder / "skcal.prom"
        rows.append(("to_prometheus + textfile", timed(
            lambda: prom.write_text(after.to_prometheus(model="m", format="text")),
            args.repeat)))
        rows.append(("to_html (report written)", timed(
            lambda: after.to_html(folder / "report.html", model="m"), args.repeat)))
        report_kib = (folder / "report.html").stat().st_size / 1024
        for _, _, drop in stores:
            if drop is not None:
                drop()
    outputs = sum(seconds for name, seconds in rows[2:] if "PostgreSQL" not in name)
    # what skcal monitor adds to the job per production file: the digest of its rows
    # that it notes with the file (to tell a file that grew), with an id of text a row
    ids = np.array([f"request-{i}" for i in range(args.day)])
    digest = timed(lambda: rows_digest(after, (*day, None, ids), args.day), args.repeat)
    # the three outputs and the update timed in turn, repeat by repeat, so that both
    # meet the same load of a shared machine: the median of the ratios
    ratios = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        store = f"sqlite:///{folder / 'monitor.db'}"
        after.to_sql(store, model="m")
        for _ in range(args.repeat):
            fresh = pickle.loads(before)
            start = time.perf_counter()
            fresh.update(*day)
            middle = time.perf_counter()
            fresh.to_sql(store, model="m", chunks=new_chunks)
            (folder / "skcal.prom").write_text(fresh.to_prometheus(model="m", format="text"))
            fresh.to_html(folder / "report.html", model="m")
            ratios.append((time.perf_counter() - middle) / (middle - start))
    print(f"{args.kept} chunks kept, then a day of {args.day} rows x {k} classes; "
          f"medians of {args.repeat}")
    print("| what | seconds | vs the update | vs the job |")
    print("|---|---|---|---|")
    for name, seconds in rows + [("SQLite store + textfile + report, together", outputs),
                                 ("skcal monitor's digest of the day's rows, ids of text",
                                  digest)]:
        print(f"| {name} | {seconds:.4f} | {seconds / update:.2f}x | {seconds / run:.2f}x |")
    print(f"Timed in turn with the update, repeat by repeat: the three outputs take "
          f"{np.median(ratios):.2f}x the update (median; {min(ratios):.2f}x to "
          f"{max(ratios):.2f}x).")
    print(f"Report: {report_kib:.0f} KiB. Imports, paid once per run: sqlalchemy "
          f"{import_seconds('sqlalchemy'):.2f} s, skcal {import_seconds('skcal'):.2f} s.")


if __name__ == "__main__":
    main()
