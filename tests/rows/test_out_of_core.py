"""Scores larger than memory: memory maps, Zarr, Dask and float16 give in-memory results.

Each metric and parametric map runs on the same scores held four ways (a
memory-mapped ``.npy`` file, a Zarr array, a Dask array with uneven chunks, and
float16) and must equal its result on the array in memory. Zarr and Dask are
optional: their tests skip, saying so, when the extra is not installed.
"""

import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose

from conftest import sample_labels, softmax
from skcal import (
    BetaCalibration,
    IsotonicCalibration,
    MatrixScaling,
    PlattScaling,
    TemperatureScaling,
    VectorScaling,
    compare_models,
)
from skcal.rows._blocks import Rows
from skcal.metrics import (
    brier_score,
    calibration_curve,
    expected_calibration_error,
    maximum_calibration_error,
    nll,
    nll_decomposition,
    nll_from_logits,
    perplexity,
)

N_ROWS, N_CLASSES = 6000, 5
# uneven row chunks, and columns split in two (the reduction joins them)
DASK_CHUNKS = ((1000, 2500, 1700, 800), (3, 2))


@pytest.fixture(scope="module")
def scores():
    """Over-confident logits (true temperature 2) sorted by label, so that most
    blocks and chunks lack most classes; their probabilities; the labels."""
    rng = np.random.default_rng(3)
    logits = rng.normal(scale=3.0, size=(N_ROWS, N_CLASSES))
    y = sample_labels(softmax(logits / 2.0), rng)
    order = np.argsort(y, kind="stable")
    logits, y = logits[order], y[order]
    return logits, softmax(logits), y


def _holders(array, tmp_path, kinds):
    """The same array as each kind of holder, by name."""
    held = {}
    if "memmap" in kinds:
        np.save(tmp_path / "scores.npy", array)
        held["memmap"] = np.load(tmp_path / "scores.npy", mmap_mode="r")
    if "zarr" in kinds:
        zarr = pytest.importorskip("zarr", reason="Zarr is an optional extra (skcal[dask])")
        store = zarr.open_array(str(tmp_path / "scores.zarr"), mode="w", shape=array.shape,
                                chunks=(700,) + array.shape[1:], dtype=array.dtype)
        store[...] = array
        held["zarr"] = store
    if "dask" in kinds:
        da = pytest.importorskip("dask.array", reason="Dask is an optional extra (skcal[dask])")
        chunks = DASK_CHUNKS if array.shape[0] == N_ROWS else 900
        chunks = chunks if array.ndim == 2 else chunks[:1] if isinstance(chunks, tuple) else chunks
        held["dask"] = da.from_array(array, chunks=chunks)
    return held


HOLDERS = ["memmap", "zarr", "dask"]

METRICS = {
    "nll": nll,
    "nll_bits": lambda y, p: nll(y, p, base=2),
    "brier": brier_score,
    "ece": expected_calibration_error,
    "ece_quantile": lambda y, p: expected_calibration_error(y, p, strategy="quantile"),
    "ece_classwise_l2_debiased": lambda y, p: expected_calibration_error(
        y, p, kind="classwise", norm=2, debiased=True
    ),
    "ece_classwise_quantile": lambda y, p: expected_calibration_error(
        y, p, kind="classwise", strategy="quantile"
    ),
    "mce": maximum_calibration_error,
    "curve": lambda y, p: np.concatenate(calibration_curve(y, p, n_bins=10)),
    "curve_class": lambda y, p: np.concatenate(
        calibration_curve(y, p, kind="class", class_label=2, strategy="quantile")
    ),
    "decomposition": lambda y, p: np.array(nll_decomposition(y, p)),
    "weighted_nll": lambda y, p: nll(y, p, sample_weight=np.arange(N_ROWS) % 3),
}


