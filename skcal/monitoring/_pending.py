"""Rows waiting for a label: their row numbers, ids, chunks and log-probabilities.

A row added without its label keeps its log-probabilities (float32) until its
label arrives, by row number or by id, or until it leaves the window of the
``max_pending`` most recent waiting rows. Ids are compared as text, so ``17``
and ``"17"`` are the same id, and so is ``17.0``: a whole number stored as a
float, as pandas reads an id column with a gap in it.
"""

import math
from collections import namedtuple

import numpy as np

from ..rows._row_order import check_row_order

Pending = namedtuple("Pending", ["rows", "ids", "chunks", "log_proba", "n_dropped"])
Pending.__doc__ = """Waiting rows: numbers, ids (None where none was given), chunk
indices, float32 log-probabilities, and how many rows have left the window."""


def empty_pending(n_classes):
    """No row waiting."""
    return Pending(np.empty(0, dtype=np.int64), np.empty(0, dtype=object),
                   np.empty(0, dtype=np.int64), np.empty((0, n_classes), dtype=np.float32), 0)


def as_ids(ids, n, *, name="ids"):
    """Ids of ``n`` rows as an object array of str (:func:`id_text`), checked to
    be distinct."""
    if ids is None:
        return np.full(n, None, dtype=object)
    ids = np.asarray(ids)
    ids = ids.reshape(-1) if ids.dtype.kind in "iuf" else ids.astype(object).reshape(-1)
    if ids.shape[0] != n:
        raise ValueError(f"{name} has {ids.shape[0]} entries for {n} rows; pass one id per row.")
    text = ids_text(ids)
    unique, counts = np.unique(text.astype(str), return_counts=True)
    if counts.max(initial=1) > 1:
        repeated = unique[counts > 1][:5].tolist()
        raise ValueError(f"{name} repeats {repeated}; each row needs an id of its own.")
    return text


def ids_text(ids):
    """:func:`id_text` of each id of a 1-D array, at numpy's speed for numbers
    and text."""
    if ids.dtype.kind == "U":  # text already: its own id_text
        return ids.astype(object)
    if ids.dtype.kind not in "iuf":
        return np.array([id_text(value) for value in ids], dtype=object)
    text = ids.astype(str).astype(object)
    if ids.dtype.kind == "f":
        whole = np.isfinite(ids) & (ids == np.floor(ids)) & (np.abs(ids) < 2.0 ** 63)
        text[whole] = ids[whole].astype(np.int64).astype(str)
    return text


def id_text(value):
    """An id as the text it is compared as: a whole number stored as a float as
    the integer it is.

    Examples
    --------
    >>> [id_text(value) for value in (17, "17", 17.0, 17.5, "17.0")]
    ['17', '17', '17', '17.5', '17.0']
    """
    if isinstance(value, (float, np.floating)) and math.isfinite(value) \
            and float(value).is_integer():
        return str(int(value))
    return str(value)


def pending_after(pending, rows, ids, chunks, log_proba, max_pending):
    """The waiting rows with new ones added, the oldest dropped beyond ``max_pending``."""
    known = {value for value in pending.ids if value is not None}
    clashes = [value for value in ids if value is not None and value in known]
    if clashes:
        raise ValueError(f"ids {clashes[:5]} are already waiting for a label; an id names "
                         "one row.")
    merged = Pending(
        np.concatenate([pending.rows, rows]), np.concatenate([pending.ids, ids]),
        np.concatenate([pending.chunks, chunks]),
        np.concatenate([pending.log_proba, log_proba.astype(np.float32)]), pending.n_dropped)
    excess = merged.rows.shape[0] - max_pending
    if excess <= 0:
        return merged
    return Pending(merged.rows[excess:], merged.ids[excess:], merged.chunks[excess:],
                   merged.log_proba[excess:], merged.n_dropped + excess)


def check_label_arguments(rows, ids, y):
    """``add_labels``' arguments: labels, and the rows' numbers or their ids.

    Examples
    --------
    >>> check_label_arguments(None, ["a"], None)
    Traceback (most recent call last):
    ...
    ValueError: No y was given; pass the labels that arrived (y=) with the rows' numbers (rows=) or their ids (ids=).
    """
    if rows is not None and ids is not None:
        problem = "Both rows= and ids= were given"
    elif rows is None and ids is None:
        problem = "Neither rows= nor ids= was given"
    elif y is None:
        problem = "No y was given"
    else:
        check_row_order(rows=rows, ids=ids, y=y)
        return
    raise ValueError(f"{problem}; pass the labels that arrived (y=) with the rows' numbers "
                     "(rows=) or their ids (ids=).")


