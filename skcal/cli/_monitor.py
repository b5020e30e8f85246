"""``skcal monitor``: a scheduled job's view of calibration drift.

Exit status: 0 when no chunk completed by this run is in alarm, 1 when one is
(``ALARM_STATUS``), 2 for an error (a bad file or argument; nothing is written).
"""

import json
from pathlib import Path

import numpy as np

from ..utils._files import write_atomically, write_json
from ..monitoring._inputs import unpack

ALARM_STATUS = 1


def read_period(path, args, *, error):
    """(scores, labels, timestamps) of one period's file: .npz, .csv or .parquet."""
    file = Path(path)
    if not file.is_file():
        raise error(f"no such file {path!r}")
    suffix = file.suffix.lower()
    if suffix == ".npz":
        with np.load(file, allow_pickle=False) as archive:
            if "scores" not in archive.files:
                raise error(f"{path} has no array 'scores' (it has {archive.files})")
            labels = archive["labels"] if "labels" in archive.files else None
            times = archive["timestamps"] if "timestamps" in archive.files else None
            return archive["scores"], labels, times
    if suffix not in (".csv", ".parquet"):
        raise error(f"{path} is not .npz, .csv or .parquet (pickles are not read)")
    try:
        import pandas as pd
    except ImportError as exc:
        raise error(f"reading {path} needs pandas: pip install pandas") from exc
    if suffix == ".parquet":
        try:
            frame = pd.read_parquet(file)
        except ImportError as exc:
            raise error(f"reading {path} needs pyarrow: pip install pyarrow") from exc
    else:
        frame = pd.read_csv(file)
    timestamp = args.timestamp if args.timestamp in frame.columns else None
    if timestamp is not None:
        frame[timestamp] = pd.to_datetime(frame[timestamp])
    labels = args.labels if args.labels in frame.columns else None
    return unpack(frame, labels, None, args.scores, timestamp)


def run_monitor(args, *, error):
    """Fit or restore, update with each production file, report, save."""
    from ..monitoring._monitor import CalibrationMonitor

    state_path = Path(args.state) if args.state else None
    if state_path is not None and state_path.exists():
        try:
            monitor = CalibrationMonitor.from_dict(json.loads(state_path.read_text()))
        except (ValueError, KeyError, TypeError) as exc:
            raise error(f"--state {state_path}: not a monitor state ({exc})") from exc
        print(f"Continuing from {state_path} ({monitor.n_rows_} rows seen so far).")
    else:
        ref_scores, ref_labels, _ = read_period(args.reference, args, error=error)
        if ref_labels is None:
            raise error(f"REFERENCE {args.reference} needs labels (an array 'labels', or "
                        f"the column --labels {args.labels!r})")
        monitor = CalibrationMonitor(
            chunk_size=args.chunk_size, chunk_period=args.chunk_period, alpha=args.alpha,
        ).fit(ref_scores, ref_labels)
    before = monitor.to_dict()["chunks"]
    last_before = before[-1]["chunk"] if before else None
    for path in args.production:
        period = read_period(path, args, error=error)
        try:
            monitor.update(*period)
        except ValueError as exc:  # say which file; nothing is saved
            raise error(f"PRODUCTION {path}: {exc}") from exc
    state = monitor.to_dict()
    new = [row for row in state["chunks"] if last_before is None or row["chunk"] > last_before]
    _print_table(state["chunks"])
    print(monitor.summary())
    if args.json:
        write_json(args.json, state)
        print(f"Monitor table and state written to {args.json}")
    if args.plot:
        _save_plot(monitor, args.plot)
    if state_path is not None:
        write_json(state_path, state)
        print(f"State saved to {state_path}")
    return ALARM_STATUS if any(row["alarm"] for row in new) else 0


def _print_table(table):
    header = (f"{'chunk':>7}{'n':>8}{'labelled':>10}{'accuracy':>10}{'NLL':>9}{'±':>8}"
              f"{'calib.':>9}{'refin.':>9}{'expected':>10}{'cusum':>8}  verdict")
    print(header)
    print("-" * len(header))
    for row in table[-30:]:
        def number(key, width, digits=4):
            value = row[key]
            value = float(value) if value is not None else float("nan")
            return f"{value:>{width}.{digits}f}"

        print(f"{row['chunk']:>7}{row['n']:>8}{row['n_labelled']:>10}{number('accuracy', 10)}"
              f"{number('nll', 9)}{number('nll_se', 8)}{number('nll_calibration', 9)}"
              f"{number('nll_refinement', 9)}{number('expected_nll', 10)}"
              f"{number('cusum', 8, 2)}  {row['verdict']}{' (alarm)' if row['alarm'] else ''}")
    if len(table) > 30:
        print(f"(the last 30 of {len(table)} chunks; --json has them all)")


def _save_plot(monitor, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        print(f"(plot not written: {path} needs matplotlib, pip install \"skcal[plot]\")")
        return
    display = monitor.plot()
    image_format = Path(path).suffix.lstrip(".").lower() or "png"
    write_atomically(path, lambda temporary: display.figure_.savefig(
        temporary, dpi=110, format=image_format))
    import matplotlib.pyplot as plt

    plt.close(display.figure_)
    print(f"Plot written to {path}")
