"""Labels and weights of rows of scores, checked once where they enter.

:func:`check_labels_and_weights` is the one place a calibrator's ``fit`` and
every metric check the per-row vectors that come with the scores: labels
encoded as column indices, weights validated, rows labelled ``ignore_index``
given weight 0. What it returns is checked: inner layers (maps, solvers,
per-block functions) take it as it is.
"""

import numbers
import warnings

import numpy as np
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.multiclass import type_of_target

from ._column_classes import column_classes, plain  # plain: imported from here too
from ._remote import is_remote
from ._score_rows import as_vector
from ._scores import flatten_like


def check_labels_and_weights(y, sample_weight, n_rows, *, leading=None, n_columns,
                             labels=None, column_names=None, ignore_index=None, min_classes=2,
                             takes_labels=True,
                             length_error="{n_labels} labels for {n_rows} rows"):
    """Labels and weights that come with ``n_rows`` rows of scores, checked.

    ``y`` and ``sample_weight`` may be of any array library (read to the host)
    and of the scores' leading shape ``leading`` (flattened like them).
    ``length_error`` is the message, formatted with ``n_labels`` and
    ``n_rows``, when there are not as many labels as rows. Without ``labels``,
    ``column_names`` (a DataFrame's) give the classes where they name them
    (:func:`~skcal.rows._column_classes.column_classes`); with them, labels
    that put another class on a column than its name does are refused.
    ``takes_labels`` as for :func:`encode_labels`.

    Returns
    -------
    classes : ndarray of shape (n_columns,)
        The class of each score column (see :func:`encode_labels`).
    y_index : ndarray of shape (n_rows,), dtype intp
        The column of each row's class.
    sample_weight : ndarray of shape (n_rows,), float64, or None
        Finite, non-negative, not all zero; rows labelled ``ignore_index``
        weigh 0.

    Examples
    --------
    >>> from skcal.rows._labels import check_labels_and_weights
    >>> classes, y_index, weights = check_labels_and_weights(
    ...     ["b", "a", "b", "-"], [1, 2, 1, 5], 4, n_columns=2, ignore_index="-")
    >>> classes.tolist(), y_index.tolist(), weights.tolist()
    (['a', 'b'], [1, 0, 1, 1], [1.0, 2.0, 1.0, 0.0])
    """
    if is_remote(y):  # labels beside remote scores: checked where they live
        return y.table.check_labels(y, sample_weight, n_rows, n_columns=n_columns,
                                    labels=labels, ignore_index=ignore_index,
                                    min_classes=min_classes, takes_labels=takes_labels)
    y = flatten_like(as_vector(y), leading, "y")
    sample_weight = flatten_like(as_vector(sample_weight), leading, "sample_weight")
    n_labels = np.shape(y)[0] if np.ndim(y) else 0
    if n_labels != n_rows:
        raise ValueError(length_error.format(n_labels=n_labels, n_rows=n_rows))
    sample_weight = check_sample_weight(sample_weight, n_rows)
    y, sample_weight = drop_unweighted(y, sample_weight, ignore_index)
    if column_names is not None and np.ndim(y) == 1:
        labels = _named_or_given(column_names, y, labels)
    classes, y_index = encode_labels(y, n_columns, labels=as_vector(labels),
                                     min_classes=min_classes, takes_labels=takes_labels)
    return classes, y_index, sample_weight


def _named_or_given(column_names, y, labels):
    """The class of each column: ``labels`` when given, else the one its name
    gives (:func:`~skcal.rows._column_classes.column_classes`). Given labels
    that put another class on a column than its name does are refused."""
    named = column_classes(column_names, y)
    if labels is None or named is None:
        return named if labels is None else labels
    given = column_or_1d(np.asarray(labels))
    if given.shape[0] == named.shape[0]:
        clash = [(name, plain(label), plain(own)) for name, label, own
                 in zip(column_names, given, named) if str(plain(label)) != str(plain(own))]
        if clash:
            name, label, own = clash[0]
            raise ValueError(
                f"labels= puts the class {label!r} on the score column {str(name)!r}, whose "
                f"name says {own!r}; leave labels= out to read the columns by their names, "
                "or give the class each column holds, in column order.")
    return labels


