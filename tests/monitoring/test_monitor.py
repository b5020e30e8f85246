"""CalibrationMonitor on simulated streams with known truth, state handling, command line."""

import json
import pickle
import warnings

import numpy as np
import pytest

from skcal import CalibrationMonitor
from skcal.cli._main import main

K = 4


def stream(rng, n, *, sharpen=1.0, noise=0.0, prior_shift=None, scale=2.0):
    """Logits of a model and labels drawn from the truth.

    The model is calibrated when all arguments are at their defaults. ``sharpen``
    multiplies its logits (over-confidence at the same accuracy), ``noise``
    replaces that share of labels by random ones (the model's ranking is worse),
    ``prior_shift`` adds to the true logits of the classes (label shift).
    """
    logits = rng.normal(scale=scale, size=(n, K))
    true = logits if prior_shift is None else logits + prior_shift
    p = np.exp(true - true.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    y = (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    if noise:
        flip = rng.random(n) < noise
        y[flip] = rng.integers(K, size=int(flip.sum()))
    return logits * sharpen, y


def test_no_drift_any_alarm_over_100_chunks_at_most_alpha():
    """200 streams of 100 chunks from a calibrated, confident model (heavy-tailed
    per-row NLL): the share of streams with any alarm is at most alpha plus two
    binomial standard errors."""
    n_streams, alarms = 200, 0
    for seed in range(n_streams):
        rng = np.random.default_rng(seed)
        monitor = CalibrationMonitor(chunk_size=100, random_state=seed).fit(
            *stream(rng, 3000, scale=4.0))
        monitor.update(*stream(rng, 100 * 100, scale=4.0))
        table = monitor.to_dict()["chunks"]
        assert len(table) == 100
        alarms += any(row["alarm"] for row in table)
    alpha = 0.05
    assert alarms / n_streams <= alpha + 2 * np.sqrt(alpha * (1 - alpha) / n_streams)


def _drifting(kind, rng, chunk):
    """Twenty stable chunks, then twenty drifting ones."""
    if chunk < 20:
        return {}
    progress = min(1.0, (chunk - 19) / 20)
    if kind == "overconfidence":  # the logits' temperature goes from 1 to 0.6
        return {"sharpen": 1 / (1 - 0.4 * progress)}
    if kind == "refinement":
        return {"noise": 0.4 * progress}
    return {"prior_shift": progress * np.array([1.5, 0.5, -0.5, -1.5])}


@pytest.mark.parametrize("kind, verdict, within", [
    # a calibrated model's NLL grows only to second order as its logits sharpen: at
    # T = 0.6 it is 0.04 nats (1.5 standard errors of a 1000-row chunk) above the
    # reference, so the CUSUM takes longer (14 to 28 chunks over six seeds)
    ("overconfidence", "recalibrate", 30),
    ("refinement", "retrain", 5),
    ("label shift", "recalibrate", 15),
])
def test_drift_is_detected_and_its_cause_named(kind, verdict, within):
    """Twenty stable chunks of 1000 rows, twenty drifting, thirty at the drifted state."""
    rng = np.random.default_rng(1)
    monitor = CalibrationMonitor(chunk_size=1000).fit(*stream(rng, 10000))
    for chunk in range(70):
        monitor.update(*stream(rng, 1000, **_drifting(kind, rng, chunk)))
    table = monitor.to_dict()["chunks"]
    alarms = [row for row in table if row["alarm"]]
    assert not any(row["alarm"] for row in table[:20])
    assert alarms and alarms[0]["chunk"] < 20 + within
    verdicts = [row["verdict"] for row in alarms]
    assert verdicts.count(verdict) >= 0.8 * len(verdicts), verdicts


def test_delayed_labels_show_expected_nll_then_get_their_nll():
    rng = np.random.default_rng(2)
    monitor = CalibrationMonitor(chunk_size=500).fit(*stream(rng, 5000))
    logits, y = stream(rng, 500)
    monitor.update(logits)  # labels not known yet
    row = monitor.to_dict()["chunks"][0]
    assert row["verdict"] == "too few labels" and row["n_labelled"] == 0
    assert 0.3 < row["expected_nll"] < 1.5 and row["nll"] == "nan"
    monitor.add_labels(np.arange(500), y)
    row = monitor.to_dict()["chunks"][0]
    assert row["n_labelled"] == 500 and row["verdict"] == "ok"
    direct = CalibrationMonitor(chunk_size=500).fit(*stream(np.random.default_rng(2), 5000))
    direct.update(logits, y)
    # waiting rows keep their log-probabilities in float32
    assert row["nll"] == pytest.approx(direct.to_dict()["chunks"][0]["nll"], rel=1e-6)
    with pytest.raises(ValueError, match="not waiting for a label"):
        monitor.add_labels([3], [1])


def test_scores_told_to_be_probabilities_are_named_as_the_monitor_names_them():
    logits, y = stream(np.random.default_rng(8), 300)
    with pytest.raises(ValueError, match=r"^scores \(score_type='probabilities'\) has values "
                                         r"outside \[0, 1\]"):  # was "X (score_type=...)"
        CalibrationMonitor(score_type="probabilities").fit(logits, y)


def test_missing_label_markers_nan_and_minus_one():
    rng = np.random.default_rng(3)
    monitor = CalibrationMonitor(chunk_size=200, min_labels=50).fit(*stream(rng, 3000))
    logits, y = stream(rng, 200)
    marked = y.astype(float)
    marked[:120] = np.nan
    monitor.update(logits, marked)
    assert monitor.to_dict()["chunks"][0]["n_labelled"] == 80
    logits, y = stream(rng, 200)
    y[:50] = -1
    monitor.update(logits, y)
    assert monitor.to_dict()["chunks"][1]["n_labelled"] == 150


@pytest.mark.parametrize("bad, message", [
    (lambda x, y: (x[:, :3], y), "3 score column"),
    (lambda x, y: (np.where(np.arange(100)[:, None] == 50, np.nan, x), y), "non-finite"),
    (lambda x, y: (x, np.where(np.arange(100) == 7, 9, y)),
     r"labels \[9\] that the monitor's reference data did not have: its classes_ are"),
    (lambda x, y: (x, np.where(np.arange(100) == 7, 1.5, np.where(y > 2, np.nan, y))),
     r"labels \[1.5\] that are not whole numbers"),  # not truncated to class 1
    (lambda x, y: (x, y[:-1]), "one label"),
])
def test_a_bad_batch_changes_nothing(bad, message):
    rng = np.random.default_rng(4)
    monitor = CalibrationMonitor(chunk_size=150, min_labels=50).fit(*stream(rng, 3000))
    monitor.update(*stream(rng, 230))  # one complete chunk and an open one
    before = json.dumps(monitor.to_dict())
    with pytest.raises(ValueError, match=message):
        monitor.update(*bad(*stream(rng, 100)))
    assert json.dumps(monitor.to_dict()) == before


def test_an_empty_batch_changes_nothing_and_string_labels_work():
    rng = np.random.default_rng(12)
    names = np.array(["cat", "dog", "eel", "fox"])
    logits, y = stream(rng, 3000)
    monitor = CalibrationMonitor(chunk_size=300, min_labels=50).fit(logits, names[y])
    before = json.dumps(monitor.to_dict())
    monitor.update(np.empty((0, K)), np.empty(0, dtype=str))
    assert json.dumps(monitor.to_dict()) == before
    logits, y = stream(rng, 300)
    labels = names[y].astype(object)
    labels[:100] = None  # not labelled yet
    monitor.update(logits, labels)
    assert monitor.to_dict()["chunks"][0]["n_labelled"] == 200
    monitor.add_labels(np.arange(100), names[y[:100]])
    assert monitor.to_dict()["chunks"][0]["n_labelled"] == 300


def test_restart_from_state_or_pickle_continues_bit_identically():
    rng = np.random.default_rng(6)
    reference = stream(rng, 4000)
    batches = [stream(rng, n) for n in (330, 170, 520, 90, 777)]
    whole = CalibrationMonitor(chunk_size=250, min_labels=50).fit(*reference)
    for batch in batches:
        whole.update(*batch)
    first = CalibrationMonitor(chunk_size=250, min_labels=50).fit(*reference)
    for batch in batches[:2]:
        first.update(*batch)  # 500 rows: a chunk boundary; then the middle of one
    first.update(*batches[2])
    restored = CalibrationMonitor.from_dict(json.loads(json.dumps(first.to_dict())))
    unpickled = pickle.loads(pickle.dumps(first))
    for monitor in (restored, unpickled):
        for batch in batches[3:]:
            monitor.update(*batch)
        assert json.dumps(monitor.to_dict()) == json.dumps(whole.to_dict())


@pytest.mark.parametrize("changed, message", [
    # chunk 2 vanished from the table: the rows were renumbered into chunks of 300
    (dict(chunk_size=300), r"chunk_size=300 was set after fit, which used chunk_size=250"),
    # the thresholds stayed those simulated for alpha=0.05
    (dict(alpha=0.2, drift=1.0), r"alpha=0.2, drift=1.0 were set after fit, which used "
                                 r"alpha=0.05, drift=0.5"),
    (dict(chunk_period="D"), r"chunk_period='D' was set after fit, which used chunk_period="
                             r"None"),
])
def test_parameters_set_after_fit_that_its_state_depends_on_are_refused(changed, message):
    rng = np.random.default_rng(30)
    reference, batch = stream(rng, 3000), stream(rng, 600)
    monitor = CalibrationMonitor(chunk_size=250, min_labels=50).fit(*reference)
    monitor.update(*batch)
    before = json.dumps(monitor.to_dict())
    monitor.set_params(**changed)
    for change_or_save in (lambda: monitor.update(*batch), lambda: monitor.add_labels([], []),
                           monitor.to_dict):
        with pytest.raises(ValueError, match=message):
            change_or_save()
    # set back, the monitor is as it was; what only bounds the kept history may change
    restored = CalibrationMonitor.from_dict(json.loads(before))
    monitor.set_params(**{name: restored.get_params()[name] for name in changed},
                       history=500)
    assert json.dumps(monitor.to_dict()["chunks"]) == json.dumps(restored.to_dict()["chunks"])
    monitor.update(*batch)
    assert monitor.n_rows_ == 1200


@pytest.mark.parametrize("damage, message", [
    (lambda state: state.pop("classes"), "it has no 'classes'"),  # was a KeyError
    # each of these was accepted, and failed (or counted wrongly) later
    (lambda state: state.update(n_rows="710"), "n_rows is '710', not a count of rows"),
    (lambda state: state.update(classes=[0, 1]), "has shape .* as for 2 classes"),
    (lambda state: state["open"]["summary"].update(grad=[0.0]), "'grad' has shape \\(1,\\)"),
    (lambda state: state.update(pending_chunks=[]), "rows waiting for a label have 0 chunks"),
    # edited or damaged numbers: each was accepted, and the monitor then alarmed on
    # every chunk, never, or said "too few labels" forever
    (lambda state: state["params"].update(alpha=5), "'alpha' parameter .* Got 5 instead"),
    (lambda state: state["params"].update(chunk_size=-3), "'chunk_size' parameter"),
    (lambda state: state["params"].update(drift=-1), "'drift' parameter"),
    (lambda state: state.update(cusum_threshold=-1), "alarm thresholds \\[-1, .* not those"),
    (lambda state: state.update(chunk_threshold="nan"), "alarm thresholds .*'nan'"),
    (lambda state: state["reference"].update(nll_sd=-1), "reference numbers .*'nll_sd': -1"),
    (lambda state: state["open"]["summary"].update(n_labelled=-10),
     "chunk 2 holds n=110 rows of which n_labelled=-10 are labelled"),
    (lambda state: state.update(classes=[0, 0, 1, 2]), "name a class twice"),
])
def test_a_damaged_state_is_refused_naming_the_part(damage, message):
    rng = np.random.default_rng(7)
    monitor = CalibrationMonitor(chunk_size=300, min_labels=50).fit(*stream(rng, 2000))
    monitor.update(*stream(rng, 700))
    monitor.update(stream(rng, 10)[0])  # rows waiting for their labels
    state = json.loads(json.dumps(monitor.to_dict()))
    damage(state)
    with pytest.raises(ValueError, match=message):
        CalibrationMonitor.from_dict(state)


def test_state_size_does_not_grow_with_the_rows_seen():
    rng = np.random.default_rng(7)
    monitor = CalibrationMonitor(chunk_size=100, history=20, min_labels=50).fit(
        *stream(rng, 3000))
    sizes = []
    for _ in range(3):
        monitor.update(*stream(rng, 5000))
        sizes.append(len(json.dumps(monitor.to_dict())))
    assert max(sizes) < 1.05 * min(sizes)
    assert len(monitor.to_dict()["chunks"]) == 20


@pytest.mark.parametrize("make_times, message", [
    # Unix seconds were read as nanoseconds: every row in the first day
    (lambda times: (times - np.datetime64("1970-01-01")) // np.timedelta64(1, "s"),
     r"timestamps are numbers \(int64\), whose unit cannot be known"),
    (lambda times: np.where(np.arange(300) == 7, np.array("NaT", dtype=times.dtype), times),
     r"timestamps has no time \(NaT\) at row 7"),  # was "must not decrease: row 8"
])
def test_timestamps_without_a_unit_or_a_time_are_refused(make_times, message):
    rng = np.random.default_rng(5)
    monitor = CalibrationMonitor(chunk_period="D").fit(*stream(rng, 3000))
    logits, y = stream(rng, 300)
    times = np.datetime64("2026-01-01") + np.arange(300) * np.timedelta64(10, "m")
    with pytest.raises(ValueError, match=message):
        monitor.update(logits, y, make_times(times))
    assert monitor.n_rows_ == 0


def test_time_zone_aware_times_are_taken_in_utc():
    pd = pytest.importorskip("pandas", reason="time zones come from pandas")
    rng = np.random.default_rng(5)
    logits, y = stream(rng, 300)
    reference = stream(rng, 3000)
    paris = pd.date_range("2026-01-01 10:00", periods=300, freq="10min", tz="Europe/Paris")
    aware = CalibrationMonitor(chunk_period="D").fit(*reference)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy warned of the dropped time zone
        aware.update(logits, y, paris)
    naive = CalibrationMonitor(chunk_period="D").fit(*reference)
    naive.update(logits, y, paris.tz_convert("UTC").tz_localize(None).to_numpy())
    assert json.dumps(aware.to_dict()) == json.dumps(naive.to_dict())


def _across_summer_time(pd, seed):
    """A reference, 300 rows of logits and labels, their UTC times across the change
    to summer time in Berlin, those rows as a frame (score columns, label), and the
    chunks of a monitor given the times as naive UTC datetime64."""
    rng = np.random.default_rng(seed)
    logits, y = stream(rng, 300)
    reference = stream(rng, 3000)
    utc = pd.date_range("2026-03-28 20:00", periods=300, freq="10min", tz="UTC")
    frame = pd.DataFrame(logits, columns=[f"proba_{k}" for k in range(K)])
    frame["label"] = y
    naive = CalibrationMonitor(chunk_period="6h").fit(*reference)
    naive.update(logits, y, utc.tz_localize(None).to_numpy())
    return reference, logits, y, utc, frame, _chunks_of(naive)


def _chunks_of(monitor):
    return json.dumps(monitor.to_dict()["chunks"])


def test_a_frame_column_or_python_datetimes_with_a_time_zone_chunk_by_their_instants():
    # a frame's time-zone column reached numpy as objects, one Timestamp a row, and
    # numpy warned that it dropped their zones (an error under warnings-as-errors)
    pd = pytest.importorskip("pandas", reason="DataFrame input needs pandas")
    reference, logits, y, utc, frame, expected = _across_summer_time(pd, 6)
    berlin = utc.tz_convert("Europe/Berlin")
    frame["ts"] = berlin
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_frame = CalibrationMonitor(chunk_period="6h").fit(*reference)
        from_frame.update(frame, scores="proba_*", y="label", timestamp="ts")
        from_objects = CalibrationMonitor(chunk_period="6h").fit(*reference)
        from_objects.update(logits, y, np.array(berlin.to_pydatetime(), dtype=object))
    assert _chunks_of(from_frame) == _chunks_of(from_objects) == expected
    mixed = np.array(berlin.to_pydatetime(), dtype=object)
    mixed[3] = mixed[3].replace(tzinfo=None)
    with pytest.raises(ValueError, match=r"mix times with a time zone and times without "
                                         r"one \(row 3 has none\)"):
        CalibrationMonitor(chunk_period="6h").fit(*reference).update(logits, y, mixed)


def test_a_frame_column_of_text_times_is_read_as_the_command_line_reads_it():
    # text with offsets (a CSV read without parse_dates) reached numpy, which warned
    # that it dropped the zones; a column of Python ints was read as nanoseconds
    pd = pytest.importorskip("pandas", reason="DataFrame input needs pandas")
    reference, logits, y, utc, frame, expected = _across_summer_time(pd, 7)
    frame["ts"] = utc.tz_convert("Europe/Berlin").astype(str)  # +01:00, then +02:00
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_text = CalibrationMonitor(chunk_period="6h").fit(*reference)
        from_text.update(frame, scores="proba_*", y="label", timestamp="ts")
    assert _chunks_of(from_text) == expected
    frame["ts"] = np.arange(300).astype(object)
    with pytest.raises(ValueError, match=r"timestamps are numbers \(Python numbers\)"):
        from_text.update(frame, scores="proba_*", y="label", timestamp="ts")


@pytest.mark.parametrize("dtype", [object, str])
def test_arrays_of_text_times_with_offsets_chunk_by_their_instants(dtype):
    # arrays of text (and Spark's string columns, read the same way on the
    # executors) reached numpy, which warned that it dropped the offsets
    pd = pytest.importorskip("pandas", reason="the times across summer time come from pandas")
    reference, logits, y, utc, _, expected = _across_summer_time(pd, 9)
    text = np.array([t.isoformat() for t in utc.tz_convert("Europe/Berlin")], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        monitor = CalibrationMonitor(chunk_period="6h").fit(*reference)
        monitor.update(logits, y, text)
    assert _chunks_of(monitor) == expected
    text[7] = "28/03/2026 21:10"
    with pytest.raises(ValueError, match=r"has '28/03/2026 21:10' at row 7, which is not "
                                         r"an ISO 8601 time"):
        CalibrationMonitor(chunk_period="6h").fit(*reference).update(logits, y, text)


def test_data_frame_with_named_columns_and_periods():
    pd = pytest.importorskip("pandas", reason="DataFrame input needs pandas")
    rng = np.random.default_rng(8)
    monitor = CalibrationMonitor(chunk_size=200, chunk_period="6h", min_labels=50).fit(
        *stream(rng, 3000))
    logits, y = stream(rng, 480)
    frame = pd.DataFrame(logits, columns=[f"proba_{k}" for k in range(K)])
    frame["label"] = y
    frame["ts"] = pd.Timestamp("2026-03-01") + pd.to_timedelta(np.arange(480), unit="min")
    frame["other"] = 0.0
    monitor.update(frame, scores="proba_*", y="label", timestamp="ts")
    table = monitor.to_frame()
    assert list(table["n"]) == [360]  # the first six hours; the rest waits in the open chunk
    assert table["start"][0] == pd.Timestamp("2026-03-01")
    with pytest.raises(ValueError, match="No column of the frame matches"):
        monitor.update(frame, scores="score_*", y="label", timestamp="ts")


def test_score_columns_in_another_order_are_refused_and_change_nothing():
    pd = pytest.importorskip("pandas", reason="DataFrame input needs pandas")
    rng = np.random.default_rng(31)
    names = [f"proba_{k}" for k in range(K)]
    logits, y = stream(rng, 3000)
    monitor = CalibrationMonitor(chunk_size=200, min_labels=50).fit(
        pd.DataFrame(logits, columns=names), y)  # the reference names the classes' columns
    logits, y = stream(rng, 300)
    frame = pd.DataFrame(logits, columns=names).assign(label=y)
    monitor.update(frame, scores="proba_*", y="label")
    saved = json.dumps(monitor.to_dict())
    restored = CalibrationMonitor.from_dict(json.loads(saved))
    # a table written by another job: the pattern matches its columns in its order, and
    # each score was read as another class's, silently
    order = [names[1], names[0], *names[2:]]
    swapped = frame[order + ["label"]]
    message = (r"The batch's score columns are \['proba_1', 'proba_0'.*but the monitor's are "
               r"\['proba_0', 'proba_1'")
    for kept in (monitor, restored):  # the names are part of the saved state
        with pytest.raises(ValueError, match=message):
            kept.update(swapped, scores="proba_*", y="label")
        assert json.dumps(kept.to_dict()) == saved
    with pytest.raises(ValueError, match=message):  # arrays read from a table, named
        monitor.update(swapped[order].to_numpy(), y, score_columns=order)
    monitor.update(swapped[names + ["label"]], scores="proba_*", y="label")  # reordered
    assert monitor.n_rows_ == 600


def test_a_frame_of_scores_alone_is_taken_by_update_as_fit_takes_it():
    # fit(frame, y) was taken, but update(frame, y) asked for scores='proba_*'
    pd = pytest.importorskip("pandas", reason="DataFrame input needs pandas")
    rng = np.random.default_rng(32)
    names = [f"proba_{k}" for k in range(K)]
    (reference, y_reference), (logits, y) = stream(rng, 3000), stream(rng, 600)
    frames = CalibrationMonitor(chunk_size=200, min_labels=50).fit(
        pd.DataFrame(reference, columns=names), pd.Series(y_reference))
    frames.update(pd.DataFrame(logits, columns=names), pd.Series(y))
    arrays = CalibrationMonitor(chunk_size=200, min_labels=50).fit(reference, y_reference)
    arrays.update(logits, y)
    np.testing.assert_array_equal(frames.to_frame()["nll"], arrays.to_frame()["nll"])
    before = json.dumps(frames.to_dict())
    swapped = pd.DataFrame(logits, columns=names)[[names[1], names[0], *names[2:]]]
    with pytest.raises(ValueError, match=r"score columns are \['proba_1', 'proba_0'"):
        frames.update(swapped, y)
    with pytest.raises(ValueError, match=r"has 5 score columns .*'label'\]"):
        frames.update(pd.DataFrame(logits, columns=names).assign(label=y), y)
    assert json.dumps(frames.to_dict()) == before


def test_pandas_missing_labels_of_nullable_columns_mark_rows_not_labelled_yet():
    # a "string" column's pd.NA stopped update with "boolean value of NA is ambiguous"
    pd = pytest.importorskip("pandas", reason="nullable columns need pandas")
    rng = np.random.default_rng(33)
    names = np.array(["cat", "dog", "eel", "fox"])
    (reference, y_reference), (logits, y) = stream(rng, 3000), stream(rng, 600)
    waiting = np.arange(600) % 3 == 0
    marked = np.where(waiting, None, names[y]).astype(object)
    tables = []
    for labels in (marked, pd.array(marked, dtype="string"),
                   pd.Series(pd.Categorical(marked, categories=names)),
                   pd.Series(marked).astype(object).where(~waiting, pd.NA)):
        monitor = CalibrationMonitor(chunk_size=200, min_labels=50).fit(
            reference, names[y_reference])
        tables.append(monitor.update(logits, labels).to_frame())
    for table in tables:
        assert list(table["n_labelled"]) == [133, 133, 134]
        np.testing.assert_array_equal(table["nll"], tables[0]["nll"])


def test_display_draws_the_table(tmp_path):
    matplotlib = pytest.importorskip("matplotlib", reason="plotting needs matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(9)
    monitor = CalibrationMonitor(chunk_size=500).fit(*stream(rng, 5000))
    for chunk in range(12):
        monitor.update(*stream(rng, 500, sharpen=2.0 if chunk >= 6 else 1.0))
    display = monitor.plot()
    assert len(display.line_.get_xdata()) == 12
    assert display.alarms_ is not None
    with pytest.raises(ValueError, match="The 'ax' parameter of MonitorDisplay.from_monitor "
                                         "must be an object implementing 'plot'"):
        monitor.plot(ax="left")  # was an AttributeError inside the drawing
    plt.close("all")


def test_display_of_periods_puts_each_chunk_at_its_start(tmp_path):
    # the x-axis was the chunk's number since 1970 (82166 for a six-hour chunk of 2026)
    matplotlib = pytest.importorskip("matplotlib", reason="plotting needs matplotlib")
    pytest.importorskip("pandas", reason="the table as a frame needs pandas")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(19)
    monitor = CalibrationMonitor(chunk_period="6h").fit(*stream(rng, 5000))
    start = np.datetime64("2026-03-01T00:00", "ns")
    for day in range(3):
        times = start + np.timedelta64(day, "D") + np.arange(1440) * np.timedelta64(1, "m")
        monitor.update(*stream(rng, 1440, sharpen=2.5 if day else 1.0), times)
    display = monitor.plot()
    expected = start + np.arange(11) * np.timedelta64(6, "h")  # the twelfth is open
    np.testing.assert_array_equal(display.line_.get_xdata(), expected)
    assert display.ax_.get_xlabel() == "start of the chunk (UTC)"
    # each chunk in alarm whose verdict differs from the alarm before it is marked with
    # it, at its start (the first chunk of the drift, 360 rows, has a refinement part
    # 2.3 standard errors above the reference's: "retrain", then "recalibrate")
    alarms = monitor.to_frame().query("alarm")
    changes = alarms[alarms["verdict"] != alarms["verdict"].shift()]
    assert len(changes) >= 1 and alarms["start"].iloc[0] == changes["start"].iloc[0]
    assert [label.get_text() for label in display.ax_.texts] == list(changes["verdict"])
    assert [label.xy[0] for label in display.ax_.texts] == [
        start.to_datetime64() for start in changes["start"]]
    assert alarms["verdict"].iloc[-1] == "recalibrate"
    plt.close("all")


def _write_period(path, rng, n, **drift):
    logits, y = stream(rng, n, **drift)
    np.savez(path, scores=logits, labels=y)


def test_command_line_runs_daily_with_a_state_file(tmp_path, capsys):
    rng = np.random.default_rng(10)
    _write_period(tmp_path / "reference.npz", rng, 5000)
    _write_period(tmp_path / "day1.npz", rng, 2000)
    _write_period(tmp_path / "day2.npz", rng, 3000, sharpen=2.5)
    state = tmp_path / "state.json"
    args = ["monitor", str(tmp_path / "reference.npz"), "--chunk-size", "500",
            "--state", str(state)]
    assert main(args[:2] + [str(tmp_path / "day1.npz")] + args[2:]) == 0
    out = capsys.readouterr().out
    assert "verdict" in out and state.exists()
    assert main(args[:2] + [str(tmp_path / "day2.npz")] + args[2:]) == 1  # an alarm
    out = capsys.readouterr().out
    assert "Continuing from" in out and "recalibrate" in out
    saved = state.read_text()
    assert main(args[:2] + [str(tmp_path / "missing.npz")] + args[2:]) == 2
    assert "no such file" in capsys.readouterr().err
    assert state.read_text() == saved  # an error leaves the state as it was
    assert len(json.loads(saved)["chunks"]) == 10


def test_command_line_names_the_bad_file_and_saves_nothing_from_its_run(tmp_path, capsys):
    rng = np.random.default_rng(12)
    _write_period(tmp_path / "reference.npz", rng, 3000)
    _write_period(tmp_path / "day1.npz", rng, 1000)
    logits, y = stream(rng, 1000)
    logits[7, 2] = np.nan
    np.savez(tmp_path / "day2.npz", scores=logits, labels=y)
    state = tmp_path / "state.json"
    args = ["monitor", str(tmp_path / "reference.npz"), "--chunk-size", "500",
            "--state", str(state)]
    assert main(args[:2] + [str(tmp_path / "day1.npz")] + args[2:]) == 0
    capsys.readouterr()
    saved = state.read_text()
    # a good file before the bad one in the same run is not saved either
    day1_again = str(tmp_path / "day1.npz")
    status = main(args[:2] + [day1_again, str(tmp_path / "day2.npz")] + args[2:])
    err = capsys.readouterr().err
    assert status == 2
    assert f"PRODUCTION {tmp_path / 'day2.npz'}: " in err and "non-finite" in err
    assert len(err.strip().splitlines()) == 1
    assert state.read_text() == saved


def test_command_line_reads_csv_tables_with_named_columns(tmp_path, capsys):
    pd = pytest.importorskip("pandas", reason="CSV tables need pandas")
    rng = np.random.default_rng(11)
    for name, n in (("reference", 4000), ("day", 1500)):
        logits, y = stream(rng, n)
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        frame = pd.DataFrame(proba, columns=[f"p{k}" for k in range(K)])
        frame["truth"] = y
        frame["when"] = pd.Timestamp("2026-05-01") + pd.to_timedelta(np.arange(n), unit="min")
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    status = main(["monitor", str(tmp_path / "reference.csv"), str(tmp_path / "day.csv"),
                   "--scores", "p*", "--labels", "truth", "--timestamp", "when",
                   "--chunk-period", "6h",
                   "--json", str(tmp_path / "out.json")])
    out = capsys.readouterr().out
    assert status == 0, out
    chunks = json.loads((tmp_path / "out.json").read_text())["chunks"]
    assert [row["n"] for row in chunks] == [360, 360, 360, 360]  # four whole 6-hour periods
    day = pd.read_csv(tmp_path / "day.csv")
    day["when"] = pd.to_datetime(day["when"]).astype("int64") // 10**9  # Unix seconds
    day.to_csv(tmp_path / "seconds.csv", index=False)
    status = main(["monitor", str(tmp_path / "reference.csv"), str(tmp_path / "seconds.csv"),
                   "--scores", "p*", "--labels", "truth", "--timestamp", "when",
                   "--chunk-period", "6h"])
    assert status == 2  # pandas read them as nanoseconds: the whole day in one period
    assert "the --timestamp column 'when' holds numbers" in capsys.readouterr().err


def test_command_line_reads_a_table_whose_score_columns_come_in_another_order_by_name(
        tmp_path, capsys):
    pd = pytest.importorskip("pandas", reason="CSV tables need pandas")
    rng = np.random.default_rng(32)
    names = [f"p{k}" for k in range(K)]
    for name, n, orders in (("reference", 3000, {"": names}), ("day1", 600, {"": names}),
                            ("day2", 600, {"": names, "_reordered": [
                                names[2], *names[:2], *names[3:]]})):
        logits, y = stream(rng, n)
        frame = pd.DataFrame(logits, columns=names).assign(truth=y)
        for suffix, order in orders.items():
            frame[order + ["truth"]].to_csv(tmp_path / f"{name}{suffix}.csv", index=False)
    tables = []
    for day2 in ("day2.csv", "day2_reordered.csv"):
        state = tmp_path / f"state_{day2}.json"
        options = ["--scores", "p*", "--labels", "truth", "--chunk-size", "300", "--state",
                   str(state)]
        assert main(["monitor", str(tmp_path / "reference.csv"), str(tmp_path / "day1.csv"),
                     *options]) == 0
        # the next day's job, a run of its own: the names came from the state
        assert main(["monitor", str(tmp_path / "reference.csv"), str(tmp_path / day2),
                     *options]) == 0
        tables.append([chunk["nll"] for chunk in json.loads(state.read_text())["chunks"]])
    capsys.readouterr()
    assert len(tables[0]) == 4
    # each column found by its name: the same rows in the same order, equal to rounding
    # (before, the reordered table was refused; before names were kept, misread)
    np.testing.assert_allclose(tables[1], tables[0], rtol=1e-12)
