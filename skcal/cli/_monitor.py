"""``skcal monitor``: a scheduled job's view of calibration drift.

One run holds an exclusive lock on the state for its whole read-update-write,
adds each production file once (a file's content digest is its batch id, so a
re-run adds nothing twice; a file that grew since a run read it adds the rows
it gained), joins late labels by id, and, asked to, acts on a
"recalibrate" verdict by fitting and saving a calibrator that later runs apply.

Exit status: 1 (``ALARM_STATUS``) when a chunk completed by this run is in alarm,
or late labels joined by this run put an earlier chunk into alarm; else 0; 2 for
an error (a bad file or argument, a state that cannot be read, a lock held too
long): nothing is written then, but for the store's rows written before a push
that failed (a rerun writes the same chunks again, replacing them).
"""

import json
from contextlib import nullcontext
from pathlib import Path

from ..calibrators._persistence import calibrator_to_dict, load_calibrator
from ..calibrators._registry import calibrator_class
from ..monitoring._batches import record_batch, record_batch_rows
from ..monitoring._served_temperature import join_late_labels, waiting_among
from ..monitoring._table import period_start_text
from ..rows._scores import ColumnBesideProbabilities
from ..utils._files import LockTimeout, exclusive_lock, write_atomically, write_json
from ._monitor_outputs import (
    changed_chunks,
    check_output_arguments,
    push_metrics,
    write_files,
    write_store,
)
from ._monitor_inputs import (batch_name, read_late_labels, read_period, read_production,
                              rows_to_add)
from ._monitor_recalibration import act_on_verdict
from ._paths import image_format

ALARM_STATUS = 1


def run_monitor(args, *, error):
    """Lock the state, fit or restore, add each new production file, join late
    labels, recalibrate if asked and due, report, save."""
    state_path = Path(args.state) if args.state else None
    if args.recalibrate:  # a mistyped method fails now, not on the day of a drift
        try:
            calibrator_class(args.recalibrate)
        except ValueError as exc:
            raise error(f"--recalibrate: {exc}") from exc
    lock = (nullcontext() if state_path is None else
            exclusive_lock(f"{state_path}.lock", timeout=args.lock_timeout))
    try:
        with lock:
            return _run_locked(args, state_path, error)
    except LockTimeout as exc:
        raise error(str(exc)) from exc


def _run_locked(args, state_path, error):
    from ..monitoring._monitor import CalibrationMonitor

    if not args.production:
        if not args.late_labels:
            raise error("nothing to add: give PRODUCTION files, --late-labels, or both")
        if state_path is None or not state_path.exists():
            raise error("--late-labels without PRODUCTION files joins labels to the rows of "
                        "a monitor that has seen production: give its --state file")
    if args.recalibrate and not args.calibrator:
        raise error("--recalibrate needs --calibrator PATH.json, where the calibrator is saved")
    check_output_arguments(args, error=error)
    served = _calibrator_file(args, error)  # the calibrator at --calibrator, read once
    monitor = _load_or_fit(CalibrationMonitor, args, state_path, served, error)
    _apply_calibrator_file(monitor, served, args, error)
    before = monitor.to_dict()["chunks"]
    last_before = before[-1]["chunk"] if before else None
    this_run = []  # labelled rows of this run, for a recalibration
    for path in args.production:
        digest, (scores, labels, times, ids, names) = read_production(
            path, args, error=error, kept=getattr(monitor, "_score_columns", None))
        if len(scores) == 0:  # a quiet period: update adds nothing, and the run says so
            print(f"{path}: no rows; nothing added.")
            continue
        added = rows_to_add(monitor, path, digest, (scores, labels, times, ids),
                            reprocess=args.reprocess, error=error)
        if added is None:  # processed already (said)
            continue
        start, batch_id, rows = added
        scores, labels, times, ids = (None if part is None else part[start:]
                                      for part in (scores, labels, times, ids))
        first_row, late = monitor.n_rows_, monitor.n_rows_late_
        try:
            monitor.update(scores, labels, times, ids=ids, score_columns=names,
                           batch_id=batch_id, batch_name=batch_name(path),
                           late_rows=args.late_rows)
        except ValueError as exc:  # say which file; nothing is saved
            raise error(f"PRODUCTION {path}: {exc}") from exc
        record_batch_rows(monitor, batch_id, *rows)
        if monitor.n_rows_late_ > late:
            print(f"{path}: {monitor.n_rows_late_ - late} rows of periods whose chunks are "
                  "complete left out (--late-rows drop).")
        if args.recalibrate and labels is not None:
            this_run.append((scores, labels, times, first_row))
    late_rows = []  # rows labelled by --late-labels: served log-probabilities, labels, chunks
    for path in args.late_labels or []:
        late_rows += _join_labels_file(monitor, path, args, error)
    state = monitor.to_dict()
    new = [row for row in state["chunks"] if last_before is None or row["chunk"] > last_before]
    _print_table(state["chunks"], by_period=monitor.chunk_period is not None)
    print(monitor.summary())
    # the store and the push first: if the store fails, nothing is written or saved;
    # if the push fails after it, only the store's rows are, which a rerun replaces
    write_store(monitor, args, changed_chunks(before, state["chunks"]), error=error)
    push_metrics(monitor, args, error=error)
    if args.recalibrate:
        act_on_verdict(monitor, args, this_run, late_rows)
        state = monitor.to_dict()
    if args.json:
        write_json(args.json, state)
        print(f"Monitor table and state written to {args.json}")
    if args.plot:
        _save_plot(monitor, args.plot)
    write_files(monitor, args)
    if state_path is not None:
        write_json(state_path, state)
        print(f"State saved to {state_path}")
    return ALARM_STATUS if raised_alarm(before, state["chunks"], new) else 0


