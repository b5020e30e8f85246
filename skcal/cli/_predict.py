"""``skcal predict``: a saved calibrator applied to a score file of any size."""

import sys
from pathlib import Path

import numpy as np

from ..calibrators._class_order import input_classes
from ..calibrators._persistence import load_calibrator
from ..rows._column_classes import column_classes, positions_of
from ..rows._progress import report_progress
from ..rows._scores import flatten_leading
from ..utils._files import write_json
from ._calibrated_pass import (ProgressBar, class_list, labelled_pass, labels_per_row,
                               weights_per_row)
from ._labelled_sums import METRIC_KEYS, print_metrics
from ._paths import npy_path, output_path


def add_parser(commands):
    """The ``predict`` subcommand on the parsers ``commands``."""
    predict = commands.add_parser(
        "predict",
        help="apply a saved calibrator to score files of any size",
        description="Apply the calibrator saved in CALIBRATOR (by skcal fit, compare or "
        "monitor with --calibrator, or by save_calibrator) to SCORES, scores of the kind it "
        "was fitted on: write the calibrated probabilities (--write-proba) or their natural "
        "logarithms (--write-log-proba), and with --labels print the NLL, ECE and "
        "accuracy before and after. SCORES may be a .npy file (memory-mapped, read in "
        "blocks: float16 is computed in float32) or a Zarr array (a .zarr directory), "
        "larger than memory, or a .csv (columns named after the classes, dog,cat,bird, "
        "are read as the classes they name, in any order).",
    )
    predict.add_argument("saved_calibrator", metavar="CALIBRATOR",
                         help="a calibrator saved as JSON")
    predict.add_argument("scores", metavar="SCORES",
                         help="(n_samples, n_classes) or (n_samples,); token scores "
                         "(batch, length, n_classes)")
    predict.add_argument("--write-proba", metavar="OUT.npy", type=npy_path,
                         help="write the calibrated probabilities, streamed to a .npy file "
                         "(replaced atomically) of the shape of SCORES, a column per column "
                         "of SCORES ((n_samples, 2) for 1-D scores), in their precision "
                         "(float32 for float16 and float32 scores)")
    predict.add_argument("--write-log-proba", metavar="OUT.npy", type=npy_path,
                         help="write the calibrated log-probabilities (natural log, as "
                         "predict_log_proba gives them), laid out as --write-proba's: "
                         "in float32 they keep probabilities that float32 rounds to 0 "
                         "(below 1e-45)")
    predict.add_argument("--labels", metavar="LABELS",
                         help="true labels of SCORES, (n_samples,) or (batch, length) for "
                         "tokens: print the NLL, ECE and accuracy before and after "
                         "calibration")
    predict.add_argument("--ignore-index", type=int, default=None, metavar="LABEL",
                         help="with --labels, leave the rows with this label out of the "
                         "metrics (-100 for padding); their probabilities are written all "
                         "the same")
    predict.add_argument("--sample-weight", metavar="FILE",
                         help="with --labels, each row's weight in the metrics (the rows' shape "
                         "of LABELS)")
    predict.add_argument("--json", metavar="OUT", type=output_path,
                         help="write what was read and the metrics as JSON")
    predict.add_argument("--quiet", action="store_true", help="no progress bar")
    return predict


def run_predict(args, *, read_array, as_labels, error):
    """Apply, report and optionally write; returns the exit status."""
    if not (args.write_proba or args.write_log_proba or args.labels):
        raise error("nothing to do: give --write-proba OUT.npy for the calibrated "
                    "probabilities, --write-log-proba OUT.npy for their logarithms, "
                    "--labels LABELS for the NLL before and after, or several")
    for option, value in (("--ignore-index", args.ignore_index),
                          ("--sample-weight", args.sample_weight)):
        if value is not None and not args.labels:
            raise error(f"{option} is for the NLL, which needs --labels LABELS")
    calibrator = _load(args.saved_calibrator, error)
    scores, names = read_array(args.scores, what="SCORES", mmap=True, names=True)
    flat, leading = flatten_leading(scores, name="SCORES")
    flat, columns = _in_fitted_order(flat, names, calibrator, error)
    _check_like_fitted(flat, calibrator, error)
    labels = sample_weight = None
    if args.labels:
        labels = labels_per_row(args.labels, read_array, as_labels, scores.shape, leading, error)
        sample_weight = weights_per_row(args.sample_weight, read_array, scores.shape, leading,
                                        error)
    progress = ProgressBar(flat.shape[0], enabled=not args.quiet and sys.stderr.isatty())
    try:
        with report_progress(progress):
            metrics, kept, weights = labelled_pass(
                calibrator, flat, labels, args.write_proba, ignore_index=args.ignore_index,
                sample_weight=sample_weight, error=error, leading=leading, columns=columns,
                write_log_proba=args.write_log_proba)
    finally:
        progress.close()
    return _report(args, calibrator, scores, columns, labels, kept, weights, metrics)


