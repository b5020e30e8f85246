"""The monitor's HTML report, opened in a real headless Chromium (installed by
``.ci/run``; these tests skip and say why where there is none): rendered, not
blank, the verdict on the page, and no request to the network, which a proxy
on 127.0.0.1 would have received."""

import http.server
import re
import subprocess
import threading

import numpy as np
import pytest

from conftest import missing
from servers import chromium
from skcal import CalibrationMonitor

CHROMIUM = chromium()


@pytest.fixture
def needs_chromium():
    if CHROMIUM is None:
        missing("no Chromium here: apt-get install -y chromium (.ci/run does)")
QUIET = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--hide-scrollbars"]


def monitor_with(scale):
    rng = np.random.default_rng(2)
    logits = rng.normal(scale=2.0, size=(30000, 5))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    monitor = CalibrationMonitor(chunk_size=1000).fit(logits[:10000], y[:10000])
    monitor.update(logits[10000:20000], y[10000:20000])
    return monitor.update(logits[20000:] * scale, y[20000:])


def test_the_page_names_the_verdict_and_fetches_nothing(tmp_path):
    page = monitor_with(2.0).to_html(tmp_path / "report.html", model="fraud-v3")
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == page
    assert "<h2>Recalibrate</h2>" in page
    assert page.count("<svg") == 4
    # nothing that would load: no src, no link, no import, no url(), no script
    assert not re.search(r"\bsrc=|<link|@import|url\(|<script|<iframe|<img", page)


class Recorder(http.server.BaseHTTPRequestHandler):
    """A proxy that answers 404 to everything and keeps the host of each request."""

    hosts = []

    def _record(self):
        target = self.path.split("//")[-1] if "//" in self.path else self.path
        Recorder.hosts.append(target.split("/")[0].split(":")[0])
        self.send_response(404)
        self.end_headers()

    do_GET = do_POST = do_CONNECT = do_HEAD = _record  # noqa: N815

    def log_message(self, *args):
        pass


def hosts_requested(page, *extra):
    """The hosts Chromium asks for while it opens ``page``, all traffic routed
    through :class:`Recorder` (Chromium's own: time, accounts, ... included)."""
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    Recorder.hosts = []
    try:
        out = subprocess.run(
            [CHROMIUM, *QUIET, f"--proxy-server=http://127.0.0.1:{proxy.server_address[1]}",
             "--proxy-bypass-list=<-loopback>", *extra, page.as_uri()],
            check=True, capture_output=True, text=True, timeout=120).stdout
    finally:
        proxy.shutdown()
        proxy.server_close()
    return set(Recorder.hosts), out


@pytest.mark.usefixtures("needs_chromium")
def test_chromium_renders_it_and_requests_nothing_beyond_its_own(tmp_path):
    # Chromium asks Google for the time and more on any page, about:blank
    # included; a blank local page measures that, and the report must ask for
    # nothing else. A page with one external image shows that the check sees it.
    (tmp_path / "blank.html").write_text("<!DOCTYPE html><title>blank</title>")
    (tmp_path / "fetching.html").write_text(
        '<!DOCTYPE html><img src="http://report-asset.example/logo.png">')
    monitor_with(2.0).to_html(tmp_path / "report.html", model="fraud-v3")
    own, _ = hosts_requested(tmp_path / "blank.html", "--dump-dom")
    fetching, _ = hosts_requested(tmp_path / "fetching.html", "--dump-dom")
    assert "report-asset.example" in fetching - own
    report, dom = hosts_requested(tmp_path / "report.html", "--dump-dom")
    assert report - own == set()
    assert "Recalibrate" in dom and "fraud-v3" in dom
    shot = tmp_path / "shot.png"
    hosts_requested(tmp_path / "report.html", "--window-size=1280,2400",
                    f"--screenshot={shot}")
    image = pytest.importorskip("matplotlib.image").imread(shot)
    pixels = image[..., :3].reshape(-1, 3)
    inked = (pixels < 0.9).any(axis=1).mean()
    colours = np.unique((pixels * 31).astype(int), axis=0).shape[0]
    assert inked > 0.03 and colours > 20  # text, charts and colour: not a blank page


def test_every_verdict_reads_as_words():
    retrain = monitor_with(1.0)
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 5, 10000)
    retrain.update(rng.normal(scale=2.0, size=(10000, 5)), noise)  # labels unrelated
    assert "<h2>Retrain</h2>" in retrain.to_html()
    assert "<h2>OK: no alarm</h2>" in monitor_with(1.0).to_html()
    awaiting = monitor_with(1.0).update(np.zeros((1000, 5)), None)
    page = awaiting.to_html()  # the verdict of the latest chunk that has one stands
    assert "<h2>OK: no alarm</h2>" in page
    assert "This is the verdict of chunk 19: the 1 newer chunk has too few labels" in page
    rng = np.random.default_rng(4)
    logits = rng.normal(scale=2.0, size=(11000, 5))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    waiting = CalibrationMonitor(chunk_size=1000).fit(logits[:10000], y[:10000])
    waiting.update(logits[10000:], None)
    page = waiting.to_html()
    assert "Too few labels for a verdict" in page
    # before any verdict: no chunk is called judged, and every chunk awaits labels
    assert "<div>latest chunk<b>0</b></div>" in page
    assert "<div>chunks awaiting labels<b>1</b></div>" in page


