"""``python -m skcal``: the same as the ``skcal`` command."""

import sys

from .cli import main

sys.exit(main())