def _load(path, error):
    """The saved calibrator, each problem with the file named as CALIBRATOR's."""
    if not Path(path).is_file():
        raise error(f"CALIBRATOR: no such file {path!r}")
    try:
        return load_calibrator(path)
    except ValueError as exc:
        raise error(f"CALIBRATOR: {str(exc).splitlines()[0]}") from exc


def _in_fitted_order(flat, names, calibrator, error):
    """The scores with their columns in the order the calibrator takes them, and
    the class of each column of the file (None when the file's columns are
    taken in the calibrator's order: they are not named after the classes)."""
    try:
        named = column_classes(names, calibrator.classes_)
    except ValueError as exc:
        raise error(f"SCORES: {exc}") from None
    if named is None:
        return flat, None
    if len(named) != len(calibrator.classes_):
        raise error(f"SCORES has {len(named)} columns named after classes, but the "
                    f"calibrator takes {len(calibrator.classes_)} "
                    f"({class_list(calibrator.classes_)}); give a column per class")
    order = positions_of(input_classes(calibrator), named)
    return (flat if order is None else np.asarray(flat)[:, order]), named


def _check_like_fitted(flat, calibrator, error):
    """SCORES of the width and kind the calibrator was fitted on: other widths and
    probabilities that are not are an error, and so are rows in the probability
    simplex for a calibrator whose fit read its scores as logits by itself;
    where the fit was told they were logits (--logits), such rows get a warning
    (they are read as logits)."""
    from ..rows._score_rows import refuse_probabilities_read_as_logits, starting_rows
    from ..rows._scores import _looks_like_probabilities, check_probabilities

    width = 1 if flat.ndim == 1 else flat.shape[1]
    if width != calibrator.n_features_in_:
        raise error(f"SCORES has {width} score column(s), but the calibrator was fitted on "
                    f"{calibrator.n_features_in_} (classes {class_list(calibrator.classes_)});"
                    " give scores of the same classes, a column each")
    try:
        refuse_probabilities_read_as_logits(
            flat, calibrator, name="SCORES",
            fix=", or, if these are logits, fit it again with --logits.")
    except ValueError as exc:
        raise error(str(exc)) from None
    first = starting_rows(flat)
    if calibrator.score_type_ == "probabilities":
        check_probabilities(first, name="SCORES", hint=" The calibrator was fitted on "
                            "probabilities; give it probabilities.")
    elif _looks_like_probabilities(first):
        print("skcal predict: warning: the calibrator was fitted on logits, but the rows of "
              "SCORES lie in the probability simplex (values in [0, 1] summing to 1); they are"
              " read as logits: give the calibrator logits, as it was fitted on.",
              file=sys.stderr)


def _report(args, calibrator, scores, columns, labels, kept, weights, metrics):
    name = type(calibrator).__name__
    shape = " x ".join(str(n) for n in scores.shape)
    print(f"{name} from {args.saved_calibrator} applied to SCORES: {shape} "
          f"{np.dtype(scores.dtype).name}, read as {calibrator.score_type_} (as the "
          "calibrator was fitted)")
    n_labelled = total_weight = None
    if labels is not None:
        n_labelled = int(labels.shape[0] if kept is None else np.count_nonzero(kept))
        total_weight = float(n_labelled if weights is None else weights.sum())
        left_out = labels.shape[0] - n_labelled
        print(f"Metrics over {n_labelled} labelled rows" + (
            f" ({left_out} left out, labelled {args.ignore_index})" if left_out else "") + (
            f", weighted by --sample-weight (total weight {total_weight:.6g})"
            if args.sample_weight else ""))
        print_metrics(metrics)
    classes = input_classes(calibrator) if columns is None else columns
    for path, what in ((args.write_proba, "probabilities"),
                       (args.write_log_proba, "log-probabilities (natural log)")):
        if path:
            print(f"Calibrated {what} written to {path}, a column per column of SCORES "
                  f"(classes {class_list(classes)})")
    if args.json:
        write_json(args.json, {
            "calibrator": str(args.saved_calibrator),
            "method": name,
            "scores_shape": [int(n) for n in scores.shape],
            "score_type": calibrator.score_type_,
            "classes": [c.item() if hasattr(c, "item") else c for c in calibrator.classes_],
            "n_labelled": n_labelled,
            "total_weight": total_weight,
            **(metrics or {key: None for key in METRIC_KEYS}),
            "probabilities": args.write_proba,
            "log_probabilities": args.write_log_proba,
        })
        print(f"Results written to {args.json}")
    return 0
