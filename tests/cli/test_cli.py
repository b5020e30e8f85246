"""The skcal command line: compare on score files, demo, and one-line errors."""

import json
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose

from conftest import sample_labels, softmax
from skcal.cli._main import main


@pytest.fixture
def score_files(tmp_path):
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=4.0, size=(1200, 3))
    y = sample_labels(softmax(logits / 2), rng)
    np.save(tmp_path / "logits.npy", logits)
    np.save(tmp_path / "y.npy", y)
    names = np.array(["x", "y", "z"])[y]
    np.savez(tmp_path / "both.npz", logits=logits, proba=softmax(logits), y=y, names=names)
    np.savetxt(tmp_path / "proba.csv", softmax(logits), delimiter=",")
    np.savetxt(tmp_path / "labels.csv", np.array(["x", "y", "z"])[y], fmt="%s")
    return tmp_path


def test_compare_prints_the_ranked_table(score_files, capsys):
    status = main(["compare", str(score_files / "logits.npy"), str(score_files / "y.npy"),
                   "--methods", "temperature", "vector", "--cv", "3"])
    out = capsys.readouterr().out
    assert status == 0
    assert "TemperatureScaling" in out and "VectorScaling" in out and "uncalibrated" in out
    assert "PlattScaling" not in out


def test_compare_npz_names_csv_and_json(score_files, capsys):
    out_json = score_files / "out.json"
    status = main([
        "compare", str(score_files / "proba.csv"), str(score_files / "labels.csv"),
        "--probabilities", "--methods", "platt", "--json", str(out_json),
        "--test-scores", f"{score_files / 'both.npz'}:proba",
        "--test-labels", f"{score_files / 'both.npz'}:names",
    ])
    assert status == 0, capsys.readouterr().err
    result = json.loads(out_json.read_text())
    assert result["ranking"][0] in ("PlattScaling", "uncalibrated")
    assert result["classes"] == ["x", "y", "z"]
    first = result["methods"][0]
    for key in ("mean_test_nll", "std_test_nll", "split0_test_nll", "mean_test_ece",
                "nll_diff_to_best", "nll_diff_se", "tied_with_best", "rank_test_nll"):
        assert key in first
    assert set(result["test_results"]) == {"uncalibrated", "PlattScaling"}


