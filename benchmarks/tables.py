"""Benchmark tables as text: markdown for the README, reStructuredText for the docs.

A README section starts with the line ``<!-- NAME: written by SCRIPT -->`` and
ends with ``<!-- NAME: end -->``; :func:`replace_section` replaces everything
between. Files are replaced by rename, so an interrupted run leaves the old file
whole.
"""

import os
import tempfile
from pathlib import Path


def markdown_table(header, rows):
    """Lines of a GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def rst_table(header, rows):
    """Lines of a reStructuredText simple table."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(str(h).ljust(w) for h, w in zip(header, widths)), rule]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    return lines + [rule, ""]


def write_text(path, lines):
    """Write ``lines`` to ``path``, replacing it by rename."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as file:
        file.write("\n".join(lines) + "\n")
    os.replace(temporary, path)


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
    write_text(path, text)
