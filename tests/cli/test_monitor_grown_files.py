"""``skcal monitor`` given a production file again after it grew (a file still
being written when a run read it, or a glob of every day's files run each
night): the rows it gained are added, those added before are not added twice."""

import json

import numpy as np
import pytest

from skcal.cli import main

K = 4


def _rows(rng, n):
    """Logits of a calibrated model on ``n`` rows (float32), and their labels."""
    logits = rng.normal(scale=2.0, size=(n, K))
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return logits.astype(np.float32), (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)


@pytest.fixture
def job(tmp_path):
    """(reference file, the command's options on a state, the state's path)."""
    scores, labels = _rows(np.random.default_rng(0), 3000)
    np.savez(tmp_path / "reference.npz", scores=scores, labels=labels)
    state = tmp_path / "state.json"
    return str(tmp_path / "reference.npz"), ["--chunk-size", "500", "--state", str(state)], state


def _saved(state):
    return json.loads(state.read_text())


def _chunk_numbers(state):
    """Each chunk's rows, labelled rows and mean NLL, as the table holds them."""
    return [(row["n"], row["n_labelled"], row["nll"]) for row in _saved(state)["chunks"]]


def test_a_grown_file_adds_only_its_new_rows_as_one_run_over_it_would(job, tmp_path, capsys):
    reference, options, state = job
    scores, labels = _rows(np.random.default_rng(1), 2000)
    day = tmp_path / "day.npz"
    for n in (1000, 1600, 2000):  # read three times while it was written
        np.savez(day, scores=scores[:n], labels=labels[:n])
        assert main(["monitor", reference, str(day), *options]) == 0
    assert _saved(state)["n_rows"] == 2000  # 4600 before: each reading added whole
    out = capsys.readouterr().out
    assert "grew from 1000 to 1600 rows since it was added; its 600 new rows are added" in out
    assert "grew from 1600 to 2000 rows" in out
    # the same table as one run over the finished file, to float64 summation order
    once = tmp_path / "once.json"
    assert main(["monitor", reference, str(day), "--chunk-size", "500",
                 "--state", str(once)]) == 0
    grown, whole = _chunk_numbers(state), _chunk_numbers(once)
    assert [row[:2] for row in grown] == [row[:2] for row in whole] == [(500, 500)] * 4
    np.testing.assert_allclose([row[2] for row in grown], [row[2] for row in whole],
                               rtol=1e-12)


def test_the_same_rows_written_otherwise_are_not_added_again(job, tmp_path, capsys):
    reference, options, state = job
    scores, labels = _rows(np.random.default_rng(2), 1200)
    np.savez(tmp_path / "day.npz", scores=scores, labels=labels)
    assert main(["monitor", reference, str(tmp_path / "day.npz"), *options]) == 0
    # written again, compressed and with labels of another integer type: other bytes
    np.savez_compressed(tmp_path / "day.npz", scores=scores, labels=labels.astype(np.int16))
    assert main(["monitor", reference, str(tmp_path / "day.npz"), *options]) == 0
    assert _saved(state)["n_rows"] == 1200  # 2400 before: other bytes, another batch
    assert "already processed (the same 1200 rows, added from this file before)" in \
        capsys.readouterr().out
    assert main(["monitor", reference, str(tmp_path / "day.npz"), *options,
                 "--reprocess"]) == 0
    assert _saved(state)["n_rows"] == 2400


def test_a_file_rewritten_with_other_rows_is_added_whole(job, tmp_path, capsys):
    """A fixed name that each day's predictions overwrite ("latest.npz")."""
    reference, options, state = job
    rng = np.random.default_rng(3)
    latest = tmp_path / "latest.npz"
    for n in (1000, 1500):
        scores, labels = _rows(rng, n)
        np.savez(latest, scores=scores, labels=labels)
        assert main(["monitor", reference, str(latest), *options]) == 0
    assert ("not the file of 1000 rows added under this name before with rows appended "
            "(its rows differ); all its 1500 rows are added") in capsys.readouterr().out
    assert _saved(state)["n_rows"] == 2500


