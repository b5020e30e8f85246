"""Rows waiting for a label: their row numbers, ids, chunks and log-probabilities.

A row added without its label keeps its log-probabilities (float32) until its
label arrives, by row number or by id, or until it leaves the window of the
``max_pending`` most recent waiting rows. Ids are compared as text, so ``17``
and ``"17"`` are the same id.
"""

from collections import namedtuple

import numpy as np

Pending = namedtuple("Pending", ["rows", "ids", "chunks", "log_proba", "n_dropped"])
Pending.__doc__ = """Waiting rows: numbers, ids (None where none was given), chunk
indices, float32 log-probabilities, and how many rows have left the window."""


def empty_pending(n_classes):
    """No row waiting."""
    return Pending(np.empty(0, dtype=np.int64), np.empty(0, dtype=object),
                   np.empty(0, dtype=np.int64), np.empty((0, n_classes), dtype=np.float32), 0)


def as_ids(ids, n, *, name="ids"):
    """Ids of ``n`` rows as an object array of str, checked to be distinct."""
    ids = np.asarray(ids, dtype=object).reshape(-1) if ids is not None else None
    if ids is None:
        return np.full(n, None, dtype=object)
    if ids.shape[0] != n:
        raise ValueError(f"{name} has {ids.shape[0]} entries for {n} rows; pass one id per row.")
    text = np.array([str(value) for value in ids], dtype=object)
    unique, counts = np.unique(text.astype(str), return_counts=True)
    if counts.max(initial=1) > 1:
        repeated = unique[counts > 1][:5].tolist()
        raise ValueError(f"{name} repeats {repeated}; each row needs an id of its own.")
    return text


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


def positions_of_rows(pending, rows):
    """Where rows ``rows`` wait; an error names those that do not."""
    position = {int(r): i for i, r in enumerate(pending.rows)}
    missing = [int(r) for r in rows if int(r) not in position]
    if missing:
        raise ValueError(
            f"Rows {missing[:10]} are not waiting for a label (labelled already, "
            "never added, or dropped beyond max_pending or history)."
        )
    return np.array([position[int(r)] for r in rows], dtype=np.intp)


def positions_of_ids(pending, ids):
    """(where the ids that wait are, which of ``ids`` those are): ids that match
    no waiting row are left out, for the caller to count."""
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
