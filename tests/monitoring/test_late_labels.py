"""Labels joined by id, in any order and over any number of calls; repeated
batches skipped; unmatched labels counted, never silently dropped."""

import base64
import json

import numpy as np
import pytest

from skcal import CalibrationMonitor
from test_monitor import stream


@pytest.fixture
def monitors():
    """A monitor given each row's label at once, and one given them later by id."""
    rng = np.random.default_rng(20)
    reference = stream(rng, 4000)
    logits, y = stream(rng, 1200)
    ids = np.array([f"req-{i:05d}" for i in rng.permutation(1200)])
    direct = CalibrationMonitor(chunk_size=400, min_labels=50).fit(*reference)
    direct.update(logits, y)
    later = CalibrationMonitor(chunk_size=400, min_labels=50).fit(*reference)
    later.update(logits, ids=ids)
    return direct, later, ids, y


def _numbers(monitor):
    return [{key: row[key] for key in ("n_labelled", "nll", "accuracy", "brier")}
            for row in monitor.to_dict()["chunks"]]


def test_labels_by_id_shuffled_and_split_equal_labels_given_at_once(monitors):
    direct, later, ids, y = monitors
    order = np.random.default_rng(21).permutation(ids.shape[0])
    for part in np.array_split(order, 5):  # five deliveries, each in its own order
        later.add_labels(ids=ids[part], y=y[part])
    for got, want in zip(_numbers(later), _numbers(direct)):
        assert got["n_labelled"] == want["n_labelled"] == 400
        # waiting rows keep float32 log-probabilities: sums agree to float32 rounding
        for key in ("nll", "accuracy", "brier"):
            assert got[key] == pytest.approx(want[key], rel=1e-6)
    assert later.n_labels_unmatched_ == 0


def test_unknown_and_already_labelled_ids_are_counted_not_dropped(monitors):
    _, later, ids, y = monitors
    later.add_labels(ids=ids[:10], y=y[:10])
    later.add_labels(ids=np.concatenate([ids[5:15], ["never-seen"]]),
                     y=np.concatenate([y[5:15], [0]]))
    assert later.n_labels_unmatched_ == 6  # five labelled already, one unknown
    assert "6 late labels matched no waiting row" in later.summary()
    restored = CalibrationMonitor.from_dict(json.loads(json.dumps(later.to_dict())))
    assert restored.n_labels_unmatched_ == 6


def test_integer_and_text_ids_are_the_same_ids():
    rng = np.random.default_rng(22)
    monitor = CalibrationMonitor(chunk_size=300, min_labels=50).fit(*stream(rng, 3000))
    logits, y = stream(rng, 300)
    monitor.update(logits, ids=np.arange(1000, 1300))
    monitor.add_labels(ids=[str(i) for i in range(1000, 1300)], y=y)
    assert monitor.to_dict()["chunks"][0]["n_labelled"] == 300


@pytest.mark.parametrize("added, joined", [("int", "float"), ("float", "int"),
                                            ("float", "text")])
def test_whole_number_ids_stored_as_floats_are_the_same_ids(added, joined):
    # pandas reads an id column with a gap as floats: 1000.0 was compared as
    # "1000.0" and matched no row added as 1000, silently
    rng = np.random.default_rng(23)
    monitor = CalibrationMonitor(chunk_size=300, min_labels=50).fit(*stream(rng, 3000))
    logits, y = stream(rng, 300)
    ids = np.arange(1000, 1300)
    as_kind = {"int": ids, "float": ids.astype(float), "text": ids.astype(str)}
    monitor.update(logits, ids=as_kind[added])
    monitor.add_labels(ids=as_kind[joined], y=y)
    assert monitor.to_dict()["chunks"][0]["n_labelled"] == 300
    assert monitor.n_labels_unmatched_ == 0


