"""The monitor's table in a SQL database: one long results table, through SQLAlchemy.

Schema (version 1), created if missing:

``skcal_monitor_results``, one row per model, chunk and metric (the key):
    ``model``, ``chunk``, ``metric``; ``run_id`` (the run that last wrote the
    row); ``start_row`` and ``end_row`` (the chunk's rows, end excluded, when
    chunks are counted in rows) or ``start_time`` and ``end_time`` (UTC, end
    excluded, with ``chunk_period``); ``value``; ``reference_value`` (the
    reference's value of the metric, where it has one); ``threshold`` (the
    CUSUM's for ``cusum``, the single chunk's for ``z``); ``alarm`` and
    ``verdict`` (the chunk's); ``calibrator`` (the version that scored the
    chunk); ``written_at`` (UTC). A value that is not a number (no labels
    yet) is NULL. Beside each chunk's metrics, ``detectable_rise`` is the
    monitor's smallest sustained NLL rise its thresholds flag within 10 chunks
    (``detectable_rise_``).
``skcal_monitor_runs``, one row per run: ``model``, ``run_id``,
    ``written_at``, ``chunks_written``, ``latest_chunk``, ``latest_verdict``
    (of the latest chunk with a verdict: newer ones may wait for labels),
    ``skcal_version``.
``skcal_schema``: ``component`` and ``version`` of the tables above.

A write replaces the rows of the chunks it writes, in one transaction, so
writing the same chunks again updates them and a failed write leaves nothing.
On PostgreSQL and SQLite, skcal's writers of one database take turns, each
for its transaction (:func:`take_turn`): two nightly jobs that write at once,
to a store not yet made or for the same model, both succeed.
"""

import datetime
import hashlib
import math
import uuid

from ..utils._version import __version__
from ._table import latest_judged
from ._thresholds import smallest_detectable_rise

SCHEMA_VERSION = 1
RESULTS_TABLE = "skcal_monitor_results"
RUNS_TABLE = "skcal_monitor_runs"
SCHEMA_TABLE = "skcal_schema"
# the chunk table's numbers written as metrics, and the reference's key of each
METRICS = {
    "n": None, "n_labelled": None, "accuracy": "accuracy", "nll": "nll",
    "nll_se": None, "brier": "brier", "ece": "ece",
    "nll_calibration": "nll_calibration", "nll_refinement": "nll_refinement",
    "expected_nll": "expected_nll", "z": None, "cusum": None,
}
# the monitor's own number written beside each chunk's: the smallest sustained NLL
# rise its thresholds flag (detectable_rise_), as the Prometheus gauge has it
DETECTABLE_RISE = "detectable_rise"
# every metric a chunk has rows of
STORED_METRICS = (*METRICS, DETECTABLE_RISE)
# chunks of a DELETE ... IN (...) at a time (SQLite's old limit is 999 variables)
_DELETE_BATCH = 500
# the key of the PostgreSQL advisory lock skcal's writers of one database take
# turns on: a fixed signed 64-bit number
STORE_LOCK_KEY = int.from_bytes(hashlib.sha256(b"skcal monitor store").digest()[:8], "big",
                                signed=True)


def sqlalchemy():
    """The sqlalchemy module, or an ImportError that says how to install it."""
    try:
        import sqlalchemy as sa
    except ImportError as exc:
        raise ImportError('Writing to a SQL store needs SQLAlchemy: pip install "skcal[sql]" '
                          "(SQLAlchemy and the PostgreSQL driver psycopg).") from exc
    return sa


