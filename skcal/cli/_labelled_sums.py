"""What one pass of ``skcal fit`` or ``skcal predict`` adds up over the labelled
rows, block by block, before and after calibration: the log-likelihood and the
bins of the top-label confidence (each bin's weight, its confidences and its
rows whose top class is right); and the metrics those sums give (NLL, accuracy
and the default ECE of :func:`~skcal.metrics.expected_calibration_error`),
without a second pass."""

import numpy as np

from ..calibrators._ties import tie_broken_argmax
from ..metrics._ece import DEFAULT_EDGES, top_label_ece_of_sums
from ..metrics._row_metrics import true_and_top_log_softmax
from ..rows._row_reductions import row_max
from ..utils._binning import bin_index

N_BINS = DEFAULT_EDGES.shape[0] - 1
# the sums of one side (after, or before): the log-likelihood, then per bin its
# weight, its sum of confidences and of correct rows (whose total is the
# accuracy's numerator)
PER_SIDE = 1 + 3 * N_BINS


def block_sums(calibrated, logits, y, weights, normalised=True):
    """The sums of one block, after calibration then before, as one float64 vector.

    ``calibrated`` holds the calibrated log-probabilities, their ties already
    separated as ``predict`` separates them, or, without ``normalised``, the
    calibrated logits (their ties are broken here by ``logits``, as ``predict``
    breaks them); ``logits`` the uncalibrated scores as logits (the logarithms of
    probabilities given); ``weights`` each row's weight (None: 1).

    Examples
    --------
    >>> import numpy as np
    >>> logits = np.log(np.array([[0.7, 0.3], [0.4, 0.6]]))
    >>> sums = block_sums(logits, logits, np.array([0, 0]), None)
    >>> metrics_of_sums(sums, 2.0)["accuracy_after"]
    0.5
    """
    after = _side(calibrated, y, normalised, None if normalised else logits)
    before = _side(logits, y, False, None)
    weight = np.ones(y.shape[0]) if weights is None else weights
    # both sides' bins in one count: the after side's first, then the before side's
    confidence, correct = (np.concatenate([a, b]) for a, b in zip(after[1:], before[1:]))
    index = bin_index(confidence, DEFAULT_EDGES)
    index[y.shape[0]:] += N_BINS
    weight = np.concatenate([weight, weight])
    bins = [np.bincount(index, weights=w, minlength=2 * N_BINS).reshape(2, N_BINS)
            for w in (weight, weight * confidence, weight * correct)]
    return np.concatenate([[weight[:y.shape[0]] @ after[0]], *(b[0] for b in bins),
                           [weight[:y.shape[0]] @ before[0]], *(b[1] for b in bins)])


# the log of 1/2 (and a little more): a row whose largest probability is shared
# by two classes or more has a confidence of at most 1/2
_SHARED_TOP = np.log(0.5) + 1e-6


def _side(values, y, normalised, tie_key):
    """Each row's log-likelihood, top-label confidence and whether its predicted
    class is its label (1 or 0): the first of the largest values, or, with a
    ``tie_key``, the tied class of largest ``tie_key`` (as ``predict`` takes it)."""
    rows = np.arange(values.shape[0])
    if normalised:
        label = values[rows, y].astype(np.float64)
        top = row_max(values)
        top_log = top.astype(np.float64)
    else:
        label, top_log, top = true_and_top_log_softmax(y, values)
    correct = values[rows, y] == top
    # where the label's value is the largest, another class may share it: that
    # row's confidence is then at most 1/2, so only those rows are searched again
    # (an argmax of every row would cost more than the rest for a few classes)
    shared = np.flatnonzero(correct & (top_log <= _SHARED_TOP))
    if shared.shape[0]:
        block = values[shared]
        predicted = (np.argmax(block, axis=1) if tie_key is None
                     else tie_broken_argmax(block, tie_key[shared]))
        correct[shared] = predicted == y[shared]
    return label, np.exp(top_log), correct.astype(np.float64)


# the metrics' names, as the JSON reports hold them
METRIC_KEYS = tuple(f"{metric}_{side}" for metric in ("nll", "ece", "accuracy")
                    for side in ("before", "after"))


def metrics_of_sums(sums, total_weight):
    """The NLL, accuracy and ECE after and before calibration, from the sums of
    :func:`block_sums` over the rows of ``total_weight``, as a dict."""
    metrics = {}
    for name, side in (("after", sums[:PER_SIDE]), ("before", sums[PER_SIDE:])):
        weight, confidence, correct = side[1:].reshape(3, N_BINS)
        metrics[f"nll_{name}"] = float(-side[0] / total_weight)
        metrics[f"accuracy_{name}"] = float(correct.sum() / total_weight)
        metrics[f"ece_{name}"] = float(top_label_ece_of_sums(weight, confidence, correct))
    return metrics


def print_metrics(metrics):
    """The NLL, ECE and accuracy before and after, as ``skcal fit`` and ``skcal
    predict`` print them."""
    for name in ("before", "after"):
        value = metrics[f"nll_{name}"]
        print(f"NLL {name}:{' ' * (name == 'after')} {value:.6f} nats "
              f"({value / np.log(2):.6f} bits)")
    print(f"ECE before: {metrics['ece_before'] * 100:.2f} %, after: "
          f"{metrics['ece_after'] * 100:.2f} % (top-label, {N_BINS} equal-width bins)")
    print(f"accuracy before: {metrics['accuracy_before']:.4f}, after: "
          f"{metrics['accuracy_after']:.4f}")