@pytest.mark.parametrize("holder", HOLDERS)
@pytest.mark.parametrize("metric", METRICS)
def test_metric_on_streamed_probabilities_equals_in_memory(scores, tmp_path, holder, metric):
    _, proba, y = scores
    expected = METRICS[metric](y, proba)
    streamed = _holders(proba, tmp_path, [holder])[holder]
    result = METRICS[metric](y, streamed)
    assert isinstance(result, (float, np.ndarray, tuple))
    assert_allclose(result, expected, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("holder", HOLDERS)
def test_logit_metrics_on_streamed_logits_equal_in_memory(scores, tmp_path, holder):
    logits, _, y = scores
    streamed = _holders(logits, tmp_path, [holder])[holder]
    assert nll_from_logits(y, streamed) == pytest.approx(nll_from_logits(y, logits), rel=1e-10)
    assert perplexity(y, logits=streamed) == pytest.approx(perplexity(y, logits=logits),
                                                           rel=1e-10)


def test_metrics_on_dask_return_plain_floats(scores):
    da = pytest.importorskip("dask.array", reason="Dask is an optional extra (skcal[dask])")
    _, proba, y = scores
    result = nll(da.from_array(y, chunks=1000), da.from_array(proba, chunks=1000))
    assert type(result) is float


def test_float16_is_computed_in_float32_block_by_block(scores, tmp_path):
    logits, _, y = scores
    half = logits.astype(np.float16)
    np.save(tmp_path / "half.npy", half)
    mapped = np.load(tmp_path / "half.npy", mmap_mode="r")
    as_float32 = half.astype(np.float32)
    assert nll_from_logits(y, mapped) == pytest.approx(nll_from_logits(y, as_float32),
                                                       rel=1e-9)
    ts = TemperatureScaling().fit(mapped, y)
    reference = TemperatureScaling().fit(as_float32, y)
    assert ts.temperature_ == pytest.approx(reference.temperature_, rel=1e-6)
    assert ts.predict_proba(mapped).dtype == np.float32
    # an in-memory float16 array takes the same block-wise path
    assert TemperatureScaling().fit(half, y).temperature_ == pytest.approx(
        reference.temperature_, rel=1e-6
    )


PARAMETRIC = {
    "temperature": (TemperatureScaling, ["temperature_"]),
    "vector": (VectorScaling, ["coef_", "intercept_"]),
    "matrix": (MatrixScaling, ["coef_", "intercept_"]),
    "platt": (PlattScaling, ["coef_", "intercept_"]),
    "beta": (BetaCalibration, ["coef_", "intercept_"]),
}


@pytest.mark.parametrize("holder", HOLDERS)
@pytest.mark.parametrize("method", PARAMETRIC)
def test_parametric_map_on_streamed_scores_equals_in_memory(scores, tmp_path, holder, method):
    logits, _, y = scores
    cls, attributes = PARAMETRIC[method]
    reference = cls().fit(logits, y)
    streamed = _holders(logits, tmp_path, [holder])[holder]
    fitted = cls().fit(streamed, y)
    for attribute in attributes:
        assert_allclose(getattr(fitted, attribute), getattr(reference, attribute),
                        rtol=1e-6, atol=1e-9)
    proba = fitted.predict_proba(streamed)
    if holder == "dask":
        proba = proba.compute()
    assert_allclose(proba, reference.predict_proba(logits), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("holder", ["memmap", "dask"])
def test_binary_one_dimensional_scores_stream(tmp_path, holder):
    rng = np.random.default_rng(0)
    s = rng.normal(scale=3.0, size=4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-s / 2))).astype(int)
    streamed = _holders(s, tmp_path, [holder])[holder]
    for cls in (TemperatureScaling, PlattScaling):
        assert_allclose(cls().fit(streamed, y).predict_proba(s),
                        cls().fit(s, y).predict_proba(s), rtol=1e-9)
    assert nll_from_logits(y, streamed) == pytest.approx(nll_from_logits(y, s), rel=1e-10)


def test_temperature_fit_takes_few_passes_on_a_large_input(tmp_path):
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=3.0, size=(150_000, 20)).astype(np.float32)
    y = sample_labels(softmax(logits.astype(np.float64) / 1.7), rng)
    np.save(tmp_path / "big.npy", logits)
    ts = TemperatureScaling().fit(np.load(tmp_path / "big.npy", mmap_mode="r"), y)
    assert ts.temperature_ == pytest.approx(1.7, rel=0.02)
    assert ts.n_iter_ <= 4  # passes over the data, the warm start's subsample excluded


