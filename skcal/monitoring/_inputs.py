"""What the monitor is given: labels (with missing-label markers), chunk
periods, and DataFrames with named columns."""

import datetime
import fnmatch
import numbers

import numpy as np

from ..rows._row_order import check_row_order
from ..rows._labels import (encode_labels, missing_entries, plain,
                            refuse_missing_labels)
from ..rows._namespaces import to_numpy
from ..rows._score_rows import refuse_probabilities_read_as_logits
from ..rows._scores import check_score_columns


def check_served_scores(monitor, scores):
    """Refuse scores of another width than the reference's, or that look like
    probabilities where the monitor read the reference's scores as logits
    (``score_type='auto'``).

    >>> from skcal import CalibrationMonitor
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(size=(5000, 3))
    >>> y = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
    >>> monitor = CalibrationMonitor(chunk_size=250).fit(logits, y)
    >>> check_served_scores(monitor, logits[:, :2])
    Traceback (most recent call last):
    ...
    ValueError: scores has 2 score column(s) but the monitor was fitted on 3; pass scores of the same shape as in fit.
    >>> check_served_scores(monitor, np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))
    Traceback (most recent call last):
    ...
    ValueError: Every one of the first 5000 rows of scores lies in [0, 1] and sums to 1: they look like probabilities, but CalibrationMonitor read the scores of its fit as logits (score_type='auto') and would read these as logits too, squeezing each row toward uniform. Pass the kind of scores it was fitted on, or, if they are logits, fit the monitor with score_type='logits'.
    """
    check_score_columns(scores, monitor.n_features_in_, name="scores", fitted="the monitor")
    refuse_probabilities_read_as_logits(
        scores, monitor, name="scores",
        fix=", or, if they are logits, fit the monitor with score_type='logits'.")


def is_labelled(y, classes):
    """Rows with a label: not None, not NaN, not pandas' NA, and not -1 unless
    -1 is a class.

    >>> is_labelled(np.array(["cat", None, float("nan"), "dog"], dtype=object),
    ...             np.array(["cat", "dog"]))
    array([ True, False, False,  True])
    """
    if y.dtype.kind == "f":
        missing = np.isnan(y)
    elif y.dtype.kind == "O":
        missing = missing_entries(y)
    else:
        missing = np.zeros(y.shape[0], dtype=bool)
    if y.dtype.kind in "iuf" and -1 not in set(classes.tolist()):
        missing |= y == -1
    return ~missing


def as_class_dtype(y, classes):
    """Labelled rows' labels in the dtype of integer ``classes`` when they came as
    floats or objects (a column with missing-label markers); a fractional
    label is refused rather than truncated to a class."""
    if classes.dtype.kind in "iu" and y.dtype.kind in "fO":
        as_float = y.astype(np.float64)
        fractional = as_float != np.round(as_float)
        if fractional.any():
            raise ValueError(f"y has labels {as_float[fractional][:10].tolist()} that are "
                             f"not whole numbers; the monitor's classes are "
                             f"{classes.tolist()}.")
        return y.astype(classes.dtype)
    return y


def check_known_labels(y, classes):
    """Refuse labels that the monitor's reference did not have, naming them."""
    unknown = ~np.isin(y, classes)
    if unknown.any():
        found = list(dict.fromkeys(plain(label) for label in y[unknown]))
        raise ValueError(
            f"y has labels {found[:10]} that the monitor's reference data did not have: "
            f"its classes_ are {classes.tolist()}, one per score column. Give each row "
            "one of those labels (or a missing-label marker), or fit a new monitor on "
            "scores with a column for each new class."
        )


