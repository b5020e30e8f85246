"""The monitor's table: each complete chunk's statistics standardised against the
reference, the CUSUM and single-chunk alarms, and the verdict."""

import numpy as np
from scipy.special import ndtri

from ._statistics import derived

COLUMNS = ("chunk", "start", "end", "n", "n_labelled", "accuracy", "nll", "nll_se", "brier",
            "ece", "nll_calibration", "nll_refinement", "expected_nll", "z", "cusum",
            "threshold", "alarm", "verdict")


def evaluate_chunks(monitor, chunks, cusum):
    """The table rows of a monitor's complete chunks, the CUSUM carried on from
    ``cusum``: statistics, standardised NLL, CUSUM, alarms, verdicts."""
    reference = monitor.reference_
    table = []
    for chunk in chunks:
        if chunk.get("derived") is None:  # replaced dicts lose it when their sums change
            chunk["derived"] = derived(chunk["summary"], monitor.classes_.shape[0])
        row = {"chunk": chunk["index"], "start": chunk["start"], "end": chunk["end"],
               **chunk["derived"]}
        n = row["n_labelled"]
        if n >= monitor.min_labels:
            z = (row["nll"] - reference["nll"]) / (reference["nll_sd"] / np.sqrt(n))
            cusum = max(0.0, cusum + z - monitor.drift)
        else:
            z = np.nan
        alarm = bool(n >= monitor.min_labels and (cusum > monitor.cusum_threshold_
                                               or z > monitor.chunk_threshold_))
        row.update(z=z, cusum=cusum, threshold=monitor.cusum_threshold_, alarm=alarm,
                   verdict=_verdict(monitor, row, alarm))
        table.append(row)
    return table

def _verdict(monitor, row, alarm):
    if row["n_labelled"] < monitor.min_labels:
        return "too few labels"
    if not alarm:
        return "ok"
    reference = monitor.reference_
    rise = row["nll"] - reference["nll"]
    refinement_rise = row["nll_refinement"] - reference["nll_refinement"]
    standard_error = np.hypot(row["nll_se"], reference["nll_se"])
    significant = refinement_rise > ndtri(1 - monitor.alpha / 2) * standard_error
    return "retrain" if significant and refinement_rise >= 0.5 * rise else "recalibrate"


def table_rows(monitor):
    """The table as plain dicts of :data:`COLUMNS`."""
    return [{key: row[key] for key in COLUMNS} for row in monitor._table]
