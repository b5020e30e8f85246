"""``skcal monitor`` writing where operations teams look, in one scheduled run:
the SQL store (a real SQLite file), the Prometheus textfile, a push to a local
HTTP server, and the HTML report; and a store that fails stops the run before
anything is written or saved."""

import http.server
import json
import socket
import threading

import numpy as np
import pytest

sa = pytest.importorskip("sqlalchemy", reason='the SQL store needs SQLAlchemy: "skcal[sql]"')
pytest.importorskip("prometheus_client", reason="reading the metrics back needs prometheus_client (in the tests extra)")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from skcal.cli import main  # noqa: E402
from skcal.monitoring._sql_store import STORED_METRICS  # noqa: E402

K = 3


def period(path, seed, n, sharpen=1.0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(n, K))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    np.savez(path, scores=logits * sharpen, labels=y)
    return str(path)


def run(tmp_path, day, *extra):
    reference = period(tmp_path / "reference.npz", 0, 4000)
    return main(["monitor", reference, day, "--chunk-size", "1000",
                 "--state", str(tmp_path / "state.json"), *map(str, extra)])


def count(url, sql):
    engine = sa.create_engine(url)
    with engine.connect() as db:
        value = db.execute(sa.text(sql)).scalar()
    engine.dispose()
    return value