def _join_labels_file(monitor, path, args, error):
    """Join a --late-labels file's labels to the rows that wait for them: those it
    gained since a run read it (all, the first time), and among those read before,
    the labels of rows that came since (labels that came before their rows, which
    matched none then, and are no longer counted so). A label read again is not
    counted again as one that matched no waiting row. Returns the rows joined (see
    :func:`~skcal.monitoring._served_temperature.join_late_labels`)."""
    digest, (ids, labels) = read_late_labels(path, args, error=error)
    added = rows_to_add(monitor, path, digest, (None, labels, None, ids),
                        reprocess=args.reprocess, error=error, argument="--late-labels")
    start = len(ids) if added is None else added[0]
    joined = []
    try:
        if start:  # read before: the labels whose rows have come since
            came = waiting_among(monitor, ids[:start])
            if came.any():
                joined.append(join_late_labels(monitor, ids[:start][came],
                                               labels[:start][came]))
                # counted when they matched no row: they have matched one now
                monitor.n_labels_unmatched_ = max(0, monitor.n_labels_unmatched_
                                                  - int(came.sum()))
                print(f"{path}: {int(came.sum())} of its labels read before joined now, "
                      "their rows having come since.")
        if added is not None:
            unmatched = monitor.n_labels_unmatched_
            joined.append(join_late_labels(monitor, ids[start:], labels[start:]))
            missed = monitor.n_labels_unmatched_ - unmatched
            print(f"{path}: {len(ids) - start - missed} late labels joined, {missed} "
                  "matched no waiting row.")
    except ValueError as exc:
        raise error(f"--late-labels {path}: {exc}") from exc
    if added is not None:
        record_batch(monitor, added[1], batch_name(path))
        record_batch_rows(monitor, added[1], *added[2])
    return joined if args.recalibrate else []


def raised_alarm(before, after, new):
    """Whether a chunk completed by this run (``new``) is in alarm, or one that
    was not in alarm before the run is now (late labels complete old chunks).

    >>> raised_alarm([{"chunk": 0, "alarm": False}], [{"chunk": 0, "alarm": True}], [])
    True
    >>> raised_alarm([{"chunk": 0, "alarm": True}], [{"chunk": 0, "alarm": True}], [])
    False
    """
    was_in_alarm = {row["chunk"]: row["alarm"] for row in before}
    return (any(row["alarm"] for row in new)
            or any(row["alarm"] and not was_in_alarm.get(row["chunk"], True) for row in after))


def _load_or_fit(cls, args, state_path, served, error):
    if state_path is not None and state_path.exists():
        try:
            monitor = cls.from_dict(json.loads(state_path.read_text()))
        except (ValueError, KeyError, TypeError) as exc:
            raise error(f"--state {state_path}: cannot be read as a monitor state ({exc}); "
                        "the file is left as it is") from exc
        _check_kept_options(monitor, args, state_path, error)
        print(f"Continuing from {state_path} ({monitor.n_rows_} rows seen so far).")
        return monitor
    ref_scores, ref_labels, _, _, names = read_period(args.reference, args, error=error,
                                                      kept=_calibrator_columns(served))
    if ref_labels is None:
        raise error(f"REFERENCE {args.reference} needs labels (an array 'labels', or "
                    f"the column --labels {args.labels!r})")
    given = {"chunk_size": args.chunk_size, "chunk_period": args.chunk_period,
             "alpha": args.alpha}  # an option left out keeps the monitor's default
    monitor = cls(**{name: value for name, value in given.items() if value is not None})
    # a calibrator served already: the reference is what the system serves
    try:
        return monitor.fit(ref_scores, ref_labels, score_columns=names, calibrator=served)
    except ColumnBesideProbabilities as exc:
        if not names:
            raise
        raise error(f"REFERENCE {args.reference}: --scores {args.scores!r} takes the columns "
                    f"{', '.join(names)}; without {names[exc.column]} every row sums to 1, so "
                    "it is not a class's probability. Give --scores the class columns ("
                    f"--scores {','.join(n for i, n in enumerate(names) if i != exc.column)})"
                    ", or a pattern that matches them only.") from exc


