"""The monitor's table: each complete chunk's statistics standardised against the
reference, the CUSUM and single-chunk alarms, and the verdict."""

import numpy as np
from scipy.special import ndtri

from ..utils._warnings import warn
from ._statistics import derive_missing
from ._thresholds import size_class

# what the table's verdict column may say
VERDICTS = ("ok", "recalibrate", "retrain", "too few labels")
COLUMNS = ("chunk", "start", "end", "n", "n_labelled", "accuracy", "nll", "nll_se", "brier",
           "ece", "nll_calibration", "nll_refinement", "expected_nll", "z", "cusum",
           "threshold", "alarm", "verdict", "calibrator")


def evaluate_chunks(monitor, chunks, cusum, *, unchanged=0):
    """The table rows of a monitor's complete chunks, the CUSUM carried on from
    ``cusum``: statistics, standardised NLL, CUSUM, alarms, verdicts. The first
    ``unchanged`` chunks were evaluated before, in this order, and have not
    changed since: their rows are taken as they are.

    The CUSUM restarts at the first chunk scored by another calibrator than the
    chunk before it. A chunk keeps its row (``chunk["row"]``) and the CUSUM it
    was evaluated from, so that an update evaluates only the chunks that
    changed and those after them.
    """
    reference = monitor.reference_
    table = [chunk["row"] for chunk in chunks[:unchanged]]
    previous_version = None
    if table:
        cusum, previous_version = table[-1]["cusum"], table[-1]["calibrator"]
    chunks = chunks[unchanged:]
    derive_missing(chunks, monitor.classes_.shape[0])
    warn_of_chunks_beyond_thresholds(monitor, chunks)
    for chunk in chunks:
        version = chunk.get("calibrator", 0)
        if previous_version is not None and version != previous_version:
            cusum = 0.0
        previous_version = version
        cached = chunk.get("row")
        if cached is not None and chunk.get("cusum_in") == cusum:
            table.append(cached)
            cusum = cached["cusum"]
            continue
        row = {"chunk": chunk["index"], "start": chunk["start"], "end": chunk["end"],
               **chunk["derived"], "calibrator": version}
        chunk["cusum_in"] = cusum
        n = row["n_labelled"]
        if n >= monitor.min_labels:
            z = (row["nll"] - reference["nll"]) / (reference["nll_sd"] / np.sqrt(n))
            cusum = max(0.0, cusum + z - monitor.drift)
        else:
            z = np.nan
        alarm = bool(n >= monitor.min_labels and (cusum > monitor.cusum_threshold_
                                                  or z > chunk_threshold(monitor, n)))
        row.update(z=z, cusum=cusum, threshold=monitor.cusum_threshold_, alarm=alarm,
                   verdict=verdict(row, reference, alarm=alarm, min_labels=monitor.min_labels,
                                   alpha=monitor.alpha))
        chunk["row"] = row
        table.append(row)
    return table


# a chunk whose z the reference's error spreads more than this (in variance) beyond
# the thresholds' largest simulated size is warned of
_SPREAD_WARNED = 1.5


def warn_of_chunks_beyond_thresholds(monitor, chunks):
    """Warn of the largest of ``chunks`` whose labelled rows outgrow the sizes its
    thresholds were simulated at so far that the reference's own error (shared
    by every chunk: a variance of ``n / n_reference`` in a chunk's z, beside 1)
    spreads its z more than ``_SPREAD_WARNED`` times as much as at the largest
    simulated size. Alarms then come more often than ``alpha`` says; the fix is
    a monitor fitted with ``chunk_size`` near a chunk's labelled rows, which
    chunks of ``chunk_period`` may hold many more of than the default."""
    n_reference = monitor.reference_["n_labelled"]
    simulated = max(chunk_thresholds(monitor))
    largest = max((chunk["derived"]["n_labelled"] for chunk in chunks), default=0)
    spread = (1 + largest / n_reference) / (1 + simulated / n_reference)
    if spread > _SPREAD_WARNED:
        warn(f"A chunk holds {largest} labelled rows, and the monitor's thresholds were "
             f"simulated for chunks of chunk_size={simulated}: with a reference of "
             f"{n_reference} rows, whose own error every chunk shares, such a chunk's z "
             f"spreads {np.sqrt(spread):.1f} times as wide as they allow for, so alarms come "
             f"more often than alpha={monitor.alpha} says. Fit the monitor again with "
             f"chunk_size near the labelled rows of a chunk ({largest}), or with a "
             "larger reference.", UserWarning)


