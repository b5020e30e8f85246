"""Test-session settings that must precede every import of scipy.

scikit-learn turns ``array_api_dispatch`` on only when SciPy's own array API
support is enabled, which SciPy reads once, at import. Setting it here lets the
array API tests (and scikit-learn's array API estimator checks) run under a
plain ``pytest``; numpy inputs compute as before.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")
