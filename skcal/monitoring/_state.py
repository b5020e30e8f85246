"""CalibrationMonitor's state: chunks kept as additive summaries (or, once
final, as their table numbers), and the whole state as JSON-safe values."""

import numpy as np

from ._inputs import period_nanoseconds
from ._statistics import derived, empty_summary
from ._table import evaluate_chunks, table_rows


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


STATE_VERSION = 1


def state_of(monitor):
    """The whole state of a fitted monitor as JSON-safe Python values."""
    return jsonable({
        "version": STATE_VERSION,
        "params": monitor.get_params(),
        "classes": monitor.classes_,
        "score_type": monitor.score_type_,
        "n_features_in": monitor.n_features_in_,
        "reference": monitor.reference_,
        "cusum_threshold": monitor.cusum_threshold_,
        "chunk_threshold": monitor.chunk_threshold_,
        "n_rows": monitor.n_rows_,
        "complete": [without_cache(c) for c in monitor._chunks],
        "open": None if monitor._open is None else without_cache(monitor._open),
        "cusum_before": monitor._cusum_before,
        "pending_rows": monitor._pending_rows,
        "pending_chunks": monitor._pending_chunks,
        "pending_log_proba": monitor._pending_log_proba.astype(np.float64),
        "n_pending_dropped": monitor.n_pending_dropped_,
        "last_time": monitor._last_time,
        "chunks": table_rows(monitor),
    })


def restore(cls, state):
    """A monitor of class ``cls`` with the state of :func:`state_of`."""
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        raise ValueError("Not a CalibrationMonitor state (to_dict output, version "
                         f"{STATE_VERSION}).")
    params = dict(state["params"])
    if isinstance(params.get("chunk_period"), dict):
        params["chunk_period"] = np.timedelta64(params["chunk_period"]["nanoseconds"], "ns")
    monitor = cls(**params)
    monitor._period_ns = period_nanoseconds(monitor.chunk_period)
    monitor.classes_ = np.asarray(state["classes"])
    k = monitor.classes_.shape[0]
    monitor.score_type_ = state["score_type"]
    monitor.n_features_in_ = state["n_features_in"]
    monitor.reference_ = {key: from_json_number(v) for key, v in state["reference"].items()}
    monitor.cusum_threshold_ = state["cusum_threshold"]
    monitor.chunk_threshold_ = state["chunk_threshold"]
    monitor.n_rows_ = state["n_rows"]
    monitor._chunks = [chunk_from(c, k) for c in state["complete"]]
    monitor._open = None if state["open"] is None else chunk_from(state["open"], k)
    monitor._cusum_before = state["cusum_before"]
    monitor._pending_rows = np.asarray(state["pending_rows"], dtype=np.int64)
    monitor._pending_chunks = np.asarray(state["pending_chunks"], dtype=np.int64)
    monitor._pending_log_proba = np.asarray(
        state["pending_log_proba"], dtype=np.float32).reshape(-1, k)
    monitor.n_pending_dropped_ = state["n_pending_dropped"]
    monitor._last_time = state["last_time"]
    monitor._table = evaluate_chunks(monitor, monitor._chunks, monitor._cusum_before)
    return monitor