def nanoseconds(timestamps, name="timestamps", first_row=0):
    """Times as int64 nanoseconds since 1970 (UTC for time-zone-aware pandas times).

    Numbers are refused: their unit (seconds? nanoseconds?) cannot be known, and
    Unix seconds read as nanoseconds would put a day in one chunk. A missing time
    (NaT) is refused too, naming its row (counted from ``first_row``).

    Examples
    --------
    >>> nanoseconds(np.array(["1970-01-01T00:00:01"], dtype="datetime64[s]")).tolist()
    [1000000000]
    """
    if getattr(getattr(timestamps, "dtype", None), "tz", None) is not None:
        import pandas as pd

        timestamps = pd.DatetimeIndex(timestamps).tz_convert("UTC").tz_localize(None)
    values = np.asarray(timestamps)
    # Python numbers among objects: numpy would read an int as nanoseconds
    numbers_as_objects = values.dtype == object and any(
        isinstance(value, numbers.Number) for value in values.flat)
    if values.dtype.kind == "U" or (values.dtype == object and any(
            isinstance(value, str) for value in values.flat)):
        values = _parsed_text(values, name, first_row)
    if values.dtype == object and not numbers_as_objects:
        values = _naive_utc(values)
    if values.dtype.kind in "iufb" or numbers_as_objects:
        kind = "Python numbers" if numbers_as_objects else values.dtype
        raise ValueError(
            f"{name} are numbers ({kind}), whose unit cannot be known; pass "
            "datetime64 values (Unix seconds: pandas.to_datetime(values, unit='s'), or "
            "values.astype('datetime64[s]') for whole seconds)."
        )
    values = values.astype("datetime64[ns]")
    missing = np.flatnonzero(np.isnat(values))
    if missing.shape[0]:
        raise ValueError(f"{name} has no time (NaT) at row {first_row + int(missing[0])}; "
                         "give every row its time, or leave such rows out.")
    return values.astype(np.int64)


def _parsed_text(values, name, first_row=0):
    """ISO 8601 text as Python datetimes: with an offset (``+01:00``, ``Z``) the
    instant it names, without one as it reads (UTC), as the command line reads
    a CSV column (numpy would warn that it drops the offset, and will refuse it).

    >>> _parsed_text(np.array(["2026-03-29T03:30+02:00", "2026-03-29 01:30Z"]), "t")
    array([datetime.datetime(2026, 3, 29, 3, 30, tzinfo=datetime.timezone(datetime.timedelta(seconds=7200))),
           datetime.datetime(2026, 3, 29, 1, 30, tzinfo=datetime.timezone.utc)],
          dtype=object)
    """
    flat = values.reshape(-1)
    parsed = np.empty(flat.shape[0], dtype=object)
    for row, value in enumerate(flat):
        if not isinstance(value, str):
            parsed[row] = value
            continue
        try:
            parsed[row] = datetime.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{name} has {str(value)!r} at row {first_row + row}, which is "
                             "not an ISO 8601 time ('2026-03-29 01:30:00', with an offset "
                             "such as +02:00 or Z where it has one).") from None
    return parsed.reshape(values.shape)


def _naive_utc(values):
    """Python or pandas datetimes that carry a time zone as UTC times without one
    (numpy's datetime64 has no time zone: it would warn and drop it); others as
    they are. A naive time beside aware ones has no instant, and is refused."""
    aware = np.array([getattr(value, "tzinfo", None) is not None for value in values.flat],
                     dtype=bool).reshape(values.shape)
    if not aware.any():
        return values
    if not aware.all():
        row = int(np.flatnonzero(~aware.ravel())[0])
        raise ValueError(f"timestamps mix times with a time zone and times without one "
                         f"(row {row} has none); give every time its zone, or none.")
    return np.array([value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
                     for value in values.flat], dtype="datetime64[ns]").reshape(values.shape)


# periods of whole weeks start on Mondays (ISO weeks): 1970-01-05, 00:00 UTC, the
# first Monday after the epoch (a Thursday), is their origin; others start at 0
_WEEK_NS = 7 * 86_400 * 10**9
MONDAY_ORIGIN_NS = 4 * 86_400 * 10**9


def period_grid(period):
    """(the period in nanoseconds, the origin its chunks are counted from): whole
    weeks from a Monday, other periods from 1970-01-01 (whole days from midnight).

    >>> period_grid("W") == (7 * 86_400 * 10**9, 4 * 86_400 * 10**9)
    True
    >>> period_grid("6h")[1], period_grid(None)
    (0, (None, 0))
    """
    nanoseconds = period_nanoseconds(period)
    if nanoseconds is None:
        return None, 0
    return nanoseconds, MONDAY_ORIGIN_NS if nanoseconds % _WEEK_NS == 0 else 0


def period_nanoseconds(period):
    if period is None:
        return None
    if isinstance(period, np.timedelta64):
        nanoseconds = int(period.astype("timedelta64[ns]").astype(np.int64))
    else:
        text = str(period).strip()
        number = "".join(ch for ch in text if ch.isdigit()) or "1"
        unit = text[len(number) if text[0].isdigit() else 0:].strip()
        units = {"D": "D", "d": "D", "h": "h", "H": "h", "min": "m", "m": "m", "s": "s",
                 "W": "W", "w": "W"}
        if unit not in units:
            raise ValueError(
                f"chunk_period={period!r} is not understood; use a number and one of "
                "W, D, h, min, s ('D', '6h', '30min') or a numpy.timedelta64."
            )
        nanoseconds = int(np.timedelta64(int(number), units[unit]).astype("timedelta64[ns]")
                          .astype(np.int64))
    if nanoseconds <= 0:
        raise ValueError(f"chunk_period must be positive; got {period!r}.")
    return nanoseconds