def test_compare_writes_a_plot(score_files, capsys):
    pytest.importorskip("matplotlib", reason="the plot needs matplotlib")
    png = score_files / "diagram.png"
    status = main(["compare", str(score_files / "logits.npy"), str(score_files / "y.npy"),
                   "--methods", "temperature", "--plot", str(png)])
    assert status == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda d: [str(d / "missing.npy"), str(d / "y.npy")], "no such file"),
        (lambda d: [str(d / "logits.npy"), str(d / "short.npy")], "1200 rows but LABELS has 10"),
        (lambda d: [str(d / "nan.npy"), str(d / "y.npy")], "non-finite"),
        (lambda d: [str(d / "objects.npy"), str(d / "y.npy")],
         "holds Python objects (dtype object), not numbers"),
        # numpy.load took it for a pickle and suggested allow_pickle=
        (lambda d: [str(d / "pickled.npy"), str(d / "y.npy")],
         "is not a .npy file: it does not begin as numpy.save writes one"),
        (lambda d: [str(d / "model.pkl"), str(d / "y.npy")],
         "not .npy, .npz, .csv, .parquet or .zarr"),
        (lambda d: [str(d / "both.npz"), str(d / "y.npy")], "name one as"),
        (lambda d: [f"{d / 'both.npz'}:nope", str(d / "y.npy")], "has no array 'nope'"),
        (lambda d: [str(d / "logits.npy"), str(d / "y.npy"), "--methods", "magic"],
         "Unknown calibration method"),
        (lambda d: [str(d / "logits.npy"), str(d / "y.npy"), "--test-scores", "x.npy"],
         "give both"),
    ],
)
def test_errors_are_one_line_without_traceback(score_files, capsys, make_args, message):
    d = score_files
    np.save(d / "short.npy", np.zeros(10, dtype=int))
    nan = np.load(d / "logits.npy")
    nan[5, 1] = np.nan
    np.save(d / "nan.npy", nan)
    np.save(d / "objects.npy", np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True)
    (d / "model.pkl").write_bytes(pickle.dumps({"weights": [1, 2]}))
    (d / "pickled.npy").write_bytes(pickle.dumps({"weights": [1, 2]}))
    status = main(["compare", *make_args(d)])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_demo_prints_the_comparison_and_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="the demo's diagram needs matplotlib")
    png = tmp_path / "demo.png"
    assert main(["demo", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "uncalibrated" in out and "Recommended:" in out
    assert png.stat().st_size > 10_000


def test_fit_on_a_memory_mapped_file_prints_temperature_and_nlls(score_files, capsys):
    from skcal import TemperatureScaling
    from skcal.metrics import nll, nll_from_logits

    logits = np.load(score_files / "logits.npy")
    y = np.load(score_files / "y.npy")
    np.save(score_files / "logits16.npy", logits.astype(np.float16))
    out_json, out_proba = score_files / "fit.json", score_files / "proba.npy"
    status = main(["fit", "temperature", str(score_files / "logits16.npy"),
                   str(score_files / "y.npy"), "--json", str(out_json),
                   "--write-proba", str(out_proba)])
    out = capsys.readouterr().out
    assert status == 0
    reference = TemperatureScaling().fit(logits.astype(np.float16).astype(np.float32), y)
    assert f"temperature T = {reference.temperature_:.6g}" in out
    assert "float16 scores, read as logits" in out
    report = json.loads(out_json.read_text())
    assert report["parameters"]["temperature_"] == pytest.approx(reference.temperature_,
                                                                 rel=1e-6)
    before = nll_from_logits(y, logits.astype(np.float16).astype(np.float32))
    assert report["nll_before"] == pytest.approx(before, rel=1e-9)
    written = np.load(out_proba)
    assert written.dtype == np.float32
    assert_allclose(written, reference.predict_proba(logits.astype(np.float16)
                                                     .astype(np.float32)), rtol=1e-6)
    assert report["nll_after"] == pytest.approx(nll(y, written), rel=1e-6)
    assert report["nll_after"] < report["nll_before"]
    assert not list(score_files.glob(".*.partial"))  # no temporary file left behind


def test_fit_reads_zarr_and_prints_vector_parameters(score_files, capsys):
    zarr = pytest.importorskip("zarr", reason="Zarr is an optional extra (skcal[dask])")
    logits = np.load(score_files / "logits.npy")
    store = zarr.open_array(str(score_files / "logits.zarr"), mode="w", shape=logits.shape,
                            chunks=(100, 3), dtype=logits.dtype)
    store[...] = logits
    status = main(["fit", "vector", str(score_files / "logits.zarr"),
                   str(score_files / "y.npy"), "--quiet"])
    out = capsys.readouterr().out
    assert status == 0
    assert "coef_ = [" in out and "NLL after" in out


def test_fit_saves_a_calibrator_that_load_calibrator_and_the_monitor_read(score_files,
                                                                          capsys):
    # skcal fit printed and reported the parameters, but wrote no file that
    # load_calibrator (or skcal monitor --calibrator) reads: a fit on the command line
    # could not be deployed
    from skcal import PlattScaling, load_calibrator

    saved, written = score_files / "platt.json", score_files / "calibrated.npy"
    status = main(["fit", "platt", str(score_files / "logits.npy"),
                   str(score_files / "y.npy"), "--quiet", "--calibrator", str(saved),
                   "--write-proba", str(written)])
    assert status == 0
    assert f"Calibrator saved to {saved}" in capsys.readouterr().out
    loaded = load_calibrator(saved, expected_class=PlattScaling)
    logits = np.load(score_files / "logits.npy")
    # the same map as the run's own probabilities; 1e-15: the rounding of one sum
    assert_allclose(loaded.predict_proba(logits), np.load(written), rtol=0, atol=1e-15)

    y = np.load(score_files / "y.npy")
    np.savez(score_files / "reference.npz", scores=logits[:800], labels=y[:800])
    np.savez(score_files / "day.npz", scores=logits[800:], labels=y[800:])
    state = score_files / "state.json"
    status = main(["monitor", str(score_files / "reference.npz"), str(score_files / "day.npz"),
                   "--chunk-size", "200", "--state", str(state), "--calibrator", str(saved)])
    assert status in (0, 1), capsys.readouterr().err
    assert json.loads(state.read_text())["calibrator"]["class"] == "PlattScaling"


def test_fit_says_what_exact_zeros_are_read_as(score_files, capsys):
    rng = np.random.default_rng(4)
    votes = rng.multinomial(10, [0.5, 0.3, 0.2], size=1200) / 10  # zeros among them
    np.save(score_files / "votes.npy", votes)
    status = main(["fit", "vector", str(score_files / "votes.npy"), str(score_files / "y.npy"),
                   "--quiet", "--json", str(score_files / "votes.json")])
    assert status == 0
    assert "exact zeros read as 0.05, half the smallest positive probability" in (
        capsys.readouterr().out)
    assert json.loads((score_files / "votes.json").read_text())["probability_floor"] == 0.05


def test_compare_reads_the_scores_memory_mapped(score_files, capsys, monkeypatch):
    seen = []
    original = np.load

    def recording_load(*args, **kwargs):
        seen.append(kwargs.get("mmap_mode"))
        return original(*args, **kwargs)

    monkeypatch.setattr(np, "load", recording_load)
    status = main(["compare", str(score_files / "logits.npy"), str(score_files / "y.npy"),
                   "--methods", "temperature", "--cv", "3"])
    assert status == 0
    assert seen[0] == "r"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit", "temperature", "{d}/logits.npy", "{d}/short.npy"], "has 1200 rows but LABELS"),
        (["fit", "nonsense", "{d}/logits.npy", "{d}/y.npy"], "Unknown calibration method 'nonsense'"),
        (["fit", "temperature", "{d}/absent.zarr", "{d}/y.npy"], "no such Zarr store"),
    ],
)
def test_fit_errors_are_one_line(score_files, capsys, argv, message):
    np.save(score_files / "short.npy", np.zeros(10, dtype=int))
    status = main([a.format(d=score_files) for a in argv])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", [
    ["compare", "{d}/logits.npy", "{d}/y.npy", "--methods", "temperature", "magic"],
    ["fit", "magic", "{d}/logits.npy", "{d}/y.npy"],
])
def test_a_mistyped_method_fails_before_the_scores_are_read(score_files, capsys, monkeypatch,
                                                           argv):
    opened = []
    monkeypatch.setattr(np, "load", lambda *args, **kwargs: opened.append(args))
    status = main([a.format(d=score_files) for a in argv])
    assert status == 2
    assert "Unknown calibration method 'magic'" in capsys.readouterr().err
    assert opened == []


