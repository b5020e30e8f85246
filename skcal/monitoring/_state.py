"""CalibrationMonitor's state: chunks kept as additive summaries (or, once
final, as their table numbers), and the whole state as JSON-safe values."""

import base64
import math

import numpy as np

from ..calibrators._persistence import calibrator_from_dict, calibrator_to_dict
from ..utils._saved import refused_as
from ..utils._version import __version__
from ._fitted_params import fitted_params
from ._inputs import period_nanoseconds
from ._pending import Pending
from ._statistics import derive_missing, empty_summary, on_grid
from ._table import chunk_thresholds, evaluate_chunks, table_rows

# what a chunk caches for the table; never saved
_EVALUATION_CACHE = ("row", "cusum_in")


# a summary's terms kept per inverse temperature of the grid
_RECALIBRATION_TERMS = ("loss", "loss_sq", "grad", "grad_outer", "hessian")
# a chunk's keys, in the order a saved state lists them
_CHUNK_KEYS = ("index", "start", "end", "calibrator", "summary", "derived")


def without_cache(chunk):
    """A chunk without its cached table row and numbers (a frozen chunk keeps its
    numbers: they are all it has), its keys in one order."""
    dropped = _EVALUATION_CACHE + (() if "summary" not in chunk else ("derived",))
    return {key: chunk[key] for key in _CHUNK_KEYS if key in chunk and key not in dropped}


