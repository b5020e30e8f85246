"""One local[2] Spark session per test module (``.ci/run`` installs pyspark and
has Java; elsewhere these tests skip and say why)."""

import pytest
from servers import missing


@pytest.fixture(scope="module")
def spark():
    from servers import spark_session

    session, reason = spark_session()
    if session is None:
        missing(f"no Spark for the test: {reason}")
    yield session
    session.stop()