def test_one_run_writes_the_store_the_metrics_and_the_report(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    outputs = ["--model", "fraud", "--store", url, "--prometheus-textfile",
               tmp_path / "skcal.prom", "--report", tmp_path / "report.html"]
    assert run(tmp_path, period(tmp_path / "day1.npz", 1, 5000), *outputs, "--run-id",
               "day-1") == 0
    assert count(url, "SELECT COUNT(*) FROM skcal_monitor_results") == 5 * len(STORED_METRICS)
    out = capsys.readouterr().out
    assert "5 chunks written to the store for model 'fraud'" in out
    # the next day over-confident: new chunks written, none twice, an alarm
    status = run(tmp_path, period(tmp_path / "day2.npz", 2, 5000, sharpen=3.0), *outputs,
                 "--run-id", "day-2")
    assert status == 1
    assert count(url, "SELECT COUNT(*) FROM skcal_monitor_results") == 10 * len(STORED_METRICS)
    assert count(url, "SELECT COUNT(DISTINCT run_id) FROM skcal_monitor_results") == 2
    assert count(url, "SELECT latest_verdict FROM skcal_monitor_runs WHERE run_id = 'day-2'"
                 ) == "recalibrate"
    families = {f.name: f for f in text_string_to_metric_families(
        (tmp_path / "skcal.prom").read_text())}
    assert families["skcal_monitor_alarm"].samples[0].value == 1.0
    state = json.loads((tmp_path / "state.json").read_text())
    assert families["skcal_monitor_nll"].samples[0].value == state["chunks"][-1]["nll"]
    assert "<h2>Recalibrate</h2>" in (tmp_path / "report.html").read_text()


class Gateway(http.server.BaseHTTPRequestHandler):
    paths = []

    def do_PUT(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        Gateway.paths.append(self.path)
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_the_metrics_are_pushed(tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Gateway.paths = []
    try:
        assert run(tmp_path, period(tmp_path / "day.npz", 1, 3000), "--model", "fraud",
                   "--pushgateway", f"http://127.0.0.1:{server.server_address[1]}") == 0
    finally:
        server.shutdown()
        server.server_close()
    assert Gateway.paths == ["/metrics/job/skcal_monitor/model/fraud"]


class GuardedGateway(http.server.BaseHTTPRequestHandler):
    """A Pushgateway behind basic authentication (user ops, password s3cret)."""

    authorizations = []

    def do_PUT(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        given = self.headers.get("Authorization")
        GuardedGateway.authorizations.append(given)
        self.send_response(200 if given == "Basic b3BzOnMzY3JldA==" else 401)  # ops:s3cret
        self.end_headers()

    def log_message(self, *args):
        pass


def test_credentials_in_the_pushgateway_url_authenticate_and_are_never_printed(
        tmp_path, capsys):
    # urllib took "ops:s3cret@127.0.0.1" for the host: "Name or service not known"
    server = http.server.HTTPServer(("127.0.0.1", 0), GuardedGateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    GuardedGateway.authorizations = []
    address = f"127.0.0.1:{server.server_address[1]}"
    try:
        assert run(tmp_path, period(tmp_path / "day.npz", 1, 3000), "--model", "fraud",
                   "--pushgateway", f"http://ops:s3cret@{address}") == 0
        out = capsys.readouterr().out
        assert f"Metrics pushed to http://ops:***@{address}" in out
        saved = (tmp_path / "state.json").read_bytes()
        status = run(tmp_path, period(tmp_path / "day2.npz", 2, 3000), "--model", "fraud",
                     "--pushgateway", f"http://ops:wrong@{address}")
    finally:
        server.shutdown()
        server.server_close()
    err = capsys.readouterr().err
    assert status == 2 and "HTTP Error 401" in err and "the state is not saved" in err
    assert "wrong" not in err and f"http://ops:***@{address}" in err
    assert GuardedGateway.authorizations == ["Basic b3BzOnMzY3JldA==", "Basic b3BzOndyb25n"]
    assert (tmp_path / "state.json").read_bytes() == saved


@pytest.mark.parametrize("store, says", [
    ("nosuchdialect://x/y", "could not write (NoSuchModuleError"),
    ("postgresql://user:secret@127.0.0.1:9/db", "could not write (OperationalError"),
])
def test_a_store_that_fails_writes_nothing_and_saves_nothing(tmp_path, capsys, store, says):
    day1 = period(tmp_path / "day1.npz", 1, 3000)
    assert run(tmp_path, day1) == 0
    saved = (tmp_path / "state.json").read_bytes()
    status = run(tmp_path, period(tmp_path / "day2.npz", 2, 3000), "--model", "m",
                 "--store", store, "--prometheus-textfile", tmp_path / "m.prom",
                 "--report", tmp_path / "r.html")
    err = capsys.readouterr().err
    assert status == 2 and says in err and "the state is not saved" in err
    assert "secret" not in err  # the password is masked
    assert (tmp_path / "state.json").read_bytes() == saved
    assert not (tmp_path / "m.prom").exists() and not (tmp_path / "r.html").exists()


def test_outputs_that_name_a_model_need_one(tmp_path, capsys):
    status = run(tmp_path, period(tmp_path / "day.npz", 1, 2000), "--store", "sqlite://")
    assert status == 2 and "--store needs --model NAME" in capsys.readouterr().err
    assert not (tmp_path / "state.json").exists()


def test_a_failed_push_after_the_store_says_what_the_store_holds(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    day1 = period(tmp_path / "day1.npz", 1, 3000)
    assert run(tmp_path, day1) == 0
    saved = (tmp_path / "state.json").read_bytes()
    day2 = period(tmp_path / "day2.npz", 2, 3000)
    with socket.socket() as probe:  # a port just freed, on which no one listens
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    status = run(tmp_path, day2, "--model", "m", "--store", url,
                 "--pushgateway", f"http://127.0.0.1:{closed}")
    err = capsys.readouterr().err
    assert status == 2
    # was "the state is not saved" alone, the store's rows unmentioned
    assert ("the state is not saved, and the store holds this run's chunks (a rerun "
            "writes them again, replacing them)") in err
    assert (tmp_path / "state.json").read_bytes() == saved
    stored = count(url, "SELECT COUNT(*) FROM skcal_monitor_results")
    # a model new to the store: every chunk, day 1's and day 2's, 3 each
    assert stored == 6 * len(STORED_METRICS)
    assert run(tmp_path, day2, "--model", "m", "--store", url) == 0
    assert count(url, "SELECT COUNT(*) FROM skcal_monitor_results") == stored  # replaced
