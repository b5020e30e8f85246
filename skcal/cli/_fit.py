"""``skcal fit``: fit one calibrator on a score file of any size."""

import sys

import numpy as np

from ..calibrators._class_order import input_classes
from ..calibrators._persistence import save_calibrator
from ..rows._progress import report_progress
from ..rows._scores import flatten_leading
from ..utils._files import write_json
from ._calibrated_pass import (ProgressBar, class_list, labelled_pass, labels_per_row,
                               weights_per_row)
from ._labelled_sums import print_metrics
from ._paths import npy_path, output_path
from ._reading import scores_by_name


def _json_value(value):
    if isinstance(value, np.ndarray):
        return [_json_value(v) for v in value.tolist()] if value.ndim else _json_value(value.item())
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if np.isfinite(value) else str(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _describe(name, value):
    """One line for a fitted parameter: its values when few, else a summary."""
    array = np.asarray(value, dtype=float)
    if array.size <= 12:
        shown = np.array2string(array, precision=4, separator=", ", suppress_small=True)
        return f"{name} = {shown}"
    return (
        f"{name}: shape {array.shape}, min {array.min():.4g}, median "
        f"{np.median(array):.4g}, max {array.max():.4g}"
    )


def add_parser(commands, add_score_kind, method_names):
    """The ``fit`` subcommand on the parsers ``commands``."""
    fit = commands.add_parser(
        "fit",
        help="fit one calibrator on score files of any size",
        description="Fit one calibration METHOD on SCORES (logits or probabilities) and "
        "LABELS; print its parameters and the NLL, ECE and accuracy before and after. "
        "SCORES may be a .npy file (memory-mapped, read in blocks: float16 is computed in "
        "float32) or a Zarr array (a .zarr directory), larger than memory, or a .csv "
        "(columns named after the classes, dog,cat,bird, are read as the classes they "
        "name).",
    )
    fit.add_argument("method", metavar="METHOD", help=f"one of: {method_names}")
    fit.add_argument("scores", metavar="SCORES", help="(n_samples, n_classes) or (n_samples,); "
                     "token scores (batch, length, n_classes)")
    fit.add_argument("labels", metavar="LABELS",
                     help="(n_samples,) true labels, (batch, length) for tokens")
    add_score_kind(fit)
    fit.add_argument("--json", metavar="OUT", type=output_path,
                     help="write the parameters and the metrics as JSON")
    fit.add_argument("--write-proba", metavar="OUT.npy", type=npy_path,
                     help="write the calibrated probabilities (streamed to a .npy file)")
    fit.add_argument("--write-log-proba", metavar="OUT.npy", type=npy_path,
                     help="write the calibrated log-probabilities (natural log, streamed to "
                     "a .npy file)")
    fit.add_argument("--calibrator", metavar="PATH.json", type=output_path,
                     help="save the fitted calibrator as JSON (the file replaced "
                     "atomically): load_calibrator reads it, skcal monitor --calibrator "
                     "applies it")
    fit.add_argument("--ignore-index", type=int, default=None, metavar="LABEL",
                     help="leave out rows with this label (-100 for padding) of the fit and "
                     "the metrics; their probabilities are written all the same")
    fit.add_argument("--sample-weight", metavar="FILE",
                     help="each row's weight, in the fit and the metrics (the shape of "
                     "LABELS)")
    fit.add_argument("--quiet", action="store_true", help="no progress bar")
    fit.add_argument("--dask-scheduler", metavar="ADDRESS",
                     help="fit on a running Dask cluster (tcp://host:8786): the workers "
                     "read their own rows of SCORES (a .npy or .zarr path they can see)")
    return fit


def _read_scores(args, read_array, error):
    """SCORES as a memory map, or, with --dask-scheduler, a Dask array that the
    cluster's workers read themselves (and a connected client)."""
    if not args.dask_scheduler:
        return read_array(args.scores, what="SCORES", mmap=True, names=True), None
    for option, path in (("--write-proba", args.write_proba),
                         ("--write-log-proba", args.write_log_proba)):
        if path:
            raise error(f"{option} writes from this machine; leave out --dask-scheduler, or "
                        "write them with calibrator.predict_proba or predict_log_proba on "
                        "the cluster")
    try:
        from distributed import Client
    except ImportError as exc:
        raise error('--dask-scheduler needs dask.distributed: pip install "skcal[dask]"'
                    ) from exc
    from ..io import dask_scores

    try:
        scores = dask_scores(args.scores), None
    except (ValueError, FileNotFoundError) as exc:
        raise error(f"SCORES: {exc}") from exc
    try:
        client = Client(args.dask_scheduler, timeout="20s")
    except OSError as exc:
        raise error(f"--dask-scheduler {args.dask_scheduler}: cannot connect ({exc})") from exc
    return scores, client


def run_fit(args, *, read_array, as_labels, make_calibrator, report_score_type, error):
    """Fit, report and optionally write; returns the exit status."""
    score_type = "probabilities" if args.probabilities else "logits" if args.logits else "auto"
    # the method first: a mistyped name fails before a large file is read
    calibrator = make_calibrator(args.method, score_type)
    (scores, names), client = _read_scores(args, read_array, error)
    try:
        return _fit_and_report(args, calibrator, scores, names, read_array, as_labels,
                               report_score_type, error)
    finally:
        if client is not None:
            client.close()


def _fit_and_report(args, calibrator, scores, names, read_array, as_labels, report_score_type,
                    error):
    flat, leading = flatten_leading(scores, name="SCORES")  # token scores as rows
    labels = labels_per_row(args.labels, read_array, as_labels, scores.shape, leading, error)
    sample_weight = weights_per_row(args.sample_weight, read_array, scores.shape, leading, error)
    report_score_type(flat, calibrator.score_type, shape=scores.shape)
    if args.ignore_index is not None:
        calibrator.set_params(ignore_index=args.ignore_index)
    progress = ProgressBar(flat.shape[0], enabled=not args.quiet and sys.stderr.isatty())
    try:
        with report_progress(progress):
            # columns named after the classes (a .csv's first row) are read by name
            calibrator.fit(scores_by_name(flat, names, labels, "SCORES"), labels,
                           sample_weight=sample_weight)
            metrics, kept, weights = labelled_pass(
                calibrator, flat, labels, args.write_proba, ignore_index=args.ignore_index,
                sample_weight=sample_weight, error=error, leading=leading,
                write_log_proba=args.write_log_proba)
    finally:
        progress.close()

    name = type(calibrator).__name__
    shape = "x".join(str(n) for n in scores.shape)
    print(f"{name} fitted on {shape} {np.dtype(scores.dtype).name} scores, read as "
          f"{calibrator.score_type_}")
    parameters = {key: getattr(calibrator, key) for key in calibrator._map_attributes}
    if "temperature_" in parameters:
        print(f"temperature T = {float(calibrator.temperature_):.6g}")
    else:
        for key, value in parameters.items():
            if isinstance(value, np.ndarray) and value.dtype != object:
                print(_describe(key, value))
    floor = getattr(calibrator, "probability_floor_", None)
    if floor is not None:
        print(f"exact zeros read as {floor:.6g}, half the smallest positive probability")
    n_labelled = int(flat.shape[0] if kept is None else np.count_nonzero(kept))
    if weights is not None:
        print(f"Metrics over {n_labelled} labelled rows" + (
            f" ({flat.shape[0] - n_labelled} left out, labelled {args.ignore_index})"
            if kept is not None else "") + (
            f", weighted by --sample-weight (total weight {weights.sum():.6g})"
            if sample_weight is not None else ""))
    print_metrics(metrics)
    for path, what in ((args.write_proba, "probabilities"),
                       (args.write_log_proba, "log-probabilities (natural log)")):
        if path:
            print(f"Calibrated {what} written to {path}, a column per column of SCORES "
                  f"(classes {class_list(input_classes(calibrator))})")
    if args.calibrator:
        save_calibrator(calibrator, args.calibrator)
        print(f"Calibrator saved to {args.calibrator} (load_calibrator reads it)")
    if args.json:
        report = {
            "method": name,
            "n_samples": int(flat.shape[0]),
            "n_labelled": n_labelled,
            "total_weight": float(n_labelled if weights is None else weights.sum()),
            "n_classes": int(calibrator.classes_.shape[0]),
            "score_type": calibrator.score_type_,
            "classes": _json_value(calibrator.classes_),
            "parameters": {
                key: _json_value(value)
                for key, value in parameters.items()
                if not (isinstance(value, np.ndarray) and value.dtype == object)
            },
            "n_iter": _json_value(getattr(calibrator, "n_iter_", None)),
            "probability_floor": floor,
            **metrics,
        }
        write_json(args.json, report)
        print(f"Results written to {args.json}")
    return 0
