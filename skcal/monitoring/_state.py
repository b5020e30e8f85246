"""Input and state of CalibrationMonitor: labels, periods, DataFrames, JSON state."""

import fnmatch

import numpy as np

from ._statistics import derived, empty_summary


def is_labelled(y, classes):
    """Rows with a label: not None, not NaN, and not -1 unless -1 is a class."""
    if y.dtype.kind == "f":
        missing = np.isnan(y)
    elif y.dtype.kind == "O":
        missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in y])
    else:
        missing = np.zeros(y.shape[0], dtype=bool)
    if y.dtype.kind in "iuf" and -1 not in set(classes.tolist()):
        missing |= y == -1
    return ~missing


def as_class_dtype(y, classes):
    if classes.dtype.kind in "iu" and y.dtype.kind in "fO":
        return y.astype(classes.dtype)
    return y


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


def unpack(X, y, timestamps, scores, timestamp):
    """(scores, labels, timestamps) from arrays, or from a DataFrame's named columns."""
    if type(X).__name__ != "DataFrame":
        if scores is not None or timestamp is not None:
            raise ValueError(
                "scores= and timestamp= name the columns of a DataFrame; with arrays, "
                "pass update(scores, y, timestamps)."
            )
        return X, y, timestamps
    if not isinstance(scores, str):
        raise ValueError("With a DataFrame, name the score columns: "
                         "update(frame, scores='proba_*', y='label', timestamp='ts').")
    columns = [c for c in X.columns if fnmatch.fnmatchcase(str(c), scores)]
    if not columns:
        raise ValueError(f"No column of the frame matches scores={scores!r}; its columns are "
                         f"{[str(c) for c in X.columns]}.")
    for name, what in ((y, "y"), (timestamp, "timestamp")):
        if name is not None and (not isinstance(name, str) or name not in X.columns):
            raise ValueError(f"{what}={name!r} is not a column of the frame.")
    values = X[columns].to_numpy(dtype=np.float64)
    labels = None if y is None else X[y].to_numpy()
    times = None if timestamp is None else X[timestamp].to_numpy()
    return values[:, 0] if len(columns) == 1 else values, labels, times


def without_cache(chunk):
    """A chunk without its cached table numbers, unless they are all it has (frozen)."""
    if "summary" not in chunk:
        return chunk
    return {key: value for key, value in chunk.items() if key != "derived"}


def jsonable(value):
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.timedelta64):
        return {"nanoseconds": int(value.astype("timedelta64[ns]").astype(np.int64))}
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


def from_json_number(value):
    """A number of a JSON state: "nan" and "inf" were written as strings."""
    if isinstance(value, str):
        return float(value)
    return value


def chunk_from(chunk, n_classes):
    if "summary" not in chunk:  # frozen: its table numbers
        return {**chunk, "derived": {key: from_json_number(value) for key, value in
                                     chunk["derived"].items()}}
    template = empty_summary(n_classes)
    summary = {}
    for key, default in template.items():
        value = chunk["summary"][key]
        summary[key] = np.asarray(value, dtype=np.float64) if isinstance(default, np.ndarray) \
            else value
    return {"index": chunk["index"], "start": chunk["start"], "end": chunk["end"],
            "summary": summary}


def freeze(chunks, pending_chunks, n_classes):
    """Complete chunks with no row waiting for a label keep their table numbers only
    (a few floats instead of the recalibration sums)."""
    waiting = set(np.asarray(pending_chunks).tolist())
    frozen = []
    for chunk in chunks:
        if "summary" in chunk and chunk["index"] not in waiting:
            numbers = chunk.get("derived") or derived(chunk["summary"], n_classes)
            chunk = {"index": chunk["index"], "start": chunk["start"], "end": chunk["end"],
                     "derived": numbers}
        frozen.append(chunk)
    return frozen
