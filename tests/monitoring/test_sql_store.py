"""The monitor's SQL store, on a real SQLite file and on the machine's PostgreSQL
(started by the ``postgres_url`` fixture; those tests skip and say why where it
cannot start). Values are compared with ``to_frame()`` at 1e-12 relative: they
pass through the database as 64-bit floats."""

import numpy as np
import pytest

sa = pytest.importorskip("sqlalchemy", reason='the SQL store needs SQLAlchemy: "skcal[sql]"')
pd = pytest.importorskip("pandas")

from skcal import CalibrationMonitor  # noqa: E402
from skcal.monitoring._sql_store import (  # noqa: E402
    DETECTABLE_RISE,
    METRICS,
    STORED_METRICS,
)


def stream(seed=0, n=9000, k=4):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(n, k))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    return logits, y


def fitted(chunk_period=None):
    logits, y = stream()
    monitor = CalibrationMonitor(chunk_size=500, chunk_period=chunk_period)
    return monitor.fit(logits[:3000], y[:3000]), logits, y


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    return request.getfixturevalue("postgres_url")


def stored(url, model):
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as db:
            frame = pd.read_sql(sa.text("SELECT * FROM skcal_monitor_results WHERE model = :m "
                                        "ORDER BY chunk, metric"), db, params={"m": model})
    finally:
        engine.dispose()
    return frame


def as_wide(long):
    """The long rows back as one row per chunk, a column per metric."""
    wide = long.pivot(index="chunk", columns="metric", values="value")
    return wide.reset_index().rename_axis(columns=None)


def test_values_equal_to_frame_and_a_rewrite_updates_without_duplicates(store):
    monitor, logits, y = fitted()
    monitor.update(logits[3000:6000], y[3000:6000])
    assert monitor.to_sql(store, model="fraud", run_id="day-1") == 6
    monitor.update(logits[6000:], y[6000:])
    changed = [9, 10, 11, 6, 7, 8]
    assert monitor.to_sql(store, model="fraud", run_id="day-2", chunks=changed) == 6
    assert monitor.to_sql(store, model="fraud", run_id="day-2", chunks=changed) == 6  # again
    long = stored(store, "fraud")
    assert len(long) == 12 * len(STORED_METRICS)  # 12 chunks, no duplicate
    frame = monitor.to_frame()
    wide = as_wide(long)
    np.testing.assert_array_equal(wide["chunk"], frame["chunk"])
    for metric in METRICS:
        np.testing.assert_allclose(wide[metric].astype(float), frame[metric].astype(float),
                                   rtol=1e-12, err_msg=metric)
    nll = long[long["metric"] == "nll"].set_index("chunk")
    np.testing.assert_array_equal(nll["start_row"], frame["start"])
    np.testing.assert_array_equal(nll["end_row"], frame["end"])
    assert (nll["verdict"] == frame.set_index("chunk")["verdict"]).all()
    assert nll["reference_value"].iloc[0] == pytest.approx(monitor.reference_["nll"], rel=1e-12)
    cusum = long[long["metric"] == "cusum"]
    assert np.allclose(cusum["threshold"], monitor.cusum_threshold_, rtol=1e-12)
    assert set(nll.loc[changed, "run_id"]) == {"day-2"}
    assert set(nll.loc[[0, 5], "run_id"]) == {"day-1"}
    rise = long[long["metric"] == DETECTABLE_RISE]
    assert len(rise) == 12
    np.testing.assert_allclose(rise["value"], min(monitor.detectable_rise_.values()),
                               rtol=1e-12)


def test_two_models_share_a_store_and_the_first_write_fills_in_the_history(store):
    first, logits, y = fitted()
    second, _, _ = fitted()
    first.update(logits[3000:], y[3000:])
    second.update(logits[3000:] * 2.0, y[3000:])  # over-confident
    first.to_sql(store, model="a")
    # a model new to the store gets every chunk, even when the run names a few
    assert second.to_sql(store, model="b", chunks=[11]) == 12
    a, b = as_wide(stored(store, "a")), as_wide(stored(store, "b"))
    assert len(a) == len(b) == 12
    assert (b["nll"] > a["nll"]).all()


def test_late_labels_rewrite_the_chunks_they_complete(tmp_path):
    url = f"sqlite:///{tmp_path / 'late.db'}"
    monitor, logits, y = fitted()
    monitor.update(logits[3000:4000], None, ids=np.arange(1000))
    monitor.to_sql(url, model="m")
    assert as_wide(stored(url, "m"))["n_labelled"].tolist() == [0, 0]
    monitor.add_labels(ids=np.arange(1000), y=y[3000:4000])
    monitor.to_sql(url, model="m", chunks=[0, 1])
    assert as_wide(stored(url, "m"))["n_labelled"].tolist() == [500, 500]


def test_periods_are_stored_as_times():
    monitor, logits, y = fitted(chunk_period="1h")
    times = np.datetime64("2026-01-01T00:00") + np.arange(6000) * np.timedelta64(3, "s")
    monitor.update(logits[3000:], y[3000:], times)
    engine = sa.create_engine("sqlite://")
    try:
        monitor.to_sql(engine, model="m")
        with engine.connect() as db:
            long = pd.read_sql(sa.text("SELECT * FROM skcal_monitor_results"), db)
    finally:  # its pooled connection closed (Python 3.13 warns of one left open)
        engine.dispose()
    nll = long[long["metric"] == "nll"]
    assert nll["start_row"].isna().all()
    assert pd.to_datetime(nll["start_time"]).tolist() == list(monitor.to_frame()["start"])


