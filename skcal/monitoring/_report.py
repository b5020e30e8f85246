"""The monitor's report: one self-contained HTML page (inline SVG pictures and
styles, no script, no request to the network) that says what to do and shows why."""

import datetime
import html

import numpy as np
from scipy.special import ndtri

from ..utils._version import __version__
from ._statistics import ECE_BINS
from ._chunking import period_start
from ._svg import Chart
from ._table import latest_judged, period_start_text, too_few_rows
from ._thresholds import RISE_CHUNKS, small_reference_note, smallest_detectable_rise

# chunks listed in the report's table (the latest); the charts show all kept
TABLE_ROWS = 60
# up to this many chunks, each chunk's NLL is marked by a dot (beyond, they merge)
MARKED_CHUNKS = 150
_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;
margin:0;background:#f6f7f9}
main{max-width:900px;margin:0 auto;padding:20px 18px 40px;background:#fff}
h1{font-size:1.45em;margin:.2em 0}h2{font-size:1.1em;margin:1.4em 0 .4em}
.meta{color:#666;font-size:.9em}
.verdict{border-left:6px solid;padding:10px 14px;margin:14px 0;border-radius:4px}
.verdict h2{margin:0 0 .3em;font-size:1.25em}
.ok{border-color:#2ca02c;background:#eef8ee}.recalibrate{border-color:#ff7f0e;background:#fff4e8}
.retrain{border-color:#d62728;background:#fdeeee}.waiting{border-color:#7f7f7f;background:#f2f2f2}
.numbers{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:8px}
.numbers div{background:#f6f7f9;border-radius:4px;padding:6px 9px}
.numbers b{display:block;font-size:1.15em}
svg{width:100%;height:auto;display:block;margin:6px 0;font-size:11px;fill:#333}
svg .title{font-size:13px;font-weight:600}svg .grid{stroke:#e4e4e4}
svg .frame{fill:none;stroke:#999}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:12.5px;width:100%}
th,td{padding:3px 6px;text-align:right;border-bottom:1px solid #eee;white-space:nowrap}
th{background:#f0f1f3;position:sticky;top:0}tr.alarm td{background:#fdeeee}
td.text,th.text{text-align:left}
"""


def report_html(monitor, *, model=None):
    """The report of :meth:`~skcal.CalibrationMonitor.to_html` as text."""
    table = monitor._table
    title = "Calibration monitor" + (f": {model}" if model else "")
    written = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    kind, heading, advice = verdict_in_words(monitor)
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body><main>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">Written {written} by skcal {__version__}; {monitor.n_rows_:,} rows '
        f"seen, {len(table)} complete chunks kept.{_unused(monitor)}</p>",
        f'<section class="verdict {kind}" id="verdict"><h2>{html.escape(heading)}</h2>'
        f"<p>{advice}</p>{_small_reference(monitor)}</section>",
    ]
    if table:
        columns = _Columns(table)
        parts.append(_numbers(monitor))
        parts += ["<h2>NLL per chunk</h2>", _nll_chart(monitor, columns),
                  "<h2>CUSUM</h2>", _cusum_chart(monitor, columns),
                  "<h2>Calibration and refinement</h2>", _split_chart(monitor, columns),
                  "<h2>Reliability of the latest judged chunk</h2>", _reliability_chart(monitor),
                  "<h2>Chunks</h2>", _table(monitor)]
    parts.append("</main></body></html>")
    return "\n".join(parts)


def verdict_in_words(monitor):
    """(css class, heading, advice in HTML) for the verdict of the latest chunk
    that has one; the newer chunks that wait for labels are said after it."""
    kind, heading, advice = _judged_in_words(monitor)
    judged, awaiting = latest_judged(monitor._table)
    if judged is not None and awaiting:
        newest = monitor._table[-1]
        chunks = "newer chunk has" if awaiting == 1 else "newer chunks have"
        advice += (f" This is the verdict of chunk {_named(monitor, judged['chunk'])}: the "
                   f"{awaiting} {chunks} too few labels for one yet (the newest expects an "
                   f"NLL of {_f(newest['expected_nll'])} of itself, against "
                   f"{_f(monitor.reference_['expected_nll'])} in the reference; late labels "
                   "complete them).")
    return kind, heading, advice


def _judged_in_words(monitor):
    table, reference = monitor._table, monitor.reference_
    if not table:
        return "waiting", "No complete chunk yet", "Add production rows until a chunk completes."
    judged, _ = latest_judged(table)
    last = judged if judged is not None else table[-1]
    verdict = last["verdict"]
    if verdict == "too few labels":
        return ("waiting", "Too few labels for a verdict",
                f"Chunk {_named(monitor, last['chunk'])} has {last['n_labelled']} labelled "
                "rows, fewer than "
                f"min_labels = {monitor.min_labels}. Its expected NLL, which needs no labels, "
                f"is {_f(last['expected_nll'])} against {_f(reference['expected_nll'])} in the "
                "reference. " + (html.escape(too_few_rows(last, monitor.min_labels,
                                                         only=len(table) == 1)) or
                                 "Late labels (<code>add_labels</code>, "
                                 "<code>--late-labels</code>) complete it."))
    rise = last["nll"] - reference["nll"]
    calibration = last["nll_calibration"]
    refinement_rise = last["nll_refinement"] - reference["nll_refinement"]
    if verdict == "ok":
        return ("ok", "OK: no alarm",
                f"The latest chunk's NLL, {_f(last['nll'])}, is within what the reference "
                f"({_f(reference['nll'])}) allows: the CUSUM is {_f(last['cusum'], 2)} against "
                f"a threshold of {_f(monitor.cusum_threshold_, 2)}. Nothing to do.")
    onset = monitor.drift_onset()
    since = f" since chunk {_named(monitor, onset)}" if onset is not None else ""
    if verdict == "recalibrate":
        return ("recalibrate", "Recalibrate",
                f"The NLL rose by {_f(rise)} nats over the reference, and a recalibration "
                f"would remove {_f(calibration)} of it; the refinement part is within its "
                "standard error of the reference's, so the model still ranks its classes as "
                f"well as before. Fit a calibrator on the labelled rows{since}: "
                "<code>skcal monitor ... --recalibrate temperature --calibrator "
                "calibrator.json</code>, or <code>monitor.recalibrate(...)</code>. Later "
                "runs apply it before monitoring.")
    return ("retrain", "Retrain",
            f"The NLL rose by {_f(rise)} nats over the reference, and its refinement part "
            f"alone rose by {_f(refinement_rise)}, beyond its standard error: the model "
            "separates the classes worse than on the reference, which no recalibration "
            f"wins back. Retrain it on recent data{since}. A recalibration would still "
            f"remove {_f(calibration)} nats in the meantime.")


def _unused(monitor):
    """What the monitor received and could not use, as a sentence, or ''."""
    counts = [(monitor.n_rows_late_,
               "rows left out, their period's chunk complete when they came"),
              (monitor.n_labels_unmatched_, "late labels matched no waiting row"),
              (monitor._pending.n_dropped, "rows left the window of max_pending before "
                                           "their labels came")]
    said = [f"{n:,} {what}" for n, what in counts if n]
    return f" Not used: {'; '.join(said)}." if said else ""


def _small_reference(monitor):
    """The verdict's warning that the reference is too small to see moderate
    rises (the summary's sentence), or ''."""
    note = small_reference_note(monitor, subject="the monitor").strip()
    return f'<p class="meta" id="small-reference">{html.escape(note)}</p>' if note else ""


def _numbers(monitor):
    judged, awaiting = latest_judged(monitor._table)
    last = judged if judged is not None else monitor._table[-1]
    reference = monitor.reference_
    coverage = last["n_labelled"] / last["n"] if last["n"] else float("nan")
    cells = [
        _latest_chunk(monitor, last["chunk"], judged=judged is not None),
        ("NLL", f"{_f(last['nll'])} ± {_f(last['nll_se'])}"),
        ("reference NLL", _f(reference["nll"])),
        ("z", _f(last["z"], 2)),
        ("CUSUM / threshold", f"{_f(last['cusum'], 2)} / {_f(monitor.cusum_threshold_, 2)}"),
        ("calibration part", _f(last["nll_calibration"])),
        ("refinement part", f"{_f(last['nll_refinement'])} (ref. "
                            f"{_f(reference['nll_refinement'])})"),
        ("accuracy", f"{_f(last['accuracy'], 3)} (ref. {_f(reference['accuracy'], 3)})"),
        ("ECE", f"{_f(last['ece'], 3)} (ref. {_f(reference['ece'], 3)})"),
        ("labelled rows", f"{last['n_labelled']} of {last['n']} ({_f(100 * coverage, 1)} %)"),
        (f"rise flagged within {RISE_CHUNKS} chunks",
         f"{_f(smallest_detectable_rise(monitor), 3)} nats"),
        ("chunks in alarm", f"{sum(row['alarm'] for row in monitor._table)} of "
                            f"{len(monitor._table)}"),
        ("chunks awaiting labels" if judged is None else "newer chunks awaiting labels",
         f"{awaiting}"),
    ]
    return '<div class="numbers">' + "".join(
        f"<div>{html.escape(name)}<b>{value}</b></div>" for name, value in cells) + "</div>"


class _Columns(dict):
    """The table's numeric columns (NaN where not a number), each extracted once
    per report on first use: the charts share them."""

    def __init__(self, table):
        super().__init__()
        self.table = table

    def __missing__(self, key):
        self[key] = np.array([row[key] for row in self.table], dtype=float)  # None: NaN
        return self[key]


def _nll_chart(monitor, columns):
    table, reference = monitor._table, monitor.reference_
    x = columns["chunk"]
    with np.errstate(divide="ignore", invalid="ignore"):
        half = 2 * reference["nll_sd"] / np.sqrt(columns["n_labelled"])
    chart = Chart(title="Held-out NLL per chunk against the reference band",
                  y_label="NLL (nats per row)", **_chunk_axis(monitor))
    chart.band(x, reference["nll"] - half, reference["nll"] + half, color="gray",
               label="reference ± 2 standard errors")
    chart.line(x, columns["expected_nll"], color="green", dash="5 4", width=1.2,
               label="expected NLL (no labels)")
    chart.line(x, columns["nll"], color="blue", markers=len(table) <= MARKED_CHUNKS,
               label="NLL")
    alarm = np.array([row["alarm"] for row in table], dtype=bool)
    chart.points(x[alarm], columns["nll"][alarm], color="red", label="alarm")
    return chart.svg()


def _cusum_chart(monitor, columns):
    x = columns["chunk"]
    chart = Chart(title="CUSUM of the standardised NLL against its alarm threshold",
                  y_label="CUSUM", height=210, **_chunk_axis(monitor))
    chart.line(x, np.full(x.shape, monitor.cusum_threshold_), color="red", dash="6 4",
               width=1.2, label="threshold")
    chart.line(x, columns["cusum"], color="purple", label="CUSUM")
    return chart.svg()


def _split_chart(monitor, columns):
    reference = monitor.reference_
    x = columns["chunk"]
    chart = Chart(title="The NLL split: what a recalibration removes, and what it leaves",
                  y_label="nats per row", height=230, **_chunk_axis(monitor))
    chart.line(x, np.full(x.shape, reference["nll_refinement"]), color="green", dash="5 4",
               width=1.2, label="reference refinement")
    chart.line(x, columns["nll_refinement"], color="green", label="refinement part")
    chart.line(x, columns["nll_calibration"], color="orange",
               label="calibration part")
    return chart.svg()


def _reliability_chart(monitor):
    judged, _ = latest_judged(monitor._table)
    last = judged if judged is not None else monitor._table[-1]
    reference = monitor.reference_
    if "bins" not in last or "bins" not in reference:
        return ("<p>This state was written by an older skcal, which kept no reliability "
                "bins; the next chunks will have them.</p>")
    chart = Chart(title=f"Chunk {last['chunk']} against the reference (top label, "
                        f"{ECE_BINS} bins)", x_label="confidence", y_label="accuracy",
                  width=560, height=380, x_range=(0, 1), y_range=(0, 1))
    chart.line([0, 1], [0, 1], color="gray", width=1, dash="3 3")
    z = ndtri(0.975)
    for bins, color, label in ((reference["bins"], "gray", "reference"),
                               (last["bins"], "blue", f"chunk {last['chunk']}")):
        count, confidence, correct = (np.asarray(part, dtype=float) for part in bins)
        filled = count > 0
        mean_confidence = confidence[filled] / count[filled]
        accuracy = correct[filled] / count[filled]
        if color == "blue":  # where a calibrated model's accuracy falls, per bin
            half = z * np.sqrt(mean_confidence * (1 - mean_confidence) / count[filled])
            chart.bars(mean_confidence, mean_confidence - half, mean_confidence + half,
                       color="blue", label="95 % consistency band")
        chart.line(mean_confidence, accuracy, color=color, markers=True, label=label)
    return ('<div style="max-width:560px">' + chart.svg() + "</div><p class=\"meta\">The "
            "band is where a calibrated model's accuracy would fall in each bin of the "
            "latest chunk (a normal approximation from the bin's rows and mean "
            "confidence).</p>")


def _table(monitor):
    rows = monitor._table[-TABLE_ROWS:]
    by_period = monitor._period_ns is not None
    # the verdict third, where a narrow page still shows it without scrolling
    head = ("chunk", "start", "verdict", "n", "labelled", "accuracy", "NLL", "±", "calib.",
            "refin.", "expected", "z", "CUSUM", "cal.")
    out = ['<div class="scroll"><table><thead><tr>']
    out += [f'<th{" class=text" if name == "verdict" else ""}>{name}</th>' for name in head]
    out.append("</tr></thead><tbody>")
    for row in reversed(rows):
        start = period_start_text(row["start"]) if by_period else f"{row['start']:,}"
        cells = [row["n"], row["n_labelled"], _f(row["accuracy"], 3),
                 _f(row["nll"]), _f(row["nll_se"]), _f(row["nll_calibration"]),
                 _f(row["nll_refinement"]), _f(row["expected_nll"]), _f(row["z"], 2),
                 _f(row["cusum"], 2), row["calibrator"]]
        out.append(f'<tr{" class=alarm" if row["alarm"] else ""}>'
                   + f"<td>{row['chunk']}</td><td>{start}</td>"
                   + f'<td class="text">{html.escape(row["verdict"])}'
                   + (" (alarm)" if row["alarm"] else "") + "</td>"
                   + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    out.append("</tbody></table></div>")
    if len(monitor._table) > TABLE_ROWS:
        out.append(f'<p class="meta">The latest {TABLE_ROWS} of {len(monitor._table)} '
                   "chunks, newest first; <code>to_frame()</code> has them all.</p>")
    return "".join(out)


def _chunk_axis(monitor):
    """The x axis of the charts over chunks: chunk numbers, or the start of each
    chunk's period with ``chunk_period`` (a number since 1970 says nothing)."""
    if monitor._period_ns is None:
        return {"x_label": "chunk", "x_tick_text": str}
    period = monitor._period_ns
    unit = next(unit for unit, ns in _TIME_UNITS if period % ns == 0)
    return {"x_label": "chunk start (UTC)",
            "x_tick_text": lambda chunk: str(np.datetime64(period_start(monitor, chunk), "ns")
                                             .astype(f"datetime64[{unit}]")).replace("T", " ")}


# the coarsest unit that a period is a whole number of, to name its starts
_TIME_UNITS = (("D", 86_400 * 10**9), ("m", 60 * 10**9), ("s", 10**9), ("ns", 1))


def _named(monitor, chunk):
    """A chunk's number, and with ``chunk_period`` the start of its period."""
    if monitor._period_ns is None:
        return str(chunk)
    return f"{chunk} (from {period_start_text(period_start(monitor, chunk))} UTC)"


def _latest_chunk(monitor, chunk, *, judged):
    """The report's first number: the latest chunk with a verdict (before any,
    the latest chunk), by the start of its period with ``chunk_period``."""
    name = "latest judged chunk" if judged else "latest chunk"
    if monitor._period_ns is None:
        return name, str(chunk)
    return f"{name} from (UTC)", period_start_text(period_start(monitor, chunk))


def _f(value, digits=4):
    if value is None or not np.isfinite(value):
        return "–"
    return f"{value:.{digits}f}"