def _tick_labels(svg):
    """The x tick labels of one chart (the texts on the line below the plot)."""
    frame = re.search(r'<rect x="\d+" y="(\d+)" width="[\d.]+" height="([\d.]+)" class="frame"',
                      svg)
    below = float(frame.group(1)) + float(frame.group(2)) + 16
    return re.findall(rf'<text x="[\d.]+" y="{below:g}" text-anchor="middle">([^<]*)</text>',
                      svg)


def test_chunks_of_a_period_are_named_by_their_start_and_chunk_numbers_in_full():
    # with chunk_period the charts' axis read 8.305e+04, 8.306e+04, 8.306e+04 (the
    # periods since 1970) and the advice "since chunk 83054"; chunk 12345 of a
    # row-counted monitor read 1.234e+04
    rng = np.random.default_rng(4)
    logits = rng.normal(scale=2.0, size=(6000, 5))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    times = np.datetime64("2026-11-05T00:00") + np.arange(6000) * np.timedelta64(3, "m")
    monitor = CalibrationMonitor(chunk_period="6h").fit(logits[:3000], y[:3000])
    monitor.update(logits[3000:4500], y[3000:4500], times[3000:4500])
    monitor.update(3 * logits[4500:], y[4500:], times[4500:])  # overconfident: alarm
    page = monitor.to_html()
    charts = page.split("<svg")[1:4]
    for chart in charts:
        labels = _tick_labels(chart)
        assert len(labels) >= 2, chart[:300]
        assert all(re.fullmatch(r"2026-1[12]-\d\d \d\d:00", label) for label in labels), labels
        assert "chunk start (UTC)" in chart
    assert re.search(r"since chunk \d+ \(from 2026-1[12]-\d\d \d\d:00:00 UTC\)", page)
    assert "latest judged chunk from (UTC)<b>2026-" in page
    assert "e+0" not in page
    daily = CalibrationMonitor(chunk_period="D").fit(logits[:3000], y[:3000])
    every_half_hour = times[0] + np.arange(3000) * np.timedelta64(30, "m")  # 62 days
    daily.update(logits[3000:], y[3000:], every_half_hour)
    labels = _tick_labels(daily.to_html().split("<svg")[1])
    assert labels and all(re.fullmatch(r"202[67]-\d\d-\d\d", label) for label in labels), labels
    counted = CalibrationMonitor(chunk_size=2, min_labels=2).fit(logits[:3000], y[:3000])
    counted.update(np.tile(logits[3000:], (9, 1)), None)  # chunks 0 to 13499
    labels = _tick_labels(counted.to_html().split("<svg")[1])
    assert labels and all(re.fullmatch(r"\d+", label) for label in labels), labels
    assert int(labels[-1]) > 10000


def test_the_page_says_what_a_small_reference_lets_the_monitor_see():
    """The rise the thresholds flag is among the numbers; a reference of fewer
    than 3 chunks adds the summary's warning to the verdict, a larger one not."""
    rng = np.random.default_rng(5)
    logits = rng.normal(scale=2.0, size=(8000, 5))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    large = CalibrationMonitor(chunk_size=500).fit(logits[:5000], y[:5000])
    with pytest.warns(UserWarning, match="The reference holds 500 labelled rows"):
        small = CalibrationMonitor(chunk_size=500).fit(logits[:500], y[:500])
    for monitor in (large, small):
        monitor.update(logits[5000:], y[5000:])
    large_page, small_page = large.to_html(), small.to_html()
    for monitor, page in ((large, large_page), (small, small_page)):
        rise = min(monitor.detectable_rise_.values())
        assert f"rise flagged within 10 chunks<b>{rise:.3f} nats</b>" in page
    assert 'id="small-reference"' not in large_page
    warning = re.search(r'<p class="meta" id="small-reference">([^<]*)</p></section>',
                        small_page)
    assert warning is not None
    assert warning.group(1).startswith("The reference of 500 rows (1.0 chunks)")


def test_the_page_counts_what_the_monitor_received_and_could_not_use():
    rng = np.random.default_rng(6)
    logits = rng.normal(scale=2.0, size=(4000, 3))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    times = np.datetime64("2026-05-01") + np.arange(1000) * np.timedelta64(5, "m")
    monitor = CalibrationMonitor(chunk_period="D").fit(logits[:3000], y[:3000])
    monitor.update(logits[3000:], y[3000:], times)
    assert "Not used" not in monitor.to_html()
    monitor.update(logits[:7], y[:7], times[:7], late_rows="drop")  # day 1 is complete
    page = monitor.to_html()
    assert "Not used: 7 rows left out, their period's chunk complete when they came." in page
