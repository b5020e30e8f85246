"""With ``chunk_period``, rows come in any order: a log written by arrival time
holds stragglers, within a batch and from one batch to the next. Each row is
summarised in its period's chunk while that chunk is open; a complete chunk
takes no more rows, and a batch that holds some changes nothing."""

import json

import numpy as np
import pytest

from skcal import CalibrationMonitor

N = 600
TEN_MINUTES = np.timedelta64(10, "m")
START = np.datetime64("2026-01-01")


def _stream(rng, n, scale=2.0):
    logits = rng.normal(scale=scale, size=(n, 3))
    return logits, (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)


@pytest.fixture
def day_rows():
    """A reference; 600 rows ten minutes apart (144 a day, so days 0-4), every
    fifth one unlabelled until later, with ids."""
    rng = np.random.default_rng(5)
    reference = _stream(rng, 3000)
    logits, y = _stream(rng, N)
    labels = y.astype(float)
    labels[::5] = np.nan
    return reference, logits, y, labels, START + np.arange(N) * TEN_MINUTES, 1000 + np.arange(N)


def _monitor(reference):
    return CalibrationMonitor(chunk_period="D", min_labels=20).fit(*reference)


def _add(monitor, rows, logits, labels, times, ids):
    return monitor.update(logits[rows], labels[rows], times[rows], ids=ids[rows])


def _assert_same(a, b):
    ta, tb = a.to_dict()["chunks"], b.to_dict()["chunks"]
    assert [row["chunk"] for row in ta] == [row["chunk"] for row in tb]
    for row_a, row_b in zip(ta, tb):
        for key, value in row_a.items():
            if isinstance(value, float):
                # the same per-row terms summed in another order: a few float64
                # roundings apart
                np.testing.assert_allclose(value, row_b[key], rtol=1e-12, atol=1e-14,
                                           err_msg=key)
            else:
                assert value == row_b[key], key


def test_stragglers_within_and_across_batches_equal_the_rows_in_time_order(day_rows):
    # the nightly job stopped at "timestamps must not decrease" or at "the batch
    # starts before the last row already added"
    reference, logits, y, labels, times, ids = day_rows
    in_order = _monitor(reference)
    _add(in_order, np.arange(300), logits, labels, times, ids)
    _add(in_order, np.arange(300, N), logits, labels, times, ids)
    rng = np.random.default_rng(0)
    # the first batch lacks rows 290-299 of day 2 (rows 288-431), the day still
    # open when it ends; they come with the second batch, which is shuffled too
    shuffled = _monitor(reference)
    _add(shuffled, rng.permutation(290), logits, labels, times, ids)
    _add(shuffled, rng.permutation(np.arange(290, N)), logits, labels, times, ids)
    _assert_same(shuffled, in_order)
    assert [row["n"] for row in shuffled.to_dict()["chunks"]] == [144, 144, 144, 144]
    assert shuffled._last_time == in_order._last_time
    waiting = np.arange(0, N, 5)
    for monitor in (in_order, shuffled):  # the late labels find their rows by id
        monitor.add_labels(ids=ids[waiting][::-1], y=y[waiting][::-1])
    _assert_same(shuffled, in_order)
    assert shuffled.to_dict()["chunks"][0]["n_labelled"] == 144


def test_rows_of_a_complete_chunk_are_refused_and_change_nothing(day_rows):
    reference, logits, y, labels, times, ids = day_rows
    monitor = _monitor(reference)
    _add(monitor, np.arange(300), logits, labels, times, ids)  # days 0-1 complete
    before = json.dumps(monitor.to_dict())
    late = np.r_[np.arange(300, 310), [100, 200]]  # day 2, then a row of day 0 and of 1
    with pytest.raises(ValueError, match=r"2 row\(s\) of the batch \(the first at row 10\) "
                                         r"fall in periods whose chunks are complete; rows "
                                         r"are added to the open chunk, from 2026-01-03"):
        monitor.update(logits[late], labels[late], times[late], ids=ids[late] + N)
    assert json.dumps(monitor.to_dict()) == before


