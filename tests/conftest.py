"""Shared fixtures.

Real classifier outputs live in ``../shared/data`` beside the project checkout
(see its README for provenance). They are never copied into the project: tests
that need them skip, saying why, when the folder is absent. Set
``SKCAL_SHARED_DATA`` to read them from elsewhere.
"""

import os
from pathlib import Path

import numpy as np
import pytest
from servers import missing  # noqa: F401 (the tests import it from here)

SHARED_DATA = Path(
    os.environ.get(
        "SKCAL_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)


def load_shared(name):
    """Arrays of ``shared/data/<name>``, or a skip when the file is not there."""
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"real classifier outputs not available: {path} is absent")
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def seeded_halves(n_samples, seed=0):
    """Index arrays of a seeded 50/50 split (calibration half, evaluation half)."""
    order = np.random.default_rng(seed).permutation(n_samples)
    return order[: n_samples // 2], order[n_samples // 2 :]


def sample_labels(proba, rng):
    """One label per row drawn from the row's probabilities."""
    return (proba.cumsum(axis=1) > rng.random((proba.shape[0], 1))).argmax(axis=1)


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def temperature_model(rng, n_samples, n_classes, temperature=1.0):
    """Predictions ``softmax(z)``, ``z ~ N(0, 2^2)``, and labels drawn from
    ``softmax(z / temperature)``: calibrated at 1, overconfident above.

    Returns
    -------
    y, proba, truth : labels, predicted and true probabilities
    """
    logits = rng.normal(0, 2, size=(n_samples, n_classes))
    proba, truth = softmax(logits), softmax(logits / temperature)
    return sample_labels(truth, rng), proba, truth


@pytest.fixture
def flsd_logits():
    """CIFAR-10 ResNet-50 (focal loss FLSD-53) logits with a real val/test split."""
    return load_shared("cifar10_resnet50_flsd53_val_test.npz")


@pytest.fixture
def known_temperature_logits():
    """Synthetic logits whose labels are drawn from softmax(z / 2.5): T* = 2.5."""
    rng = np.random.default_rng(42)
    logits = rng.normal(scale=4.0, size=(40000, 5))
    y = sample_labels(softmax(logits / 2.5), rng)
    return logits, y, 2.5


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh database on the machine's PostgreSQL (see ``tests/servers.py``),
    dropped at the end; a skip that says why where there is none."""
    from servers import postgres_url as start

    url, drop = start()
    if url is None:
        missing(f"no PostgreSQL for the test: {drop}")
    yield url
    drop()


@pytest.fixture(scope="module")
def spark():
    """A local[2] Spark session, one per test module (``tests/spark``), whose
    Python workers run this interpreter; a skip that says why where pyspark or
    Java is missing."""
    from servers import spark_session

    session, reason = spark_session()
    if session is None:
        missing(f"no Spark for the test: {reason}")
    yield session
    session.stop()


# pyspark 3.5's own warnings, left out of its Spark tests: its version checks call
# distutils, its pandas conversion a deprecated pandas 2 function, and it leaves the
# sockets of collected results to the garbage collector. pyspark 4, which CI runs,
# gives none of them, so they stay errors there. (Here, not in a tests/spark/conftest.py,
# which other folders' `from conftest import ...` would then find instead of this one.)
PYSPARK_3_WARNINGS = (
    "ignore:distutils Version classes are deprecated:DeprecationWarning",
    "ignore:is_datetime64tz_dtype is deprecated:DeprecationWarning",
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning",
)


def pytest_collection_modifyitems(config, items):
    try:
        import pyspark
    except ImportError:
        return
    if int(pyspark.__version__.split(".")[0]) >= 4:
        return
    for item in items:
        if "spark" in item.path.parts:
            for ignored in PYSPARK_3_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(ignored))
