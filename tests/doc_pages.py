"""The Python snippets of the documentation's pages, for the tests that run them
(``tests/test_doc_snippets.py``, and those that need a server, such as
``tests/spark/test_spark_page_snippets.py``)."""

import re
import textwrap
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def snippets():
    """(page, index, code) of every ``.. code-block:: python`` in docs/*.rst."""
    found = []
    for page in sorted(DOCS.glob("*.rst")):
        blocks = re.findall(r"\.\. code-block:: python\n\n((?:(?: {3}.*)?\n)+)",
                            page.read_text(encoding="utf-8"))
        for index, block in enumerate(blocks):
            code = textwrap.dedent(block)  # pages indent by 3 or 4 spaces
            found.append((page.stem, index, code))
    return found


def snippets_of(page):
    """The code of ``page``'s snippets, in the page's order."""
    return [code for name, _, code in snippets() if name == page]


def commands_of(page, program="skcal"):
    """The ``program`` command lines of ``page``'s ``.. code-block:: bash`` blocks,
    continued lines joined, as argument lists (the program's name left out)."""
    import shlex

    text = (DOCS / f"{page}.rst").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"\.\. code-block:: bash\n\n((?:(?: {3}.*)?\n)+)", text):
        for line in textwrap.dedent(block).replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == program:
                found.append(words[1:])
    return found
