"""One pass of a fitted calibrator over a score file of any size: the NLL before
and after calibration, the calibrated probabilities or log-probabilities
streamed to ``.npy`` files on the way, or both (``skcal fit`` and ``skcal
predict``); the labels of the rows, token labels flattened with their scores."""

import sys
import warnings

import numpy as np

from ..calibrators._class_order import input_classes
from ..calibrators._ties import separate_ties
from ..metrics import nll
from ..rows._column_classes import positions_of
from ..rows._labels import check_sample_weight, encode_labels
from ..utils._files import write_each_atomically
from ._labelled_sums import PER_SIDE, block_sums, metrics_of_sums


class ProgressBar:
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


def _n_rows(shape, leading):
    """The rows of scores of ``shape``, token scores (``leading`` their shape but
    the last) flattened."""
    return int(np.prod(leading)) if leading is not None else shape[0]


def labels_per_row(path, read_array, as_labels, shape, leading, error):
    """LABELS (read from ``path``) as one label per row of scores of ``shape``
    flattened: token labels ``leading``, the scores' shape but the last, are
    flattened with them."""
    rows = _n_rows(shape, leading)
    labels = np.asarray(read_array(path, what="LABELS", rows=rows))
    if leading is not None:
        if labels.shape != tuple(leading):
            raise error(f"SCORES holds token scores of shape {tuple(shape)}, so LABELS must "
                        f"have shape {tuple(leading)}; it has {labels.shape}")
        labels = labels.reshape(-1)
    labels = as_labels(labels)
    if labels.shape[0] != rows:
        raise error(f"SCORES has {rows} rows but LABELS has {labels.shape[0]}")
    return labels


def _label_columns(labels, calibrator, ignore_index, error):
    """Each row's column among the calibrator's classes, and the weights (1 kept,
    0 left out) when ``ignore_index`` leaves rows out (else None)."""
    kept = None
    if ignore_index is not None:  # text labels are told from it by their text
        kept = (labels != ignore_index if labels.dtype.kind in "iuf"
                else labels.astype(str) != str(ignore_index))
    y_index = np.zeros(labels.shape[0], dtype=np.intp)
    taken = labels if kept is None else labels[kept]
    known = {str(c) for c in calibrator.classes_}
    unknown = [label for label in np.unique(taken) if str(label) not in known]
    if unknown:
        raise error(f"LABELS holds {class_list(unknown)}, not among the classes the "
                    f"calibrator was fitted on ({class_list(calibrator.classes_)}); leave "
                    "those rows out, or one label with --ignore-index LABEL")
    if taken.shape[0]:
        _, y_index_taken = encode_labels(taken, calibrator.classes_.shape[0],
                                         labels=calibrator.classes_, min_classes=1)
        if kept is None:
            y_index = y_index_taken
        else:
            y_index[kept] = y_index_taken
    return y_index, None if kept is None else kept.astype(np.float64)


def class_list(classes):
    """The classes as text, the middle left out when there are more than 8."""
    classes = [str(c) for c in classes]
    return ", ".join(classes if len(classes) <= 8 else classes[:6] + ["...", classes[-1]])


def weights_per_row(path, read_array, shape, leading, error):
    """``--sample-weight`` (read from ``path``; None: no weights) as one
    non-negative weight per row of scores of ``shape`` flattened, token weights
    ``leading`` with them, each problem named as the option's."""
    if path is None:
        return None
    rows = _n_rows(shape, leading)
    weights = np.asarray(read_array(path, what="--sample-weight", rows=rows))
    if leading is not None and weights.shape == tuple(leading):
        weights = weights.reshape(-1)
    elif weights.ndim == 2 and 1 in weights.shape:  # a column
        weights = weights.reshape(-1)
    try:
        return check_sample_weight(weights, rows)
    except ValueError as exc:
        message = str(exc).splitlines()[0].replace("one weight per sample",
                                                   "one weight per row of the scores")
        raise error(f"--sample-weight {path}: {message}") from None


def _combined_weights(sample_weight, kept):
    """The rows' weights in the NLL: ``sample_weight`` on the rows ``kept``
    (each None: every row, weight 1)."""
    if kept is None:
        return sample_weight
    return kept if sample_weight is None else sample_weight * kept