def test_a_grown_table_whose_new_rows_wait_for_labels(job, tmp_path, capsys):
    """A CSV log with ids, its new rows not labelled yet: the label column is read
    as numbers with gaps (float) after growing, as integers before; the rows
    added before are recognised all the same, and the new ones wait for labels."""
    pd = pytest.importorskip("pandas", reason="reading CSV production files needs pandas")
    reference, options, state = job
    scores, labels = _rows(np.random.default_rng(4), 1500)
    frame = pd.DataFrame(scores, columns=[f"logit_{k}" for k in range(K)])
    frame["label"] = labels
    frame["request"] = [f"req-{i}" for i in range(1500)]
    log = tmp_path / "log.csv"
    table_options = [*options, "--scores", "logit_*", "--id-column", "request"]
    frame.iloc[:1000].to_csv(log, index=False)
    assert main(["monitor", reference, str(log), *table_options]) == 0
    frame.loc[1000:, "label"] = np.nan
    frame.to_csv(log, index=False)
    assert main(["monitor", reference, str(log), *table_options]) == 0
    assert "grew from 1000 to 1500 rows" in capsys.readouterr().out
    saved = _saved(state)
    assert saved["n_rows"] == 1500
    assert saved["pending_ids"] == [f"req-{i}" for i in range(1000, 1500)]


def test_a_state_from_before_rows_were_noted_adds_a_grown_file_whole(job, tmp_path):
    """States written before skcal noted a file's rows name its batches by id and
    name alone: a grown file is added whole, as it was then."""
    reference, options, state = job
    scores, labels = _rows(np.random.default_rng(5), 1500)
    day = tmp_path / "day.npz"
    np.savez(day, scores=scores[:1000], labels=labels[:1000])
    assert main(["monitor", reference, str(day), *options]) == 0
    saved = _saved(state)
    assert [len(batch) for batch in saved["batches"]] == [4]
    saved["batches"] = [batch[:2] for batch in saved["batches"]]
    state.write_text(json.dumps(saved))
    np.savez(day, scores=scores, labels=labels)
    assert main(["monitor", reference, str(day), *options]) == 0
    assert _saved(state)["n_rows"] == 2500


def test_bad_rows_in_what_a_file_gained_change_nothing(job, tmp_path, capsys):
    reference, options, state = job
    scores, labels = _rows(np.random.default_rng(6), 1500)
    day = tmp_path / "day.npz"
    np.savez(day, scores=scores[:1000], labels=labels[:1000])
    assert main(["monitor", reference, str(day), *options]) == 0
    kept = state.read_bytes()
    scores[1200, 2] = np.nan
    np.savez(day, scores=scores, labels=labels)
    assert main(["monitor", reference, str(day), *options]) == 2
    assert f"PRODUCTION {day}:" in capsys.readouterr().err
    assert state.read_bytes() == kept


def _log_frame(pd, rng, n):
    scores, labels = _rows(rng, n)
    frame = pd.DataFrame(scores, columns=[f"logit_{k}" for k in range(K)])
    frame["label"] = labels
    return frame


def test_a_table_cut_mid_line_leaves_its_last_row_for_a_later_run(job, tmp_path, capsys):
    """A log read while its writer is mid-line (a buffered writer flushes in
    blocks): the part of a row is not added, and the night after, when the
    file has grown, the table is as one run over the finished file."""
    pd = pytest.importorskip("pandas", reason="reading CSV production files needs pandas")
    reference, options, state = job
    frame = _log_frame(pd, np.random.default_rng(7), 1500)
    text = frame.to_csv(index=False)
    log, table_options = tmp_path / "log.csv", [*options, "--scores", "logit_*"]
    row_1001 = len(frame.iloc[:1000].to_csv(index=False))  # where the header and 1000 end
    log.write_text(text[:row_1001 + 12])  # 1000 rows and 12 characters of the next
    assert main(["monitor", reference, str(log), *table_options]) == 0
    assert "its last line has no line end, as in a file still being written; that row " \
        "is left out" in capsys.readouterr().out
    assert _saved(state)["n_rows"] == 1000  # 1001 before, the last row's scores cut short
    log.write_text(text)
    assert main(["monitor", reference, str(log), *table_options]) == 0
    assert "grew from 1000 to 1500 rows" in capsys.readouterr().out
    once = tmp_path / "once.json"
    assert main(["monitor", reference, str(log), "--chunk-size", "500", "--scores", "logit_*",
                 "--state", str(once)]) == 0
    # the same sums added in other batches: equal to float64 summation order
    np.testing.assert_allclose([row[2] for row in _chunk_numbers(state)],
                               [row[2] for row in _chunk_numbers(once)], rtol=1e-12)