def test_weekly_chunks_run_monday_to_monday_and_older_states_keep_their_weeks():
    # weeks were counted from 1970-01-01, a Thursday: chunk_period="W" gave chunks
    # from Thursday to Thursday
    rng = np.random.default_rng(6)
    reference = _stream(rng, 3000)
    logits, y = _stream(rng, 3000)
    times = np.datetime64("2026-11-02") + np.arange(3000) * TEN_MINUTES  # a Monday on
    weekly = CalibrationMonitor(chunk_period="W").fit(*reference).update(logits, y, times)
    table = weekly.to_frame()
    assert [t.day_name() for t in table["start"]] == ["Monday"] * 2
    assert list(table["n"]) == [1008, 1008]  # 7 days of 144 rows
    for period in ("2W", np.timedelta64(14, "D")):
        fortnight = CalibrationMonitor(chunk_period=period).fit(*reference)
        assert fortnight.update(logits, y, times).to_frame()["start"][0].day_name() == "Monday"
    state = json.loads(json.dumps(weekly.to_dict()))
    assert state["version"] == 8  # weeks from a Monday (5), and the open chunk's summary
    restored = CalibrationMonitor.from_dict(state)
    restored.update(logits[:10], y[:10], times[-1] + np.arange(1, 11) * TEN_MINUTES)
    # a state written before (no origin): its weeks still run from Thursday
    older = dict(state, version=3)
    del older["period_origin"]
    thursday = CalibrationMonitor.from_dict(older)
    assert thursday.chunk_of(timestamps=[np.datetime64("2026-11-05T00:00")])[0] == (
        thursday.chunk_of(timestamps=[np.datetime64("2026-11-04T23:59")])[0] + 1)
    assert restored.chunk_of(timestamps=[np.datetime64("2026-11-09T00:00")])[0] == (
        restored.chunk_of(timestamps=[np.datetime64("2026-11-08T23:59")])[0] + 1)
    daily = CalibrationMonitor(chunk_period="D").fit(*reference).update(logits, y, times)
    # no origin: version 8 only for the open chunk's summary, not 5 for the weeks
    assert daily.to_dict()["version"] == 8
    assert daily.to_dict()["period_origin"] == 0


def test_late_rows_dropped_are_counted_and_the_others_added_as_without_them(day_rows):
    # a straggler two days late stopped the nightly job every night: the batch was
    # refused whole, and so was every rerun
    reference, logits, y, labels, times, ids = day_rows
    dropping, without = _monitor(reference), _monitor(reference)
    for monitor in (dropping, without):
        _add(monitor, np.arange(300), logits, labels, times, ids)  # days 0-1 complete
    late = np.r_[np.arange(300, 310), [100, 200], np.arange(310, N)]  # rows 10, 11 late
    dropping.update(logits[late], labels[late], times[late], ids=ids[late],
                    late_rows="drop")
    on_time = np.r_[np.arange(300, 310), np.arange(310, N)]
    _add(without, on_time, logits, labels, times, ids)
    assert dropping.n_rows_late_ == 2 and without.n_rows_late_ == 0
    _assert_same(dropping, without)
    assert "2 rows were left out" in dropping.summary()
    # the rows after them keep their numbers in arrival order: two more than without
    assert dropping.n_rows_ == without.n_rows_ + 2
    waiting_rows = np.flatnonzero(np.isnan(labels[late])) + 300
    waiting_rows = waiting_rows[~np.isin(late[waiting_rows - 300], [100, 200])]
    dropping.add_labels(rows=waiting_rows, y=y[late[waiting_rows - 300]])
    without.add_labels(ids=ids[late[waiting_rows - 300]], y=y[late[waiting_rows - 300]])
    _assert_same(dropping, without)
    # the count is kept with the state; older states, which had none, read 0
    state = json.loads(json.dumps(dropping.to_dict()))
    assert CalibrationMonitor.from_dict(state).n_rows_late_ == 2
    del state["n_rows_late"]
    assert CalibrationMonitor.from_dict(state).n_rows_late_ == 0
    with pytest.raises(ValueError, match="tallies .* are not counts"):
        CalibrationMonitor.from_dict(dict(state, n_rows_late=-2))


def test_late_rows_takes_error_or_drop_and_drop_needs_periods(day_rows):
    reference, logits, y, labels, times, ids = day_rows
    monitor = _monitor(reference)
    _add(monitor, np.arange(300), logits, labels, times, ids)
    late = np.array([100, 200])
    with pytest.raises(ValueError, match="or pass late_rows='drop'"):
        monitor.update(logits[late], labels[late], times[late])
    before = json.dumps(monitor.to_dict())
    with pytest.raises(ValueError, match="late_rows must be 'error' or 'drop'; got 'skip'"):
        monitor.update(logits[late], labels[late], times[late], late_rows="skip")
    assert json.dumps(monitor.to_dict()) == before
    monitor.update(logits[late], labels[late], times[late], late_rows="drop")  # all late
    assert (monitor.n_rows_late_, monitor.n_rows_) == (2, 302)
    by_rows = CalibrationMonitor(chunk_size=100).fit(*reference)
    with pytest.raises(ValueError, match="numbered as they arrive, so no row is late"):
        by_rows.update(logits, labels, late_rows="drop")


def test_a_monitor_pickled_before_late_rows_counts_from_zero(day_rows):
    import pickle

    reference, logits, y, labels, times, ids = day_rows
    monitor = _monitor(reference)
    _add(monitor, np.arange(300), logits, labels, times, ids)
    del monitor.n_rows_late_  # as an older version pickled it
    old = pickle.loads(pickle.dumps(monitor))
    old.update(logits[[100, 300]], labels[[100, 300]], times[[100, 300]], late_rows="drop")
    assert old.n_rows_late_ == 1 and "1 rows were left out" in old.summary()
    assert CalibrationMonitor.from_dict(old.to_dict()).n_rows_late_ == 1