def test_compare_says_how_it_read_the_scores_and_warns_on_logits_that_are_probabilities(
        score_files, capsys):
    status = main(["compare", str(score_files / "proba.csv"), str(score_files / "labels.csv"),
                   "--methods", "temperature", "--cv", "3", "--n-jobs", "2"])
    captured = capsys.readouterr()
    assert status == 0
    assert "read as probabilities (every row lies in the probability simplex)" in captured.out
    status = main(["compare", str(score_files / "proba.csv"), str(score_files / "labels.csv"),
                   "--methods", "temperature", "--cv", "3", "--logits"])
    captured = capsys.readouterr()
    assert status == 0
    assert "read as logits (as told)" in captured.out
    assert "--logits was given, but the rows of SCORES lie in the probability simplex" in (
        captured.err)
    main(["compare", str(score_files / "logits.npy"), str(score_files / "y.npy"),
          "--methods", "temperature", "--cv", "3"])
    assert "read as logits (not every row is a probability vector)" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["fit", "compare"])
def test_probabilities_that_are_not_are_named_as_the_command_line_names_them(
        score_files, capsys, command):
    argv = ["temperature"] if command == "fit" else []
    status = main([command, *argv, str(score_files / "logits.npy"), str(score_files / "y.npy"),
                   "--probabilities"])
    err = capsys.readouterr().err
    assert status == 2  # was "X has values outside [0, 1]", or "Pass score_type='logits'"
    assert ("SCORES (--probabilities) has values outside [0, 1]" in err
            and "Pass --logits if they are logits." in err)


