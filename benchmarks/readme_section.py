"""Write a benchmark's table into the README between its markers.

A section starts with the line ``<!-- NAME: written by SCRIPT -->`` and ends
with ``<!-- NAME: end -->``; everything between is replaced. The README is
replaced by rename, so an interrupted run leaves the old file whole.
"""

import os
import tempfile
from pathlib import Path


def markdown_table(header, rows):
    """Lines of a GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def replace_section(path, name, lines):
    """Replace the lines between ``name``'s markers in the file ``path``."""
    path = Path(path)
    text = path.read_text().splitlines()
    begin = [i for i, line in enumerate(text) if line.startswith(f"<!-- {name}: written by")]
    end = [i for i, line in enumerate(text) if line == f"<!-- {name}: end -->"]
    if len(begin) != 1 or len(end) != 1 or end[0] < begin[0]:
        raise SystemExit(
            f"{path} needs one line starting '<!-- {name}: written by' and one "
            f"'<!-- {name}: end -->' after it, around the table to replace."
        )
    text[begin[0] + 1 : end[0]] = lines
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as file:
        file.write("\n".join(text) + "\n")
    os.replace(temporary, path)