_NAMED_TWICE = ("score_columns names the columns of arrays; a DataFrame's columns name "
                "themselves.")


def reference_on_host(scores, y):
    """A reference's scores and labels as numpy arrays (a monitor computes on
    the host), pandas inputs' rows checked to be in one order, and a label on
    every row."""
    check_row_order(scores=scores, y=y)
    scores, y = to_numpy((scores, y))
    if y is None or np.ndim(y) == 0:
        raise ValueError(f"fit takes the reference period's labels, one per row of scores; "
                         f"got y={y!r}.")
    refuse_missing_labels(np.ravel(y), "; the reference needs every label. Leave those "
                          "rows out of it (y[mask]); update takes rows without a label as "
                          "waiting for it.", rows="rows of the reference")
    return scores, y


def unpack(X, y, timestamps, scores, timestamp, ids=None, score_columns=None):
    """(scores, labels, timestamps, ids, names of the score columns) from arrays
    (named by ``score_columns``), or from a DataFrame's named columns."""
    check_row_order(X=X, y=y, timestamps=timestamps, ids=ids)
    if type(X).__name__ != "DataFrame":
        if scores is not None or timestamp is not None or isinstance(ids, str):
            raise ValueError(
                "scores=, timestamp= (and ids= as a name) name the columns of a DataFrame; "
                "with arrays, pass update(scores, y, timestamps, ids=ids)."
            )
        return (*to_numpy((X, y, timestamps, ids)), score_columns)  # device arrays too
    if score_columns is not None:
        raise ValueError(_NAMED_TWICE)
    if scores is None and not any(isinstance(name, str) for name in (y, timestamp, ids)):
        # a frame of scores alone, as fit takes it: its columns are the scores
        names = [str(c) for c in X.columns] if all(
            isinstance(c, str) for c in X.columns) else None
        return (X, *to_numpy((y, timestamps, ids)), names)
    columns = named_score_columns(X, scores)
    for name, what in ((y, "y"), (timestamp, "timestamp"), (ids, "ids")):
        if name is not None and (not isinstance(name, str) or name not in X.columns):
            raise ValueError(f"{what}={name!r} is not a column of the frame.")
    labels = None if y is None else X[y].to_numpy()
    times = None if timestamp is None else _naive_utc_column(X[timestamp])
    row_ids = None if ids is None else X[ids].to_numpy()
    if len(columns) == 1 and X[columns[0]].dtype == object:  # one array of scores a row
        return _stacked(X[columns[0]], columns[0]), labels, times, row_ids, None
    values = X[columns].to_numpy(dtype=np.float64)
    names = [str(c) for c in columns]
    return values[:, 0] if len(columns) == 1 else values, labels, times, row_ids, names


def named_score_columns(X, scores):
    """The columns of a log ``X`` that ``scores`` names: a pattern (``'proba_*'``),
    taken in the frame's order, or a list of column names, in its own order."""
    if isinstance(scores, str):
        columns = [c for c in X.columns if fnmatch.fnmatchcase(str(c), scores)]
        if not columns:
            raise ValueError(f"No column of the frame matches scores={scores!r}; its columns "
                             f"are {[str(c) for c in X.columns]}.")
        return columns
    if isinstance(scores, (list, tuple)) and scores and all(isinstance(c, str)
                                                            for c in scores):
        missing = [c for c in scores if c not in X.columns]
        if missing:
            raise ValueError(f"scores names {missing}, not among the frame's columns "
                             f"{[str(c) for c in X.columns]}.")
        if len(set(scores)) < len(scores):
            raise ValueError(f"scores names a column twice ({list(scores)}); name each "
                             "class's column once.")
        return list(scores)
    raise ValueError("With a DataFrame of a log, name its score columns: "
                     "update(frame, scores='proba_*', y='label', timestamp='ts'), or a list "
                     "of them; a DataFrame of scores alone goes with arrays: "
                     "update(scores_frame, y, timestamps).")


