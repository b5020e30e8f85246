"""Scores of other array libraries under scikit-learn's array_api_dispatch.

TemperatureScaling, VectorScaling and PlattScaling (scores mode) and the
metrics compute on array_api_strict arrays (on both of its devices) and PyTorch
tensors with those libraries, and must give numpy's results: 1e-12 in float64,
1e-6 in float32 and float16. A CUDA device or CuPy is used when present.
"""

import numpy as np
import pytest
import sklearn
from sklearn.exceptions import NotFittedError

from skcal import (
    IsotonicCalibration,
    MatrixScaling,
    PlattScaling,
    TemperatureScaling,
    VectorScaling,
    load_calibrator,
    move_calibrator_to,
    save_calibrator,
)
from skcal.calibrators._registry import CALIBRATORS as REGISTERED
from skcal.rows import _namespaces
from skcal.metrics import (
    brier_score,
    expected_calibration_error,
    get_scorer,
    nll,
    nll_from_logits,
    perplexity,
)

# every registered map that computes on device arrays
CALIBRATORS = [entry.cls for entry in REGISTERED if entry.cls._array_api]

# How closely a float64 fit on another library reproduces numpy's. Temperature
# and Platt scaling take Newton steps to the rounding level: 1e-12. Vector
# scaling's L-BFGS stops once its objective changes by less than 64 ulp, so where
# the two libraries add a block's terms in different orders (weighted fits) its
# parameters end up ~1e-12 apart, and the log-probabilities ~1e-11.
FLOAT64_TOLERANCE = {TemperatureScaling: 1e-12, VectorScaling: 1e-10, PlattScaling: 1e-12}


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch)")


def _namespace(name, device_name):
    """(xp, device) of a namespace to test, or a skip saying why it cannot be."""
    if name == "array_api_strict":
        xp = pytest.importorskip(
            "array_api_strict", reason="array-api-strict is not installed"
        )
        return xp, xp.Device(device_name)
    if name == "torch":
        torch = _torch()
        if device_name == "cuda" and not torch.cuda.is_available():
            pytest.skip("no CUDA device on this machine")
        return torch, torch.device(device_name)
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed (needs a GPU)")
    return cupy, None


NAMESPACES = [
    ("array_api_strict", "CPU_DEVICE"),
    ("array_api_strict", "device1"),
    ("torch", "cpu"),
    ("torch", "cuda"),
    ("cupy", None),
]


@pytest.fixture(params=NAMESPACES, ids=lambda p: f"{p[0]}-{p[1]}")
def namespace(request):
    return _namespace(*request.param)


def _dispatch():
    return sklearn.config_context(array_api_dispatch=True)


