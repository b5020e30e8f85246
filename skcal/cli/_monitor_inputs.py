"""The files ``skcal monitor`` reads: a period's scores, labels, times and ids
(``.npz``, ``.csv`` or ``.parquet``), and labels that arrived late; and the
digest that makes a production file's batch id."""

import hashlib
from pathlib import Path

from ..io._numpy_files import open_npz
from ..monitoring._inputs import named_score_columns, unpack
from ._reading import read_table


def read_period(path, args, *, error, kept=None):
    """(scores, labels, timestamps, ids, names of the score columns) of one period's
    file: .npz (no names), .csv or .parquet. Where --scores takes the columns
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
    frame = read_table(file, error=error)
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
    """(ids, labels) of a file of labels that arrived late."""
    file = Path(path)
    if not file.is_file():
        raise error(f"--late-labels: no such file {path!r}")
    if file.suffix.lower() == ".npz":
        with open_npz(file) as archive:
            missing = [name for name in ("ids", "labels") if name not in archive.files]
            if missing:
                raise error(f"{path} has no array {missing} (it has {archive.files})")
            return archive["ids"], archive["labels"]
    frame = read_table(file, error=error)
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


def file_digest(path):
    """The SHA-256 of a file's bytes: the batch id of a production file."""
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