def test_a_complete_table_without_a_final_newline_is_told_how_to_end_it(job, tmp_path,
                                                                       capsys):
    pd = pytest.importorskip("pandas", reason="reading CSV production files needs pandas")
    reference, options, state = job
    log, table_options = tmp_path / "log.csv", [*options, "--scores", "logit_*"]
    log.write_text(_log_frame(pd, np.random.default_rng(8), 700).to_csv(index=False).rstrip())
    assert main(["monitor", reference, str(log), *table_options]) == 0
    assert "if the file is complete, end it with a newline" in capsys.readouterr().out
    assert _saved(state)["n_rows"] == 699
    with open(log, "a") as file:
        file.write("\n")
    assert main(["monitor", reference, str(log), *table_options]) == 0
    assert "grew from 699 to 700 rows" in capsys.readouterr().out
    assert _saved(state)["n_rows"] == 700


def _appending_before_each_read(monkeypatch, path, rng, times):
    """Make the next ``times`` reads of production files find ``path`` grown by
    a row first, as when a writer appends while a run reads the file."""
    import skcal.cli._monitor_inputs as inputs

    read, left = inputs.read_period, [times]

    def read_while_written(*args, **kwargs):
        if left[0] > 0:
            left[0] -= 1
            scores, labels = _rows(rng, 1)
            with np.load(path) as old:
                np.savez(path, scores=np.r_[old["scores"], scores],
                         labels=np.r_[old["labels"], labels])
        return read(*args, **kwargs)

    monkeypatch.setattr(inputs, "read_period", read_while_written)


def test_the_batch_id_is_that_of_the_rows_read_from_a_file_written_meanwhile(
        job, tmp_path, capsys, monkeypatch):
    """The id of a version the run did not read would mark its rows added. An
    .npz file is read between two digests, again while they differ."""
    reference, options, state = job
    scores, labels = _rows(np.random.default_rng(9), 1000)
    day = tmp_path / "day.npz"
    np.savez(day, scores=scores, labels=labels)
    _appending_before_each_read(monkeypatch, day, np.random.default_rng(10), times=1)
    assert main(["monitor", reference, str(day), *options]) == 0
    # the version read is the one whose digest was taken on both sides of the read
    assert _saved(state)["n_rows"] == 1001
    assert main(["monitor", reference, str(day), *options]) == 0
    assert "already processed (same content as" in capsys.readouterr().out
    _appending_before_each_read(monkeypatch, day, np.random.default_rng(11), times=3)
    kept = state.read_bytes()
    assert main(["monitor", reference, str(day), *options]) == 2
    assert "changed each of the 3 times it was read" in capsys.readouterr().err
    assert state.read_bytes() == kept


def test_nightly_runs_racing_a_writer_end_as_one_run_over_the_finished_files(job, tmp_path):
    """A writer appends each day's log in blocks that cut lines anywhere while
    runs over every day's file (a glob) follow one another: the last state
    is that of one run over the finished files (each run was 2.6 times too many
    rows at the end, and some stopped on a row cut short, before)."""
    import threading

    pd = pytest.importorskip("pandas", reason="reading CSV production files needs pandas")
    reference, options, state = job
    rng = np.random.default_rng(12)
    logs = []
    for day in range(2):
        frame = _log_frame(pd, rng, 1500)
        frame["request"] = [f"day{day}-{i}" for i in range(1500)]
        logs.append((tmp_path / f"day{day}.csv", frame.to_csv(index=False).encode()))
    table_options = ["--scores", "logit_*", "--id-column", "request"]

    def write(path, text, started):
        with open(path, "wb") as file:
            for start in range(0, len(text), 997):  # blocks of a prime size: cut anywhere
                file.write(text[start:start + 997])
                file.flush()
                started.set()
                threading.Event().wait(0.01)

    runs_while_written = 0
    for path, text in logs:
        started = threading.Event()
        writer = threading.Thread(target=write, args=(path, text, started))
        writer.start()
        started.wait()
        first = True
        while writer.is_alive() or first:  # runs until the file is complete
            written = sorted(str(p) for p in tmp_path.glob("day*.csv"))
            assert main(["monitor", reference, *written, *options, *table_options]) in (0, 1)
            runs_while_written += writer.is_alive()
            first = False
        writer.join()
    finished = [str(path) for path, _ in logs]
    assert main(["monitor", reference, *finished, *options, *table_options]) in (0, 1)
    once = tmp_path / "once.json"
    assert main(["monitor", reference, *finished, "--chunk-size", "500", "--state",
                 str(once), *table_options]) in (0, 1)
    assert runs_while_written >= 1  # the writer writes for 1 s at least, a day
    assert _saved(state)["n_rows"] == _saved(once)["n_rows"] == 3000
    # the same sums added in other batches: equal to float64 summation order
    np.testing.assert_allclose([row[2] for row in _chunk_numbers(state)],
                               [row[2] for row in _chunk_numbers(once)], rtol=1e-12)


