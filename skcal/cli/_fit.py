"""``skcal fit``: fit one calibrator on a score file of any size."""

import sys
import warnings

import numpy as np

from ..rows._blocks import weighted_sum
from ..rows._progress import report_progress
from ..utils._files import write_atomically, write_json
from ..rows._column_classes import positions_of
from ..rows._labels import encode_labels
from ..calibrators._class_order import input_classes
from ..calibrators._persistence import save_calibrator
from ..calibrators._ties import separate_ties
from ..metrics import nll
from ..metrics._row_metrics import true_class_log_softmax
from ._paths import npy_path, output_path
from ._reading import scores_by_name


class _ProgressBar:
    """A tqdm bar over the rows of each pass, on a terminal; silent otherwise."""

    def __init__(self, n_rows, enabled):
        self.n_rows = n_rows
        self.done = 0
        self.passes = 1
        self.bar = None
        if not enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            print("(pip install tqdm for a progress bar)", file=sys.stderr)
            return
        self.bar = tqdm(total=n_rows, unit="rows", unit_scale=True, desc="pass 1",
                        leave=False, file=sys.stderr)

    def __call__(self, n_rows):
        if self.bar is None:
            return
        if self.done >= self.n_rows:
            self.done = 0
            self.passes += 1
            self.bar.reset(total=self.n_rows)
            self.bar.set_description(f"pass {self.passes}")
        self.done += n_rows
        self.bar.update(n_rows)

    def close(self):
        if self.bar is not None:
            self.bar.close()


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


def _nll_before(calibrator, scores, labels):
    """The NLL of probabilities as in the file (the metric's own reading of exact
    zeros, not the calibrator's floor); logits' comes from the pass of
    :func:`_nlls_before_and_after`."""
    return nll(labels, scores, labels=input_classes(calibrator))


def _true_class_sum(log_proba, y):
    return weighted_sum(log_proba[np.arange(log_proba.shape[0]), y], None)


def _block_sums(calibrated, logits, y, before, normalised=True):
    """The block's summed log-likelihoods: calibrated (from its log-probabilities,
    or its logits without ``normalised``), and with ``before`` of its logits as
    given (as :func:`~skcal.metrics.nll_from_logits` takes them), else 0."""
    after = (_true_class_sum(calibrated, y) if normalised
             else weighted_sum(true_class_log_softmax(y, calibrated), None))
    return after, weighted_sum(true_class_log_softmax(y, logits), None) if before else 0.0


def _nlls_before_and_after(calibrator, scores, y_index, write_proba):
    """Mean NLL of the scores given as logits (None for probabilities) and of the
    calibrated probabilities, in one pass over the scores (a file larger than
    memory is read once for both); with ``write_proba``, the probabilities (as
    ``predict_proba`` gives them, a column per column of the scores in their
    order) are written to that ``.npy`` file on the way (to a temporary file
    first, renamed when complete)."""
    # per block, (calibrated log-probabilities, or logits when only the NLLs are
    # wanted: the label's log-softmax needs no matrix of them; uncalibrated logits)
    rows = calibrator._calibrated_rows(scores, normalised=write_proba is not None)
    back = positions_of(input_classes(calibrator), calibrator.classes_)  # SCORES' order
    before = calibrator.score_type_ == "logits"
    n = y_index.shape[0]
    if write_proba is None:
        after_sum, before_sum = rows.reduce(
            lambda pair, y: _block_sums(pair[0], pair[1], y, before, normalised=False),
            y_index)
        return (-before_sum / n if before else None), -after_sum / n
    totals = []

    def write(temporary):
        out = np.lib.format.open_memmap(
            temporary, mode="w+", dtype=rows.dtype, shape=(rows.n_rows, rows.n_columns)
        )
        sums = np.zeros(2)
        for index, (log_p, logits) in rows.blocks():
            sums += _block_sums(log_p, logits, y_index[index], before)
            proba = separate_ties(np.exp(log_p), logits)
            out[index] = proba if back is None else proba[:, back]
        out.flush()
        del out
        totals.append(sums)

    write_atomically(write_proba, write)
    after_sum, before_sum = totals[0]
    return (-before_sum / n if before else None), -after_sum / n