def tables(sa, metadata):
    """The store's three tables on ``metadata``."""
    results = sa.Table(
        RESULTS_TABLE, metadata,
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("chunk", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("metric", sa.String(40), primary_key=True),
        sa.Column("run_id", sa.String(200), nullable=False),
        sa.Column("start_row", sa.BigInteger),
        sa.Column("end_row", sa.BigInteger),
        sa.Column("start_time", sa.DateTime),
        sa.Column("end_time", sa.DateTime),
        sa.Column("value", sa.Float(53)),
        sa.Column("reference_value", sa.Float(53)),
        sa.Column("threshold", sa.Float(53)),
        sa.Column("alarm", sa.Boolean, nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("calibrator", sa.Integer, nullable=False),
        sa.Column("written_at", sa.DateTime, nullable=False),
    )
    runs = sa.Table(
        RUNS_TABLE, metadata,
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("run_id", sa.String(200), primary_key=True),
        sa.Column("written_at", sa.DateTime, nullable=False),
        sa.Column("chunks_written", sa.Integer, nullable=False),
        sa.Column("latest_chunk", sa.BigInteger),
        sa.Column("latest_verdict", sa.String(20)),
        sa.Column("skcal_version", sa.String(40), nullable=False),
    )
    schema = sa.Table(
        SCHEMA_TABLE, metadata,
        sa.Column("component", sa.String(40), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    return results, runs, schema


_TABLES = []


def _schema(sa):
    """The metadata and its tables, made once per process (so that SQLAlchemy's
    compiled statements are cached from one write to the next)."""
    if not _TABLES:
        metadata = sa.MetaData()
        _TABLES.append((metadata, tables(sa, metadata)))
    return _TABLES[0]


def engine_of(url_or_engine):
    """(engine, whether it was made here). A ``postgresql://`` URL goes through
    psycopg (version 3) when psycopg2, SQLAlchemy's default for it, is absent."""
    sa = sqlalchemy()
    if isinstance(url_or_engine, sa.engine.Engine):
        return url_or_engine, False
    url = sa.engine.make_url(url_or_engine)
    if url.drivername == "postgresql":
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            url = url.set(drivername="postgresql+psycopg")
    return sa.create_engine(url), True


# the results table's columns, in order
COLUMNS = ("model", "chunk", "metric", "run_id", "start_row", "end_row", "start_time",
           "end_time", "value", "reference_value", "threshold", "alarm", "verdict",
           "calibrator", "written_at")


def result_rows(monitor, chunks, *, model, run_id, written_at, time_text=None):
    """The long table's rows (tuples in the order of :data:`COLUMNS`) of
    ``monitor``'s table rows ``chunks``; ``time_text`` turns times into what
    the database stores, if given."""
    reference = monitor.reference_
    by_period = monitor._period_ns is not None
    as_time = time_text or (lambda value: value)
    written = as_time(written_at)
    references = [None if key is None else _number(reference[key]) for key in METRICS.values()]
    thresholds = [{"cusum": monitor.cusum_threshold_, "z": monitor.chunk_threshold_}.get(m)
                  for m in METRICS]
    rise = _number(smallest_detectable_rise(monitor))
    rows = []
    for chunk in chunks:
        if by_period:
            where = (None, None, as_time(_utc(chunk["start"])), as_time(_utc(chunk["end"])))
        else:
            where = (int(chunk["start"]), int(chunk["end"]), None, None)
        index, alarm, verdict = int(chunk["chunk"]), bool(chunk["alarm"]), chunk["verdict"]
        calibrator = int(chunk["calibrator"])
        rows.extend((model, index, metric, run_id, *where, _number(chunk[metric]),
                     reference_value, threshold, alarm, verdict, calibrator, written)
                    for metric, reference_value, threshold in zip(METRICS, references,
                                                                 thresholds))
        rows.append((model, index, DETECTABLE_RISE, run_id, *where, rise, None, None, alarm,
                     verdict, calibrator, written))
    return rows


def write_results(monitor, url_or_engine, *, model, run_id=None, chunks=None):
    """Write ``monitor``'s table rows (those of the chunk indices ``chunks``, or
    all; all for a model the store has no rows of yet) for ``model``; see
    :meth:`~skcal.CalibrationMonitor.to_sql`."""
    sa = sqlalchemy()
    if not isinstance(model, str) or not model:
        raise ValueError(f"model must be a non-empty string naming the model; got {model!r}.")
    wanted = None if chunks is None else {int(c) for c in chunks}
    if wanted is not None:
        known = {row["chunk"] for row in monitor._table}
        missing = sorted(wanted - known)
        if missing:
            raise ValueError(f"chunks {missing[:5]} are not in the monitor's table, which "
                             f"holds {len(known)} chunks; pass chunks it holds.")
    run_id = str(run_id) if run_id is not None else uuid.uuid4().hex
    written_at = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    # the run's latest verdict: of the latest chunk that has one (newer chunks may
    # wait for late labels), else the latest chunk's
    latest = latest_judged(monitor._table)[0] or (monitor._table[-1] if monitor._table
                                                  else None)
    engine, own = engine_of(url_or_engine)
    try:
        metadata, (results, runs, schema) = _schema(sa)
        with engine.begin() as connection:  # one transaction: all rows or none
            take_turn(sa, connection)
            metadata.create_all(connection, checkfirst=True)
            _check_schema(sa, connection, schema)
            known_model = connection.execute(
                sa.select(results.c.chunk).where(results.c.model == model).limit(1)
            ).first() is not None
            table = [row for row in monitor._table
                     if wanted is None or not known_model or row["chunk"] in wanted]
            indices = [row["chunk"] for row in table]
            for start in range(0, len(indices), _DELETE_BATCH):
                connection.execute(results.delete().where(
                    results.c.model == model,
                    results.c.chunk.in_(indices[start:start + _DELETE_BATCH])))
            _insert(connection, results, monitor, table, model=model, run_id=run_id,
                    written_at=written_at)
            connection.execute(runs.delete().where(runs.c.model == model,
                                                   runs.c.run_id == run_id))
            connection.execute(runs.insert(), [{
                "model": model, "run_id": run_id, "written_at": written_at,
                "chunks_written": len(table),
                "latest_chunk": latest["chunk"] if latest else None,
                "latest_verdict": latest["verdict"] if latest else None,
                "skcal_version": __version__}])
    finally:
        if own:
            engine.dispose()
    return len(table)


def take_turn(sa, connection):
    """Make the transaction of ``connection`` the only skcal writer of its
    database until it ends, waiting for the one that writes now. Otherwise two
    first writes both find the tables missing and both create them (PostgreSQL:
    "duplicate key value violates unique constraint pg_type_typname_nsp_index";
    SQLite: "table skcal_monitor_results already exists"), and two writes of one
    model's chunks delete the rows the other has not committed yet, then insert
    them twice. On PostgreSQL a transaction-level advisory lock; on SQLite the
    transaction begins as ``BEGIN IMMEDIATE``, which takes the database's write
    lock at once (waiting up to the driver's ``timeout``), unless the engine has
    begun it already. Other databases write as they are: there a collision
    fails and leaves nothing, and the next write writes the same rows."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                           {"key": STORE_LOCK_KEY})
    elif dialect == "sqlite":
        driver_connection = connection.connection.dbapi_connection
        if not getattr(driver_connection, "in_transaction", True):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _insert(connection, results, monitor, table, **fields):
    """Insert the rows of ``table``'s chunks in the driver's fastest bulk form:
    COPY on PostgreSQL through psycopg (its executemany is a round trip per
    row: 1,200 rows took 47 ms, against a few for COPY); on SQLite one
    executemany of plain tuples (times as the text SQLAlchemy stores them),
    which skips SQLAlchemy's per-value processing; elsewhere SQLAlchemy's
    executemany."""
    if not table:
        return
    dialect = connection.dialect
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        cursor = connection.connection.dbapi_connection.cursor()
        with cursor.copy(f"COPY {results.name} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in result_rows(monitor, table, **fields):
                copy.write_row(row)
    elif dialect.name == "sqlite":
        rows = result_rows(monitor, table, **fields,
                           time_text=lambda t: t and t.strftime("%Y-%m-%d %H:%M:%S.%f"))
        connection.exec_driver_sql(
            f"INSERT INTO {results.name} ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(COLUMNS))})", rows)
    else:
        connection.execute(results.insert(), [dict(zip(COLUMNS, row)) for row in
                                               result_rows(monitor, table, **fields)])


def _check_schema(sa, connection, schema):
    version = connection.execute(
        sa.select(schema.c.version).where(schema.c.component == "monitor")).scalar()
    if version is None:
        connection.execute(schema.insert(), [{"component": "monitor",
                                              "version": SCHEMA_VERSION}])
    elif version != SCHEMA_VERSION:
        raise ValueError(f"The store's monitor tables are of schema version {version}; this "
                         f"skcal writes version {SCHEMA_VERSION}. Use a skcal that writes "
                         f"version {version}, or another database.")


def _number(value):
    if value is None or isinstance(value, str):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _utc(nanoseconds):
    return datetime.datetime(1970, 1, 1) + datetime.timedelta(
        microseconds=int(nanoseconds) // 1000)