def test_a_labels_file_given_again_or_grown_joins_only_its_new_labels(job, tmp_path, capsys):
    """Late labels given again (a re-run, a glob of every day's labels) were each
    counted as matching no waiting row, as unknown ids are."""
    reference, options, state = job
    scores, labels = _rows(np.random.default_rng(13), 1000)
    ids = np.array([f"tx{i}" for i in range(1000)])
    np.savez(tmp_path / "day.npz", scores=scores, ids=ids)
    assert main(["monitor", reference, str(tmp_path / "day.npz"), *options]) == 0
    given = tmp_path / "labels.csv"
    for n in (300, 300, 700):  # read again, then grown to 700 labels
        with open(given, "w") as file:
            file.write("id,label\n" + "".join(f"{i},{y}\n" for i, y in zip(ids[:n],
                                                                          labels[:n])))
        assert main(["monitor", reference, "--late-labels", str(given), "--id-column", "id",
                     "--labels", "label", *options]) == 0
    saved = _saved(state)
    assert saved["n_labels_unmatched"] == 0  # 600 before
    assert [row["n_labelled"] for row in saved["chunks"]] == [500, 200]
    out = capsys.readouterr().out
    assert "labels.csv: already processed (same content as" in out
    assert "grew from 300 to 700 rows" in out


def test_labels_read_before_their_rows_join_when_their_file_is_given_again(job, tmp_path,
                                                                          capsys):
    """Labels that came before their rows matched none, and are joined by a
    later run given the same file, once the rows have come (a re-run had
    counted all 1000 anew as matching none, and joined the 400)."""
    reference, options, state = job
    scores, labels = _rows(np.random.default_rng(14), 1000)
    ids = np.array([f"tx{i}" for i in range(1000)])
    np.savez(tmp_path / "day1.npz", scores=scores[:600], ids=ids[:600])
    np.savez(tmp_path / "day2.npz", scores=scores[600:], ids=ids[600:])
    np.savez(tmp_path / "labels.npz", ids=ids, labels=labels)
    assert main(["monitor", reference, str(tmp_path / "day1.npz"), "--late-labels",
                 str(tmp_path / "labels.npz"), *options]) == 0
    assert "600 late labels joined, 400 matched no waiting row" in capsys.readouterr().out
    assert main(["monitor", reference, str(tmp_path / "day2.npz"), "--late-labels",
                 str(tmp_path / "labels.npz"), *options]) == 0
    assert "400 of its labels read before joined now, their rows having come since" in \
        capsys.readouterr().out
    saved = _saved(state)
    assert [row["n_labelled"] for row in saved["chunks"]] == [500, 500]
    assert saved["n_labels_unmatched"] == 0  # 400 while they matched none


def test_a_file_named_relatively_then_absolutely_is_known_as_one(job, tmp_path, capsys,
                                                                 monkeypatch):
    reference, options, state = job
    scores, labels = _rows(np.random.default_rng(15), 1500)
    np.savez(tmp_path / "day.npz", scores=scores[:1000], labels=labels[:1000])
    monkeypatch.chdir(tmp_path)
    assert main(["monitor", reference, "day.npz", *options]) == 0
    np.savez(tmp_path / "day.npz", scores=scores, labels=labels)
    assert main(["monitor", reference, str(tmp_path / "day.npz"), *options]) == 0
    assert _saved(state)["n_rows"] == 1500  # 2500 when names were compared as given
    assert "grew from 1000 to 1500 rows" in capsys.readouterr().out