@pytest.mark.parametrize("argv, message", [
    (["fit", "temperature", "{d}/logits.npy", "{d}/y.npy", "--write-proba", "{d}/p.txt"],
     "p.txt: the (log-)probabilities are written as a .npy file"),  # was .npy content in p.txt
    (["compare", "{d}/logits.npy", "{d}/y.npy", "--plot", "{d}/plot.txt"],
     "plot.txt: an image is written as one of png, pdf, svg"),  # was refused after the run
    (["compare-models", "a={d}/logits.npy", "b={d}/logits.npy", "{d}/y.npy", "--plot",
      "{d}/models.json"], "models.json: an image is written as one of"),
    # node_exporter would never have collected it
    (["monitor", "{d}/both.npz", "{d}/both.npz", "--model", "m", "--prometheus-textfile",
      "{d}/skcal.txt"], "skcal.txt: node_exporter's textfile collector reads only files "
                        "ending in .prom"),
])
def test_output_files_of_a_format_the_command_does_not_write_are_refused_at_once(
        score_files, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main([arg.format(d=score_files) for arg in argv])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
    assert not [path for path in score_files.iterdir() if path.suffix == ".txt"]


def test_compare_models_writes_the_plot_in_the_format_of_its_suffix(score_files, capsys):
    pytest.importorskip("matplotlib", reason="the plot needs matplotlib")
    status = main(["compare-models", f"a={score_files / 'logits.npy'}",
                   f"b={score_files / 'logits.npy'}", str(score_files / "y.npy"), "--plot",
                   str(score_files / "models.pdf")])
    assert status == 0
    assert (score_files / "models.pdf").read_bytes()[:5] == b"%PDF-"  # was a PNG


def refused_before_reading(argv, score_files, monkeypatch, capsys):
    """What the command line printed when it refused ``argv`` (``{d}`` the files'
    folder) as it read the arguments: exit status 2, no input file opened."""
    opened = []
    monkeypatch.setattr(np, "load", lambda *args, **kwargs: opened.append(args))
    with pytest.raises(SystemExit) as exit_info:
        main([a.format(d=score_files) for a in argv])
    assert exit_info.value.code == 2
    assert opened == []
    return capsys.readouterr().err


@pytest.mark.parametrize("argv, option", [
    (["fit", "temperature", "{d}/logits.npy", "{d}/y.npy", "--write-proba", "{d}/no/p.npy"],
     "--write-proba"),
    (["fit", "temperature", "{d}/logits.npy", "{d}/y.npy", "--json", "{d}/no/fit.json"],
     "--json"),
    (["compare", "{d}/logits.npy", "{d}/y.npy", "--plot", "{d}/no/plot.png"], "--plot"),
    (["compare-models", "a={d}/logits.npy", "b={d}/logits.npy", "{d}/y.npy",
      "--json", "{d}/no/models.json"], "--json"),
    (["monitor", "{d}/logits.npy", "--state", "{d}/no/state.json"], "--state"),
    (["monitor", "{d}/logits.npy", "--report", "{d}/no/report.html"], "--report"),
])
def test_an_output_in_a_missing_folder_is_refused_before_any_work(score_files, capsys,
                                                                  monkeypatch, argv, option):
    """Each file the command line writes is checked when the arguments are read:
    a path in a folder that does not exist ends the run at once, naming the
    path and the folder, before any input is read."""
    err = refused_before_reading(argv, score_files, monkeypatch, capsys)
    assert f"argument {option}: Cannot write {score_files}/no/" in err
    assert f"the folder {score_files}/no does not exist" in err
    assert not (score_files / "no").exists()


def test_a_file_written_into_a_missing_folder_is_refused_naming_the_folder(tmp_path):
    """Outside the command line too (here a calibrator saved from Python), a
    path whose folder is missing is refused with the path and the folder, not
    with the name of a temporary file."""
    from skcal import TemperatureScaling, save_calibrator

    rng = np.random.default_rng(0)
    logits = rng.normal(scale=4.0, size=(300, 3))
    calibrator = TemperatureScaling().fit(logits, sample_labels(softmax(logits / 2), rng))
    target = tmp_path / "missing" / "calibrator.json"
    with pytest.raises(FileNotFoundError, match="the folder .*missing does not exist"):
        save_calibrator(calibrator, target)
    assert not target.parent.exists()
    # a folder given for the file: was "[Errno 21] Is a directory:
    # '/tmp/.xyz.partial' -> '/tmp/xyz'", the temporary file's name
    with pytest.raises(IsADirectoryError, match=rf"^Cannot write {tmp_path}: it is a folder; "
                                                rf"give the path of a file in it "
                                                rf"\({tmp_path}/results.json, say\)\.$"):
        save_calibrator(calibrator, tmp_path)
    assert list(tmp_path.iterdir()) == []  # no temporary file left


@pytest.mark.parametrize("argv, option", [
    (["fit", "temperature", "{d}/logits.npy", "{d}/y.npy", "--calibrator", "{d}"],
     "--calibrator"),
    (["monitor", "{d}/logits.npy", "--state", "{d}"], "--state"),
])
def test_an_output_that_is_a_folder_is_refused_before_any_work(score_files, capsys,
                                                               monkeypatch, argv, option):
    err = refused_before_reading(argv, score_files, monkeypatch, capsys)
    # was, after the fit, "[Errno 21] Is a directory: ..." naming a temporary file
    assert (f"argument {option}: Cannot write {score_files}: it is a folder; give the path "
            f"of a file in it ({score_files}/results.json, say).") in err


@pytest.mark.parametrize("argv, message", [
    (["compare", "{d}/logits.npy", "{d}/y.npy", "--cv", "1"],
     "argument --cv: must be an integer of at least 2; got '1'"),  # was scikit-learn's
    (["compare", "{d}/logits.npy", "{d}/y.npy", "--n-jobs", "0"],
     "argument --n-jobs: must be a non-zero integer"),  # was joblib's
    (["compare", "{d}/logits.npy", "{d}/y.npy", "--seed", "-1"],
     "argument --seed: must be an integer of at least 0"),  # was numpy's
    (["monitor", "{d}/logits.npy", "{d}/logits.npy", "--lock-timeout", "nan"],
     "argument --lock-timeout: must be a finite, non-negative number"),  # waited forever
    (["monitor", "{d}/logits.npy", "{d}/logits.npy", "--alpha", "1"],
     "argument --alpha: must be a number strictly between 0 and 1"),
    (["monitor", "{d}/logits.npy", "{d}/logits.npy", "--chunk-size", "0"],
     "argument --chunk-size: must be an integer of at least 1"),
    (["compare-models", "a={d}/logits.npy", "b={d}/logits.npy", "{d}/y.npy",
      "--bootstrap", "1"], "argument --bootstrap: must be an integer of at least 2"),
])
def test_a_bad_number_is_refused_by_its_option_before_any_work(score_files, capsys,
                                                              monkeypatch, argv, message):
    assert message in refused_before_reading(argv, score_files, monkeypatch, capsys)


def test_csv_files_with_column_names_as_pandas_writes_them(score_files, capsys):
    """A first row of names above numbers is left out, with a note; an unnamed
    first column (pandas' index) is refused rather than read as a class's scores."""
    pd = pytest.importorskip("pandas", reason="the files are written by pandas")
    logits, y = np.load(score_files / "logits.npy"), np.load(score_files / "y.npy")
    frame = pd.DataFrame(logits, columns=["cat", "dog", "eel"])
    frame.to_csv(score_files / "named.csv", index=False)
    pd.DataFrame({"label": y}).to_csv(score_files / "y.csv", index=False)
    frame.to_csv(score_files / "indexed.csv")
    assert main(["fit", "temperature", str(score_files / "named.csv"),
                 str(score_files / "y.csv"), "--json", str(score_files / "named.json")]) == 0
    assert main(["fit", "temperature", str(score_files / "logits.npy"),
                 str(score_files / "y.npy"), "--json", str(score_files / "plain.json")]) == 0
    err = capsys.readouterr().err
    assert f"SCORES: the first row of {score_files / 'named.csv'} (cat, dog, eel) is taken" in err
    assert f"LABELS: the first row of {score_files / 'y.csv'} (label) is taken" in err
    named = json.loads((score_files / "named.json").read_text())
    plain = json.loads((score_files / "plain.json").read_text())
    # the same 1200 rows: pandas writes float64 exactly (repr), so the fits agree
    assert named["parameters"]["temperature_"] == pytest.approx(
        plain["parameters"]["temperature_"], rel=1e-12)
    status = main(["fit", "temperature", str(score_files / "indexed.csv"),
                   str(score_files / "y.csv")])
    assert status == 2
    assert "begins with a column without a name, as pandas and R write a row index" in (
        capsys.readouterr().err)


def test_text_columns_under_a_name_as_pandas_writes_them(score_files, capsys):
    # labels and group ids as text kept their column's name as one more value:
    # "groups has shape (1201,) for 1200 rows"
    pd = pytest.importorskip("pandas", reason="the files are written by pandas")
    y = np.load(score_files / "y.npy")
    names = np.array(["x", "y", "z"])[y]
    groups = np.array([f"patient-{i // 12}" for i in range(1200)])
    pd.DataFrame({"label": names}).to_csv(score_files / "names.csv", index=False)
    pd.DataFrame({"patient": groups}).to_csv(score_files / "patients.csv", index=False)
    np.save(score_files / "names.npy", names)
    np.save(score_files / "patients.npy", groups)
    results = []
    for suffix in ("csv", "npy"):
        out = score_files / f"{suffix}.json"
        assert main(["compare", str(score_files / "logits.npy"),
                     str(score_files / f"names.{suffix}"), "--groups",
                     str(score_files / f"patients.{suffix}"), "--methods", "temperature",
                     "--cv", "3", "--json", str(out)]) == 0
        results.append(json.loads(out.read_text()))
    err = capsys.readouterr().err
    assert f"LABELS: the first row of {score_files / 'names.csv'} (label) is taken" in err
    assert f"--groups: the first row of {score_files / 'patients.csv'} (patient)" in err
    assert results[0]["ranking"] == results[1]["ranking"] and results[0]["n_groups"] == 100
    # without a name above them, text values are all kept
    np.savetxt(score_files / "bare.csv", groups, fmt="%s")
    assert main(["compare", str(score_files / "logits.npy"), str(score_files / "names.npy"),
                 "--groups", str(score_files / "bare.csv"), "--methods", "temperature",
                 "--cv", "3"]) == 0


@pytest.mark.filterwarnings("always::UserWarning")  # shown, as outside the test suite
def test_a_warning_is_one_line_on_stderr_like_the_errors(score_files, capsys):
    # labels of the least likely class: no positive inverse temperature fits them
    np.save(score_files / "least.npy", np.load(score_files / "logits.npy").argmin(axis=1))
    status = main(["fit", "temperature", str(score_files / "logits.npy"),
                   str(score_files / "least.npy"), "--quiet"])
    err = capsys.readouterr().err
    assert status == 0
    # was Python's form: "<path of the script>:8: UserWarning: ...", then "  sys.exit(main())"
    assert err.startswith("skcal fit: warning: The scores carry no information about the "
                          "labels") and len(err.splitlines()) == 1


def test_compare_with_groups_keeps_them_whole_and_counts_them(score_files, capsys):
    groups = np.arange(1200) // 4
    np.save(score_files / "groups.npy", groups)
    status = main(["compare", str(score_files / "logits.npy"), str(score_files / "y.npy"),
                   "--methods", "temperature", "vector", "--cv", "3", "--groups",
                   str(score_files / "groups.npy"), "--json", str(score_files / "out.json")])
    assert status == 0
    assert "cluster-robust over 300 groups" in capsys.readouterr().out
    saved = json.loads((score_files / "out.json").read_text())
    from skcal import compare_calibrators

    expected = compare_calibrators(np.load(score_files / "logits.npy"),
                                   np.load(score_files / "y.npy"),
                                   calibrators=["temperature", "vector"], cv=3, groups=groups)
    assert saved["n_groups"] == 300
    expected_se = dict(zip(expected.cv_results_["method"], expected.cv_results_["nll_diff_se"]))
    for method in saved["methods"]:  # the same computation, through a JSON file
        assert method["nll_diff_se"] == pytest.approx(expected_se[method["method"]], rel=1e-12)


@pytest.mark.parametrize("extra, message", [
    # was "X_test has 1200 rows but y_test has 5 labels", the Python names
    (["--test-scores", "{d}/logits.npy", "--test-labels", "{d}/short.npy"],
     "--test-scores {d}/logits.npy has 1200 rows but --test-labels {d}/short.npy has 5"),
    # was "X_test could not be scored by uncalibrated, fitted on X and y: ..."
    (["--test-scores", "{d}/two.npy", "--test-labels", "{d}/short.npy"],
     "--test-scores {d}/two.npy has 2 score columns but SCORES has 3"),
    (["--methods", "temperature", "TemperatureScaling"],  # was silently one
     "--methods names TemperatureScaling twice"),
])
def test_compare_names_its_test_files_and_methods_as_given(score_files, capsys, extra, message):
    np.save(score_files / "short.npy", np.arange(5) % 3)
    np.save(score_files / "two.npy", np.zeros((5, 2)))
    status = main(["compare", str(score_files / "logits.npy"), str(score_files / "y.npy"),
                   *[arg.format(d=score_files) for arg in extra]])
    assert status == 2 and message.format(d=score_files) in capsys.readouterr().err


def test_version_is_printed(capsys):
    from skcal.utils._version import __version__

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])  # was "the following arguments are required: command"
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"skcal {__version__}"


