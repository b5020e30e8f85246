"""What runs on the host only (the comparison of calibrators, a recalibration
fitted in memory for the NLL decomposition, the monitor) takes device arrays
under ``array_api_dispatch`` too, and gives numpy's results; the streamed
decomposition computes on the device. Each of these stopped with an error from
inside (``asarray(): argument 'dtype' must be torch.dtype``, ``data type
numpy.object_ not inexact``, ``'torch.dtype' object has no attribute 'kind'``).
"""

import numpy as np
import pytest
import sklearn

from skcal import CalibrationMonitor, compare_calibrators, compare_models
from skcal.metrics import nll_decomposition

from test_array_api import _labelled_logits, _namespace, _put  # noqa: I001

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:array_api_strict")


@pytest.fixture(params=[("array_api_strict", "CPU_DEVICE"), ("array_api_strict", "device1"),
                        ("torch", "cpu")], ids=lambda p: "-".join(p))
def namespace(request):
    return _namespace(*request.param)


def _dispatch():
    return sklearn.config_context(array_api_dispatch=True)


def _probabilities(logits):
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def test_compare_calibrators_on_device_scores_equals_numpy(namespace):
    xp, device = namespace
    logits, y = _labelled_logits(n=1500)
    methods = ["temperature", "isotonic", "matrix"]
    with _dispatch():
        on_device = compare_calibrators(_put(xp, device, logits), _put(xp, device, y),
                                        calibrators=methods, cv=3)
    on_numpy = compare_calibrators(logits, y, calibrators=methods, cv=3)
    assert on_device.ranking_ == on_numpy.ranking_
    # the same host computation
    np.testing.assert_allclose(on_device.cv_results_["mean_test_nll"],
                               on_numpy.cv_results_["mean_test_nll"], rtol=1e-12)


def test_nll_decomposition_of_device_probabilities_equals_numpy(namespace):
    xp, device = namespace
    logits, y = _labelled_logits(n=2000)
    proba = _probabilities(logits)
    proba[proba < 1e-3] = 0.0  # exact zeros, read at the floor
    proba /= proba.sum(axis=1, keepdims=True)
    with _dispatch():
        streamed = nll_decomposition(_put(xp, device, y), _put(xp, device, proba))
        isotonic = nll_decomposition(_put(xp, device, y), _put(xp, device, proba),
                                     method="isotonic")
    # temperature: float64 sums on the device in other groupings, each fold's
    # temperature to its Newton tolerance; isotonic: the same host computation
    expected = nll_decomposition(y, proba)
    np.testing.assert_allclose(streamed.refinement, expected.refinement, rtol=1e-9)
    np.testing.assert_allclose(streamed.nll, expected.nll, rtol=1e-12)
    np.testing.assert_allclose(isotonic.refinement,
                               nll_decomposition(y, proba, method="isotonic").refinement,
                               rtol=1e-12)


def test_a_monitor_fed_device_arrays_equals_one_fed_numpy(namespace):
    xp, device = namespace
    logits, y = _labelled_logits(n=5000)
    reference, production = slice(0, 2000), slice(2000, 5000)
    waiting = np.arange(0, 3000, 7)
    labels = y[production].astype(float)
    labels[waiting] = np.nan

    def run(put):
        monitor = CalibrationMonitor(chunk_size=500, min_labels=50)
        with _dispatch():
            monitor.fit(put(logits[reference]), put(y[reference]))
            monitor.update(put(logits[production]), put(labels))
            monitor.add_labels(put(waiting), put(y[production][waiting]))
            monitor.recalibrate("temperature", put(logits[production]), put(y[production]))
        return monitor

    on_device = run(lambda values: _put(xp, device, values))
    on_numpy = run(np.asarray)
    assert on_device.to_dict()["chunks"] == on_numpy.to_dict()["chunks"]  # the same host work
    assert on_device.calibrator_.temperature_ == on_numpy.calibrator_.temperature_


def test_compare_models_reads_torch_tensors_outside_dispatch_as_numpy():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch)")
    logits, y = _labelled_logits(n=1000)
    tensors = {"sharp": torch.from_numpy(logits), "flat": torch.from_numpy(logits / 3)}
    result = compare_models(tensors, torch.from_numpy(y))
    expected = compare_models({"sharp": logits, "flat": logits / 3}, y)
    assert result.ranking_ == expected.ranking_
    np.testing.assert_equal(result.results_, expected.results_)  # NaN p-value of the best
