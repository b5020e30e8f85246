"""``skcal monitor --recalibrate METHOD``: a "recalibrate" verdict acted on.

The calibrator is fitted on the labelled rows since the drift began that the
run has: the production files' rows that came with their labels (raw scores),
and the rows whose labels came through ``--late-labels``. For those the
monitor kept only the log-probabilities it served; a temperature is refitted
on them exactly (:mod:`skcal.monitoring._served_temperature`), other methods
need the raw scores. A temperature over a calibrator in place is fitted on what
that calibrator served, and written as one calibrator of its class (the
installed map's parameters divided by the temperature, where a temperature
composes with it).
"""

import numpy as np

from ..calibrators._persistence import save_calibrator
from ..calibrators._registry import calibrator_class
from ..calibrators._temperature import TemperatureScaling
from ..monitoring._inputs import is_labelled, labels_of
from ..monitoring._served_temperature import (
    served_log_proba,
    served_refit_obstacle,
    temperature_from_served,
)
from ..monitoring._table import latest_judged, period_start_text

_FIT_BY_HAND = ("fit one on the raw scores and their labels (skcal fit METHOD SCORES LABELS "
                "--calibrator PATH.json): the next run applies it.")


def act_on_verdict(monitor, args, this_run, late_rows):
    """On "recalibrate", fit --recalibrate METHOD on the labelled rows since the
    drift began (``this_run``: each production file's (scores, labels, timestamps,
    first row number); ``late_rows``: each --late-labels file's joined rows, as
    (served log-probabilities, label columns, chunks)) and save it; say why not
    otherwise."""
    table = monitor.to_dict()["chunks"]
    judged, _ = latest_judged(table)  # newer chunks may wait for their labels
    latest = judged or (table[-1] if table else None)
    verdict = latest["verdict"] if latest else "no complete chunk"
    if verdict != "recalibrate":
        reason = {
            "retrain": "the refinement part rose beyond its standard error, which no "
                       "recalibration wins back: retrain the model",
            "ok": "the latest chunk is not in alarm",
        }.get(verdict, f"the latest verdict is {verdict!r}")
        print(f"No calibrator written: {reason}.")
        return
    if latest.get("calibrator", 0) < monitor.calibrator_version_:
        # rows added before the calibrator now served: its verdict is the old map's
        print(f"No calibrator written: the latest verdict is chunk {latest['chunk']}'s, whose "
              f"rows were scored before calibrator {monitor.calibrator_version_} was applied; "
              "the chunks scored through it will say whether it holds.")
        return
    onset = monitor.drift_onset()
    if onset is None:  # an alarm of the judged chunk alone: its rows
        onset = judged["chunk"]
    onset_name = _chunk_name(table, onset, by_period=monitor.chunk_period is not None)
    raw = _raw_rows_since(monitor, this_run, onset)
    late = _late_rows_since(late_rows, onset)
    n_raw, n_late = len(raw[1]), len(late[1])
    by_temperature = calibrator_class(args.recalibrate) is TemperatureScaling
    obstacle = served_refit_obstacle(monitor) if by_temperature else (
        "the monitor keeps the log-probabilities it served for them, not the raw scores a "
        f"{args.recalibrate} calibrator is fitted on (only a temperature is refitted on those)")
    use_late = n_late > 0 and obstacle is None
    # a temperature over the calibrator in place, as one map of its class: on what it
    # served (the raw rows' log-probabilities through it, and the late rows')
    over = by_temperature and obstacle is None and monitor.calibrator_ is not None
    n = n_raw + n_late if use_late else n_raw
    if n < monitor.min_labels:
        late_note = (f" {n_late} rows labelled by --late-labels since then do not count: "
                     f"{obstacle}; {_FIT_BY_HAND}" if n_late and not use_late else "")
        print(f"No calibrator written: {n} labelled rows of this run since the drift began "
              f"({onset_name}), fewer than min_labels={monitor.min_labels}.{late_note}")
        return
    try:
        if use_late or over:
            calibrator = monitor.recalibrate(
                _temperature_on_served(monitor, raw, late if use_late else None))
        else:
            calibrator = monitor.recalibrate(args.recalibrate, *raw)
    except ValueError as exc:  # rows it cannot be fitted on: the run's monitoring stands
        print(f"No calibrator written: {args.recalibrate} cannot be fitted on the {n} "
              f"labelled rows of this run since the drift began ({onset_name}): {exc} A "
              f"later run in alarm tries again on its own rows; or {_FIT_BY_HAND}")
        return
    save_calibrator(calibrator, args.calibrator)
    what = (f"the {type(calibrator).__name__} in place followed by a temperature, as one "
            f"{type(calibrator).__name__}," if over else type(calibrator).__name__)
    print(f"Recalibrated: {what} fitted on {n} labelled rows since "
          f"{onset_name}{f' ({n_late} of them by --late-labels)' if use_late else ''}, saved to "
          f"{args.calibrator} (calibrator {monitor.calibrator_version_}); later runs apply it "
          "to the raw scores.")


def _temperature_on_served(monitor, raw, late):
    """A temperature fitted on what the monitor served (over the calibrator in
    place, if any): the files' labelled rows (``raw``: scores, labels) through
    that calibrator, and the rows labelled late (``late``: their served
    log-probabilities, label columns; or None)."""
    served, columns = [], []
    if len(raw[1]):  # both as the monitor's columns: a file's labels may be of another dtype
        served.append(served_log_proba(monitor, raw[0]))
        columns.append(labels_of(raw[1], len(raw[1]), monitor.classes_)[1])
    if late is not None:
        served.append(late[0])
        columns.append(late[1])
    return temperature_from_served(monitor, np.concatenate(served),
                                   monitor.classes_[np.concatenate(columns)])


def _chunk_name(table, chunk, *, by_period):
    """``chunk N``, and with periods the start of its period (UTC), as the table shows it.

    >>> _chunk_name([{"chunk": 3, "start": 1774785600000000000}], 3, by_period=True)
    'chunk 3, the period from 2026-03-29 12:00:00 UTC'
    """
    starts = [row["start"] for row in table if row["chunk"] == chunk]
    if not by_period or not starts:
        return f"chunk {chunk}"
    return f"chunk {chunk}, the period from {period_start_text(starts[0])} UTC"


def _raw_rows_since(monitor, this_run, onset):
    """(raw scores, labels) of the production files' labelled rows from chunk ``onset`` on."""
    pieces = []
    for scores, labels, times, first_row in this_run:
        rows = first_row + np.arange(np.shape(scores)[0])
        since = monitor.chunk_of(rows=rows, timestamps=times) >= onset
        labelled = since & is_labelled(np.asarray(labels), monitor.classes_)
        if labelled.any():
            pieces.append((np.asarray(scores)[labelled], np.asarray(labels)[labelled]))
    if not pieces:
        return np.empty((0, monitor.n_features_in_)), np.empty(0, dtype=int)
    return tuple(np.concatenate([piece[i] for piece in pieces]) for i in (0, 1))


def _late_rows_since(late_rows, onset):
    """(served log-probabilities, label columns) of the rows joined by --late-labels
    from chunk ``onset`` on."""
    since = [chunks >= onset for _, _, chunks in late_rows]
    kept = [(log_proba[rows], y_index[rows])
            for (log_proba, y_index, _), rows in zip(late_rows, since)]
    if not kept:
        return np.empty((0, 0), dtype=np.float32), np.empty(0, dtype=np.intp)
    return tuple(np.concatenate([piece[i] for piece in kept]) for i in (0, 1))