def encode_labels(y, n_columns, *, labels=None, min_classes=2, takes_labels=True):
    """Map labels to column indices of a score matrix with ``n_columns`` columns.

    ``takes_labels`` says whether the caller's function has a ``labels=``
    argument, for the message when labels cannot be matched to the columns.

    With ``labels`` given, column ``j`` belongs to ``labels[j]`` and every label
    of ``y`` must be among them. Otherwise, integer labels in
    ``0..n_columns - 1`` index the columns directly (so ``y`` may lack some
    classes); other labels are sorted and must be exactly as many as there are
    columns.

    Returns
    -------
    classes : ndarray of shape (n_columns,)
    y_index : ndarray of shape (n_samples,), dtype intp
    """
    y = column_or_1d(y, warn=True)
    if y.shape[0] == 0:
        raise ValueError("y has 0 samples; at least one sample is required.")
    refuse_missing_labels(y, ": rows without a label (yet) tell nothing of calibration. "
                          "Leave them out (y[mask]), or give them sample_weight 0; a "
                          "CalibrationMonitor takes them as waiting for their labels.")
    if y.dtype.kind in "fc" and not np.isfinite(y).all():
        raise ValueError("y contains infinity; labels must be finite.")
    present = _small_integer_labels(y)
    if present is None:
        try:  # the type of 1-D labels is that of their distinct values: sorted once
            present = np.unique(y)
        except TypeError:  # labels that do not sort together: the type says why
            present = None
        target_type = _type_of_labels(y if present is None else present)
        if target_type not in ("binary", "multiclass"):
            raise ValueError(
                f"y must hold class labels (binary or multiclass); got target type "
                f"{target_type!r}."
            )
        present = np.unique(y) if present is None else present
    if present.shape[0] < min_classes:
        raise ValueError(
            f"y has only one class ({plain(present[0])!r}); calibration needs samples of "
            "at least two classes."
        )
    if labels is not None:
        return _encode_with_labels(y, present, labels, n_columns)
    is_integer = np.issubdtype(y.dtype, np.integer) or (
        y.dtype.kind == "f" and np.all(np.mod(present, 1) == 0)
    )
    if is_integer and present[0] >= 0 and present[-1] < n_columns:
        classes = np.arange(n_columns)
        if y.dtype.kind == "f":
            classes = classes.astype(y.dtype)
        return classes, y.astype(np.intp)
    if present.shape[0] != n_columns:
        shown = ", ".join(repr(plain(c)) for c in present[:10])
        more = ", ..." if present.shape[0] > 10 else ""
        raise ValueError(
            f"y has {present.shape[0]} distinct labels ({shown}{more}) but the scores "
            f"have {n_columns} columns, so labels cannot be matched to columns. "
            + ("Pass labels= (the class of each column), " if takes_labels else
               "Name the score columns after the classes (a DataFrame's columns, or "
               "the first row of a .csv file on the command line), ")
            + f"encode y as integer column indices 0..{n_columns - 1}, or pass one score "
            f"column per label, ordered as the sorted labels.{_padding_hint(present, n_columns)}"
        )
    return present, np.searchsorted(present, y).astype(np.intp)


def _padding_hint(present, n_columns):
    """The way out when a negative label (-100, the padding of language-model
    batches) is the one too many."""
    if present.dtype.kind not in "iu" or present[0] >= 0:
        return ""
    if present.shape[0] - np.count_nonzero(present < 0) > n_columns:
        return ""  # the negative labels are not the only ones too many
    return (f" If {plain(present[0])} marks rows to leave out (padding), drop those rows, "
            f"or pass ignore_index={plain(present[0])} where the function takes it.")