def test_non_parametric_maps_read_a_memory_map_whole_and_refuse_dask(scores, tmp_path):
    logits, _, y = scores
    held = _holders(logits, tmp_path, ["memmap"])
    iso = IsotonicCalibration().fit(held["memmap"], y)
    assert_allclose(iso.predict_proba(logits), IsotonicCalibration().fit(logits, y)
                    .predict_proba(logits))
    da = pytest.importorskip("dask.array", reason="Dask is an optional extra (skcal[dask])")
    with pytest.raises(ValueError, match="needs all the scores in memory.*compute"):
        IsotonicCalibration().fit(da.from_array(logits, chunks=1000), y)


def test_predict_proba_on_dask_is_lazy_and_chunked_like_the_rows(scores):
    da = pytest.importorskip("dask.array", reason="Dask is an optional extra (skcal[dask])")
    logits, _, y = scores
    ts = TemperatureScaling().fit(logits, y)
    calls = []

    def read_chunk(block):
        calls.append(block.shape[0])
        return block

    X = da.from_array(logits, chunks=DASK_CHUNKS).map_blocks(read_chunk, dtype=logits.dtype)
    calls.clear()  # Dask calls the function on an empty array to learn its output
    proba = ts.predict_proba(X)
    labels = ts.predict(X)
    assert calls == []  # nothing computed yet
    assert proba.chunks[0] == DASK_CHUNKS[0]
    assert_allclose(proba.compute(), ts.predict_proba(logits), rtol=1e-12)
    assert_allclose(labels.compute(), ts.predict(logits))
    assert calls  # computed when asked


def test_dask_labels_and_weights(scores):
    da = pytest.importorskip("dask.array", reason="Dask is an optional extra (skcal[dask])")
    logits, _, y = scores
    w = 1.0 + np.arange(N_ROWS) % 4
    fitted = VectorScaling().fit(da.from_array(logits, chunks=1500), da.from_array(y, chunks=999),
                                 sample_weight=da.from_array(w, chunks=2000))
    reference = VectorScaling().fit(logits, y, sample_weight=w)
    assert_allclose(fitted.coef_, reference.coef_, rtol=1e-6)


@pytest.fixture(scope="module")
def dask_client():
    """A LocalCluster of two worker processes, the cluster of the tests."""
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is an optional extra (skcal[dask])"
    )
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_fit_and_metrics_run_on_a_local_cluster(scores, dask_client):
    da = pytest.importorskip("dask.array")
    logits, proba, y = scores
    X = da.from_array(logits, chunks=DASK_CHUNKS)
    ts = TemperatureScaling().fit(X, y)
    assert ts.temperature_ == pytest.approx(TemperatureScaling().fit(logits, y).temperature_,
                                            rel=1e-6)
    platt = PlattScaling().fit(X, y)
    assert_allclose(platt.coef_, PlattScaling().fit(logits, y).coef_, rtol=1e-6)
    assert expected_calibration_error(y, da.from_array(proba, chunks=2000)) == pytest.approx(
        expected_calibration_error(y, proba), rel=1e-10
    )
    assert_allclose(ts.predict_proba(X).compute(), ts.predict_proba(logits), rtol=1e-6)
    # the folds' temperatures fitted together, their block sums made on the workers
    P = da.from_array(proba, chunks=2000)
    assert_allclose(nll_decomposition(y, P), nll_decomposition(y, proba), rtol=1e-9)
    on_cluster = compare_models({"a": X, "b": 2 * X}, y, calibrate="temperature")
    in_memory = compare_models({"a": logits, "b": 2 * logits}, y, calibrate="temperature")
    for name in ("a", "b"):
        assert on_cluster.results_[name]["nll"] == pytest.approx(
            in_memory.results_[name]["nll"], rel=1e-9)


