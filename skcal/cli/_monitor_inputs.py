"""The files ``skcal monitor`` reads: a period's scores, labels, times and ids
(``.npz``, ``.csv`` or ``.parquet``), and labels that arrived late; the digest
that makes a production file's batch id, and which of its rows a run adds."""

import hashlib
from pathlib import Path

import numpy as np

from ..io._numpy_files import open_npz
from ..monitoring._batches import rows_recorded
from ..monitoring._inputs import labels_of, named_score_columns, nanoseconds, unpack
from ..monitoring._pending import ids_text
from ._reading import read_table


# a production file that changed while a run read it is read again, this many times
READ_ATTEMPTS = 3


def read_production(path, args, *, error, kept=None):
    """``(digest, period)`` of a production file: :func:`read_period` of one
    version of it, and the SHA-256 of that version's bytes (its batch id), so
    that the batch id is that of the rows added: the id of a version written
    while the run read the file would mark rows added that the run never read.

    A CSV file is read once into memory, up to its last line end: a last line
    without one (a file still being written, cut mid-line) is left out, and
    the run says so. Its row, read in part, would be added with wrong values
    (or refused, stopping the run), and a later run that reads it whole would
    take the file for another one. A file appended to for ever is so read
    too. An .npz or Parquet file (written whole: unreadable while it is
    written) has its digest taken before and after it is read, and is read
    again while they differ (a file replaced meanwhile).
    """
    if not Path(path).is_file():
        raise error(f"no such file {path!r}")
    return _one_version(path, lambda data: read_period(path, args, error=error, kept=kept,
                                                       data=data), error)


def _one_version(path, read, error):
    """``(digest, read(data))`` of one version of the file at ``path``, ``data``
    its bytes up to its last line end for a CSV file (else None: ``read``
    reads the file, between two digests of it); see :func:`read_production`."""
    file = Path(path)
    if file.suffix.lower() == ".csv":
        data = _ended_lines(file)
        return hashlib.sha256(data).hexdigest(), read(data)
    for _ in range(READ_ATTEMPTS):
        digest = file_digest(path)
        content = read(None)
        if file_digest(path) == digest:
            return digest, content
    raise error(f"{path} changed each of the {READ_ATTEMPTS} times it was read (a file "
                "being written?); run again once it is complete")


def _ended_lines(file):
    """A text file's bytes up to its last line end (``\\n``, or ``\\r``), the
    rest left out and said."""
    data = file.read_bytes()
    end = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
    if end < len(data):
        print(f"{file}: its last line has no line end, as in a file still being written; "
              "that row is left out until a run reads it ended (if the file is complete, "
              "end it with a newline).")
    return data[:end]


def read_period(path, args, *, error, kept=None, data=None):
    """(scores, labels, timestamps, ids, names of the score columns) of one period's
    file: .npz (no names), .csv or .parquet (a CSV file's bytes ``data``, if
    read already). Where --scores takes the columns
    ``kept`` (the monitor's, one per class) in another order, as a table written
    with its columns reordered holds them, they are read in the monitor's order:
    each by its name."""
    file = Path(path)
    if not file.is_file():
        raise error(f"no such file {path!r}")
    suffix = file.suffix.lower()
    if suffix == ".npz":
        with open_npz(file) as archive:
            if "scores" not in archive.files:
                raise error(f"{path} has no array 'scores' (it has {archive.files})")
            return tuple(archive[name] if name in archive.files else None
                         for name in ("scores", "labels", "timestamps", "ids")) + (None,)
    frame = read_table(file, error=error, data=data)
    timestamp = args.timestamp if args.timestamp in frame.columns else None
    if timestamp is not None:
        import pandas as pd

        if pd.api.types.is_numeric_dtype(frame[timestamp]):  # pandas would read ns
            raise error(f"{path}: the --timestamp column {timestamp!r} holds numbers, whose "
                        "unit cannot be known; write the times as text (ISO 8601, "
                        "2026-12-04T10:00:00) or as a timestamp column")
        # utc=True: times written with their offset (+01:00, then +02:00 after a change
        # to summer time) are instants; times without one are read as UTC
        frame[timestamp] = pd.to_datetime(frame[timestamp], utc=True)
    labels = args.labels if args.labels in frame.columns else None
    ids = _id_column(frame, args, path, error)
    return unpack(frame, labels, None, _in_kept_order(frame, args.scores, kept), timestamp,
                  ids)


def _in_kept_order(frame, scores, kept):
    """--scores as the columns to read: ``kept`` where it takes those columns in
    another order, else as given."""
    given = score_columns_given(scores)
    if kept is None:
        return given
    try:
        taken = [str(name) for name in named_score_columns(frame, given)]
    except ValueError:  # unpack says what is wrong
        return given
    return list(kept) if sorted(taken) == sorted(kept) else given


def score_columns_given(scores):
    """--scores: a pattern (``proba_*``), or column names separated by commas."""
    return scores.split(",") if "," in scores else scores