def test_ids_that_are_not_whole_numbers_stay_distinct():
    rng = np.random.default_rng(24)
    monitor = CalibrationMonitor(chunk_size=300, min_labels=50).fit(*stream(rng, 3000))
    logits, y = stream(rng, 3)
    monitor.update(logits, ids=np.array([17.5, 18.0, 19.0]))
    # text that spells a float is text: "19.0" is not the id 19
    monitor.add_labels(ids=np.array([17.0, 18.0, "19.0"], dtype=object), y=y)
    assert monitor.n_labels_unmatched_ == 2
    assert list(monitor._pending.ids) == ["17.5", "19"]


@pytest.mark.parametrize("where", ["update", "add_labels"])
def test_a_repeated_id_in_one_batch_is_an_error_that_changes_nothing(monitors, where):
    _, later, ids, y = monitors
    before = json.dumps(later.to_dict())
    with pytest.raises(ValueError, match="repeats"):
        if where == "update":
            logits, _ = stream(np.random.default_rng(23), 3)
            later.update(logits, ids=["a", "b", "a"])
        else:
            later.add_labels(ids=[ids[0], ids[1], ids[0]], y=y[:3])
    assert json.dumps(later.to_dict()) == before


def test_an_id_already_waiting_is_refused(monitors):
    _, later, ids, _ = monitors
    logits, _ = stream(np.random.default_rng(24), 2)
    with pytest.raises(ValueError, match="already waiting"):
        later.update(logits, ids=[ids[3], "fresh"])


def test_a_repeated_batch_id_is_skipped_with_a_warning():
    rng = np.random.default_rng(25)
    monitor = CalibrationMonitor(chunk_size=500, min_labels=50).fit(*stream(rng, 3000))
    batch = stream(rng, 700)
    monitor.update(*batch, batch_id="2026-12-01", batch_name="day1.npz")
    before = json.dumps(monitor.to_dict())
    with pytest.warns(UserWarning, match="added already .as 'day1.npz'."):
        monitor.update(*batch, batch_id="2026-12-01")
    assert json.dumps(monitor.to_dict()) == before
    assert monitor.n_rows_ == 700


def test_batch_ids_are_bounded_like_the_history():
    rng = np.random.default_rng(26)
    monitor = CalibrationMonitor(chunk_size=100, history=5, min_labels=50).fit(
        *stream(rng, 3000))
    for day in range(8):
        monitor.update(*stream(rng, 100), batch_id=f"day{day}")
    assert [monitor.has_batch(f"day{d}") for d in (0, 2, 3, 7)] == [None, None, "day3", "day7"]


def test_labels_by_row_number_equal_labels_given_at_once():
    rng = np.random.default_rng(27)
    reference, batch = stream(rng, 3000), stream(rng, 300)
    direct = CalibrationMonitor(chunk_size=300, min_labels=50).fit(*reference)
    direct.update(*batch)
    later = CalibrationMonitor(chunk_size=300, min_labels=50).fit(*reference)
    later.update(batch[0])
    order = rng.permutation(300)
    later.add_labels(order.astype(float), batch[1][order])  # 3.0 is row 3
    got, want = _numbers(later)[0], _numbers(direct)[0]
    assert got["n_labelled"] == want["n_labelled"] == 300
    # waiting rows keep float32 log-probabilities: sums agree to float32 rounding
    assert got["nll"] == pytest.approx(want["nll"], rel=1e-6)


@pytest.mark.parametrize("rows, message", [
    ([3, 3], r"rows repeats \[3\]; a row gets one label"),  # it counted twice
    ([1.5, 4], r"row numbers \(whole numbers.*got \[1.5, 4.0\]"),  # was row 1
    (["req-00001", "req-00002"], r"got \['req-00001', 'req-00002'\].*add_labels\(ids="),
    ([[1, 2]], r"one row number per label \(1-D\); got shape \(1, 2\)"),
])
def test_row_numbers_that_are_not_distinct_whole_numbers_change_nothing(monitors, rows,
                                                                         message):
    _, later, _, y = monitors
    before = json.dumps(later.to_dict())
    with pytest.raises(ValueError, match=message):
        later.add_labels(rows, y[:2])
    assert json.dumps(later.to_dict()) == before


