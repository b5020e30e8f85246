"""``skcal monitor`` runs that only join labels which arrived on their own, and
the exit status when those labels reveal an alarm."""

import json

import numpy as np
import pytest

from skcal import TemperatureScaling, VectorScaling, load_calibrator, save_calibrator
from skcal.cli import main

K = 4


def _day(path, rng, n, *, sharpen=1.0, labelled=True, ids=None):
    """A period of a model ``sharpen`` times too confident; its labels apart."""
    logits = rng.normal(scale=2.0, size=(n, K))
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    y = (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    arrays = {"scores": (logits * sharpen).astype(np.float32)}
    if labelled:
        arrays["labels"] = y
    if ids is not None:
        arrays["ids"] = ids
    np.savez(path, **arrays)
    return str(path), y


def test_a_run_of_late_labels_alone_joins_them_and_exits_1_on_the_alarm_they_reveal(
        tmp_path, capsys):
    # PRODUCTION was required, so a job for labels alone had to pass a day's file
    # again; and late labels that put a chunk into alarm ended the run with status 0
    rng = np.random.default_rng(30)
    reference, _ = _day(tmp_path / "reference.npz", rng, 4000)
    ids = np.array([f"tx{i}" for i in range(2000)])
    day, y = _day(tmp_path / "day.npz", rng, 2000, sharpen=3.0, labelled=False, ids=ids)
    np.savez(tmp_path / "labels.npz", ids=ids[::-1], labels=y[::-1])
    state = tmp_path / "state.json"
    assert main(["monitor", reference, day, "--chunk-size", "1000", "--state", str(state)]) == 0
    capsys.readouterr()
    status = main(["monitor", reference, "--state", str(state),
                   "--late-labels", str(tmp_path / "labels.npz")])
    out = capsys.readouterr().out
    assert "2000 late labels joined, 0 matched no waiting row" in out
    chunks = json.loads(state.read_text())["chunks"]
    assert [row["n_labelled"] for row in chunks] == [1000, 1000]
    assert any(row["alarm"] for row in chunks)
    assert status == 1
    # the same labels again (a re-run) change nothing and raise no alarm anew; they
    # are skipped, not counted as 2000 labels that matched no waiting row
    assert main(["monitor", reference, "--state", str(state),
                 "--late-labels", str(tmp_path / "labels.npz")]) == 0
    assert "labels.npz: already processed (same content as" in capsys.readouterr().out
    assert json.loads(state.read_text())["n_labels_unmatched"] == 0


def test_a_run_with_nothing_to_add_or_no_state_to_join_labels_to_is_refused(tmp_path, capsys):
    rng = np.random.default_rng(31)
    reference, _ = _day(tmp_path / "reference.npz", rng, 3000)
    np.savez(tmp_path / "labels.npz", ids=np.array(["a"]), labels=np.array([0]))
    state = tmp_path / "state.json"
    assert main(["monitor", reference, "--state", str(state)]) == 2
    assert "nothing to add: give PRODUCTION files, --late-labels, or both" in (
        capsys.readouterr().err)
    assert main(["monitor", reference, "--state", str(state),
                 "--late-labels", str(tmp_path / "labels.npz")]) == 2
    assert "give its --state file" in capsys.readouterr().err
    assert not state.exists()


def test_late_labels_by_id_for_rows_added_without_ids_end_the_run_with_the_fix(
        tmp_path, capsys):
    # every label was counted as "matched no waiting row" and the run ended with 0
    rng = np.random.default_rng(32)
    reference, _ = _day(tmp_path / "reference.npz", rng, 3000)
    day, y = _day(tmp_path / "day.npz", rng, 1000, labelled=False)
    np.savez(tmp_path / "labels.npz", ids=np.arange(1000), labels=y)
    state = tmp_path / "state.json"
    assert main(["monitor", reference, day, "--chunk-size", "500", "--state", str(state)]) == 0
    kept = state.read_bytes()
    capsys.readouterr()
    assert main(["monitor", reference, "--state", str(state),
                 "--late-labels", str(tmp_path / "labels.npz")]) == 2
    err = capsys.readouterr().err
    assert "1000 rows wait for a label, but none was added with an id" in err
    assert "--id-column, or an array 'ids' in .npz files" in err
    assert state.read_bytes() == kept


def _recalibrated_on_late_labels(tmp_path, capsys, seed, sharpen, method, installed=None):
    """A day of rows added without labels, then a run that joins their labels with
    ``--recalibrate method``: (its output, its exit status, the state's chunks,
    the calibrator's path, the day's raw scores and labels). With ``installed``
    (an unfitted calibrator), the day is served through it, fitted on the
    reference and given as --calibrator."""
    rng = np.random.default_rng(seed)
    reference, reference_y = _day(tmp_path / "reference.npz", rng, 6000)
    ids = np.array([f"tx{i}" for i in range(3000)])
    day, y = _day(tmp_path / "day.npz", rng, 3000, sharpen=sharpen, labelled=False, ids=ids)
    np.savez(tmp_path / "labels.npz", ids=ids, labels=y)
    state, calibrator = tmp_path / "state.json", tmp_path / "calibrator.json"
    given = []
    if installed is not None:
        save_calibrator(installed.fit(np.load(reference)["scores"], reference_y), calibrator)
        given = ["--calibrator", str(calibrator)]
    main(["monitor", reference, day, "--chunk-size", "1000", "--state", str(state), *given])
    capsys.readouterr()
    status = main(["monitor", reference, "--state", str(state), "--late-labels",
                   str(tmp_path / "labels.npz"), "--recalibrate", method,
                   "--calibrator", str(calibrator)])
    return (capsys.readouterr().out, status, json.loads(state.read_text())["chunks"],
            calibrator, np.load(day)["scores"], y)


def test_a_recalibration_due_on_late_labels_alone_fits_a_temperature_on_them(tmp_path, capsys):
    # the run said "0 labelled rows of this run" and wrote no calibrator: rows whose
    # labels came late were never refitted on, though labels come late in production
    out, status, chunks, calibrator, raw, y = _recalibrated_on_late_labels(
        tmp_path, capsys, 33, 2.0, "temperature")
    assert status == 1 and chunks[-1]["verdict"] == "recalibrate"
    assert "(3000 of them by --late-labels)" in out
    fitted = load_calibrator(calibrator, expected_class="TemperatureScaling")
    direct = TemperatureScaling().fit(raw, y)
    assert fitted.temperature_ == pytest.approx(direct.temperature_, rel=1e-6)  # float32 rows
    assert fitted.temperature_ == pytest.approx(2.0, rel=0.1)


def test_late_labels_alone_refit_no_other_method_and_the_run_says_how_to_fit_one(
        tmp_path, capsys):
    out, _, chunks, calibrator, _, _ = _recalibrated_on_late_labels(
        tmp_path, capsys, 34, 3.0, "vector")
    assert chunks[-1]["verdict"] == "recalibrate"
    assert "No calibrator written: 0 labelled rows of this run" in out
    assert "3000 rows labelled by --late-labels since then do not count" in out
    assert "not the raw scores a vector calibrator is fitted on" in out
    assert "skcal fit METHOD SCORES LABELS --calibrator PATH.json" in out
    assert not calibrator.exists()


def test_late_labels_served_through_a_vector_scaling_recalibrate_it_with_a_temperature(
        tmp_path, capsys):
    # the run said that a temperature fitted on what a VectorScaling served is no
    # calibrator of the raw scores, and wrote none; it is that VectorScaling's logits
    # over the temperature: a VectorScaling
    out, status, chunks, calibrator, raw, y = _recalibrated_on_late_labels(
        tmp_path, capsys, 37, 3.0, "temperature", installed=VectorScaling())
    assert status == 1 and chunks[-1]["verdict"] == "recalibrate"
    assert ("Recalibrated: the VectorScaling in place followed by a temperature, as one "
            "VectorScaling, fitted on 3000 labelled rows") in out
    assert "(3000 of them by --late-labels)" in out
    vector = VectorScaling().fit(np.load(tmp_path / "reference.npz")["scores"],
                                 np.load(tmp_path / "reference.npz")["labels"])
    served = np.log(vector.predict_proba(raw))
    temperature = TemperatureScaling().fit(served, y).temperature_
    assert temperature == pytest.approx(3.0, rel=0.15)
    fitted = load_calibrator(calibrator, expected_class="VectorScaling")
    expected = np.exp(served / temperature)
    expected /= expected.sum(axis=1, keepdims=True)
    # the served rows wait in float32, and each fit stops within its tolerance
    np.testing.assert_allclose(fitted.predict_proba(raw), expected, rtol=1e-6, atol=1e-12)


def test_labelled_rows_served_through_a_vector_scaling_recalibrate_it_too(tmp_path, capsys):
    # a file's labelled rows replaced the VectorScaling by a temperature of the raw
    # scores, where late labels of the same rows (above) keep it: both keep it now
    rng = np.random.default_rng(38)
    reference, reference_y = _day(tmp_path / "reference.npz", rng, 6000)
    state, calibrator = tmp_path / "state.json", tmp_path / "calibrator.json"
    vector = VectorScaling().fit(np.load(reference)["scores"], reference_y)
    save_calibrator(vector, calibrator)
    day, y = _day(tmp_path / "day.npz", rng, 3000, sharpen=3.0)
    status = main(["monitor", reference, day, "--chunk-size", "1000", "--state", str(state),
                   "--recalibrate", "temperature", "--calibrator", str(calibrator)])
    out = capsys.readouterr().out
    assert status == 1 and "Recalibrated: the VectorScaling in place followed by a " in out
    served = np.log(vector.predict_proba(np.load(day)["scores"]))
    temperature = TemperatureScaling().fit(served, y).temperature_
    fitted = load_calibrator(calibrator, expected_class="VectorScaling")
    np.testing.assert_allclose(fitted.coef_, vector.coef_ / temperature, rtol=1e-6)


def test_daily_runs_whose_labels_come_a_day_late_recalibrate_and_are_ok_again(
        tmp_path, capsys):
    """Each day's file carries ids and no labels; its labels come with the next
    day's run. Twice too confident from day 6: the run that joins day 6's labels
    writes a temperature near 2, and the days served through it are "ok"."""
    rng = np.random.default_rng(35)
    reference, _ = _day(tmp_path / "reference.npz", rng, 10000)
    state, calibrator = tmp_path / "state.json", tmp_path / "calibrator.json"
    outs = []
    for day in range(1, 14):
        ids = np.array([f"d{day}-{i}" for i in range(2000)])
        path, y = _day(tmp_path / f"day{day:02d}.npz", rng, 2000,
                       sharpen=2.0 if day >= 6 else 1.0, labelled=False, ids=ids)
        late = ["--late-labels", str(tmp_path / f"labels{day - 1:02d}.npz")] if day > 1 else []
        main(["monitor", reference, path, "--chunk-size", "1000", "--state", str(state),
              *late, "--recalibrate", "temperature", "--calibrator", str(calibrator)])
        outs.append(capsys.readouterr().out)
        np.savez(tmp_path / f"labels{day:02d}.npz", ids=ids[::-1], labels=y[::-1])
    recalibrated = [day for day, out in enumerate(outs, 1) if "Recalibrated:" in out]
    assert recalibrated == [7]  # day 6's labels, joined by day 7's run
    assert load_calibrator(calibrator).temperature_ == pytest.approx(2.0, rel=0.1)
    table = json.loads(state.read_text())["chunks"]
    served = [row for row in table if row["calibrator"] == 1 and row["n_labelled"]]
    assert len(served) >= 8 and all(row["verdict"] == "ok" for row in served)


def test_a_run_fits_on_its_labelled_rows_and_the_late_labelled_ones_together(tmp_path, capsys):
    rng = np.random.default_rng(36)
    reference, _ = _day(tmp_path / "reference.npz", rng, 6000)
    ids = np.array([f"tx{i}" for i in range(2000)])
    first, first_y = _day(tmp_path / "first.npz", rng, 2000, sharpen=3.0, labelled=False,
                          ids=ids)
    second, second_y = _day(tmp_path / "second.npz", rng, 2000, sharpen=3.0,
                            ids=np.array([f"ty{i}" for i in range(2000)]))
    np.savez(tmp_path / "labels.npz", ids=ids, labels=first_y)
    state, calibrator = tmp_path / "state.json", tmp_path / "calibrator.json"
    main(["monitor", reference, first, "--chunk-size", "1000", "--state", str(state)])
    capsys.readouterr()
    main(["monitor", reference, second, "--state", str(state), "--late-labels",
          str(tmp_path / "labels.npz"), "--recalibrate", "temperature",
          "--calibrator", str(calibrator)])
    out = capsys.readouterr().out
    assert "fitted on 4000 labelled rows since chunk 0 (2000 of them by --late-labels)" in out
    raw = np.concatenate([np.load(first)["scores"], np.load(second)["scores"]])
    direct = TemperatureScaling().fit(raw, np.concatenate([first_y, second_y]))
    fitted = load_calibrator(calibrator, expected_class="TemperatureScaling")
    assert fitted.temperature_ == pytest.approx(direct.temperature_, rel=1e-6)  # float32 rows