def read_late_labels(path, args, *, error):
    """``(digest, (ids, labels))`` of one version of a file of labels that
    arrived late (as :func:`read_production` reads a production file)."""
    if not Path(path).is_file():
        raise error(f"--late-labels: no such file {path!r}")
    return _one_version(path, lambda data: _late_labels(path, args, data, error), error)


def _late_labels(path, args, data, error):
    """(ids, labels) of a file of late labels (a CSV file's bytes ``data``)."""
    file = Path(path)
    if file.suffix.lower() == ".npz":
        with open_npz(file) as archive:
            missing = [name for name in ("ids", "labels") if name not in archive.files]
            if missing:
                raise error(f"{path} has no array {missing} (it has {archive.files})")
            return archive["ids"], archive["labels"]
    frame = read_table(file, error=error, data=data)
    ids = _id_column(frame, args, path, error)
    if ids is None or args.labels not in frame.columns:
        raise error(f"{path} needs an id column (--id-column) and a label column "
                    f"(--labels {args.labels!r}); it has {list(frame.columns)}")
    return frame[ids].to_numpy(), frame[args.labels].to_numpy()


def _id_column(frame, args, path, error):
    if args.id_column is None:
        return None
    if args.id_column not in frame.columns:
        raise error(f"{path} has no id column {args.id_column!r} (it has {list(frame.columns)})")
    return args.id_column


def batch_name(path):
    """The name a file's batch is recorded under: its absolute path, links
    resolved, so that a file given by a relative path one day and by its
    absolute path the next is known for the same file."""
    return str(Path(path).resolve())


def file_digest(path):
    """The SHA-256 of a file's bytes: the batch id of a production file."""
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def rows_to_add(monitor, path, digest, parts, *, reprocess, error, argument="PRODUCTION"):
    """``(first row, batch id, (rows, rows digest))`` of a production file (of
    content ``digest``; or a file of late labels, ``argument`` '--late-labels')
    whose rows ``parts`` (scores, labels, times, ids; None for a part the file
    has not) a run adds from the first row on, under that batch id (None: not
    recorded), noting its rows and their digest with it
    (:func:`~skcal.monitoring._batches.record_batch_rows`); or None for a file
    processed already, said on standard output.

    A file of the same content as one added before is skipped (``reprocess``
    adds it whole again). A file added before under the same name with fewer
    rows, those rows unchanged as the monitor reads them (a file that was still
    being written when an earlier run read it), adds only the rows it gained;
    with as many, none. Any other file adds all its rows.
    """
    seen = monitor.has_batch(digest)
    if seen and not reprocess:
        print(f"{path}: already processed (same content as {seen}); skipped. "
              "--reprocess adds it again.")
        return None
    n = len(next(part for part in parts if part is not None))
    try:
        rows = (n, rows_digest(monitor, parts, n))
        before = None if reprocess else rows_recorded(monitor, batch_name(path))
        grown = before is not None and before[0] <= n and (
            rows_digest(monitor, parts, before[0]) == before[1])
    except ValueError as exc:  # rows the update would refuse: said as it says it
        raise error(f"{argument} {path}: {exc}") from exc
    if grown and before[0] == n:
        print(f"{path}: already processed (the same {n} rows, added from this file "
              "before); skipped. --reprocess adds them again.")
        return None
    if grown:
        print(f"{path}: grew from {before[0]} to {n} rows since it was added; its "
              f"{n - before[0]} new rows are added (the {before[0]} before them are "
              "unchanged, and were).")
        return before[0], digest, rows
    if before is not None:
        print(f"{path}: not the file of {before[0]} rows added under this name before with "
              f"rows appended (its rows differ); all its {n} rows are added.")
    return 0, None if seen else digest, rows


def rows_digest(monitor, parts, n_rows):
    """SHA-256 of the first ``n_rows`` rows of a production file or of a file of
    late labels (``parts``: scores, labels, times and ids, None where the file
    has none) as ``monitor``
    reads them: the scores as float64, the labels as class columns (-1 for
    none yet), the times in nanoseconds, the ids as text. So the same rows have
    the same digest however the file was written: another dtype of a label
    column (a table whose new rows have none yet), of a time column or of a
    text column's width."""
    scores, labels, times, ids = (None if part is None else part[:n_rows] for part in parts)
    labelled, y_index = labels_of(labels, n_rows, monitor.classes_)
    digest = hashlib.sha256(b"no scores" if scores is None else f"{np.shape(scores)}".encode())
    if scores is not None:
        digest.update(np.ascontiguousarray(scores, dtype=np.float64).tobytes())
    digest.update(np.where(labelled, y_index, -1).astype(np.int64).tobytes())
    digest.update(b"no times" if times is None else nanoseconds(times).tobytes())
    digest.update(b"no ids" if ids is None else
                  repr(ids_text(np.asarray(ids).reshape(-1)).tolist()).encode())
    return digest.hexdigest()