def documented_query():
    """The Grafana query of docs/monitoring.rst, as printed there."""
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "monitoring.rst").read_text(encoding="utf-8")
    block = text.split(".. code-block:: sql\n\n", 1)[1].split("\n\n", 1)[0]
    return " ".join(line.strip() for line in block.splitlines())


def test_the_documented_grafana_query_gives_each_chunk_its_time(store):
    # the documented job counted chunks in rows, whose start_time is NULL: the
    # query gave a panel without a time axis
    monitor, logits, y = fitted(chunk_period="1h")
    times = np.datetime64("2026-01-01T00:00") + np.arange(6000) * np.timedelta64(3, "s")
    monitor.update(logits[3000:], y[3000:], times)
    monitor.to_sql(store, model="fraud-v3")
    engine = sa.create_engine(store.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as db:
            panel = pd.read_sql(sa.text(documented_query()), db)
    finally:
        engine.dispose()
    frame = monitor.to_frame()
    assert list(panel.columns) == ["time", "nll", "reference"]
    assert pd.to_datetime(panel["time"]).tolist() == list(frame["start"])
    np.testing.assert_allclose(panel["nll"], frame["nll"], rtol=1e-12)


def test_a_failed_write_leaves_the_store_as_it_was(tmp_path):
    url = f"sqlite:///{tmp_path / 'fail.db'}"
    monitor, logits, y = fitted()
    monitor.update(logits[3000:6000], y[3000:6000])
    monitor.to_sql(url, model="m")
    before = stored(url, "m")
    engine = sa.create_engine(url)
    with engine.begin() as db:  # a database that refuses one metric's rows from now on
        db.execute(sa.text("CREATE TRIGGER refuse BEFORE INSERT ON skcal_monitor_results "
                           "WHEN NEW.metric = 'z' BEGIN SELECT RAISE(ABORT, 'refused'); END"))
    engine.dispose()
    monitor.update(logits[6000:], y[6000:])
    with pytest.raises(sa.exc.IntegrityError, match="refused"):
        monitor.to_sql(url, model="m")
    pd.testing.assert_frame_equal(stored(url, "m"), before)  # no row deleted, none added


def test_a_store_of_another_schema_version_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    monitor, logits, y = fitted()
    monitor.update(logits[3000:4000], y[3000:4000])
    monitor.to_sql(url, model="m")
    engine = sa.create_engine(url)
    with engine.begin() as db:
        db.execute(sa.text("UPDATE skcal_schema SET version = 7"))
    engine.dispose()
    with pytest.raises(ValueError, match="schema version 7"):
        monitor.to_sql(url, model="m")


@pytest.mark.parametrize("bad, message", [
    (dict(model=""), "non-empty string"),
    (dict(model="m", chunks=[99]), r"chunks \[99\] are not in the monitor's table"),
])
def test_bad_arguments_are_named(bad, message):
    monitor, logits, y = fitted()
    monitor.update(logits[3000:4000], y[3000:4000])
    with pytest.raises(ValueError, match=message):
        monitor.to_sql("sqlite://", **bad)


def test_writers_that_collide_take_turns_and_both_write(store, monkeypatch):
    # two nightly jobs writing at once to a store not made yet: on PostgreSQL the
    # second failed with "duplicate key value violates unique constraint
    # pg_type_typname_nsp_index" (both created the tables), on SQLite with "table
    # skcal_monitor_results already exists" or a second schema row
    import threading

    from skcal.monitoring import _sql_store

    first_inside, first_may_go = threading.Event(), threading.Event()
    check_schema = _sql_store._check_schema

    def held_open(sa_module, connection, schema):  # the first writer pauses in its
        if threading.current_thread().name == "first":  # transaction, tables created
            first_inside.set()
            assert first_may_go.wait(30)
        return check_schema(sa_module, connection, schema)

    monkeypatch.setattr(_sql_store, "_check_schema", held_open)
    monitors = {}
    for name in ("first", "second"):
        monitors[name], logits, y = fitted()
        monitors[name].update(logits[3000:4500], y[3000:4500])
    errors, finished = [], []

    def write(name):
        try:
            monitors[name].to_sql(store, model=name)
            finished.append(name)
        except Exception as exc:  # noqa: BLE001 (reported by the assertion below)
            errors.append(f"{name}: {exc!r}")

    first = threading.Thread(target=write, args=("first",), name="first")
    first.start()
    assert first_inside.wait(30)
    second = threading.Thread(target=write, args=("second",), name="second")
    second.start()
    second.join(1.0)  # time to collide; it waits for the first's transaction instead
    waited = second.is_alive()
    first_may_go.set()
    first.join(30)
    second.join(30)
    assert errors == []
    assert waited and finished == ["first", "second"]
    for name in ("first", "second"):
        assert set(stored(store, name)["chunk"]) == {0, 1, 2}


def test_the_runs_latest_verdict_is_that_of_the_latest_chunk_with_one(tmp_path):
    # chunks that wait for late labels made every run's latest_verdict "too few labels"
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    monitor, logits, y = fitted()
    monitor.update(logits[3000:6000] * 3.0, y[3000:6000])  # over-confident: judged
    monitor.update(logits[6000:7000], None)  # two chunks wait for their labels
    monitor.to_sql(url, model="m", run_id="night")
    judged = monitor.to_dict()["chunks"][5]
    assert judged["verdict"] != "too few labels"
    engine = sa.create_engine(url)
    with engine.connect() as db:
        row = db.execute(sa.text("SELECT latest_chunk, latest_verdict FROM skcal_monitor_runs"
                                 )).one()
    engine.dispose()
    assert tuple(row) == (5, judged["verdict"])