def test_compare_saves_the_recommended_method_fitted_on_all_the_rows(score_files, capsys):
    from skcal import TemperatureScaling, load_calibrator

    saved = score_files / "calibrator.json"
    status = main(["compare", str(score_files / "logits.npy"), str(score_files / "y.npy"),
                   "--methods", "temperature", "vector", "--calibrator", str(saved)])
    out = capsys.readouterr().out
    assert status == 0
    # labels drawn from softmax(logits / 2): a temperature is what they need
    assert "Recommended: TemperatureScaling" in out
    assert f"TemperatureScaling, fitted on all the rows, saved to {saved}" in out
    logits, y = np.load(score_files / "logits.npy"), np.load(score_files / "y.npy")
    loaded = load_calibrator(saved, expected_class=TemperatureScaling)
    assert_allclose(loaded.temperature_, TemperatureScaling().fit(logits, y).temperature_,
                    rtol=1e-8)  # the Newton tolerance of the two fits


def test_compare_writes_no_calibrator_when_none_is_recommended(tmp_path, capsys):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(1200, 3))
    np.save(tmp_path / "logits.npy", logits)
    np.save(tmp_path / "y.npy", sample_labels(softmax(logits), rng))  # calibrated
    saved = tmp_path / "calibrator.json"
    status = main(["compare", str(tmp_path / "logits.npy"), str(tmp_path / "y.npy"),
                   "--methods", "temperature", "--calibrator", str(saved)])
    out = capsys.readouterr().out
    assert status == 0
    # was "Recommended: uncalibrated, the best by held-out NLL (no simpler method ...)"
    assert ("Recommended: no calibration. The uncalibrated scores are the best by held-out "
            "NLL.") in out
    assert f"No calibration is recommended: {saved} is not written." in out
    assert not saved.exists()


@pytest.mark.parametrize("argv, message", [
    (["monitor", "{d}/logits.npy", "--state", "{d}/s.json", "--report", "{d}/s.json"],
     "--state and --report name the same file ({d}/s.json)"),
    (["compare", "{d}/logits.npy", "{d}/y.npy", "--json", "{d}/out.json",
      "--calibrator", "{d}/./out.json"],
     "--json and --calibrator name the same file ({d}/./out.json)"),
    (["fit", "temperature", "{d}/logits.npy", "{d}/y.npy", "--write-proba", "{d}/logits.npy"],
     "--write-proba names {d}/logits.npy, which this run reads (scores)"),
    (["compare-models", "a={d}/logits.npy", "b={d}/logits.npy", "{d}/y.npy",
      "--json", "{d}/y.npy"], "--json names {d}/y.npy, which this run reads (labels)"),
])
def test_outputs_that_name_one_file_or_an_input_are_refused_before_any_work(
        score_files, capsys, argv, message):
    before = {path.name: path.read_bytes() for path in score_files.iterdir()}
    # were written one over the other: a report lost under the state, scores under
    # their probabilities
    status = main([a.format(d=score_files) for a in argv])
    assert status == 2
    assert message.format(d=score_files) in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in score_files.iterdir()} == before
