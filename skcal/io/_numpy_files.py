"""``.npy`` and ``.npz`` files of scores, opened only when they are what their
name says: ``numpy.load`` takes any other file for a pickle and suggests
``allow_pickle=True``, which skcal never uses."""

from pathlib import Path

import numpy as np

# the first bytes numpy.save and numpy.savez write (an .npz is a zip archive)
_MAGIC = {".npy": (b"\x93NUMPY",), ".npz": (b"PK\x03\x04", b"PK\x05\x06")}


def check_numpy_file(path):
    """Refuse a ``.npy`` or ``.npz`` file that does not begin as numpy writes one.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "labels.npz")
    >>> with open(path, "w") as file:
    ...     _ = file.write("id,label")
    >>> check_numpy_file(path)
    Traceback (most recent call last):
    ...
    ValueError: ...labels.npz is not a .npz file: it does not begin as numpy.savez writes one ...
    """
    suffix = Path(path).suffix.lower()
    with open(path, "rb") as file:
        head = file.read(6)
    if not head.startswith(_MAGIC[suffix]):
        writer = "numpy.save" if suffix == ".npy" else "numpy.savez"
        raise ValueError(
            f"{path} is not a {suffix} file: it does not begin as {writer} writes one (a "
            f"pickle or another format under that name?). Save it with {writer}; "
            "skcal never unpickles a file."
        )


def open_npy(path, *, mmap=True):
    """A ``.npy`` file of numbers, memory-mapped (or read whole without ``mmap``);
    an array of Python objects is refused: scores are numbers.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "scores.npy")
    >>> np.save(path, np.ones((3, 2)))
    >>> open_npy(path).shape
    (3, 2)
    """
    check_numpy_file(path)
    try:
        return np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except ValueError as exc:
        if "object" not in str(exc).lower():
            raise
        raise ValueError(
            f"{path} holds Python objects (dtype object), not numbers; save the scores "
            "as a numeric array (float or integer) with numpy.save."
        ) from exc


def open_npz(path):
    """A ``.npz`` archive (``numpy.load``'s ``NpzFile``, to use in a ``with``),
    its arrays read without unpickling."""
    check_numpy_file(path)
    return np.load(path, allow_pickle=False)
