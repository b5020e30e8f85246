"""The command line's input files: ``.npy`` (memory-mapped), ``.npz``, ``.csv``,
columns of a ``.parquet`` table and Zarr arrays, read without ever unpickling,
each problem reported as one line naming the argument."""

import io
import sys
from pathlib import Path

import numpy as np

from ..io._numpy_files import open_npy, open_npz
from ..rows._column_classes import column_classes


class CommandError(Exception):
    """A problem with the user's input, reported as one line."""


def read_array(spec, *, what, mmap=False, rows=None, names=False):
    """Read ``.npy``, ``.npz`` (``file.npz`` or ``file.npz:name``), ``.csv``,
    columns of a Parquet table (``file.parquet:label``, ``file.parquet:proba_*``)
    or a Zarr array (a ``.zarr`` directory).

    With ``mmap``, a ``.npy`` file is memory-mapped and a Zarr array opened
    lazily, so the scores are read block by block. Nothing is ever unpickled.
    ``rows``, the rows the file must hold, tells a first row of column names
    above text (labels or group ids as text) from a value. With ``names``,
    returns ``(array, column names)``, the names of a ``.csv`` file's first row
    or None.
    """
    array, column_names = _read_named(spec, what, mmap, rows)
    return (array, column_names) if names else array


def _read_named(spec, what, mmap, rows):
    named = ".npz:" in spec or ".parquet:" in spec
    path, key = spec.rsplit(":", 1) if named else (spec, "")
    file = Path(path)
    if file.suffix.lower() == ".zarr":
        return _read_zarr(file, what=what, lazy=mmap), None
    if not file.is_file():
        raise CommandError(f"{what}: no such file {path!r}")
    suffix = file.suffix.lower()
    try:
        if suffix == ".npy":
            return open_npy(file, mmap=mmap), None
        if suffix == ".npz":
            with open_npz(file) as archive:
                names = archive.files
                if not key:
                    if len(names) != 1:
                        raise CommandError(
                            f"{what}: {path} holds arrays {names}; name one as {path}:NAME"
                        )
                    key = names[0]
                if key not in names:
                    raise CommandError(f"{what}: {path} has no array {key!r} (it has {names})")
                return archive[key], None
        if suffix == ".csv":
            return _read_csv(file, what, rows)
        if suffix == ".parquet":
            return _read_parquet(file, key, what)
    except CommandError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CommandError(f"{what}: cannot read {path}: {first_line}") from exc
    raise CommandError(
        f"{what}: {path} is not .npy, .npz, .csv, .parquet or .zarr (pickles and other "
        "formats are not read)"
    )


def _read_parquet(file, key, what):
    """The columns of a Parquet table that ``key`` names (``file.parquet:label``;
    scores as ``file.parquet:proba_*``, ``file.parquet:cat,dog`` or a column of
    arrays, ``file.parquet:probability``), and their names when there are
    several."""
    frame = read_table(file, error=lambda message: CommandError(f"{what}: {message}"))
    columns = [str(column) for column in frame.columns]
    if not key:
        if len(columns) != 1:
            raise CommandError(
                f"{what}: {file} has columns {columns}; name those to read as "
                f"{file}:COLUMN, {file}:'proba_*' or {file}:A,B,C")
        key = columns[0]
    from ..monitoring._inputs import _stacked, named_score_columns

    try:
        taken = named_score_columns(frame, key.split(",") if "," in key else key)
        if len(taken) > 1:
            return frame[taken].to_numpy(dtype=np.float64), [str(c) for c in taken]
        column = frame[taken[0]]
        if column.dtype == object and len(column) and np.ndim(column.iloc[0]) == 1:
            return _stacked(column, taken[0]), None  # one array of scores a row
        return column.to_numpy(), None
    except ValueError as exc:
        raise CommandError(f"{what}: {file}: {str(exc).splitlines()[0]}") from None


def read_table(file, *, error, data=None):
    """A ``.csv`` or ``.parquet`` table as a DataFrame (a CSV file from its bytes
    ``data``, if read already); ``error(message)`` makes the exception for a
    file of another kind or a missing reader."""
    suffix = file.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise error(f"{file} is not .npz, .csv or .parquet (pickles are not read)")
    try:
        import pandas as pd
    except ImportError as exc:
        raise error(f"reading {file} needs pandas: pip install pandas") from exc
    if suffix == ".parquet":
        try:
            return pd.read_parquet(file)
        except ImportError as exc:
            raise error(f"reading {file} needs pyarrow: pip install pyarrow") from exc
    if data is None:
        return pd.read_csv(file)
    if not data:  # pandas would say "No columns to parse from file"
        raise error(f"{file} holds no whole line yet (a file still being written?)")
    return pd.read_csv(io.BytesIO(data))


