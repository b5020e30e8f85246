"""skcal.io.dask_scores: a score file as a Dask array whose tasks read their own rows,
and the warning for a memory map put in a graph under a distributed client."""

import pickle

import numpy as np
import pytest

da = pytest.importorskip("dask.array", reason='Dask is an optional extra: "skcal[dask]"')

from skcal import TemperatureScaling  # noqa: E402
from skcal.io import dask_scores  # noqa: E402


@pytest.fixture
def logits_file(tmp_path):
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(20000, 50)).astype(np.float32)  # 4 MB
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    np.save(tmp_path / "logits.npy", logits)
    return tmp_path / "logits.npy", logits, y


def test_the_array_equals_the_file_and_its_graph_holds_no_data(logits_file):
    path, logits, _ = logits_file
    scores = dask_scores(path, rows_per_chunk=3000)
    assert scores.shape == logits.shape and scores.dtype == logits.dtype
    assert scores.chunks[0] == (3000,) * 6 + (2000,)
    np.testing.assert_array_equal(scores.compute(), logits)
    ours = len(pickle.dumps(dict(scores.__dask_graph__())))
    mapped = da.from_array(np.load(path, mmap_mode="r"), chunks=(3000, 50))
    theirs = len(pickle.dumps(dict(mapped.__dask_graph__())))
    assert ours < 20_000 < logits.nbytes < theirs  # the memory map pickles the whole file


def test_a_task_reads_its_rows_through_the_memory_map_without_copying_them(logits_file):
    # a copy held each chunk in the worker's memory (0.6 GiB a worker on the 12 GB
    # file of benchmarks/bench_out_of_core.py, against 0.1-0.15 for the view)
    import mmap

    path, logits, _ = logits_file
    (chunk,) = dask_scores(path, rows_per_chunk=3000).to_delayed()[1]  # the task itself
    chunk = chunk.compute(scheduler="sync")
    np.testing.assert_array_equal(chunk, logits[3000:6000])
    base = chunk
    while base is not None and not isinstance(base, mmap.mmap):
        assert not getattr(base, "flags", None) or not base.flags.owndata
        base = getattr(base, "base", None)
    assert isinstance(base, mmap.mmap)
    assert len(pickle.dumps(chunk)) > chunk.nbytes  # to another process: its values


def test_zarr_and_one_dimensional_scores(tmp_path):
    zarr = pytest.importorskip("zarr")
    values = np.arange(10000, dtype=np.float64).reshape(1000, 10)
    stored = zarr.open(str(tmp_path / "s.zarr"), mode="w", shape=values.shape, chunks=(300, 10),
                       dtype="f8")
    stored[...] = values
    np.testing.assert_array_equal(dask_scores(tmp_path / "s.zarr").compute(), values)
    np.save(tmp_path / "binary.npy", values[:, 0])
    assert dask_scores(tmp_path / "binary.npy", rows_per_chunk=400).chunks == ((400, 400, 200),)


@pytest.mark.parametrize("name, content, kwargs, error, message", [
    ("scores.csv", None, {}, ValueError, "not a .npy file or a Zarr array"),
    ("missing.npy", None, {}, FileNotFoundError, "no such file"),
    ("cube.npy", np.zeros((2, 3, 4)), {}, ValueError, "reshape"),
    ("ok.npy", np.zeros((5, 2)), {"rows_per_chunk": 0}, ValueError, "positive integer"),
    ("text.npy", None, {}, ValueError, "not a .npy file: it does not begin as numpy.save"),
    ("objects.npy", np.array([None, 1], dtype=object), {}, ValueError, "Python objects"),
])
def test_bad_files_are_named(tmp_path, name, content, kwargs, error, message):
    if content is not None:
        np.save(tmp_path / name, content, allow_pickle=content.dtype == object)
    elif name.endswith((".csv", "text.npy")):
        (tmp_path / name).write_text("1,2\n")
    with pytest.raises(error, match=message):
        dask_scores(tmp_path / name, **kwargs)


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed", reason='"skcal[dask]" has it')
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_on_a_cluster_the_fit_matches_and_a_memory_map_in_the_graph_warns(logits_file, client):
    path, logits, y = logits_file
    fitted = TemperatureScaling().fit(dask_scores(path, rows_per_chunk=4000), y)
    assert fitted.temperature_ == pytest.approx(TemperatureScaling().fit(logits, y).temperature_,
                                                rel=1e-6)
    mapped = da.from_array(np.load(path, mmap_mode="r"), chunks=(4000, 50))
    with pytest.warns(UserWarning, match=r"skcal\.io\.dask_scores\(path\)"):
        TemperatureScaling().fit(mapped, y)


@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_skcal_fit_on_a_running_scheduler(logits_file, client, tmp_path, capsys):
    from skcal.cli import main

    path, logits, y = logits_file
    np.save(tmp_path / "tokens.npy", y)
    status = main(["fit", "temperature", str(path), str(tmp_path / "tokens.npy"),
                   "--logits", "--quiet", "--dask-scheduler", client.scheduler.address,
                   "--json", str(tmp_path / "fit.json")])
    assert status == 0
    import json

    fitted = json.loads((tmp_path / "fit.json").read_text())
    expected = TemperatureScaling().fit(logits, y).temperature_
    assert fitted["parameters"]["temperature_"] == pytest.approx(expected, rel=1e-6)
    status = main(["fit", "temperature", str(path), str(tmp_path / "tokens.npy"),
                   "--dask-scheduler", client.scheduler.address, "--write-proba",
                   str(tmp_path / "p.npy")])
    assert status == 2 and "--write-proba writes from this machine" in capsys.readouterr().err
