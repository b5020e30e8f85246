"""The monitor's Prometheus metrics, read back by prometheus_client's own parsers
(OpenMetrics and the text format), and pushed to a Pushgateway stand-in: a real
HTTP server on 127.0.0.1 that keeps what it receives."""

import http.server
import math
import threading

import numpy as np
import pytest

openmetrics_parser = pytest.importorskip(
    "prometheus_client.openmetrics.parser",
    reason="reading the metrics back needs prometheus_client (in the tests extra)")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from skcal import CalibrationMonitor  # noqa: E402
from skcal.monitoring._table import VERDICTS  # noqa: E402


def drifted_monitor():
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=2.0, size=(8000, 3))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    monitor = CalibrationMonitor(chunk_size=500).fit(logits[:3000], y[:3000])
    return monitor.update(logits[3000:] * 3.0, y[3000:])  # over-confident: alarms


def samples(families):
    return {(s.name, s.labels.get("skcal_monitor_verdict")): s.value
            for family in families for s in family.samples}


@pytest.mark.parametrize("fmt", ["openmetrics", "text"])
def test_metrics_parse_and_carry_the_latest_chunk(fmt):
    monitor = drifted_monitor()
    text = monitor.to_prometheus(model='fraud "v3"', format=fmt)
    parse = (openmetrics_parser.text_string_to_metric_families if fmt == "openmetrics"
             else text_string_to_metric_families)
    families = list(parse(text))
    kinds = {family.name: family.type for family in families}
    assert kinds["skcal_monitor_verdict"] == ("stateset" if fmt == "openmetrics" else "gauge")
    assert all(s.labels["model"] == 'fraud "v3"' for f in families for s in f.samples)
    got = samples(families)
    last = monitor.to_frame().iloc[-1]
    for name in ("nll", "z", "cusum", "nll_calibration", "nll_refinement", "accuracy", "ece"):
        assert got[(f"skcal_monitor_{name}", None)] == pytest.approx(last[name], rel=1e-15)
    assert got[("skcal_monitor_reference_nll", None)] == monitor.reference_["nll"]
    assert got[("skcal_monitor_cusum_threshold", None)] == monitor.cusum_threshold_
    assert got[("skcal_monitor_detectable_rise", None)] == min(
        monitor.detectable_rise_.values())
    assert got[("skcal_monitor_alarm", None)] == 1.0 == float(last["alarm"])
    assert got[("skcal_monitor_label_coverage", None)] == 1.0
    assert got[("skcal_monitor_chunk_end_row", None)] == last["end"]
    states = {v: got[("skcal_monitor_verdict", v)] for v in VERDICTS}
    assert states[last["verdict"]] == 1 and sum(states.values()) == 1


def test_rows_left_out_and_labels_unmatched_are_published():
    rng = np.random.default_rng(2)
    logits = rng.normal(scale=2.0, size=(4000, 3))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    times = np.datetime64("2026-05-01") + np.arange(1000) * np.timedelta64(5, "m")
    monitor = CalibrationMonitor(chunk_period="D").fit(logits[:3000], y[:3000])
    unlabelled = np.where(np.arange(1000) < 900, y[3000:], -1)
    monitor.update(logits[3000:], unlabelled, times, ids=np.arange(1000))
    # 4 stragglers of the first day, complete now; labels for 2 unknown ids
    monitor.update(logits[:4], y[:4], times[:4], late_rows="drop")
    monitor.add_labels(ids=[950, 5000, 5001], y=[0, 1, 2])
    got = samples(openmetrics_parser.text_string_to_metric_families(
        monitor.to_prometheus(model="m")))
    assert got[("skcal_monitor_rows_late", None)] == 4 == monitor.n_rows_late_
    assert got[("skcal_monitor_labels_unmatched", None)] == 2 == monitor.n_labels_unmatched_


def test_chunks_waiting_for_labels_leave_the_latest_verdict_standing():
    # the metrics described the newest chunk: once it had no labels yet (labels that
    # come days later), the alarm read 0 and the verdict "too few labels", so an
    # alert on skcal_monitor_alarm cleared while the model was still drifting
    monitor = drifted_monitor()
    judged = monitor.to_dict()["chunks"][-1]
    monitor.update(np.zeros((1000, 3)), None)
    got = samples(openmetrics_parser.text_string_to_metric_families(
        monitor.to_prometheus(model="m")))
    assert judged["alarm"] and got[("skcal_monitor_alarm", None)] == 1.0
    assert got[("skcal_monitor_verdict", judged["verdict"])] == 1
    assert got[("skcal_monitor_verdict", "too few labels")] == 0
    assert got[("skcal_monitor_chunk", None)] == judged["chunk"]
    assert got[("skcal_monitor_nll", None)] == judged["nll"]
    assert got[("skcal_monitor_chunks_awaiting_labels", None)] == 2.0
    newest = monitor.to_dict()["chunks"][-1]
    assert got[("skcal_monitor_expected_nll", None)] == newest["expected_nll"]
    assert "Latest verdict: chunk 9, recalibrate (alarm)." in monitor.summary()
    assert "the 2 newer chunks have too few labels for one yet" in monitor.to_html()


def test_before_any_verdict_the_metrics_are_not_a_number():
    rng = np.random.default_rng(2)
    logits = rng.normal(scale=2.0, size=(4000, 3))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    monitor = CalibrationMonitor(chunk_size=500).fit(logits[:3000], y[:3000])
    monitor.update(logits[3000:], None)
    got = samples(openmetrics_parser.text_string_to_metric_families(
        monitor.to_prometheus(model="m")))
    assert math.isnan(got[("skcal_monitor_nll", None)])
    assert got[("skcal_monitor_label_coverage", None)] == 0.0
    assert got[("skcal_monitor_verdict", "too few labels")] == 1
    assert got[("skcal_monitor_chunks_awaiting_labels", None)] == 2.0


class Gateway(http.server.BaseHTTPRequestHandler):
    received = []

    def do_PUT(self):  # noqa: N802 (the handler's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Gateway.received.append((self.path, self.headers["Content-Type"], body.decode()))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    server = http.server.HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Gateway.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_push_puts_the_text_format_under_job_and_model(gateway):
    monitor = drifted_monitor()
    monitor.push_to_gateway(gateway, model="fraud/v3")
    ((path, content_type, body),) = Gateway.received
    assert path == "/metrics/job/skcal_monitor/model@base64/ZnJhdWQvdjM="  # "fraud/v3"
    assert content_type.startswith("text/plain; version=0.0.4")
    got = samples(text_string_to_metric_families(body))
    assert got[("skcal_monitor_alarm", None)] == 1.0


def test_an_unreachable_gateway_is_an_error():
    monitor = drifted_monitor()
    with pytest.raises(OSError):
        monitor.push_to_gateway("http://127.0.0.1:9", model="m", timeout=5)
    with pytest.raises(ValueError, match="http://"):
        monitor.push_to_gateway("localhost:9091", model="m")