def jsonable(value):
    """``value`` as JSON-safe Python values (a number that is not finite as text)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if all(type(v) is float for v in value):  # the common flat list: no recursion
            return [v if math.isfinite(v) else str(v) for v in value]
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "iub" or (value.dtype.kind == "f" and np.isfinite(value).all()):
            return value.tolist()
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.timedelta64):
        return {"nanoseconds": int(value.astype("timedelta64[ns]").astype(np.int64))}
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


def float32_text(values):
    """float32 values as JSON-safe text: base64 of their little-endian bytes.

    >>> float32_text(np.array([[0.5, -np.inf]], dtype=np.float32))
    {'float32_base64': 'AAAAPwAAgP8='}
    """
    data = np.ascontiguousarray(values, dtype="<f4").tobytes()
    return {"float32_base64": base64.b64encode(data).decode("ascii")}


def float32_values(saved):
    """The flat float32 values of :func:`float32_text`, or of a list of numbers
    (states before version 4; "-inf" written as text).

    >>> float32_values({'float32_base64': 'AAAAPwAAgP8='})
    array([ 0.5, -inf], dtype=float32)
    >>> float32_values([[0.5, "-inf"]])
    array([ 0.5, -inf], dtype=float32)
    """
    if isinstance(saved, dict):
        data = base64.b64decode(saved["float32_base64"].encode("ascii"), validate=True)
        if len(data) % 4:
            raise ValueError(f"its float32 values hold {len(data)} bytes, not a multiple of 4")
        return np.frombuffer(data, dtype="<f4").astype(np.float32)
    return np.asarray(saved, dtype=np.float32).reshape(-1)


def from_json_number(value):
    """A number of a JSON state: "nan" and "inf" were written as strings."""
    if isinstance(value, str):
        return float(value)
    return value


def chunk_from(chunk, n_classes, old_grid=False):
    """A chunk of a JSON state as the monitor keeps it (``old_grid``: a state
    before version 8, its recalibration terms at three inverse temperatures, at
    seven from version 6, or at nine in version 7)."""
    chunk = {"calibrator": 0, **chunk}  # states of version 1 had no calibrator
    if "summary" not in chunk:  # frozen: its table numbers
        return {**chunk, "derived": {key: from_json_number(value) for key, value in
                                     chunk["derived"].items()}}
    template = empty_summary(n_classes)
    summary = {}
    for key, default in template.items():
        if old_grid and key == "loss_sq" and key not in chunk["summary"]:
            value = np.full(default.shape, np.nan)  # not kept before version 6
        else:
            value = chunk["summary"][key]
        if isinstance(default, np.ndarray):
            value = np.asarray(value, dtype=np.float64)
            if old_grid and key in _RECALIBRATION_TERMS:
                value = on_grid(value)
            if value.shape != default.shape:
                raise ValueError(f"chunk {chunk['index']}'s {key!r} has shape {value.shape}, "
                                 f"not {default.shape} as for {n_classes} classes")
        summary[key] = value
    return {"index": chunk["index"], "start": chunk["start"], "end": chunk["end"],
            "calibrator": chunk["calibrator"], "summary": summary}


def freeze(chunks, pending_chunks, n_classes):
    """Complete chunks with no row waiting for a label keep their table numbers only
    (a few floats instead of the recalibration sums)."""
    waiting = set(np.asarray(pending_chunks).tolist())
    summed = [i for i, chunk in enumerate(chunks) if "summary" in chunk]  # frozen: derived
    derive_missing([chunks[i] for i in summed], n_classes)
    frozen = list(chunks)
    for i in summed:
        chunk = chunks[i]
        if chunk["index"] not in waiting:
            frozen[i] = {**{key: chunk[key] for key in chunk if key != "summary"},
                         "derived": chunk["derived"]}
    return frozen


STATE_VERSION = 3
# a state with rows waiting for a label keeps their float32 log-probabilities as
# base64 of their bytes: a quarter of the text of numbers, and read without parsing
PENDING_BYTES_VERSION = 4
# chunks of whole weeks run from Monday 00:00 UTC (before: from Thursday, 1970-01-01)
WEEKS_FROM_MONDAY_VERSION = 5
# summaries keep their recalibration terms at fifteen inverse temperatures, 1/128
# to 64 (version 7 kept nine, 1/16 to 8; version 6 seven, without 4 and 8; and
# states before it three: all are read with the points they lack missing)
FIFTEEN_TEMPERATURES_VERSION = 8
# version 1 states (before batch ids, label ids and calibrators) are read too; a
# monitor without a probability floor writes version 2, which older skcal reads
_READABLE_VERSIONS = (1, 2, 3, 4, 5, 6, 7, 8)


def state_of(monitor):
    """The whole state of a fitted monitor as JSON-safe Python values."""
    pending = monitor._pending
    floor = getattr(monitor, "probability_floor_", None)  # None: pickled before it
    version = 2 if floor is None else STATE_VERSION
    if pending.rows.shape[0]:  # states without waiting rows stay readable by older skcal
        version = PENDING_BYTES_VERSION
    origin = getattr(monitor, "_period_origin", 0)
    if origin:  # weeks from a Monday: older skcal, counting from a Thursday, refuses it
        version = WEEKS_FROM_MONDAY_VERSION
    if monitor._open is not None or any("summary" in chunk for chunk in monitor._chunks):
        version = FIFTEEN_TEMPERATURES_VERSION  # summaries older skcal cannot read
    return jsonable({
        "version": version,
        "probability_floor": floor,
        "params": monitor.get_params(),
        "classes": monitor.classes_,
        "score_type": monitor.score_type_,
        "n_features_in": monitor.n_features_in_,
        "reference": monitor.reference_,
        "cusum_threshold": monitor.cusum_threshold_,
        "chunk_threshold": monitor.chunk_threshold_,
        "chunk_thresholds": {str(size): value for size, value in
                             chunk_thresholds(monitor).items()},
        "n_rows": monitor.n_rows_,
        "complete": [without_cache(c) for c in monitor._chunks],
        "open": None if monitor._open is None else without_cache(monitor._open),
        "cusum_before": monitor._cusum_before,
        "pending_rows": pending.rows,
        "pending_ids": list(pending.ids),
        "pending_chunks": pending.chunks,
        "pending_log_proba": float32_text(pending.log_proba),
        "n_pending_dropped": pending.n_dropped,
        "period_origin": origin,
        "n_labels_unmatched": monitor.n_labels_unmatched_,
        "n_rows_late": monitor.n_rows_late_,
        "last_time": monitor._last_time,
        "score_columns": getattr(monitor, "_score_columns", None),
        "batches": monitor._batches,
        "calibrator_version": monitor.calibrator_version_,
        "calibrator": (None if monitor.calibrator_ is None
                       else calibrator_to_dict(monitor.calibrator_)),
        "chunks": table_rows(monitor),
    })


def restore(cls, state):
    """A monitor of class ``cls`` with the state of :func:`state_of`; a state that
    lacks a part, or whose parts do not fit together, is refused naming it."""
    version = state.get("version") if isinstance(state, dict) else None
    newest = max(_READABLE_VERSIONS)
    if _whole(version) and version > newest and "params" in state:
        raise ValueError(f"A CalibrationMonitor state of version {version}, written by a "
                         f"newer skcal; this skcal ({__version__}) reads versions up to "
                         f"{newest}. Upgrade skcal where the state is read.")
    if version not in _READABLE_VERSIONS:
        raise ValueError("Not a CalibrationMonitor state (to_dict output: a dict whose "
                         f"'version' is one of {list(_READABLE_VERSIONS)}).")
    with refused_as("CalibrationMonitor state"):
        monitor = _restored(cls, state)
        _check_parts(monitor, state)
    return monitor


def _check_parts(monitor, state):
    """What :func:`_restored` does not check by itself: counts that are counts,
    and as many classes everywhere."""
    k = monitor.classes_.shape[0]
    if not (isinstance(monitor.n_rows_, int) and monitor.n_rows_ >= 0):
        raise ValueError(f"n_rows is {monitor.n_rows_!r}, not a count of rows")
    tallies = {"n_labels_unmatched": monitor.n_labels_unmatched_,
               "n_rows_late": monitor.n_rows_late_}
    if not all(_count(value) for value in tallies.values()):
        raise ValueError(f"its tallies {tallies} are not counts")
    if k < 2 or monitor.n_features_in_ not in ((1, 2) if k == 2 else (k,)):
        raise ValueError(f"it has {k} classes for {monitor.n_features_in_} score columns")
    if np.unique(monitor.classes_).shape[0] != k:
        raise ValueError(f"its classes {monitor.classes_.tolist()} name a class twice")
    n_pending = len(state["pending_rows"])
    n_values = np.size(float32_values(state["pending_log_proba"]))
    sizes = (len(state["pending_chunks"]), n_values // k)
    if sizes != (n_pending, n_pending) or n_values % k:
        raise ValueError(f"its {n_pending} rows waiting for a label have {sizes[0]} chunks "
                         f"and {n_values} log-probabilities for {k} classes")


def _check_numbers(monitor):
    """The fitted numbers a monitor's alarms and verdicts are made of are what a
    fit makes them (an edited or damaged state would alarm on every chunk, or
    never): finite thresholds, the CUSUM's at least 0; a finite reference NLL and
    spread; chunks whose rows are counts, no more labelled than added."""
    thresholds = [monitor.cusum_threshold_, monitor.chunk_threshold_,
                  *monitor.chunk_thresholds_.values()]
    if not all(_finite(value) for value in thresholds) or monitor.cusum_threshold_ < 0:
        raise ValueError(f"its alarm thresholds {thresholds} are not those of a fit (finite, "
                         "the CUSUM's at least 0)")
    reference = monitor.reference_
    numbers = {key: reference[key] for key in ("nll", "nll_sd", "nll_se", "nll_calibration",
                                               "nll_refinement")}
    if not all(_finite(value) for value in numbers.values()) or min(
            numbers["nll"], numbers["nll_sd"], numbers["nll_se"]) < 0:
        raise ValueError(f"its reference numbers {numbers} are not those of a fit (finite, "
                         "the NLL and its spread at least 0)")
    for chunk in monitor._chunks + ([monitor._open] if monitor._open is not None else []):
        counts = chunk.get("summary", chunk.get("derived"))
        n, labelled = counts["n"], counts["n_labelled"]
        if not (_count(n) and _count(labelled) and labelled <= n):
            raise ValueError(f"chunk {chunk['index']} holds n={n!r} rows of which "
                             f"n_labelled={labelled!r} are labelled, not two counts, the "
                             "second at most the first")


def _whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _count(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0


def _restored(cls, state):
    params = dict(state["params"])
    if isinstance(params.get("chunk_period"), dict):
        params["chunk_period"] = np.timedelta64(params["chunk_period"]["nanoseconds"], "ns")
    monitor = cls(**params)
    monitor._validate_params()  # an edited parameter is refused by name
    monitor._period_ns = period_nanoseconds(monitor.chunk_period)
    # states before version 5 counted every period from 1970-01-01 (weeks from a
    # Thursday); they go on as they began
    monitor._period_origin = state.get("period_origin", 0)
    monitor._fitted_params = fitted_params(monitor)
    monitor.classes_ = np.asarray(state["classes"])
    k = monitor.classes_.shape[0]
    monitor.score_type_ = state["score_type"]
    monitor.probability_floor_ = state.get("probability_floor")
    monitor.n_features_in_ = state["n_features_in"]
    monitor.reference_ = {key: from_json_number(v) for key, v in state["reference"].items()}
    monitor.cusum_threshold_ = state["cusum_threshold"]
    monitor.chunk_threshold_ = state["chunk_threshold"]
    # states written before thresholds per labelled size had the full chunk's only
    monitor.chunk_thresholds_ = {int(size): value for size, value in state.get(
        "chunk_thresholds", {monitor.chunk_size: monitor.chunk_threshold_}).items()}
    monitor.n_rows_ = state["n_rows"]
    old_grid = state["version"] < FIFTEEN_TEMPERATURES_VERSION
    monitor._chunks = [chunk_from(c, k, old_grid) for c in state["complete"]]
    monitor._open = None if state["open"] is None else chunk_from(state["open"], k, old_grid)
    monitor._cusum_before = state["cusum_before"]
    rows = np.asarray(state["pending_rows"], dtype=np.int64)
    ids = state.get("pending_ids") or [None] * rows.shape[0]
    monitor._pending = Pending(
        rows, np.array(ids, dtype=object).reshape(-1),
        np.asarray(state["pending_chunks"], dtype=np.int64),
        float32_values(state["pending_log_proba"]).reshape(-1, k),
        state["n_pending_dropped"])
    monitor.n_labels_unmatched_ = state.get("n_labels_unmatched", 0)
    monitor.n_rows_late_ = state.get("n_rows_late", 0)  # states before late_rows have none
    monitor._last_time = state["last_time"]
    monitor._score_columns = state.get("score_columns")  # states before names had none
    monitor._batches = [list(batch) for batch in state.get("batches", [])]
    monitor.calibrator_version_ = state.get("calibrator_version", 0)
    saved = state.get("calibrator")
    monitor.calibrator_ = None if saved is None else calibrator_from_dict(saved)
    _check_numbers(monitor)
    monitor._table = evaluate_chunks(monitor, monitor._chunks, monitor._cusum_before)
    return monitor
