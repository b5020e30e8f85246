"""Files the command line writes: replaced whole, never left half-written."""

import json
import os
import tempfile
from pathlib import Path


def write_atomically(path, write):
    """Call ``write(temporary_path)``, then rename the result onto ``path``.

    The temporary file lives beside ``path``, so the rename is atomic: a reader
    sees the old file or the new one, and a crash or error leaves the old file
    as it was (the temporary file is removed).
    """
    target = Path(path)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".partial"
    )
    os.close(handle)
    try:
        write(temporary)
        os.chmod(temporary, _mode_for(target))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


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