def _read_zarr(path, *, what, lazy):
    if not path.exists():
        raise CommandError(f"{what}: no such Zarr store {str(path)!r}")
    try:
        import zarr
    except ImportError as exc:
        raise CommandError(
            f"{what}: reading {path} needs zarr, an optional dependency: "
            'pip install "skcal[dask]"'
        ) from exc
    try:
        array = zarr.open_array(str(path), mode="r")
    except Exception as exc:  # zarr raises several types for a store that is not an array
        raise CommandError(f"{what}: cannot open {path} as a Zarr array: {exc}") from exc
    return array if lazy else array[...]


def _read_csv(file, what, rows=None):
    """Numbers, or labels as text, and the column names. A first row of column
    names above numbers (as pandas writes them) is left out, and a note on
    stderr says so; above text, when the file holds one row more than ``rows``."""
    # fields may be quoted, as R's write.csv and csv.QUOTE_NONNUMERIC write them
    text = np.loadtxt(file, delimiter=",", dtype=str, ndmin=1, comments="#", quotechar='"')
    numbers = _as_numbers(text)
    if numbers is not None:
        return numbers, None
    below_names = _as_numbers(text[1:]) if text.shape[0] > 1 else None
    if below_names is None:
        if text.ndim == 2 and text.shape[1] > 1:  # labels are one column: a table
            raise CommandError(_text_column_message(text, file, what))
        if rows is None or text.shape[0] != rows + 1:
            return text, None  # labels given as text
        below_names = text[1:]  # text, one row more than the rows: the first names them
    if np.atleast_1d(text[0])[0].strip() == "" and text.ndim == 2:
        raise CommandError(f"{what}: {file} begins with a column without a name, as pandas "
                           "and R write a row index; save it without: "
                           "DataFrame.to_csv(index=False), write.csv(row.names = FALSE)")
    print(f"{what}: the first row of {file} ({', '.join(np.atleast_1d(text[0])[:4])}) is "
          "taken as column names and left out.", file=sys.stderr)
    return below_names, [name.strip() for name in np.atleast_1d(text[0])]


def scores_by_name(scores, names, labels, what):
    """Scores whose columns a ``.csv`` file's first row names after the classes
    (``dog,cat,bird``), as a DataFrame, so that each column is read as the class
    it names in whatever order; other scores as they are.

    Without the names, labels other than column indices are matched to the
    columns in their sorted order, which would read every class as another.
    """
    try:
        classes = column_classes(names, labels)
    except ValueError as exc:
        raise CommandError(f"{what}: {exc}") from None
    if classes is None:
        return scores
    try:
        import pandas as pd
    except ImportError as exc:
        raise CommandError(f"{what}: its columns are named after the classes "
                           f"({', '.join(names)}); reading each as the class it names needs "
                           "pandas: pip install pandas") from exc
    return pd.DataFrame(np.asarray(scores), columns=names)


def _text_column_message(text, file, what):
    """Why a table of several columns that are not all numbers is not scores:
    the first column holding text below its name, named."""
    for column in range(text.shape[1]):
        values = text[1:, column]
        if _as_numbers(values) is not None:
            continue
        row = next(row for row, value in enumerate(values) if _as_numbers(value) is None)
        return (f"{what}: {file} has {text.shape[1]} columns, and column {column + 1} "
                f"({str(text[0, column]).strip()!r}) holds text ({str(values[row])!r} in row "
                f"{row + 2}); give scores as numeric columns alone, one per class, and labels "
                "or groups as a file of one column")
    return f"{what}: {file} is not a table of numbers"


def _as_numbers(text):
    try:
        return text.astype(np.float64)
    except ValueError:
        return None


def as_labels(array):
    """Labels read from a file: a column, integers when they are whole numbers."""
    array = np.asarray(array)
    if array.ndim == 2 and 1 in array.shape:
        array = array.reshape(-1)
    if array.dtype.kind == "f" and np.all(np.mod(array, 1) == 0):
        array = array.astype(np.int64)
    return array


def check_told_score_type(scores, score_type, what):
    """Hold ``--probabilities`` and ``--logits`` against the first rows of
    ``scores`` (``what`` names them): probabilities that are not are an error
    (the rest of the rows are checked as they are read), logits that lie in
    the probability simplex get a warning on stderr.

    Examples
    --------
    >>> import numpy as np
    >>> check_told_score_type(np.array([[0.2, 0.8]]), "probabilities", "SCORES")
    >>> check_told_score_type(np.array([[2.0, -1.0]]), "probabilities", "SCORES")
    Traceback (most recent call last):
    ...
    ValueError: SCORES (--probabilities) has values outside [0, 1] (min -1, max 2), so they are not probabilities. Pass --logits if they are logits.
    """
    from ..rows._score_rows import starting_rows
    from ..rows._scores import _looks_like_probabilities, check_probabilities

    if score_type == "probabilities":
        check_probabilities(starting_rows(scores), name=f"{what} (--probabilities)",
                            hint=" Pass --logits if they are logits.")
    elif score_type == "logits" and _looks_like_probabilities(starting_rows(scores)):
        print(
            f"skcal: warning: --logits was given, but the rows of {what} lie in the "
            "probability simplex (values in [0, 1] summing to 1); pass --probabilities "
            "if they are probabilities.",
            file=sys.stderr,
        )

