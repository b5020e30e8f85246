"""The real servers and programs some tests use: the machine's PostgreSQL and a
headless Chromium. Each is started (or found) here; where one cannot be, the
tests that need it skip and say why. ``.ci/run`` installs and starts both, so
on CI they run.
"""

import atexit
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

POSTGRES_VERSION = os.environ.get("SKCAL_TEST_POSTGRES_VERSION", "15")
ROLE = "skcal_test"


def missing(reason):
    """Skip a test whose server or program is missing; fail it where CI asks for
    them all (``SKCAL_REQUIRE_SERVERS=1``, set by ``.ci/run``)."""
    if os.environ.get("SKCAL_REQUIRE_SERVERS"):
        pytest.fail(f"{reason} (SKCAL_REQUIRE_SERVERS is set)")
    pytest.skip(reason)


def postgres_url():
    """(URL of a fresh database on the machine's PostgreSQL, a function that drops
    it), or (None, the reason it cannot be had). The server is started with
    ``pg_ctlcluster`` if it is stopped; a login role for the tests is created
    through the ``postgres`` superuser (run as that user: the local socket
    authenticates by user)."""
    if shutil.which("pg_ctlcluster") is None:
        return None, "PostgreSQL is not installed here (no pg_ctlcluster)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return None, 'the PostgreSQL driver psycopg is missing: pip install "skcal[sql]"'
    started = subprocess.run(["pg_ctlcluster", POSTGRES_VERSION, "main", "start"],
                             capture_output=True, text=True)
    if started.returncode not in (0, 2):  # 2: already running
        return None, f"pg_ctlcluster {POSTGRES_VERSION} main start failed: {started.stderr}"
    database = f"skcal_test_{uuid.uuid4().hex[:10]}"
    try:
        _as_postgres(f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
                     f"'{ROLE}') THEN CREATE ROLE {ROLE} LOGIN PASSWORD '{ROLE}'; END IF; "
                     "END $$;")
        _as_postgres(f"CREATE DATABASE {database} OWNER {ROLE}")
    except (OSError, subprocess.CalledProcessError) as exc:
        reason = getattr(exc, "stderr", "") or exc
        return None, f"cannot create a test database as user postgres: {reason}"

    def drop():
        _as_postgres(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")

    return f"postgresql://{ROLE}:{ROLE}@127.0.0.1:5432/{database}", drop


def _as_postgres(sql):
    command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    else:
        command = [*command, "-U", "postgres"]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)


def chromium():
    """The path of a Chromium or Chrome to run headless, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def spark_session():
    """(a local[2] SparkSession whose Python workers run this interpreter, None),
    or (None, the reason there is none): pyspark missing, or no Java runtime."""
    import sys

    try:
        import pyspark  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        return None, 'pyspark and pyarrow are missing: pip install "skcal[spark]"'
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return None, "no Java runtime for Spark (java is not on PATH, JAVA_HOME unset)"
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    # Spark's tables in a folder of their own, removed at exit (not
    # ./spark-warehouse, an empty folder it left in the checkout)
    warehouse = tempfile.mkdtemp(prefix="skcal-spark-warehouse-")
    atexit.register(shutil.rmtree, warehouse, ignore_errors=True)
    session = (SparkSession.builder.master("local[2]").appName("skcal-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.driver.memory", "1g")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.warehouse.dir", warehouse)
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    return session, None