@pytest.mark.parametrize("holder", HOLDERS)
def test_a_nan_far_into_the_file_names_its_row(scores, tmp_path, holder):
    logits, proba, y = scores
    bad = logits.copy()
    bad[5321, 2] = np.nan
    streamed = _holders(bad, tmp_path, [holder])[holder]
    with pytest.raises(ValueError, match=r"non-finite score \(nan at row 5321, column 2\)"):
        TemperatureScaling().fit(streamed, y)
    with pytest.raises(ValueError, match=r"non-finite score \(nan at row 5321, column 2\)"):
        nll_from_logits(y, streamed)
    bad_proba = proba.copy()
    bad_proba[4999] = [0.5, 0.5, 0.5, 0.0, 0.0]
    streamed = _holders(bad_proba, tmp_path / "..", [holder])[holder]
    with pytest.raises(ValueError, match="row 4999 sums to 1.5"):
        nll(y, streamed)


@pytest.mark.parametrize("holder", HOLDERS)
def test_wrong_label_length_is_the_in_memory_error(scores, tmp_path, holder):
    logits, proba, y = scores
    streamed = _holders(logits, tmp_path, [holder])[holder]
    with pytest.raises(ValueError, match=f"X has {N_ROWS} samples but y has {N_ROWS - 1}"):
        TemperatureScaling().fit(streamed, y[:-1])
    with pytest.raises(ValueError, match=f"y_true has {N_ROWS - 1} samples but logits"):
        nll_from_logits(y[:-1], streamed)


def test_probabilities_read_as_such_stay_checked_in_later_blocks(scores, tmp_path,
                                                                 monkeypatch):
    from skcal.rows import _score_rows

    monkeypatch.setattr(_score_rows, "_PROBE_ELEMENTS", 500)  # 'auto' looks at 100 rows
    logits, proba, y = scores
    mixed = proba.copy()
    mixed[-10:] = logits[-10:]  # only the last rows are not probabilities
    held = _holders(mixed, tmp_path, ["memmap"])["memmap"]
    with pytest.raises(ValueError, match="score_type='logits'"):
        TemperatureScaling().fit(held, y)


def test_rows_reduce_and_map_agree_with_numpy():
    data = np.arange(60.0).reshape(20, 3)
    rows = Rows(data)
    for block_elements in (1, 7, 1000):
        total = rows.reduce(lambda b, v: (b.sum(axis=0), v @ b[:, 0]), np.arange(20.0),
                            block_elements=block_elements)
        assert_allclose(total[0], data.sum(axis=0))
        assert total[1] == pytest.approx(np.arange(20.0) @ data[:, 0])
        assert_allclose(rows.map_rows(lambda b: b.max(axis=1), block_elements=block_elements),
                        data.max(axis=1))


def test_importing_skcal_does_not_import_dask_or_zarr():
    code = (
        "import sys, skcal, skcal.metrics; "
        "print(sorted(m for m in ('dask', 'zarr', 'distributed') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("holder", ["memory"] + HOLDERS)
def test_probability_metrics_take_logits_and_softmax_them_block_by_block(scores, tmp_path,
                                                                         holder):
    logits, proba, y = scores
    held = logits if holder == "memory" else _holders(logits, tmp_path, [holder])[holder]
    for metric in (expected_calibration_error, maximum_calibration_error, brier_score):
        assert metric(y, logits=held) == pytest.approx(metric(y, proba), rel=1e-10)
    assert_allclose(calibration_curve(y, logits=held).prob_pred,
                    calibration_curve(y, proba).prob_pred, rtol=1e-10)
    with pytest.raises(ValueError, match="exactly one of y_prob and logits"):
        expected_calibration_error(y, proba, logits=held)


def test_a_zarr_array_of_more_than_two_dimensions_is_refused_not_loaded(tmp_path):
    zarr = pytest.importorskip("zarr", reason="Zarr is an optional extra (skcal[dask])")
    store = zarr.open_array(str(tmp_path / "tokens.zarr"), mode="w", shape=(4, 50, 6),
                            chunks=(2, 50, 6), dtype="f4")
    store[...] = np.random.default_rng(0).normal(size=(4, 50, 6))
    with pytest.raises(ValueError, match="store the scores as 2-D rows"):
        nll_from_logits(np.zeros((4, 50), dtype=int), store)
