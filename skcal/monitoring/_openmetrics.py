"""The monitor's latest judged chunk as Prometheus metrics: OpenMetrics text, the
Prometheus text format for node_exporter's textfile collector and the
Pushgateway, and the push itself.

The two formats carry the same numbers. The verdict is an OpenMetrics state
set; the Prometheus text format (version 0.0.4), which the textfile collector
and the Pushgateway parse, has no state set type, so there it is a gauge with
one series per verdict, as ``prometheus_client`` writes state sets.

The chunk described is the latest that has a verdict: where labels come late,
the newest chunks have too few for one, and an alarm must not clear because
of them. ``chunks_awaiting_labels`` counts those newer chunks, and
``expected_nll`` (which needs no labels) is the newest chunk's.
"""

import base64
import math
import time
import urllib.parse
import urllib.request

from ._table import VERDICTS, latest_judged
from ._thresholds import smallest_detectable_rise

PREFIX = "skcal_monitor_"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def gauges(monitor):
    """(name, help, value) of every gauge of the latest judged chunk (the latest
    complete chunk before any has a verdict)."""
    table, reference = monitor._table, monitor.reference_
    judged, awaiting = latest_judged(table)
    last = judged if judged is not None else (table[-1] if table else None)
    newest = table[-1] if table else None

    def latest(key):
        return float("nan") if last is None or last[key] is None else float(last[key])

    coverage = (last["n_labelled"] / last["n"]) if last is not None and last["n"] else math.nan
    listed = [
        ("nll", "Held-out NLL (nats per row) of the latest chunk with a verdict",
         latest("nll")),
        ("reference_nll", "NLL of the reference data", reference["nll"]),
        ("nll_se", "Standard error of the latest chunk's NLL", latest("nll_se")),
        ("z", "The latest chunk's NLL standardised against the reference", latest("z")),
        ("z_threshold", "Single-chunk alarm threshold of z", monitor.chunk_threshold_),
        ("cusum", "CUSUM of z after the latest chunk", latest("cusum")),
        ("cusum_threshold", "Alarm threshold of the CUSUM", monitor.cusum_threshold_),
        ("detectable_rise", "Smallest sustained NLL rise (nats) over the reference that the "
         "thresholds flag within 10 chunks", smallest_detectable_rise(monitor)),
        ("nll_calibration", "Part of the NLL a recalibration would remove",
         latest("nll_calibration")),
        ("nll_refinement", "Part of the NLL a recalibration would leave",
         latest("nll_refinement")),
        ("accuracy", "Accuracy of the latest chunk", latest("accuracy")),
        ("ece", "Top-label expected calibration error (15 equal-width bins)", latest("ece")),
        ("expected_nll", "NLL the model expects of itself on the newest complete chunk "
         "(needs no labels)", math.nan if newest is None or newest["expected_nll"] is None
         else float(newest["expected_nll"])),
        ("chunks_awaiting_labels", "Complete chunks newer than the latest with a verdict, "
         "with too few labels for one", float(awaiting if judged is not None else
                                              len(table))),
        ("label_coverage", "Share of the latest chunk's rows that have labels", coverage),
        ("alarm", "1 when the latest chunk is in alarm", float(bool(last and last["alarm"]))),
        ("chunk", "Index of the latest chunk with a verdict", latest("chunk")),
        ("calibrator_version", "Version of the calibrator applied before monitoring",
         float(monitor.calibrator_version_)),
        ("rows_late", "Rows left out since the fit: their period's chunk was complete "
         "(late_rows='drop')", float(monitor.n_rows_late_)),
        ("labels_unmatched", "Late labels since the fit whose id matched no waiting row",
         float(monitor.n_labels_unmatched_)),
    ]
    if last is not None and monitor._period_ns is not None:
        listed.append(("chunk_end_timestamp_seconds", "End time of the latest chunk with a "
                       "verdict", last["end"] / 1e9))
    elif last is not None:
        listed.append(("chunk_end_row", "Row number at which the latest chunk ends",
                       float(last["end"])))
    return listed


def exposition(monitor, *, model, openmetrics=True, timestamp=None):
    """The metrics of :meth:`~skcal.CalibrationMonitor.to_prometheus` as text."""
    labels = f'model="{escape(model)}"'
    lines = []
    for name, help_text, value in gauges(monitor):
        _family(lines, PREFIX + name, "gauge", help_text)
        lines.append(f"{PREFIX}{name}{{{labels}}} {number(value)}")
    written = time.time() if timestamp is None else timestamp
    _family(lines, PREFIX + "last_run_timestamp_seconds", "gauge",
            "When these metrics were written (Unix time)")
    lines.append(f"{PREFIX}last_run_timestamp_seconds{{{labels}}} {number(written)}")
    judged, _ = latest_judged(monitor._table)
    verdict = (judged["verdict"] if judged is not None
               else monitor._table[-1]["verdict"] if monitor._table else None)
    name = PREFIX + "verdict"
    _family(lines, name, "stateset" if openmetrics else "gauge",
            "The verdict of the latest chunk with one (no complete chunk: every state 0)")
    for state in VERDICTS:
        lines.append(f'{name}{{{labels},{name}="{escape(state)}"}} '
                     f"{1 if state == verdict else 0}")
    if openmetrics:
        lines.append("# EOF")
    return "\n".join(lines) + "\n"


def push(text, url, *, model, job="skcal_monitor", timeout=10.0):
    """PUT the Prometheus text ``text`` to a Pushgateway at ``url``, grouped by
    ``job`` and ``model`` (replacing that group's metrics). Credentials in the
    URL (``http://user:password@host:9091``) are sent as HTTP basic
    authentication, as a Pushgateway behind ``basic_auth_users`` expects."""
    if not url.startswith(("http://", "https://")):
        raise ValueError("The Pushgateway URL must start with http:// or https://; got "
                         f"{masked_url(url)!r}.")
    address, headers = _without_credentials(url)
    path = f"{address.rstrip('/')}/metrics/job/{_path_part(job)}/model{_label_part(model)}"
    request = urllib.request.Request(path, data=text.encode("utf-8"), method="PUT",
                                     headers={"Content-Type": TEXT_CONTENT_TYPE, **headers})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http only)
        if response.status // 100 != 2:
            raise OSError(f"The Pushgateway at {masked_url(url)} answered {response.status}.")


def _without_credentials(url):
    """(the URL without ``user:password@``, the basic-authentication header it asks for)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, {}
    pair = (f"{urllib.parse.unquote(parts.username)}:"
            f"{urllib.parse.unquote(parts.password or '')}")
    netloc = parts.netloc.rpartition("@")[2]
    return (urllib.parse.urlunsplit(parts._replace(netloc=netloc)),
            {"Authorization": "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")})


def masked_url(url):
    """The URL with its password shown as ``***``.

    >>> masked_url("http://ops:s3cret@gateway:9091")
    'http://ops:***@gateway:9091'
    >>> masked_url("http://gateway:9091")
    'http://gateway:9091'
    """
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    netloc = f"{user.partition(':')[0]}:***@{host}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _family(lines, name, kind, help_text):
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")


def escape(text):
    """A label value escaped for both text formats."""
    return str(text).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def number(value):
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _path_part(text):
    return urllib.parse.quote(text, safe="")


def _label_part(value):
    """``/value``, or ``@base64/...`` where the value holds a slash or is empty
    (the Pushgateway's encoding of grouping labels)."""
    if value and "/" not in value:
        return "/" + _path_part(value)
    encoded = base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii") or "="
    return "@base64/" + encoded