def _stacked(column, name):
    """A column holding one array of scores a row (as Spark and Arrow write a
    model's probability vector) as a 2-D array; a missing array or rows of
    different lengths are named by row.

    >>> import pandas as pd
    >>> _stacked(pd.Series([np.array([0.2, 0.8]), [0.6, 0.4]]), "probability")
    array([[0.2, 0.8],
           [0.6, 0.4]])
    """
    rows = list(column)
    lengths = np.array([-1 if row is None or np.ndim(row) != 1 else len(row) for row in rows])
    if lengths.shape[0] and (lengths < 0).any():
        row = int(np.argmax(lengths < 0))
        raise ValueError(f"The score column {name!r} holds {rows[row]!r} at row {row}, not "
                         "an array of scores; give every row its scores, one per class.")
    if lengths.shape[0] and (lengths != lengths[0]).any():
        row = int(np.argmax(lengths != lengths[0]))
        raise ValueError(f"The score column {name!r} holds arrays of {lengths[0]} scores "
                         f"(row 0) and of {lengths[row]} (row {row}); give every row one "
                         "score per class.")
    if not rows:
        return np.empty((0, 0))
    return np.stack([np.asarray(row, dtype=np.float64) for row in rows])


def _naive_utc_column(column):
    """A frame's time column as datetime64, UTC where it has a time zone (its
    ``to_numpy()`` would be objects, one per row); a column of text (as read from
    a CSV file without ``parse_dates``) read as the command line reads it: times
    with an offset as the instants they name, times without one as UTC."""
    import pandas as pd

    if pd.api.types.infer_dtype(column, skipna=True) in ("string", "datetime", "date"):
        column = pd.to_datetime(column, utc=True)  # numbers stay numbers, to be refused
    if getattr(column.dtype, "tz", None) is not None:
        column = column.dt.tz_convert("UTC").dt.tz_localize(None)
    return column.to_numpy()


def score_columns_of(scores, score_columns):
    """The names of the score columns of reference ``scores``: a DataFrame's
    string column names, or ``score_columns`` (None: not named)."""
    if type(scores).__name__ == "DataFrame" and all(isinstance(c, str) for c in scores.columns):
        if score_columns is not None:
            raise ValueError(_NAMED_TWICE)
        return list(scores.columns)
    return score_columns


def kept_score_columns(kept, given, n_columns):
    """The names of the score columns a monitor keeps once a batch named them
    ``given`` (None: not named): the first names it saw, which every later
    batch must repeat in their order, since each column is a class.

    Examples
    --------
    >>> kept_score_columns(None, ["p_cat", "p_dog"], 2)
    ['p_cat', 'p_dog']
    >>> kept_score_columns(["p_cat", "p_dog"], ["p_dog", "p_cat"], 2)
    Traceback (most recent call last):
    ...
    ValueError: The batch's score columns are ['p_dog', 'p_cat'], but the monitor's are ['p_cat', 'p_dog'], one per class in this order; reorder the columns (frame[['p_cat', 'p_dog']], or scores=['p_cat', 'p_dog'] for a log) so that each score is read as its own class.
    """
    if given is None:
        return kept
    given = [str(name) for name in given]
    if len(given) != n_columns:
        theirs = f" ({list(kept)})" if kept is not None else ""
        raise ValueError(f"The batch has {len(given)} score columns {given}, and the "
                         f"monitor {n_columns}{theirs}, one per class of its reference; give "
                         "the batch those score columns only (labels, times and ids go as "
                         "y=, timestamps= and ids=; a model with other classes needs a "
                         "monitor of its own).")
    if kept is not None and given != list(kept):
        raise ValueError(f"The batch's score columns are {given}, but the monitor's are "
                         f"{list(kept)}, one per class in this order; reorder the columns "
                         f"(frame[{list(kept)}], or scores={list(kept)} for a log) so that "
                         "each score is read as its own class.")
    return given


def labels_of(y, n, classes):
    """(labelled mask, column index of each labelled row's class) of a batch of
    ``n`` rows whose labels ``y`` may mark rows not labelled yet."""
    if y is None:
        return np.zeros(n, dtype=bool), np.zeros(n, dtype=np.intp)
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"y has shape {y.shape} but the batch has {n} rows; pass one "
                         "label (or a missing-label marker) per row.")
    labelled = is_labelled(y, classes)
    if (labelled.all() and y.dtype.kind in "iu" and classes.dtype.kind in "iu"
            and np.array_equal(classes, np.arange(classes.shape[0]))
            and 0 <= y.min() and y.max() < classes.shape[0]):
        return labelled, y.astype(np.intp, copy=False)  # column indices already
    y_index = np.zeros(n, dtype=np.intp)
    if labelled.any():
        known = as_class_dtype(y[labelled], classes)
        check_known_labels(known, classes)
        _, y_index[labelled] = encode_labels(known, classes.shape[0], labels=classes,
                                             min_classes=1)
    return labelled, y_index