def add_parser(commands, add_score_kind, method_names):
    """The ``fit`` subcommand on the parsers ``commands``."""
    fit = commands.add_parser(
        "fit",
        help="fit one calibrator on score files of any size",
        description="Fit one calibration METHOD on SCORES (logits or probabilities) and "
        "LABELS; print its parameters and the NLL before and after. SCORES may be a "
        ".npy file (memory-mapped, read in blocks: float16 is computed in float32) or "
        "a Zarr array (a .zarr directory), larger than memory, or a .csv (columns "
        "named after the classes, dog,cat,bird, are read as the classes they name).",
    )
    fit.add_argument("method", metavar="METHOD", help=f"one of: {method_names}")
    fit.add_argument("scores", metavar="SCORES", help="(n_samples, n_classes) or (n_samples,)")
    fit.add_argument("labels", metavar="LABELS", help="(n_samples,) true labels")
    add_score_kind(fit)
    fit.add_argument("--json", metavar="OUT", type=output_path,
                     help="write the parameters and NLLs as JSON")
    fit.add_argument("--write-proba", metavar="OUT.npy", type=npy_path,
                     help="write the calibrated probabilities (streamed to a .npy file)")
    fit.add_argument("--calibrator", metavar="PATH.json", type=output_path,
                     help="save the fitted calibrator as JSON (the file replaced "
                     "atomically): load_calibrator reads it, skcal monitor --calibrator "
                     "applies it")
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
    if args.write_proba:
        raise error("--write-proba writes from this machine; leave out --dask-scheduler, or "
                    "write the probabilities with calibrator.predict_proba on the cluster")
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
    labels = as_labels(read_array(args.labels, what="LABELS", rows=scores.shape[0]))
    if scores.shape[0] != labels.shape[0]:
        raise error(f"SCORES has {scores.shape[0]} rows but LABELS has {labels.shape[0]}")
    report_score_type(scores, calibrator.score_type)
    progress = _ProgressBar(scores.shape[0], enabled=not args.quiet and sys.stderr.isatty())
    try:
        with report_progress(progress):
            # columns named after the classes (a .csv's first row) are read by name
            calibrator.fit(scores_by_name(scores, names, labels, "SCORES"), labels)
            _, y_index = encode_labels(labels, calibrator.classes_.shape[0],
                                       labels=calibrator.classes_, min_classes=1)
            with warnings.catch_warnings():  # the columns of the .csv it was fitted on
                warnings.filterwarnings("ignore", message="X does not have valid feature names",
                                        category=UserWarning)
                before, after = _nlls_before_and_after(calibrator, scores, y_index,
                                                       args.write_proba)
            if before is None:
                before = _nll_before(calibrator, scores, labels)
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
    print(f"NLL before: {before:.6f} nats ({before / np.log(2):.6f} bits)")
    print(f"NLL after:  {after:.6f} nats ({after / np.log(2):.6f} bits)")
    if args.write_proba:
        classes = [str(c) for c in input_classes(calibrator)]
        order = ", ".join(classes if len(classes) <= 8 else classes[:6] + ["...", classes[-1]])
        print(f"Calibrated probabilities written to {args.write_proba}, a column per "
              f"column of SCORES (classes {order})")
    if args.calibrator:
        save_calibrator(calibrator, args.calibrator)
        print(f"Calibrator saved to {args.calibrator} (load_calibrator reads it)")
    if args.json:
        report = {
            "method": name,
            "n_samples": int(scores.shape[0]),
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
            "nll_before": before,
            "nll_after": after,
        }
        write_json(args.json, report)
        print(f"Results written to {args.json}")
    return 0