def positions_of_rows(pending, rows):
    """Where rows ``rows`` (row numbers, see :func:`as_row_numbers`) wait; an error
    names those that do not.

    Examples
    --------
    >>> import numpy as np
    >>> pending = Pending(np.array([4, 7]), np.array(["a", "b"], dtype=object),
    ...                   np.array([0, 0]), np.zeros((2, 2), dtype=np.float32), 0)
    >>> positions_of_rows(pending, np.array([7]))
    array([1])
    """
    position = {int(r): i for i, r in enumerate(pending.rows)}
    missing = [int(r) for r in rows if int(r) not in position]
    if missing:
        waiting_ids = {value for value in pending.ids if value is not None}
        hint = ""
        if all(str(r) in waiting_ids for r in missing):
            hint = (" They are ids of rows that wait: pass them as ids "
                    "(add_labels(ids=..., y=...)).")
        raise ValueError(
            f"Rows {missing[:10]} are not waiting for a label (labelled already, "
            f"never added, or dropped beyond max_pending or history).{hint}"
        )
    return np.array([position[int(r)] for r in rows], dtype=np.intp)


def as_row_numbers(rows):
    """Row numbers given to ``add_labels`` as int64, checked to be whole numbers
    (3.0 is row 3), one dimension and distinct: a row labelled twice in one call
    would count twice.

    Examples
    --------
    >>> as_row_numbers([3.0, 5])
    array([3, 5])
    >>> as_row_numbers([1.5])
    Traceback (most recent call last):
    ...
    ValueError: rows must be row numbers (whole numbers, counted from 0 in arrival order); got [1.5]. To label rows by the ids given to update, pass add_labels(ids=..., y=...).
    """
    values = np.asarray(rows)
    if values.ndim != 1:
        raise ValueError(f"rows must be one row number per label (1-D); got shape "
                         f"{values.shape}.")
    whole = values.dtype.kind in "iu" or (
        values.dtype.kind == "f" and bool(np.all(np.isfinite(values) & (values % 1 == 0))))
    if not whole:
        examples = values[:3].tolist()
        raise ValueError(
            f"rows must be row numbers (whole numbers, counted from 0 in arrival order); "
            f"got {examples}. To label rows by the ids given to update, pass "
            "add_labels(ids=..., y=...)."
        )
    values = values.astype(np.int64)
    unique, counts = np.unique(values, return_counts=True)
    if counts.max(initial=1) > 1:
        raise ValueError(f"rows repeats {unique[counts > 1][:5].tolist()}; a row gets one "
                         "label.")
    return values


def check_joinable_by_id(pending):
    """Refuse to join labels by id when rows wait but none was added with an
    id: no id could match, and counting every label as a miss would hide why.

    Examples
    --------
    >>> waiting = Pending(np.arange(3), np.full(3, None, dtype=object), np.zeros(3, int),
    ...                   np.zeros((3, 2), np.float32), 0)
    >>> check_joinable_by_id(waiting)
    Traceback (most recent call last):
    ...
    ValueError: 3 rows wait for a label, but none was added with an id, so no label can be joined by id. Give update() the rows' ids (ids=; on the command line --id-column, or an array 'ids' in .npz files), or join these labels by row number (rows=).
    """
    n_waiting = pending.rows.shape[0]
    if n_waiting and all(value is None for value in pending.ids):
        raise ValueError(
            f"{n_waiting} rows wait for a label, but none was added with an id, so no label "
            "can be joined by id. Give update() the rows' ids (ids=; on the command line "
            "--id-column, or an array 'ids' in .npz files), or join these labels by row "
            "number (rows=).")


def positions_of_ids(pending, ids):
    """(where the ids that wait are, which of ``ids`` those are): ids that match
    no waiting row are left out, for the caller to count (see
    :func:`check_joinable_by_id` for rows that carry no ids)."""
    check_joinable_by_id(pending)
    position = {value: i for i, value in enumerate(pending.ids) if value is not None}
    matched = np.array([value in position for value in ids], dtype=bool)
    where = np.array([position[value] for value in ids[matched]], dtype=np.intp)
    return where, matched


def without(pending, taken):
    """The waiting rows but those at positions ``taken``."""
    keep = np.ones(pending.rows.shape[0], dtype=bool)
    keep[taken] = False
    return Pending(pending.rows[keep], pending.ids[keep], pending.chunks[keep],
                   pending.log_proba[keep], pending.n_dropped)
