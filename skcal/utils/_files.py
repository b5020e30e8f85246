"""Files skcal writes: replaced whole, never left half-written, and locked while a
job reads, updates and writes them."""

import errno
import json
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

# how often a run waiting for a lock tries again
_LOCK_POLL_SECONDS = 0.05


def write_atomically(path, write):
    """Call ``write(temporary_path)``, then rename the result onto ``path``.

    The temporary file lives beside ``path``, so the rename is atomic: a reader
    sees the old file or the new one, and a crash or error leaves the old file
    as it was (the temporary file is removed). The temporary file is flushed to
    disk (``fsync``) before the rename and the directory after it, as SQLite
    and etcd do, so that a power loss too leaves the old file or the new one,
    never an empty or partial one.
    """
    target = Path(path)
    check_file_path(target)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".partial"
    )
    os.close(handle)
    try:
        write(temporary)
        os.chmod(temporary, _mode_for(target))
        _fsync(temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync(target.parent)


def write_each_atomically(paths, write):
    """Call ``write(temporary_paths)``, a temporary file for each of ``paths``,
    then rename each onto its path (:func:`write_atomically`): a crash or error
    in ``write`` leaves every file as it was.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> def fill(temporaries):
    ...     for temporary, text in zip(temporaries, ["a", "b"]):
    ...         Path(temporary).write_text(text)
    >>> write_each_atomically([folder / "a.txt", folder / "b.txt"], fill)
    >>> (folder / "a.txt").read_text(), (folder / "b.txt").read_text()
    ('a', 'b')
    """
    if not paths:
        write([])
        return
    first, *rest = paths
    write_atomically(first, lambda temporary: write_each_atomically(
        rest, lambda others: write([temporary, *others])))


def check_file_path(path):
    """Refuse a file path whose folder does not exist, or that is a folder
    itself, naming it, before any work is done for the file (``tempfile`` and
    the rename would name only the temporary file).

    Examples
    --------
    >>> try:
    ...     check_file_path("/no/such/folder/state.json")
    ... except FileNotFoundError as error:
    ...     print(str(error)[:70])
    Cannot write /no/such/folder/state.json: the folder /no/such/folder do
    >>> try:
    ...     check_file_path("/tmp")
    ... except IsADirectoryError as error:
    ...     print(error)
    Cannot write /tmp: it is a folder; give the path of a file in it (/tmp/results.json, say).
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"Cannot write {path}: it is a folder; give the path of a "
                                f"file in it ({target / 'results.json'}, say).")
    folder = target.parent
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Cannot write {path}: the folder {folder} does not exist; create it, or "
            "give a path in an existing folder."
        )


def _fsync(path):
    """Flush a file's or a directory's data to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _mode_for(target):
    """The permissions the file would get if written directly (mkstemp makes 0600)."""
    if target.exists():
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_json(path, content):
    """``json.dump(content)`` to ``path``, atomically."""

    def write(temporary):
        with open(temporary, "w") as out:
            json.dump(content, out, indent=2)

    write_atomically(path, write)


class LockTimeout(Exception):
    """Another process held a lock for longer than the caller would wait."""


@contextmanager
def exclusive_lock(path, *, timeout):
    """Hold an exclusive lock on ``path`` (created if missing) within the block.

    The lock is the operating system's (``flock``): it is released when the
    holder exits, however it exits (a crash or a SIGKILL included), so a lock
    file left behind locks nothing. While held, the file names the holder's
    process id. A second process waits up to ``timeout`` seconds, then
    :class:`LockTimeout` names the lock and its holder.
    """
    import fcntl  # POSIX only; imported here so the rest of skcal runs anywhere

    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    holder = os.pread(descriptor, 64, 0).decode(errors="replace").strip()
                    raise LockTimeout(
                        f"{path} is locked by process {holder or '(unknown)'}; waited "
                        f"{timeout:g} s. Another run is using the same state: let it "
                        "finish, or raise --lock-timeout."
                    ) from None
                time.sleep(_LOCK_POLL_SECONDS)
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock
