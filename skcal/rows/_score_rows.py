"""Score inputs of any size as :class:`~skcal.rows._blocks.Rows`, checked block by block.

An array in memory is validated whole, as it always was. A memory map, a Zarr or
Dask array or a float16 array is never copied whole: each block is checked as it
is read (finite values; for probabilities, values in [0, 1] and rows summing to
1) and turned into what the caller computes on (logits, or probabilities with
the binary 1-D case expanded to two columns). A bad value far into a file raises
the same error, with its row number, as it would in memory.
"""

import numpy as np

from . import _device_kernels as device
from ._blocks import Rows, compute_dtype, is_dask, is_streamed, is_zarr
from ._namespaces import device_namespace, is_device_array, to_numpy
from ._remote import is_remote
from ._scores import (
    _EVIDENCE_ROWS,
    ColumnBesideProbabilities,
    _looks_like_probabilities,
    as_float_array,
    check_finite_block,
    check_probabilities,
    refuse_counts_or_votes,
    resolve_score_type,
    scores_to_logits,
)
from ._zero_probabilities import zero_probability_floor
from ..utils._reuse import Key, reused
from ..utils._warnings import warn

# Rows read to decide what a streamed input holds (score_type='auto').
_PROBE_ELEMENTS = 2**20
# Values read, at each prediction, for the evidence that scores to be read as logits
# are probabilities (a small part of reading the scores)
_EVIDENCE_VALUES = 2**16


def as_vector(values):
    """Labels or weights as a numpy array, whatever holds them (they are one entry
    per row, small next to the scores: those on a device are checked on the host
    and sent back beside the scores once)."""
    if values is None:
        return None
    if is_device_array(values):
        return to_numpy(values)
    if is_dask(values):
        return np.asarray(values.compute())
    if is_zarr(values):
        return np.asarray(values[...])
    return values


def check_score_shape(X, name="X"):
    """Refuse a streamed input that is not a non-empty 1-D or 2-D numeric array."""
    shape = tuple(X.shape)
    if len(shape) not in (1, 2) or shape[0] == 0 or (len(shape) == 2 and shape[1] == 0):
        raise ValueError(
            f"{name} must be a non-empty 1-D or 2-D numeric array of scores; got "
            f"shape {shape}."
        )
    if _dtype_kind(X) not in "fiu":
        raise ValueError(f"{name} must hold numbers; got dtype {X.dtype}.")
    if any(isinstance(n, float) and np.isnan(n) for n in shape):
        raise ValueError(
            f"{name} has rows of unknown length (a Dask array with unknown chunk "
            "sizes); call compute_chunk_sizes() on it first."
        )


def _dtype_kind(X):
    """numpy's kind letter of ``X``'s dtype, for arrays of any library."""
    xp = device_namespace(X)
    if xp is None:
        return np.dtype(X.dtype).kind
    for kind, name in (("f", "real floating"), ("i", "signed integer"),
                       ("u", "unsigned integer"), ("b", "bool")):
        if xp.isdtype(X.dtype, name):
            return kind
    return "O"


def starting_rows(X, values=None):
    """The first rows of an input (up to ``values`` values, by default about a
    million), in memory and in the compute dtype."""
    width = 1 if X.ndim == 1 else X.shape[1]
    n = min(X.shape[0], max(1, (values or _PROBE_ELEMENTS) // width))
    head = X[:n, ...] if is_device_array(X) else X[:n]
    if is_dask(head):
        head = head.compute()
    if device_namespace(head) is not None:  # the first rows stay on their device
        return Rows(head).read()
    # a DataFrame has dtypes, one per column, and no dtype; another library's
    # array outside array_api_dispatch has a dtype of its own, and is read as numpy
    dtype = getattr(X, "dtype", None)
    if not isinstance(dtype, np.dtype):
        head = np.asarray(head)
        dtype = head.dtype
    return np.asarray(head, dtype=compute_dtype(dtype))


def probability_rows_first(X):
    """How many first rows of ``X`` are the evidence that scores to be read as
    logits are probabilities, or 0: the first rows (about 65,000 values, at
    least ``_EVIDENCE_ROWS``, two or more columns) each with every value in
    [0, 1] and summing to 1, not every row uniform (uniform rows are also the
    logits of uniform predictions), every value finite. A Dask array or a remote
    table is not looked at (reading its first rows would start a computation).

    >>> probability_rows_first(np.full((30, 2), [0.2, 0.8]))
    30
    >>> probability_rows_first(np.full((30, 2), [0.25, 0.5]))  # rows sum to 0.75
    0
    >>> probability_rows_first(np.full((19, 2), [0.2, 0.8]))  # a coincidence, maybe
    0
    """
    if is_dask(X) or is_remote(X) or len(X.shape) != 2 or X.shape[1] < 2:
        return 0
    head = to_numpy(starting_rows(X, _EVIDENCE_VALUES))
    # a NaN passes every comparison of the simplex's test: the finiteness check,
    # block by block, names it instead
    if head.shape[0] < _EVIDENCE_ROWS or not np.isfinite(head).all() \
            or not _looks_like_probabilities(head) or np.ptp(head, axis=1).max() == 0:
        return 0
    return head.shape[0]


def refuse_probabilities_read_as_logits(X, fitted, *, name="X", fix):
    """Refuse scores whose first rows are all probabilities
    (:func:`probability_rows_first`), given to ``fitted`` (a calibrator or a
    monitor) that read the scores of its fit as logits because they did not lie
    in the simplex (``score_type='auto'``): read as logits too, each row's
    probabilities would be squeezed toward uniform. ``fix`` ends the message: how to say that they
    are logits after all.

    Examples
    --------
    >>> from skcal import TemperatureScaling
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(size=(100, 3))
    >>> y = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
    >>> calibrator = TemperatureScaling().fit(logits, y)
    >>> refuse_probabilities_read_as_logits(logits, calibrator, fix=".")
    >>> proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    >>> refuse_probabilities_read_as_logits(proba, calibrator, fix=".")
    Traceback (most recent call last):
    ...
    ValueError: Every one of the first 100 rows of X lies in [0, 1] and sums to 1: they look like probabilities, but TemperatureScaling read the scores of its fit as logits (score_type='auto') and would read these as logits too, squeezing each row toward uniform. Pass the kind of scores it was fitted on.
    """
    if getattr(fitted, "score_type", None) != "auto" or fitted.score_type_ != "logits":
        return
    n_rows = probability_rows_first(X)
    if n_rows:
        raise ValueError(
            f"Every one of the first {n_rows} rows of {name} lies in [0, 1] and sums to 1: "
            f"they look like probabilities, but {type(fitted).__name__} read the scores of "
            "its fit as logits (score_type='auto') and would read these as logits too, "
            f"squeezing each row toward uniform. Pass the kind of scores it was fitted on{fix}")


def _streamed_score_type(X, score_type, name):
    """Resolve ``'auto'`` on the first rows; every later block is then checked to
    agree (a probability input must stay in the simplex). A given type is checked
    block by block only, so nothing is read here."""
    if score_type != "auto":
        return score_type
    if is_remote(X):  # a remote table has looked at every row in its survey
        _refuse_column_beside_probabilities(X)
        how = getattr(X, "counts_or_votes", None)  # read off its sample
        if how is not None:
            refuse_counts_or_votes(how, X.score_name)
        return "probabilities" if X.looks_like_probabilities else "logits"
    head = starting_rows(X)
    check_finite_block(head, 0, name)
    return resolve_score_type(head, score_type)


def _refuse_column_beside_probabilities(table):
    """A remote table's scores are probabilities but for one column: refused, by name."""
    beside = getattr(table, "column_beside_probabilities", None)
    if beside is not None:
        raise ColumnBesideProbabilities(
            beside[0], table.score_name, f"the column {beside[1]!r}", repr(beside[1]),
            "scores= (a pattern or a list of the class columns)")


def score_rows(X, score_type, *, name="X", cache=None, floor=None):
    """Logit rows of scores (logits or probabilities), and how they were read
    (in-memory scores converted through ``cache``, see :func:`scores_to_logits`;
    probabilities below ``floor`` read as ``floor``).

    Returns
    -------
    rows : Rows
        Blocks of logits of shape (n, n_classes); binary 1-D scores ``s``
        become ``[0, s]``.
    score_type : {'logits', 'probabilities'}
    """
    X, resolved, name, hint = checked_scores(X, score_type, name, cache)
    return _logit_rows(X, resolved, name, hint, cache, floor), resolved


def fit_score_rows(X, score_type, *, name="X", cache=None):
    """:func:`score_rows` for a calibrator's fit, and the probability its exact
    zeros are read as (:func:`zero_probability_floor`, one pass over
    probabilities; None for logits, or probabilities without a zero)."""
    X, resolved, name, hint = checked_scores(X, score_type, name, cache)
    floor = None
    if resolved == "probabilities":  # a comparison's candidates look for it once a fold
        floor = reused(cache, Key.ZERO_PROBABILITY_FLOOR, lambda: zero_probability_floor(X),
                       same=(X,))
    return _logit_rows(X, resolved, name, hint, cache, floor), resolved, floor


def checked_scores(X, score_type, name, cache=None):
    """(scores, their resolved type, their name, the hint of a wrong guess):
    checked whole in memory (once for all the candidates of a comparison's
    fold, through ``cache``), or only their shape when read block by block.
    A fit's scores and the in-memory scores a fitted calibrator predicts from
    (of its resolved ``score_type``) are checked here alike."""
    name = getattr(X, "score_name", name)  # a remote table names its own columns
    if not is_streamed(X) and device_namespace(X) is None:
        def check():
            checked = as_float_array(X, name=name)
            return checked, resolve_score_type(checked, score_type, name)

        if isinstance(X, np.ndarray):
            X, resolved = reused(cache, Key.CHECKED_SCORES, check, same=(X,),
                                 options=(score_type, name))
        else:
            X, resolved = check()
        return X, resolved, name, None
    check_score_shape(X, name)
    hint = (
        " The first rows looked like probabilities; pass score_type='logits' if "
        "the scores are logits."
        if score_type == "auto"
        else ""
    )
    return X, _streamed_score_type(X, score_type, name), name, hint


def _logit_rows(X, resolved, name, hint, cache, floor):
    if hint is None:  # checked whole already
        return Rows(scores_to_logits(X, resolved, cache, floor))

    def prepare(block, start):
        check_finite_block(block, start, name)
        if resolved == "probabilities":
            check_probabilities(block, name=name, hint=hint, start=start)
        return scores_to_logits(block, resolved, floor=floor)

    n_classes = 2 if X.ndim == 1 or X.shape[1] == 1 else X.shape[1]
    return Rows(X, prepare, n_columns=n_classes)


_LOGITS_HINT = (" If they are logits, pass them to nll_from_logits, or as logits= to "
                "brier_score, perplexity, calibration_curve, the ECE metrics, "
                "nll_decomposition or ReliabilityDisplay.from_predictions.")


def _prediction_block(block, kind, name, start, hint):
    """Predictions of ``kind`` checked and, for one binary column, expanded to two
    (``[1 - p, p]`` for probabilities, ``[0, s]`` for logits)."""
    if block.ndim == 2 and block.shape[1] == 1:
        block = block[:, 0]
    if kind == "y_prob":
        check_probabilities(block, name=name, start=start, hint=hint)
    if block.ndim == 1:
        if is_device_array(block):
            return device.expand_binary(block, kind == "y_prob")
        first = 1 - block if kind == "y_prob" else np.zeros_like(block)
        block = np.column_stack([first, block])
    return block


def prediction_rows(y_pred, *, kind, name, hint=None, warn_of_probabilities=False):
    """Rows of predictions for a metric: probabilities (``kind='y_prob'``) or
    logits, binary 1-D input expanded to two columns. In-memory input is
    validated whole first; streamed input block by block. ``hint`` ends the
    message for probabilities that are not (default: how to pass logits to
    the metrics). With ``warn_of_probabilities`` (a metric of logits the user
    gave), logits that look like probabilities get a warning."""
    # a remote table knows the call that sends it (skcal.spark.evaluate's score_type)
    hint = getattr(y_pred, "probability_hint", _LOGITS_HINT if hint is None else hint)
    name = getattr(y_pred, "score_name", name)  # a remote table names its own columns
    if not is_streamed(y_pred) and device_namespace(y_pred) is None:
        y_pred = as_float_array(y_pred, name=name)
        if warn_of_probabilities:
            _warn_of_probabilities(y_pred, name)
        return Rows(_prediction_block(y_pred, kind, name, 0, hint))
    check_score_shape(y_pred, name)
    if warn_of_probabilities:
        _warn_of_probabilities(y_pred, name)
    binary = y_pred.ndim == 1 or y_pred.shape[1] == 1

    def prepare(block, start):
        check_finite_block(block, start, name)
        return _prediction_block(block, kind, name, start, hint)

    return Rows(y_pred, prepare, n_columns=2 if binary else y_pred.shape[1])


def _warn_of_probabilities(logits, name):
    """Warn when the first rows of what a metric takes for logits are all
    probabilities (:func:`probability_rows_first`): their metrics would be those
    of each row squeezed toward uniform."""
    n_rows = probability_rows_first(logits)
    if n_rows:
        warn(f"Every one of the first {n_rows} rows of {name} lies in [0, 1] and sums to 1: "
             "they look like probabilities, but they are taken for logits, whose softmax "
             "squeezes each row toward uniform. If they are probabilities, pass them as "
             "y_prob= (to nll for the NLL).")


def in_memory_scores(X, owner, *, streaming=()):
    """A streamed input read whole into memory, for maps that need every row at
    once (isotonic regression, histogram binning); Dask arrays are refused, with
    the names of the ``streaming`` maps that take them."""
    if is_dask(X) or is_remote(X):
        kind = "remote table" if is_remote(X) else "Dask array"
        raise ValueError(
            f"{owner} needs all the scores in memory at once, so it does not take a "
            f"{kind}; use a map that streams ({', '.join(streaming)}), or pass "
            + ("a sample collected as arrays." if is_remote(X)
               else "X.compute() if it fits in memory.")
        )
    if is_zarr(X):
        X = X[...]
    return np.asarray(X)
