"""``skcal monitor`` runs that only join labels which arrived on their own, and
the exit status when those labels reveal an alarm."""

import json

import numpy as np

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
    # the same labels again change nothing and raise no alarm anew
    assert main(["monitor", reference, "--state", str(state),
                 "--late-labels", str(tmp_path / "labels.npz")]) == 0
    assert "0 late labels joined, 2000 matched no waiting row" in capsys.readouterr().out


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


def test_a_recalibration_due_on_late_labels_alone_says_how_to_fit_one(tmp_path, capsys):
    # the run said only "0 labelled rows of this run", with no way forward
    rng = np.random.default_rng(33)
    reference, _ = _day(tmp_path / "reference.npz", rng, 6000)
    ids = np.array([f"tx{i}" for i in range(3000)])
    day, y = _day(tmp_path / "day.npz", rng, 3000, sharpen=2.0, labelled=False, ids=ids)
    np.savez(tmp_path / "labels.npz", ids=ids, labels=y)
    state, calibrator = tmp_path / "state.json", tmp_path / "calibrator.json"
    main(["monitor", reference, day, "--chunk-size", "1000", "--state", str(state)])
    capsys.readouterr()
    status = main(["monitor", reference, "--state", str(state), "--late-labels",
                   str(tmp_path / "labels.npz"), "--recalibrate", "temperature",
                   "--calibrator", str(calibrator)])
    out = capsys.readouterr().out
    assert status == 1
    assert json.loads(state.read_text())["chunks"][-1]["verdict"] == "recalibrate"
    assert "No calibrator written: 0 labelled rows of this run" in out
    assert "Rows labelled by --late-labels do not count" in out
    assert "skcal fit METHOD SCORES LABELS --calibrator PATH.json" in out
    assert not calibrator.exists()