def chunk_threshold(monitor, n_labelled):
    """The single-chunk threshold for a chunk of ``n_labelled`` labelled rows."""
    thresholds = chunk_thresholds(monitor)
    return thresholds[size_class(n_labelled, list(thresholds))]


def chunk_thresholds(monitor):
    """The single-chunk thresholds by labelled size; a monitor pickled before they
    were simulated per size has the full chunk's only."""
    thresholds = getattr(monitor, "chunk_thresholds_", None)
    return thresholds if thresholds else {monitor.chunk_size: monitor.chunk_threshold_}


def verdict(row, reference, *, alarm, min_labels, alpha):
    """What to do about a chunk: "ok", "recalibrate", "retrain" or "too few labels".

    The question is whether a recalibration would restore the reference. The
    refinement part of a chunk's NLL is what the best recalibration fitted on
    it would leave. If it is above the reference's refinement part beyond its
    standard error (two-sided level ``alpha``), no recalibration can bring the
    model back: "retrain". Otherwise the rise lies in the calibration part, and
    a recalibration wins it back: "recalibrate".

    Examples
    --------
    >>> reference = {"nll": 0.50, "nll_refinement": 0.49, "nll_se": 0.005}
    >>> row = {"n_labelled": 1000, "nll": 0.70, "nll_se": 0.02}
    >>> kw = dict(alarm=True, min_labels=100, alpha=0.05)
    >>> verdict({**row, "nll_refinement": 0.50}, reference, **kw)
    'recalibrate'
    >>> verdict({**row, "nll_refinement": 0.60}, reference, **kw)
    'retrain'
    """
    if row["n_labelled"] < min_labels:
        return "too few labels"
    if not alarm:
        return "ok"
    refinement_rise = row["nll_refinement"] - reference["nll_refinement"]
    # the recalibrated NLL's own error (chunks of states before version 6: the NLL's)
    standard_error = np.hypot(row.get("nll_refinement_se", row["nll_se"]),
                              reference.get("nll_refinement_se", reference["nll_se"]))
    if refinement_rise > ndtri(1 - alpha / 2) * standard_error:
        return "retrain"
    return "recalibrate"


def too_few_rows(row, min_labels, *, only=False):
    """Why a chunk of a period can never have a verdict: it holds fewer rows than
    ``min_labels``, labelled or not ("" when it holds enough; chunks counted in
    rows hold ``chunk_size``, at least ``min_labels``). The ``only`` chunk so far
    is most likely the part of a period after production began.

    >>> too_few_rows({"chunk": 7, "n": 72}, 100)
    'Chunk 7 holds 72 rows, fewer than min_labels = 100 even once all are labelled: choose a longer chunk_period, whose chunks hold enough rows for a verdict.'
    >>> too_few_rows({"chunk": 7, "n": 72}, 100, only=True)
    'Chunk 7, the first, holds 72 rows, fewer than min_labels = 100: the rows from when production began within its period; the chunks after it span whole periods.'
    """
    if row["n"] >= min_labels:
        return ""
    if only:
        return (f"Chunk {row['chunk']}, the first, holds {row['n']} rows, fewer than "
                f"min_labels = {min_labels}: the rows from when production began within "
                "its period; the chunks after it span whole periods.")
    return (f"Chunk {row['chunk']} holds {row['n']} rows, fewer than min_labels = "
            f"{min_labels} even once all are labelled: choose a longer chunk_period, whose "
            "chunks hold enough rows for a verdict.")


def latest_judged(table):
    """(the latest chunk that has a verdict, and how many complete chunks after it
    still have too few labels for one); (None, all chunks) before any verdict.

    Where labels arrive late, the newest chunks wait for them: what operations
    see (the metrics' alarm and verdict, the report's, the store's latest
    verdict) is that of the latest chunk judged, not "too few labels".

    >>> rows = [{"verdict": "recalibrate"}, {"verdict": "too few labels"}]
    >>> latest_judged(rows)
    ({'verdict': 'recalibrate'}, 1)
    """
    for waiting, row in enumerate(reversed(table)):
        if row["verdict"] != "too few labels":
            return row, waiting
    return None, len(table)


def period_start_text(start):
    """A period chunk's start (nanoseconds since 1970, UTC) as text to the second.

    Examples
    --------
    >>> period_start_text(1774785600000000000)
    '2026-03-29 12:00:00'
    """
    return str(np.datetime64(int(start), "ns").astype("datetime64[s]")).replace("T", " ")


def table_rows(monitor):
    """The table as plain dicts of :data:`COLUMNS`."""
    return [{key: row[key] for key in COLUMNS} for row in monitor._table]