def _check_kept_options(monitor, args, state_path, error):
    """A monitor continued from its state keeps its chunks and its thresholds:
    a --chunk-size, --chunk-period or --alpha that differs from the state's is
    refused (it used to be ignored)."""
    from ..monitoring._inputs import period_nanoseconds

    kept = monitor.get_params()
    if args.chunk_size is not None and args.chunk_size != kept["chunk_size"]:
        given, state = f"--chunk-size {args.chunk_size}", _chunking(kept)
    elif args.chunk_period is not None and (
            kept["chunk_period"] is None
            or period_nanoseconds(args.chunk_period) != period_nanoseconds(kept["chunk_period"])):
        given, state = f"--chunk-period {args.chunk_period}", _chunking(kept)
    elif args.alpha is not None and args.alpha != kept["alpha"]:
        given, state = f"--alpha {args.alpha}", f"alpha {kept['alpha']}"
    else:
        return
    raise error(f"{given} differs from the monitor in --state {state_path} ({state}); a "
                "monitor keeps its chunks and thresholds. Leave the option out to continue, "
                "or start a new --state file")


def _chunking(params):
    if params["chunk_period"] is not None:
        return (f"chunks of {params['chunk_period']}, thresholds for "
                f"{params['chunk_size']} labelled rows")
    return f"chunks of {params['chunk_size']} rows"


def _calibrator_columns(calibrator):
    """The score columns, in their order, of a calibrator fitted on named
    columns; None otherwise, or without one."""
    names = getattr(calibrator, "feature_names_in_", None)
    return None if names is None else [str(name) for name in names]


def _calibrator_file(args, error):
    """The calibrator at --calibrator, or None when there is none there yet."""
    if not args.calibrator or not Path(args.calibrator).exists():
        return None
    try:
        return load_calibrator(args.calibrator)
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise error(f"--calibrator {args.calibrator}: {exc}") from exc


def _apply_calibrator_file(monitor, calibrator, args, error):
    """The calibrator of the file at --calibrator, when there is one and it is not
    the one the monitor applies, applied from this run on. When the file is gone
    but the monitor applies a calibrator, the run says so (a rollback of the
    serving system's calibrator would leave the monitor watching scores no longer
    served)."""
    if calibrator is None:
        if args.calibrator and monitor.calibrator_ is not None:
            print(f"--calibrator {args.calibrator} does not exist; the monitor goes on "
                  f"applying calibrator {monitor.calibrator_version_} (kept in its state). "
                  "If the serving system no longer applies it, the monitor watches scores "
                  "that are not served: start a new --state (the old file keeps its history).")
        return
    installed = monitor.calibrator_
    if installed is None or calibrator_to_dict(installed) != calibrator_to_dict(calibrator):
        try:
            monitor.recalibrate(calibrator)
        except ValueError as exc:
            raise error(f"--calibrator {args.calibrator}: {exc}") from exc
        print(f"Applying the calibrator in {args.calibrator} "
              f"(calibrator {monitor.calibrator_version_}).")


def _print_table(table, *, by_period):
    """The last 30 chunks; a chunk of a period is named by its start (UTC)."""
    first = f"{'start (UTC)':<21}" if by_period else f"{'chunk':>7}"
    header = (f"{first}{'n':>8}{'labelled':>10}{'accuracy':>10}{'NLL':>9}{'±':>8}"
              f"{'calib.':>9}{'refin.':>9}{'expected':>10}{'cusum':>8}{'cal.':>5}  verdict")
    print(header)
    print("-" * len(header))
    for row in table[-30:]:
        def number(key, width, digits=4):
            value = row[key]
            value = float(value) if value is not None else float("nan")
            return f"{value:>{width}.{digits}f}"

        name = (f"{period_start_text(row['start']):<21}" if by_period
                else f"{row['chunk']:>7}")
        print(f"{name}{row['n']:>8}{row['n_labelled']:>10}{number('accuracy', 10)}"
              f"{number('nll', 9)}{number('nll_se', 8)}{number('nll_calibration', 9)}"
              f"{number('nll_refinement', 9)}{number('expected_nll', 10)}"
              f"{number('cusum', 8, 2)}{row['calibrator']:>5}  {row['verdict']}"
              f"{' (alarm)' if row['alarm'] else ''}")
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
    write_atomically(path, lambda temporary: display.figure_.savefig(
        temporary, dpi=110, format=image_format(path)))
    import matplotlib.pyplot as plt

    plt.close(display.figure_)
    print(f"Plot written to {path}")