def labelled_pass(calibrator, scores, labels, write_proba, *, ignore_index, sample_weight,
                  error, leading=None, columns=None, write_log_proba=None):
    """:func:`calibrated_pass` of a fitted calibrator over the 2-D ``scores`` with
    their ``labels`` (None: no metrics), the rows labelled ``ignore_index`` left
    out of the metrics and the others weighted by ``sample_weight``; the NLL
    before of probabilities is the metric's own (its reading of exact zeros, not
    the calibrator's floor).

    Returns
    -------
    metrics : dict or None
        The NLL, accuracy and ECE before and after calibration
        (:func:`~._labelled_sums.metrics_of_sums`); None without labels.
    kept : ndarray or None
        1 for the rows the metrics take, 0 for those ``ignore_index`` leaves
        out (None: every row).
    weights : ndarray or None
        Each row's weight in the metrics.
    """
    y_index = kept = weights = None
    if labels is not None:
        y_index, kept = _label_columns(labels, calibrator, ignore_index, error)
        weights = _combined_weights(sample_weight, kept)
    with warnings.catch_warnings():
        # a calibrator fitted on a .csv's named columns takes them as plain arrays here
        warnings.filterwarnings("ignore", message="X does not have valid feature names",
                                category=UserWarning)
        metrics = calibrated_pass(calibrator, scores, y_index, write_proba, weights=weights,
                                  leading=leading, columns=columns,
                                  write_log_proba=write_log_proba)
    if metrics is not None and calibrator.score_type_ != "logits":
        metrics["nll_before"] = nll(labels, scores, labels=input_classes(calibrator),
                                    ignore_index=ignore_index, sample_weight=sample_weight)
    return metrics, kept, weights


def calibrated_pass(calibrator, scores, y_index=None, write_proba=None, *, weights=None,
                    leading=None, columns=None, write_log_proba=None):
    """The NLL, accuracy and ECE of the scores and of the calibrated probabilities
    (:func:`~._labelled_sums.metrics_of_sums`; None without labels), in one pass
    over the 2-D ``scores`` (a file larger than memory is read once). The NLL
    before of scores given as probabilities is left to the caller (the metric's
    own reading of exact zeros).

    ``y_index`` is each row's column in ``calibrator.classes_``; ``weights``, if
    given, each row's weight in the means (0 for the rows they leave out). With
    ``write_proba``, the probabilities (as ``predict_proba`` gives them, a column
    per column of the scores in their order, or per class of ``columns`` if
    given; the rows shaped ``leading`` if given) are written to that ``.npy``
    file on the way, and with ``write_log_proba`` the natural log-probabilities
    (as ``predict_log_proba`` gives them, likewise laid out); each file is
    written to a temporary file first, and renamed when every block is written.
    """
    # per block, (calibrated log-probabilities, or logits when only the metrics are
    # wanted: the label's log-softmax needs no matrix of them; uncalibrated logits)
    written = [path for path in (write_proba, write_log_proba) if path is not None]
    rows = calibrator._calibrated_rows(scores, normalised=bool(written))
    labelled = y_index is not None
    n = float(y_index.shape[0] if weights is None else weights.sum()) if labelled else 0.0
    if labelled and n == 0:
        raise ValueError("every row's label is left out (--ignore-index) or weighs 0 "
                         "(--sample-weight): there is no NLL to report; give rows that "
                         "count, or leave out the labels")

    def block_weights(index):
        return None if weights is None else weights[index]

    if not written:
        if not labelled:
            return None
        return metrics_of_sums(rows.reduce(
            lambda pair, y, w: block_sums(pair[0], pair[1], y, w, normalised=False),
            y_index, weights), n)
    back = positions_of(input_classes(calibrator) if columns is None else columns,
                        calibrator.classes_)
    shape = (rows.n_rows, rows.n_columns)
    totals = []

    def write(temporaries):
        files = iter(np.lib.format.open_memmap(
            temporary, mode="w+", dtype=rows.dtype,
            shape=shape if leading is None else (*leading, rows.n_columns))
            for temporary in temporaries)
        proba_file = next(files) if write_proba is not None else None
        log_proba_file = next(files) if write_log_proba is not None else None
        sums = np.zeros(2 * PER_SIDE)
        for index, (log_p, logits) in rows.blocks():
            # exact ties separated by the uncalibrated scores, as predict_log_proba
            # does; those the exponential makes (of log-probabilities that differ by
            # less than its rounding) by the log-probabilities: one argmax in both files
            log_p = separate_ties(log_p, logits)
            if labelled:
                sums += block_sums(log_p, logits, y_index[index], block_weights(index))
            if proba_file is not None:
                _write_block(proba_file, index, separate_ties(np.exp(log_p), log_p), back)
            if log_proba_file is not None:
                _write_block(log_proba_file, index, log_p, back)
        for out in (proba_file, log_proba_file):
            if out is not None:
                out.flush()
        totals.append(sums)

    write_each_atomically(written, write)
    return metrics_of_sums(totals[0], n) if labelled else None


def _write_block(out, index, values, back):
    """The block's ``values`` into rows ``index`` of the flattened file ``out``,
    columns in the order ``back`` (None: as they are). Values that the file's
    precision rounds to a tie (float32 of float64) are separated in the order
    they had, so that the file's argmax is the calibrator's prediction."""
    rounded = values.astype(out.dtype, copy=False)
    if rounded is not values:
        rounded = separate_ties(rounded, values)
    out.reshape(-1, out.shape[-1])[index] = rounded if back is None else rounded[:, back]