def test_numeric_ids_given_as_row_numbers_are_pointed_to_ids():
    rng = np.random.default_rng(28)
    monitor = CalibrationMonitor(chunk_size=300, min_labels=50).fit(*stream(rng, 3000))
    logits, y = stream(rng, 300)
    monitor.update(logits, ids=np.arange(5000, 5300))
    with pytest.raises(ValueError, match=r"Rows \[5000, 5001\] are not waiting.*"
                                         r"ids of rows that wait: pass them as ids"):
        monitor.add_labels([5000, 5001], y[:2])
    monitor.add_labels(ids=[5000, 5001], y=y[:2])
    assert monitor.to_dict()["chunks"][0]["n_labelled"] == 2


@pytest.mark.parametrize("kwargs, message", [
    (dict(ids=["req-00001"]), "No y was given"),  # was a length or missing-label error
    (dict(y=[1]), "Neither rows= nor ids= was given"),  # was "..., not both"
    (dict(rows=[0], ids=["req-00001"], y=[1]), "Both rows= and ids= were given"),
])
def test_label_arguments_that_are_missing_or_doubled_are_named(monitors, kwargs, message):
    _, later, _, _ = monitors
    with pytest.raises(ValueError, match=message + "; pass the labels that arrived"):
        later.add_labels(**kwargs)


def test_labels_by_id_for_rows_added_without_ids_are_refused_with_the_fix():
    # every id used to be counted as unmatched, so the labels were lost quietly
    rng = np.random.default_rng(23)
    monitor = CalibrationMonitor(chunk_size=300, min_labels=50).fit(*stream(rng, 3000))
    logits, y = stream(rng, 300)
    monitor.update(logits)
    before = monitor.to_dict()
    with pytest.raises(ValueError, match="300 rows wait for a label, but none was added "
                                         "with an id.*ids=.*rows="):
        monitor.add_labels(ids=np.arange(300), y=y)
    assert monitor.to_dict() == before
    monitor.add_labels(rows=np.arange(300), y=y)  # by row number they join
    assert monitor.to_dict()["chunks"][0]["n_labelled"] == 300


def test_waiting_rows_are_saved_as_float32_bytes_and_older_states_still_read(monitors):
    # the waiting rows' log-probabilities were written as float64 numbers, about 20
    # characters a value: 100 MB of state for 50,000 rows of 100 classes
    _, later, ids, y = monitors
    later.add_labels(ids=ids[:100], y=y[:100])
    state = json.loads(json.dumps(later.to_dict()))
    assert state["version"] == 8  # bytes (4), and the summaries of chunks waiting for labels
    saved = state["pending_log_proba"]
    assert set(saved) == {"float32_base64"}
    assert len(saved["float32_base64"]) == 4 * ((4 * 1100 * 4 + 2) // 3)  # 4 bytes a value
    restored = CalibrationMonitor.from_dict(state)
    np.testing.assert_array_equal(restored._pending.log_proba, later._pending.log_proba)
    assert restored._pending.log_proba.dtype == np.float32
    # a state written before version 4: the same values as a list of numbers
    older = dict(state, version=3,
                 pending_log_proba=later._pending.log_proba.astype(np.float64).tolist())
    np.testing.assert_array_equal(CalibrationMonitor.from_dict(older)._pending.log_proba,
                                  later._pending.log_proba)
    restored.add_labels(ids=ids[100:], y=y[100:])
    later.add_labels(ids=ids[100:], y=y[100:])
    assert restored.to_dict()["chunks"] == later.to_dict()["chunks"]
    data = base64.b64decode(saved["float32_base64"])
    for damaged, message in (
            (base64.b64encode(data[:-16]).decode(),  # a row short
             "waiting for a label have 1100 chunks and 4396 log-probabilities for 4 classes"),
            (saved["float32_base64"][:-8], "float32 values hold 17595 bytes, not a multiple"),
            ("not base64!", "Not a valid CalibrationMonitor state")):
        with pytest.raises(ValueError, match=message):
            CalibrationMonitor.from_dict(dict(state, pending_log_proba={
                "float32_base64": damaged}))


def test_a_state_without_waiting_rows_keeps_the_version_older_skcal_reads(monitors):
    direct, *_ = monitors
    assert direct.to_dict()["version"] in (2, 3)