def _type_of_labels(labels):
    """scikit-learn's ``type_of_target`` of ``labels`` (often their distinct
    values), without the warning of scikit-learn 1.7 and 1.8 that more than half
    the values are distinct: of distinct values all are, and scores of many
    classes (a vocabulary) rightly have more classes than rows."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The number of unique classes is greater",
                                category=UserWarning)
        return type_of_target(labels, input_name="y")


def _small_integer_labels(y):
    """The distinct labels of an integer ``y`` in ``0..2n``, by counting (a 1-D
    integer array is always binary or multiclass); None for other labels."""
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() > 2 * y.shape[0]:
        return None
    return np.flatnonzero(np.bincount(y)).astype(y.dtype)


def _encode_with_labels(y, present, labels, n_columns):
    labels = column_or_1d(np.asarray(labels))
    if labels.shape[0] != n_columns:
        raise ValueError(
            f"labels has {labels.shape[0]} entries but the scores have {n_columns} "
            "columns; pass the class of each column, in column order."
        )
    if np.unique(labels).shape[0] != labels.shape[0]:
        raise ValueError("labels has repeated entries; each column needs its own class.")
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    position = np.clip(np.searchsorted(sorted_labels, present), 0, n_columns - 1)
    missing = present[sorted_labels[position] != present]
    if missing.shape[0]:
        raise ValueError(
            f"y has labels {[plain(c) for c in missing[:10]]} that are not in labels="
            f"{labels.tolist()}; add them (one score column each)."
            f"{_padding_hint(present, n_columns)}"
        )
    index = order[np.searchsorted(sorted_labels, y)]
    return labels, index.astype(np.intp)


def drop_unweighted(y, sample_weight, ignore_index):
    """Labels and weights with ignored rows given weight 0, and every row of weight
    0 given a label that is present, so that such rows may hold any label (the
    padding label -100, say) and count for nothing.

    Returns
    -------
    y : ndarray of shape (n_samples,)
    sample_weight : ndarray of shape (n_samples,) or None
    """
    y = np.asarray(y)
    if ignore_index is not None and y.ndim == 1:
        ignored = y == ignore_index
        if np.any(ignored):
            weights = np.ones(y.shape[0]) if sample_weight is None else sample_weight.copy()
            weights[ignored] = 0.0
            sample_weight = weights
    if sample_weight is None or y.ndim != 1 or y.shape[0] != sample_weight.shape[0]:
        return y, sample_weight
    unweighted = sample_weight == 0
    if not unweighted.any():
        return y, sample_weight
    if unweighted.all():
        raise ValueError(
            f"Every row has weight 0 or the label ignore_index={plain(ignore_index)!r}; "
            "at least one row must count."
        )
    y = y.copy()
    y[unweighted] = y[~unweighted][0]
    return y, sample_weight


def check_sample_weight(sample_weight, n_samples, dtype=np.float64):
    """Validate weights: 1-D, finite, non-negative, not all zero; None stays None."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        sample_weight = np.full(n_samples, sample_weight, dtype=dtype)
    sample_weight = check_array(
        sample_weight,
        ensure_2d=False,
        dtype=dtype,
        input_name="sample_weight",
        ensure_all_finite=True,
    )
    if sample_weight.ndim != 1 or sample_weight.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), one weight per sample; "
            f"got shape {sample_weight.shape}."
        )
    if np.any(sample_weight < 0):
        raise ValueError(
            "sample_weight has negative values (smallest "
            f"{sample_weight.min():.4g}); weights must be non-negative."
        )
    if not np.any(sample_weight > 0):
        raise ValueError(
            "sample_weight is zero for every sample; at least one sample needs a "
            "positive weight."
        )
    return sample_weight


def refuse_missing_labels(y, advice, rows="rows"):
    """Refuse 1-D labels ``y`` of which some are missing (:func:`missing_entries`),
    counting them among its ``rows`` and naming the first; ``advice`` ends the
    message.

    >>> refuse_missing_labels(np.array([1.0, np.nan]), "; label it.")
    Traceback (most recent call last):
    ...
    ValueError: y is missing at 1 of 2 rows (None or NaN, the first at row 1); label it.
    """
    missing = missing_entries(y)
    if missing.any():
        raise ValueError(
            f"y is missing at {int(missing.sum())} of {missing.shape[0]} {rows} (None or "
            f"NaN, the first at row {int(np.flatnonzero(missing)[0])}){advice}")


def missing_entries(values):
    """Which entries of a 1-D array are missing: NaN in a float array; None, a
    float NaN, or pandas' NA and NaT in an object array (a nullable column's
    missing value, which cannot be compared: ``NA == "cat"`` is NA).

    >>> missing_entries(np.array(["cat", None, float("nan"), "dog"], dtype=object))
    array([False,  True,  True, False])
    """
    values = np.asarray(values)
    if values.dtype.kind in "fc":
        return np.isnan(values)
    if values.dtype.kind == "M":
        return np.isnat(values)
    if values.dtype.kind != "O" or set(map(type, values.reshape(-1))) <= {str, bytes}:
        return np.zeros(values.shape, dtype=bool)  # text (its types found at C speed)
    return np.array([_is_missing(value) for value in values.reshape(-1)],
                    dtype=bool).reshape(values.shape)


def _is_missing(value):
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(value, (float, np.floating)) and bool(np.isnan(value))


def group_codes(groups, n_rows):
    """Each row's group (a document, a patient) as 0..G-1, in the order of the
    sorted group ids; one group per row, none missing.

    >>> group_codes(["b", "a", "b"], 3)
    array([1, 0, 1])
    >>> group_codes([7.0, float("nan"), 7.0], 3)
    Traceback (most recent call last):
    ...
    ValueError: groups is missing at 1 row (the first at row 1); give every row its group (a document or patient id), or leave such rows out.
    """
    groups = np.asarray(groups)
    if groups.ndim != 1 or groups.shape[0] != n_rows:
        raise ValueError(f"groups has shape {groups.shape} for {n_rows} rows; pass one group "
                         "(a document or patient id) per row.")
    missing = missing_entries(groups)
    if missing.any():
        count = int(missing.sum())
        raise ValueError(f"groups is missing at {count} row{'s' if count > 1 else ''} (the "
                         f"first at row {int(np.flatnonzero(missing)[0])}); give every row its "
                         "group (a document or patient id), or leave such rows out.")
    if groups.dtype.kind == "O":  # ids of mixed types (17 and "17") sort as text
        groups = groups.astype(str)
    return np.unique(groups, return_inverse=True)[1].reshape(-1)