def _labelled_logits(n=3000, k=6, seed=0, scale=2.0):
    """Logits of a model ``scale`` times too confident, and labels drawn from the truth."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(n, k))
    p = np.exp(logits / scale)
    p /= p.sum(axis=1, keepdims=True)
    y = (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return logits, y


def _host(array):
    return _namespaces.to_numpy(array)


def _put(xp, device, values, dtype=None):
    return xp.asarray(np.asarray(values), device=device, dtype=dtype)


# ------------------------------------------------------------- calibrators
@pytest.mark.parametrize("cls", CALIBRATORS)
@pytest.mark.parametrize("binary", [False, True])
def test_fit_and_predict_equal_numpy_in_float64(namespace, cls, binary):
    xp, device = namespace
    logits, y = _labelled_logits(k=2 if binary else 6)
    scores = logits[:, 1] - logits[:, 0] if binary else logits
    weights = np.random.default_rng(1).uniform(0.5, 2.0, size=y.shape[0])
    expected = cls().fit(scores, y, sample_weight=weights)
    X = _put(xp, device, scores)
    with _dispatch():
        fitted = cls().fit(X, _put(xp, device, y), sample_weight=_put(xp, device, weights))
        proba = fitted.predict_proba(X)
        log_proba = fitted.predict_log_proba(X)
        labels = fitted.predict(X)
    for output in (proba, log_proba, labels):
        assert _namespaces.namespace(output).__name__ == _namespaces.namespace(X).__name__
        assert _namespaces.device_of(output) == _namespaces.device_of(X)
    tolerance = FLOAT64_TOLERANCE[cls]
    np.testing.assert_allclose(_host(proba), expected.predict_proba(scores), rtol=tolerance,
                               atol=tolerance)
    np.testing.assert_allclose(_host(log_proba), expected.predict_log_proba(scores),
                               rtol=tolerance, atol=tolerance)
    np.testing.assert_array_equal(_host(labels), expected.predict(scores))
    np.testing.assert_array_equal(_host(fitted.classes_), expected.classes_)
    for name in fitted._map_attributes:
        np.testing.assert_allclose(_host(getattr(fitted, name)), getattr(expected, name),
                                   rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("cls", CALIBRATORS)
def test_float32_scores_equal_numpy_float32(namespace, cls):
    xp, device = namespace
    logits, y = _labelled_logits()
    logits = logits.astype(np.float32)
    expected = cls().fit(logits, y)
    X = _put(xp, device, logits)
    with _dispatch():
        fitted = cls().fit(X, _put(xp, device, y))
        proba = fitted.predict_proba(X)
    assert proba.dtype == X.dtype if cls is TemperatureScaling else True
    np.testing.assert_allclose(_host(proba), expected.predict_proba(logits), rtol=1e-6,
                               atol=1e-6)
    for name in fitted._map_attributes:
        np.testing.assert_allclose(_host(getattr(fitted, name)), getattr(expected, name),
                                   rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("cls", CALIBRATORS)
def test_half_precision_torch_logits_are_computed_in_float32(cls, dtype):
    torch = _torch()
    logits, y = _labelled_logits(n=4000, k=8)
    X = torch.asarray(logits).to(getattr(torch, dtype))
    as_float32 = X.to(torch.float32).numpy()  # the values the half-precision input holds
    expected = cls().fit(as_float32, y)
    with _dispatch():
        fitted = cls().fit(X, torch.asarray(y))
        proba = fitted.predict_proba(X)
    assert proba.dtype in (torch.float32, torch.float64)
    np.testing.assert_allclose(proba.numpy(), expected.predict_proba(as_float32), rtol=1e-6,
                               atol=1e-6)


def test_float16_numpy_and_torch_fits_agree():
    torch = _torch()
    logits, y = _labelled_logits(n=4000, k=8)
    half = logits.astype(np.float16)
    expected = TemperatureScaling().fit(half, y)  # numpy float16: float32 blocks
    with _dispatch():
        fitted = TemperatureScaling().fit(torch.asarray(half), torch.asarray(y))
    assert fitted.temperature_ == pytest.approx(expected.temperature_, rel=1e-6)


def test_the_scores_never_leave_the_device(monkeypatch):
    """Only per-row vectors (labels) and per-pass sums cross to the host, never
    the (n, K) scores or anything of their size."""
    torch = _torch()
    logits, y = _labelled_logits(n=2000, k=50)
    X = torch.asarray(logits)
    sizes = []
    real = _namespaces.to_numpy

    def recording(data):
        if hasattr(data, "shape"):
            sizes.append(int(np.prod(data.shape)))
        return real(data)

    # every module that converts device arrays to numpy, by the name it imported
    for module in ("skcal.rows._namespaces", "skcal.calibrators._base", "skcal.rows._score_rows",
                   "skcal.metrics._curve"):
        monkeypatch.setattr(f"{module}.to_numpy", recording)
    for cls in CALIBRATORS:
        with _dispatch():
            cls().fit(X, torch.asarray(y))
    assert sizes and max(sizes) <= logits.shape[0]


def test_fitted_attributes_live_beside_the_scores(namespace):
    xp, device = namespace
    logits, y = _labelled_logits()
    X = _put(xp, device, logits)
    with _dispatch():
        ts = TemperatureScaling().fit(X, _put(xp, device, y))
        vs = VectorScaling().fit(X, _put(xp, device, y))
    assert isinstance(ts.temperature_, float)
    for value in (vs.coef_, vs.intercept_, vs.classes_):
        assert _namespaces.device_of(value) == _namespaces.device_of(X)
        assert not isinstance(value, np.ndarray)


def test_move_calibrator_to_numpy_and_back(namespace):
    xp, device = namespace
    logits, y = _labelled_logits()
    X = _put(xp, device, logits)
    with _dispatch():
        fitted = PlattScaling().fit(X, _put(xp, device, y))
        on_device = fitted.predict_proba(X)
        with pytest.raises(ValueError, match="same namespace.*move_calibrator_to"):
            fitted.predict_proba(logits)
    on_host = move_calibrator_to(fitted, np)
    assert isinstance(on_host.coef_, np.ndarray) and isinstance(on_host.classes_, np.ndarray)
    np.testing.assert_allclose(on_host.predict_proba(logits), _host(on_device), rtol=1e-12)
    back = move_calibrator_to(on_host, xp, device)
    with _dispatch():
        np.testing.assert_allclose(_host(back.predict_proba(X)), _host(on_device), rtol=1e-12)
    assert isinstance(fitted.coef_, type(on_device))  # the original is unchanged


@pytest.mark.parametrize("Calibrator", CALIBRATORS)
def test_a_calibrator_fitted_on_device_arrays_is_saved_from_the_host(namespace, Calibrator,
                                                                     tmp_path):
    # save_calibrator stopped at "Object of type Tensor is not JSON serializable"
    # (array_api_strict: "Array"): the map's arrays were written as they were
    xp, device = namespace
    logits, y = _labelled_logits()
    X = _put(xp, device, logits)
    with _dispatch():
        fitted = Calibrator().fit(X, _put(xp, device, y))
        on_device = _host(fitted.predict_proba(X))
    save_calibrator(fitted, tmp_path / "fitted.json")
    loaded = load_calibrator(tmp_path / "fitted.json")  # on numpy, as saved files load
    # the same float64 parameters, written as JSON's shortest round-trip text
    np.testing.assert_allclose(loaded.predict_proba(logits), on_device, rtol=1e-12)
    back = move_calibrator_to(loaded, xp, device)
    with _dispatch():
        np.testing.assert_allclose(_host(back.predict_proba(X)), on_device, rtol=1e-12)


def test_move_calibrator_to_refuses_what_it_cannot_do():
    """Each of these was done silently (an unfitted calibrator, numpy on 'cuda'),
    or failed inside numpy or the namespace."""
    xp = pytest.importorskip("array_api_strict", reason="array-api-strict is not installed")
    logits, y = _labelled_logits()
    fitted = TemperatureScaling().fit(logits, y)
    with pytest.raises(NotFittedError):
        move_calibrator_to(TemperatureScaling(), xp)
    with pytest.raises(TypeError, match="xp must be an array namespace.*got 'torch'"):
        move_calibrator_to(fitted, "torch")
    with pytest.raises(ValueError, match="numpy arrays live on the CPU; device='cuda'"):
        move_calibrator_to(fitted, np, "cuda")
    isotonic = IsotonicCalibration().fit(logits, y)
    with pytest.raises(ValueError, match="IsotonicCalibration takes numpy arrays only"):
        move_calibrator_to(isotonic, xp)  # its knots are arrays of Python objects
    assert move_calibrator_to(isotonic, np).predict_proba(logits).shape == logits.shape


def test_numpy_fitted_calibrator_refuses_device_scores_under_dispatch():
    torch = _torch()
    logits, y = _labelled_logits()
    fitted = VectorScaling().fit(logits, y)
    with _dispatch(), pytest.raises(ValueError, match="fitted on numpy arrays and got"):
        fitted.predict(torch.asarray(logits))


def test_without_dispatch_torch_input_takes_the_numpy_path():
    torch = _torch()
    logits, y = _labelled_logits()
    fitted = TemperatureScaling().fit(torch.asarray(logits), torch.asarray(y))
    proba = fitted.predict_proba(torch.asarray(logits))
    assert isinstance(proba, np.ndarray)
    assert fitted.temperature_ == TemperatureScaling().fit(logits, y).temperature_


def test_probability_scores_on_a_device(namespace):
    xp, device = namespace
    logits, y = _labelled_logits()
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = TemperatureScaling().fit(proba, y)
    with _dispatch():
        fitted = TemperatureScaling().fit(_put(xp, device, proba), _put(xp, device, y))
    assert fitted.score_type_ == "probabilities"
    assert fitted.temperature_ == pytest.approx(expected.temperature_, rel=1e-12)


def test_bad_device_scores_get_the_numpy_messages(namespace):
    xp, device = namespace
    logits, y = _labelled_logits(n=500)
    logits[321, 2] = np.nan
    with _dispatch(), pytest.raises(ValueError, match=r"non-finite score \(nan at row 321, "
                                                     r"column 2\)"):
        TemperatureScaling().fit(_put(xp, device, logits), _put(xp, device, y))
    bad = np.full((4, 3), 0.5)
    with _dispatch(), pytest.raises(ValueError, match="row 0 sums to 1.5"):
        TemperatureScaling(score_type="probabilities").fit(_put(xp, device, bad),
                                                           _put(xp, device, [0, 1, 2, 0]))


def test_other_maps_refuse_device_scores_clearly():
    torch = _torch()
    logits, y = _labelled_logits(n=200)
    with _dispatch(), pytest.raises(TypeError, match="MatrixScaling does not compute on torch"):
        MatrixScaling().fit(torch.asarray(logits), torch.asarray(y))


def test_string_labels_are_refused_under_dispatch():
    torch = _torch()
    logits, _ = _labelled_logits(n=4, k=2)
    with _dispatch(), pytest.raises(ValueError, match="labels must be numbers"):
        TemperatureScaling().fit(torch.asarray(logits), np.array(["a", "b", "a", "b"]))


def test_array_api_support_is_declared_in_scores_mode_only():
    from sklearn.linear_model import LogisticRegression
    from sklearn.utils import get_tags

    for cls in CALIBRATORS:
        assert get_tags(cls()).array_api_support
        assert not get_tags(cls(LogisticRegression())).array_api_support
    assert not get_tags(MatrixScaling()).array_api_support


# ---------------------------------------------- scikit-learn's own checks
SKLEARN_NAMESPACES = [
    ("array_api_strict", "CPU_DEVICE", "float64"),
    ("array_api_strict", "device1", "float32"),
    ("torch", "cpu", "float64"),
    ("torch", "cpu", "float32"),
    ("torch", "cuda", "float32"),
]


@pytest.mark.filterwarnings("ignore:The scores carry no information:UserWarning")
@pytest.mark.filterwarnings("ignore:The calibration scores separate class:UserWarning")
@pytest.mark.parametrize("cls", CALIBRATORS)
@pytest.mark.parametrize("name,device_name,dtype_name", SKLEARN_NAMESPACES)
def test_sklearn_array_api_checks(cls, name, device_name, dtype_name):
    _namespace(name, device_name)
    try:
        from sklearn.utils.estimator_checks import (
            check_array_api_input,
            check_array_api_same_namespace,
        )
    except ImportError:
        pytest.skip(f"scikit-learn {sklearn.__version__} has no check_array_api_same_namespace "
                    "among its estimator checks")
    check_array_api_input(cls.__name__, cls(), name, device_name=device_name,
                          dtype_name=dtype_name, check_values=True, check_sample_weight=True)
    check_array_api_same_namespace(cls.__name__, cls(), name, device_name=device_name)


@pytest.mark.filterwarnings("ignore:The scores carry no information:UserWarning")
@pytest.mark.filterwarnings("ignore:The calibration scores separate class:UserWarning")
@pytest.mark.parametrize("cls", CALIBRATORS)
def test_sklearn_mixed_input_check(cls):
    """X on one library, labels and weights on another: they follow X."""
    try:
        from sklearn.utils._array_api import yield_mixed_namespace_input_permutations
        from sklearn.utils.estimator_checks import check_array_api_mixed_inputs
    except ImportError:
        pytest.skip(f"scikit-learn {sklearn.__version__} has no check of mixed array "
                    "inputs (check_array_api_mixed_inputs)")

    ran = 0
    for other, X_namespace, _ in yield_mixed_namespace_input_permutations():
        try:
            _namespace(X_namespace.xp, X_namespace.device)
            _namespace(other.xp, other.device)
        except pytest.skip.Exception:
            continue
        check_array_api_mixed_inputs(cls.__name__, cls(), X_namespace, other)
        ran += 1
    if not ran:
        pytest.skip("no two array libraries installed to mix")


# ------------------------------------------------------------------ metrics
def _metric_cases():
    return {
        "nll": lambda y, p, z: nll(y, p),
        "nll_bits": lambda y, p, z: nll(y, p, base=2),
        "nll_from_logits": lambda y, p, z: nll_from_logits(y, z),
        "perplexity": lambda y, p, z: perplexity(y, logits=z),
        "brier": lambda y, p, z: brier_score(y, p),
        "brier_from_logits": lambda y, p, z: brier_score(y, logits=z),
        "ece": lambda y, p, z: expected_calibration_error(y, p),
        "ece_quantile": lambda y, p, z: expected_calibration_error(y, p, strategy="quantile"),
        "classwise_ece": lambda y, p, z: expected_calibration_error(y, p, kind="classwise"),
        "classwise_ece_quantile": lambda y, p, z: expected_calibration_error(
            y, p, kind="classwise", strategy="quantile"),
        "ece_from_logits": lambda y, p, z: expected_calibration_error(y, logits=z),
    }


@pytest.mark.parametrize("metric", sorted(_metric_cases()))
@pytest.mark.parametrize("dtype,tolerance", [("float64", 1e-12), ("float32", 1e-6)])
def test_metrics_equal_numpy(namespace, metric, dtype, tolerance):
    xp, device = namespace
    func = _metric_cases()[metric]
    logits, y = _labelled_logits(n=2000, k=5)
    logits = logits.astype(dtype)
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    expected = func(y, proba, logits)
    with _dispatch():
        value = func(_put(xp, device, y), _put(xp, device, proba), _put(xp, device, logits))
    assert type(value) is float
    assert value == pytest.approx(expected, rel=tolerance, abs=tolerance)


def test_binary_metrics_on_one_column(namespace):
    xp, device = namespace
    rng = np.random.default_rng(3)
    p = rng.uniform(0.05, 0.95, size=500)
    y = (rng.random(500) < p).astype(int)
    with _dispatch():
        got = (nll(_put(xp, device, y), _put(xp, device, p)),
               brier_score(_put(xp, device, y), _put(xp, device, p)))
    assert got == pytest.approx((nll(y, p), brier_score(y, p)), rel=1e-12)


@pytest.mark.parametrize("name", ["neg_nll", "neg_nll_bits", "neg_brier", "neg_ece",
                                  "neg_classwise_ece"])
def test_scorers_on_device_arrays(namespace, name):
    xp, device = namespace
    logits, y = _labelled_logits(n=1500)
    expected = get_scorer(name)(VectorScaling().fit(logits, y), logits, y)
    X, labels = _put(xp, device, logits), _put(xp, device, y)
    with _dispatch():
        fitted = VectorScaling().fit(X, labels)
        score = get_scorer(name)(fitted, X, labels)
    assert type(score) is float
    assert score == pytest.approx(expected, rel=1e-10, abs=1e-12)
