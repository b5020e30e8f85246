"""``skcal monitor`` run as a scheduled job in real processes: two runs at once lose
nothing, a killed run leaves the state as it was, a damaged state is refused and
kept, a file added twice counts once, and a "recalibrate" verdict is acted on."""

import json
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

from skcal import TemperatureScaling, load_calibrator, save_calibrator
from skcal.cli import main
from skcal.monitoring._state import _READABLE_VERSIONS
from skcal.utils._files import exclusive_lock

K = 4


def _period(path, rng, n, sharpen=1.0, **extra):
    logits = rng.normal(scale=2.0, size=(n, K))
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    y = (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    np.savez(path, scores=(logits * sharpen).astype(np.float32), labels=y, **extra)
    return str(path)


def _skcal(*args):
    """``skcal`` in a process of its own."""
    return subprocess.Popen([sys.executable, "-m", "skcal", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _holds(lock, pid):
    """True once the lock file names process ``pid`` as its holder."""
    return lock.exists() and lock.read_text().strip() == str(pid)


def _probability_table(pd, rng, n):
    """A table of ``n`` rows: columns proba_0.. of a calibrated model, and its labels."""
    logits = rng.normal(scale=2.0, size=(n, K))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    frame = pd.DataFrame(p, columns=[f"proba_{k}" for k in range(K)])
    frame["label"] = (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return frame


def _rows_in(state):
    return json.loads(state.read_text())["n_rows"]


def test_two_runs_at_once_on_one_state_count_both_days(tmp_path):
    rng = np.random.default_rng(0)
    reference = _period(tmp_path / "reference.npz", rng, 5000)
    days = [_period(tmp_path / f"day{d}.npz", rng, 200_000) for d in (1, 2)]
    state = tmp_path / "state.json"
    runs = [_skcal("monitor", reference, day, "--chunk-size", 5000, "--state", state)
            for day in days]
    results = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], results
    assert _rows_in(state) == 400_000
    # one of them waited for the other and continued from its state
    assert sum("Continuing from" in out for out, _ in results) == 1


def test_a_run_killed_mid_update_leaves_the_state_as_it_was(tmp_path):
    rng = np.random.default_rng(1)
    reference = _period(tmp_path / "reference.npz", rng, 5000)
    state = tmp_path / "state.json"
    assert main(["monitor", reference, _period(tmp_path / "day1.npz", rng, 2000),
                 "--chunk-size", "1000", "--state", str(state)]) == 0
    saved = state.read_bytes()
    big = _period(tmp_path / "day2.npz", rng, 3_000_000)
    run = _skcal("monitor", reference, big, "--chunk-size", 1000, "--state", state)
    lock = tmp_path / "state.json.lock"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _holds(lock, run.pid):
        time.sleep(0.02)
    time.sleep(0.5)  # inside the update of three million rows
    assert run.poll() is None, "the run ended before it could be killed; give it more rows"
    os.kill(run.pid, signal.SIGKILL)
    run.communicate()
    assert state.read_bytes() == saved
    json.loads(state.read_text())  # loadable
    # the lock died with its holder: the next run takes it at once
    assert main(["monitor", reference, _period(tmp_path / "day3.npz", rng, 1000),
                 "--chunk-size", "1000", "--state", str(state), "--lock-timeout", "1"]) == 0
    assert _rows_in(state) == 3000


def _after_one_day(tmp_path, rng):
    """(reference file, state file) of a monitor that has added one day."""
    reference = _period(tmp_path / "reference.npz", rng, 3000)
    state = tmp_path / "state.json"
    assert main(["monitor", reference, _period(tmp_path / "day1.npz", rng, 1000),
                 "--chunk-size", "500", "--state", str(state)]) == 0
    return reference, state


def test_a_truncated_state_is_refused_and_left_untouched(tmp_path, capsys):
    rng = np.random.default_rng(2)
    reference, state = _after_one_day(tmp_path, rng)
    damaged = state.read_bytes()[: len(state.read_bytes()) // 2]
    state.write_bytes(damaged)
    capsys.readouterr()
    status = main(["monitor", reference, _period(tmp_path / "day2.npz", rng, 1000),
                   "--chunk-size", "500", "--state", str(state)])
    err = capsys.readouterr().err
    assert status == 2
    assert f"--state {state}: cannot be read as a monitor state" in err
    assert state.read_bytes() == damaged


def test_a_state_of_a_newer_skcal_asks_for_an_upgrade(tmp_path, capsys):
    # it was "not a monitor state (Not a CalibrationMonitor state (to_dict output,
    # version 3))" for a state of version 7, where this skcal writes up to 6
    rng = np.random.default_rng(15)
    reference, state = _after_one_day(tmp_path, rng)
    newer = json.loads(state.read_text())
    newer["version"] = max(_READABLE_VERSIONS) + 1
    state.write_text(json.dumps(newer))
    kept = state.read_bytes()
    capsys.readouterr()
    assert main(["monitor", reference, _period(tmp_path / "day2.npz", rng, 1000),
                 "--chunk-size", "500", "--state", str(state)]) == 2
    err = capsys.readouterr().err
    assert f"A CalibrationMonitor state of version {newer['version']}, written by a newer " \
           "skcal" in err and "Upgrade skcal where the state is read" in err
    assert state.read_bytes() == kept


@pytest.mark.parametrize("options, message", [
    (["--chunk-size", "700"], "--chunk-size 700 differs from the monitor in --state"),
    (["--chunk-period", "D"], "--chunk-period D differs from the monitor in --state"),
    (["--alpha", "0.01"], "--alpha 0.01 differs from the monitor in --state"),
])
def test_options_that_differ_from_the_state_are_refused_and_the_state_kept(
        tmp_path, capsys, options, message):
    rng = np.random.default_rng(9)
    reference, state = _after_one_day(tmp_path, rng)  # chunks of 500 rows, alpha 0.05
    kept = state.read_bytes()
    capsys.readouterr()
    day2 = _period(tmp_path / "day2.npz", rng, 1000)
    status = main(["monitor", reference, day2, *options, "--state", str(state)])
    err = capsys.readouterr().err
    assert status == 2  # was 0, the option silently ignored
    assert message in err
    assert ("(alpha 0.05)" if "--alpha" in options else "(chunks of 500 rows)") in err
    assert state.read_bytes() == kept
    # the state's own values, or none, continue
    assert main(["monitor", reference, day2, "--chunk-size", "500", "--alpha", "0.05",
                 "--state", str(state)]) == 0
    assert _rows_in(state) == 2000


def test_the_same_file_twice_is_counted_once_unless_reprocessed(tmp_path, capsys):
    rng = np.random.default_rng(3)
    reference = _period(tmp_path / "reference.npz", rng, 3000)
    day = _period(tmp_path / "day1.npz", rng, 1500)
    copy = tmp_path / "day1-again.npz"
    copy.write_bytes((tmp_path / "day1.npz").read_bytes())
    state = tmp_path / "state.json"
    args = ["--chunk-size", "500", "--state", str(state)]
    assert main(["monitor", reference, day, *args]) == 0
    assert main(["monitor", reference, str(copy), *args]) == 0
    assert "already processed (same content as" in capsys.readouterr().out
    assert _rows_in(state) == 1500
    assert main(["monitor", reference, str(copy), *args, "--reprocess"]) == 0
    assert _rows_in(state) == 3000


def test_a_file_without_rows_is_named_and_adds_nothing(tmp_path, capsys):
    rng = np.random.default_rng(13)
    reference = _period(tmp_path / "reference.npz", rng, 3000)
    empty = tmp_path / "quiet-day.npz"
    np.savez(empty, scores=np.empty((0, K), dtype=np.float32), labels=np.empty(0, dtype=int))
    state = tmp_path / "state.json"
    args = ["--chunk-size", "500", "--state", str(state)]
    assert main(["monitor", reference, _period(tmp_path / "day1.npz", rng, 1000), *args]) == 0
    kept = state.read_bytes()
    assert main(["monitor", reference, str(empty), *args]) == 0
    assert f"{empty}: no rows; nothing added." in capsys.readouterr().out
    # nothing recorded either: a later quiet day is not "already processed"
    assert state.read_bytes() == kept


def test_late_rows_stop_the_run_unless_dropped_and_counted(tmp_path, capsys):
    rng = np.random.default_rng(14)
    reference = _period(tmp_path / "reference.npz", rng, 3000)
    minutes = np.arange(1440).astype("timedelta64[m]")
    day = [np.datetime64("2026-03-01") + np.timedelta64(d, "D") + minutes for d in range(3)]
    state = tmp_path / "state.json"
    args = ["--chunk-period", "D", "--state", str(state)]
    assert main(["monitor", reference, _period(tmp_path / "day1.npz", rng, 1440,
                                               timestamps=day[0]), *args]) == 0
    assert main(["monitor", reference, _period(tmp_path / "day2.npz", rng, 1440,
                                               timestamps=day[1]), *args]) == 0
    # day 3's file holds 3 stragglers of day 1, whose chunk is complete
    day3 = _period(tmp_path / "day3.npz", rng, 1443,
                   timestamps=np.r_[day[2], day[0][:3]])
    kept = state.read_bytes()
    assert main(["monitor", reference, day3, *args]) == 2
    assert "or pass late_rows='drop' (skcal monitor --late-rows drop)" in capsys.readouterr().err
    assert state.read_bytes() == kept
    assert main(["monitor", reference, day3, *args, "--late-rows", "drop"]) == 0
    out = capsys.readouterr().out
    assert f"{day3}: 3 rows of periods whose chunks are complete left out" in out
    assert "3 rows were left out" in out
    saved = json.loads(state.read_text())
    assert (saved["n_rows_late"], saved["n_rows"]) == (3, 2 * 1440 + 1443)


def test_a_run_waits_for_the_lock_then_names_its_holder(tmp_path, capsys):
    rng = np.random.default_rng(4)
    reference = _period(tmp_path / "reference.npz", rng, 3000)
    state = tmp_path / "state.json"
    with exclusive_lock(f"{state}.lock", timeout=1):
        start = time.monotonic()
        status = main(["monitor", reference, _period(tmp_path / "day.npz", rng, 500),
                       "--state", str(state), "--lock-timeout", "0.5"])
        waited = time.monotonic() - start
    err = capsys.readouterr().err
    assert status == 2 and waited >= 0.5
    assert f"{state}.lock is locked by process {os.getpid()}" in err
    assert not state.exists()


def test_late_labels_join_by_id_through_the_command_line(tmp_path, capsys):
    rng = np.random.default_rng(5)
    reference = _period(tmp_path / "reference.npz", rng, 3000)
    logits = rng.normal(scale=2.0, size=(1000, K)).astype(np.float32)
    y = logits.argmax(axis=1)
    ids = np.array([f"tx{i}" for i in range(1000)])
    np.savez(tmp_path / "day.npz", scores=logits, ids=ids)
    np.savez(tmp_path / "labels.npz", ids=np.append(ids[::-1], "tx-unknown"),
             labels=np.append(y[::-1], 0))
    state = tmp_path / "state.json"
    args = ["--chunk-size", "500", "--state", str(state)]
    assert main(["monitor", reference, str(tmp_path / "day.npz"), *args]) == 0
    assert main(["monitor", reference, str(tmp_path / "day.npz"), *args,
                 "--late-labels", str(tmp_path / "labels.npz")]) == 0
    out = capsys.readouterr().out
    assert "1000 late labels joined, 1 matched no waiting row" in out
    assert "already processed" in out
    chunks = json.loads(state.read_text())["chunks"]
    assert [row["n_labelled"] for row in chunks] == [500, 500]


def test_daily_runs_recalibrate_when_the_verdict_says_so(tmp_path, capsys):
    """Calibrated for five days, then twice too confident: a run ends in
    "recalibrate", writes a temperature near 2, and the days after it, served
    through that calibrator, are "ok" again."""
    rng = np.random.default_rng(6)
    reference = _period(tmp_path / "reference.npz", rng, 10000)
    state, calibrator = tmp_path / "state.json", tmp_path / "calibrator.json"
    for day in range(1, 13):
        path = _period(tmp_path / f"day{day:02d}.npz", rng, 3000,
                       sharpen=2.0 if day >= 6 else 1.0)
        main(["monitor", reference, path, "--chunk-size", "1000", "--state", str(state),
              "--recalibrate", "temperature", "--calibrator", str(calibrator)])
        out = capsys.readouterr().out
        if day < 6:
            assert not calibrator.exists()
    assert "Recalibrated: TemperatureScaling" not in out  # the last day needed none
    fitted = load_calibrator(calibrator, expected_class="TemperatureScaling")
    assert fitted.temperature_ == pytest.approx(2.0, rel=0.1)
    table = json.loads(state.read_text())["chunks"]
    assert max(row["calibrator"] for row in table) == 1
    served = [row for row in table if row["calibrator"] == 1 and row["chunk"] >= 27]
    assert served and all(row["verdict"] == "ok" for row in served)


def test_a_verdict_on_rows_scored_before_the_calibrator_writes_no_other(tmp_path, capsys):
    # with daily chunks, the day's chunk completes in the next day's run: the day
    # after a recalibration, the chunk in alarm was still scored without it, and
    # the run recalibrated again, on top of a calibrator not yet judged
    rng = np.random.default_rng(16)
    reference = _period(tmp_path / "reference.npz", rng, 10000)
    state, calibrator = tmp_path / "state.json", tmp_path / "calibrator.json"
    minutes = np.arange(1440).astype("timedelta64[m]")
    outs = []
    for day in range(1, 10):
        times = np.datetime64("2026-04-01") + np.timedelta64(day, "D") + minutes
        path = _period(tmp_path / f"day{day}.npz", rng, 1440,
                       sharpen=2.0 if day >= 5 else 1.0, timestamps=times)
        main(["monitor", reference, path, "--chunk-period", "D", "--chunk-size", "1440",
              "--state", str(state), "--recalibrate", "temperature",
              "--calibrator", str(calibrator)])
        outs.append(capsys.readouterr().out)
    recalibrated = [day for day, out in enumerate(outs, 1) if "Recalibrated:" in out]
    assert recalibrated == [6]  # on day 5's chunk, complete in day 6's run
    assert "since chunk 20549, the period from 2026-04-06 00:00:00 UTC" in outs[5]  # day 5
    assert ("No calibrator written: the latest verdict is chunk " in outs[6]
            and "scored before calibrator 1 was applied" in outs[6])
    table = json.loads(state.read_text())["chunks"]
    assert [row["calibrator"] for row in table] == [0] * 6 + [1] * 2
    assert [row["verdict"] for row in table[-2:]] == ["ok", "ok"]
    assert load_calibrator(calibrator).temperature_ == pytest.approx(2.0, rel=0.1)


def test_a_calibrator_file_gone_is_named_while_the_state_applies_it(tmp_path, capsys):
    # a rollback of the serving system's calibrator left the monitor applying it to
    # scores served without it, and the run said nothing
    rng = np.random.default_rng(17)
    reference = _period(tmp_path / "reference.npz", rng, 5000)
    state, calibrator = tmp_path / "state.json", tmp_path / "calibrator.json"
    args = ["--chunk-size", "1000", "--state", str(state), "--calibrator", str(calibrator)]
    assert main(["monitor", reference, _period(tmp_path / "day1.npz", rng, 1000), *args]) == 0
    assert "does not exist" not in capsys.readouterr().out  # no calibrator yet: as usual
    logits = rng.normal(scale=2.0, size=(2000, K))
    y = (logits / 1.5 + rng.gumbel(size=logits.shape)).argmax(axis=1)
    save_calibrator(TemperatureScaling().fit(logits, y), calibrator)
    assert main(["monitor", reference, _period(tmp_path / "day2.npz", rng, 1000), *args]) == 0
    assert "Applying the calibrator in" in capsys.readouterr().out
    calibrator.unlink()
    assert main(["monitor", reference, _period(tmp_path / "day3.npz", rng, 1000), *args]) == 0
    assert (f"--calibrator {calibrator} does not exist; the monitor goes on applying "
            "calibrator 1") in capsys.readouterr().out


def test_a_retrain_verdict_writes_no_calibrator_and_says_why(tmp_path, capsys):
    rng = np.random.default_rng(7)
    reference = _period(tmp_path / "reference.npz", rng, 10000)
    logits = rng.normal(scale=2.0, size=(4000, K)).astype(np.float32)
    np.savez(tmp_path / "broken.npz", scores=logits, labels=rng.integers(K, size=4000))
    calibrator = tmp_path / "calibrator.json"
    main(["monitor", reference, str(tmp_path / "broken.npz"), "--chunk-size", "1000",
          "--recalibrate", "temperature", "--calibrator", str(calibrator)])
    out = capsys.readouterr().out
    assert "No calibrator written: the refinement part rose" in out
    assert not calibrator.exists()


def test_tables_carry_ids_and_late_labels_come_as_a_table(tmp_path, capsys):
    pd = pytest.importorskip("pandas", reason="CSV tables need pandas")
    rng = np.random.default_rng(8)

    def table(n, first_id):
        frame = _probability_table(pd, rng, n)
        frame["request"] = [f"r{first_id + i}" for i in range(n)]
        return frame

    table(3000, 0).to_csv(tmp_path / "reference.csv", index=False)
    day = table(1000, 10_000)
    day[["request", "label"]].sample(frac=1, random_state=0).to_csv(
        tmp_path / "labels.csv", index=False)
    day.assign(label=np.nan).to_csv(tmp_path / "day.csv", index=False)
    args = ["monitor", str(tmp_path / "reference.csv"), str(tmp_path / "day.csv"),
            "--chunk-size", "500", "--state", str(tmp_path / "state.json"),
            "--id-column", "request"]
    assert main(args) == 0
    assert "no label yet" in capsys.readouterr().out
    assert main(args + ["--late-labels", str(tmp_path / "labels.csv")]) == 0
    assert "1000 late labels joined, 0 matched no waiting row" in capsys.readouterr().out
    chunks = json.loads((tmp_path / "state.json").read_text())["chunks"]
    assert [row["n_labelled"] for row in chunks] == [500, 500]


def test_a_period_that_is_not_an_npz_is_refused_as_such_and_the_state_kept(tmp_path, capsys):
    reference, state = _after_one_day(tmp_path, np.random.default_rng(5))
    kept = state.read_bytes()
    renamed = tmp_path / "day2.npz"
    renamed.write_text("id,label,proba_0\n1,0,0.5\n")  # a CSV under an .npz name
    capsys.readouterr()
    status = main(["monitor", reference, str(renamed), "--chunk-size", "500",
                   "--state", str(state)])
    err = capsys.readouterr().err
    assert status == 2
    # numpy.load took it for a pickle and suggested allow_pickle=
    assert f"{renamed} is not a .npz file: it does not begin as numpy.savez writes one" in err
    assert "allow_pickle" not in err
    assert state.read_bytes() == kept


def test_local_times_across_a_change_to_summer_time_chunk_as_their_instants(tmp_path, capsys):
    # a log written in local time carries +01:00 before the change and +02:00 after;
    # pandas refused the mixed offsets ("Mixed timezones detected. Pass utc=True"),
    # which a command-line user cannot pass, so the nightly job failed twice a year
    pd = pytest.importorskip("pandas", reason="CSV tables need pandas")
    rng = np.random.default_rng(12)

    def table(n, start):
        frame = _probability_table(pd, rng, n)
        frame["ts"] = pd.date_range(start, periods=n, freq="min", tz="UTC")
        return frame

    reference, day = table(3000, "2026-03-20"), table(2000, "2026-03-28 12:00")
    reference.to_csv(tmp_path / "reference.csv", index=False)
    day.to_csv(tmp_path / "day_utc.csv", index=False, date_format="%Y-%m-%d %H:%M:%S")
    local = day.assign(ts=day["ts"].dt.tz_convert("Europe/Berlin"))
    local.to_csv(tmp_path / "day_local.csv", index=False)
    assert {"+01:00", "+02:00"} <= {line.split(",")[-1][-6:] for line in
                                    (tmp_path / "day_local.csv").read_text().splitlines()}
    tables = []
    for name in ("day_utc", "day_local"):
        state = tmp_path / f"{name}.json"
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy warned of the time zone it dropped
            status = main(["monitor", str(tmp_path / "reference.csv"),
                           str(tmp_path / f"{name}.csv"), "--chunk-period", "6h",
                           "--timestamp", "ts", "--state", str(state)])
        out, err = capsys.readouterr()
        assert status in (0, 1), err
        # a chunk of a period is named by its start, not by its number since 1970
        assert out.startswith("start (UTC)")
        assert "\n2026-03-28 12:00:00       360       360" in out
        assert "Latest chunk 82166 (from 2026-03-29 12:00:00 UTC): " in out
        tables.append([(row["start"], row["n"]) for row in
                       json.loads(state.read_text())["chunks"]])
    assert tables[0] == tables[1]
    # 12:00 UTC on 2026-03-28 is the start of a six-hour chunk, each full one 360 rows
    assert tables[0][0] == (pd.Timestamp("2026-03-28 12:00").value, 360)


def test_a_mistyped_recalibration_method_fails_the_first_run_not_the_day_of_a_drift(
        tmp_path, capsys):
    rng = np.random.default_rng(8)
    reference = _period(tmp_path / "reference.npz", rng, 3000)
    calm = _period(tmp_path / "day.npz", rng, 2000)  # no drift: nothing to recalibrate yet
    state = tmp_path / "state.json"
    # was exit 0 and "No calibrator written: the latest chunk is not in alarm"
    status = main(["monitor", reference, calm, "--chunk-size", "1000", "--state", str(state),
                   "--recalibrate", "temprature", "--calibrator", str(tmp_path / "c.json")])
    err = capsys.readouterr().err
    assert status == 2
    assert "--recalibrate: Unknown calibration method 'temprature'; choose among" in err
    assert not state.exists()


def test_a_recalibration_that_cannot_be_fitted_keeps_the_run_and_says_why(tmp_path, capsys):
    """The rows since the drift hold one class only: no temperature can be fitted
    on them. The run still saves the monitor's state and reports the alarm; it
    was exit 2 with the state not saved, and every rerun failed the same way."""
    rng = np.random.default_rng(9)
    reference = _period(tmp_path / "reference.npz", rng, 3000)
    logits = rng.normal(scale=2.0, size=(2000, K)).astype(np.float32)
    logits[:, 1] += 6.0  # sure of class 1, and every row is of class 0
    np.savez(tmp_path / "day.npz", scores=logits, labels=np.zeros(2000, dtype=int))
    state, calibrator = tmp_path / "state.json", tmp_path / "calibrator.json"
    status = main(["monitor", reference, str(tmp_path / "day.npz"), "--chunk-size", "1000",
                   "--state", str(state), "--recalibrate", "temperature",
                   "--calibrator", str(calibrator)])
    out = capsys.readouterr().out
    assert status == 1  # the alarm
    assert ("No calibrator written: temperature cannot be fitted on the 2000 labelled rows "
            "of this run since the drift began (chunk 0): y has only one class (0)") in out
    assert not calibrator.exists()
    assert _rows_in(state) == 2000  # the production rows


@pytest.mark.parametrize("seed", [0, 1])
def test_a_catch_up_run_recalibrates_on_the_rows_since_the_drift_not_an_earlier_one(
        tmp_path, capsys, seed):
    """One run over 30 files (a job catching up): too confident in files 5-8, then
    calibrated, then too confident from file 18. The CUSUM, raised by the episode,
    had not come back to 0 by file 18, and its run's first chunk (5) was the onset:
    the temperature was fitted on rows of both models."""
    rng = np.random.default_rng(seed)
    reference = _period(tmp_path / "reference.npz", rng, 40000)
    days = [_period(tmp_path / f"day{day:02d}.npz", rng, 2000,
                    sharpen=1.5 if 5 <= day < 9 or day >= 18 else 1.0) for day in range(30)]
    calibrator = tmp_path / "calibrator.json"
    main(["monitor", reference, *days, "--chunk-size", "2000", "--state",
          str(tmp_path / "state.json"), "--recalibrate", "temperature", "--calibrator",
          str(calibrator)])
    out = capsys.readouterr().out
    (since,) = [int(line.split("since chunk ")[1].split(",")[0])
                for line in out.splitlines() if line.startswith("Recalibrated:")]
    # never before the change; late (by 4 chunks on seed 1), it leaves fewer rows, all
    # of the new model
    assert 18 <= since <= 24
    fitted = load_calibrator(calibrator, expected_class="TemperatureScaling")
    # within 5 % of the factor (a seeded fit on 20000 rows or more)
    assert fitted.temperature_ == pytest.approx(1.5, rel=0.05)
