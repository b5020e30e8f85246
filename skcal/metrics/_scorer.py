"""Scorers for model selection by calibration, and their registration by name."""

import copy
import sys

from sklearn.metrics import get_scorer as _sklearn_get_scorer
from sklearn.metrics import get_scorer_names as _sklearn_scorer_names
from sklearn.metrics import make_scorer

from ._brier import brier_score  # noqa: F401 (defines BRIER's public function)
from ._decomposition import nll_decomposition
from ._ece import expected_calibration_error
from ._nll import nll  # noqa: F401 (defines NLL's public function)
from ._row_metrics import public_functions
from ..utils._warnings import warn

try:  # the class behind make_scorer; subclassed to pass classes_ as labels
    from sklearn.metrics._scorer import _Scorer
except ImportError as exc:  # pragma: no cover - depends on scikit-learn internals
    raise ImportError(
        "skcal.metrics needs scikit-learn's scorer class (sklearn.metrics._scorer."
        "_Scorer, present in scikit-learn 1.4 to 1.9); install a supported "
        "scikit-learn (>=1.6)."
    ) from exc


class _LabelAwareScorer(_Scorer):
    """A ``make_scorer`` scorer that passes the estimator's ``classes_`` as labels.

    So a test fold lacking some class is scored against all the columns of
    ``predict_proba`` instead of failing.
    """

    def _score(self, method_caller, estimator, X, y_true, **kwargs):
        if "labels" not in self._kwargs and hasattr(estimator, "classes_"):
            kwargs = {**kwargs, "labels": estimator.classes_}
        return super()._score(method_caller, estimator, X, y_true, **kwargs)


def _label_aware_scorer(score_func, **kwargs):
    scorer = make_scorer(
        score_func, greater_is_better=False, response_method="predict_proba", **kwargs
    )
    scorer.__class__ = _LabelAwareScorer
    return scorer


def _nll_calibration(y_true, y_prob, **kwargs):
    return nll_decomposition(y_true, y_prob, **kwargs).calibration


_SCORERS = {  # the row-wise metrics' scorers from their definitions, then the others
    **{name: _label_aware_scorer(function, **options)
       for function, metric in public_functions() for name, options in metric.scorers.items()},
    "neg_ece": _label_aware_scorer(expected_calibration_error),
    "neg_classwise_ece": _label_aware_scorer(expected_calibration_error, kind="classwise"),
    "neg_nll_calibration": _label_aware_scorer(_nll_calibration),
}


def get_scorer_names():
    """Names of the scorers skcal defines.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from skcal.metrics import get_scorer_names
    >>> get_scorer_names()
    ['neg_brier', 'neg_classwise_ece', 'neg_ece', 'neg_nll', 'neg_nll_bits', 'neg_nll_calibration']
    """
    return sorted(_SCORERS)


def short_metric_names():
    """The metrics of skcal's scorers by their short names, the scorers' names
    without ``neg_``, as :func:`skcal.stats.bootstrap` and
    :func:`skcal.spark.evaluate` take them.

    Examples
    --------
    >>> short_metric_names()
    ['brier', 'classwise_ece', 'ece', 'nll', 'nll_bits', 'nll_calibration']
    """
    return [name.removeprefix("neg_") for name in get_scorer_names()]


def metric_of_short_name(name):
    """``(function, keyword arguments)`` of the metric that skcal's scorer
    ``neg_<name>`` computes, or None for another name.

    Examples
    --------
    >>> function, keywords = metric_of_short_name("classwise_ece")
    >>> function.__name__, keywords
    ('expected_calibration_error', {'kind': 'classwise'})
    """
    scorer = _SCORERS.get(f"neg_{name}")
    return None if scorer is None else (scorer._score_func, dict(scorer._kwargs))


def get_scorer(scoring):
    """A scorer by name: skcal's own names first, then scikit-learn's.

    Each skcal scorer calls ``predict_proba``, is higher-is-better (the
    negated loss) and scores against the estimator's ``classes_``, so a
    cross-validation fold that lacks a class is scored, not rejected.

    Parameters
    ----------
    scoring : str or callable
        ``'neg_nll'`` (nats), ``'neg_nll_bits'``, ``'neg_brier'``, ``'neg_ece'``
        (top-label, 15 bins), ``'neg_classwise_ece'``, ``'neg_nll_calibration'``
        (the calibration part of :func:`nll_decomposition`), or anything
        :func:`sklearn.metrics.get_scorer` accepts.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)``, a copy that the caller may change.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skcal.metrics import get_scorer
    >>> X, y = load_iris(return_X_y=True)
    >>> model = LogisticRegression(max_iter=1000).fit(X, y)
    >>> round(get_scorer("neg_nll")(model, X, y), 2)
    -0.12
    """
    if isinstance(scoring, str) and scoring in _SCORERS:
        return copy.deepcopy(_SCORERS[scoring])
    if isinstance(scoring, str) and scoring not in _sklearn_scorer_names():
        raise ValueError(
            f"{scoring!r} is not a scorer name: skcal's are {', '.join(get_scorer_names())} "
            "(skcal.metrics.get_scorer_names()), and scikit-learn's are listed by "
            "sklearn.metrics.get_scorer_names()."
        )
    return _sklearn_get_scorer(scoring)


def _sklearn_registry():
    try:
        from sklearn.metrics import _scorer
    except ImportError:  # pragma: no cover - depends on scikit-learn internals
        registry = None
    else:
        registry = getattr(_scorer, "_SCORERS", None)
    if not isinstance(registry, dict):
        raise RuntimeError(
            "scikit-learn's scorer registry (sklearn.metrics._scorer._SCORERS) is not "
            "where skcal expects it in this scikit-learn version, so scorer names "
            "cannot be registered. Pass scorer objects instead: "
            "scoring=skcal.metrics.get_scorer('neg_nll')."
        )
    return registry


def _declared_constraints():
    """Every parameter-constraint dict that loaded scikit-learn modules declare.

    scikit-learn keeps them where its own tests introspect them: the
    ``_parameter_constraints`` of estimator classes and the
    ``_skl_parameter_constraints`` that ``validate_params`` sets on functions.
    Only module attributes are looked at (never arbitrary live objects).
    """
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "sklearn" or name.startswith("sklearn.")):
            continue
        for obj in list(vars(module).values()):
            if isinstance(obj, type):
                constraints = obj.__dict__.get("_parameter_constraints")
            elif callable(obj) and type(obj).__name__ == "function":
                constraints = obj.__dict__.get("_skl_parameter_constraints")
            else:
                continue
            if isinstance(constraints, dict):
                yield constraints


def _extend_scoring_constraints(names):
    """Add ``names`` to the scoring-string constraints scikit-learn already built.

    scikit-learn checks a ``scoring`` string against
    ``StrOptions(set(get_scorer_names()))``, built when each module was imported
    (``cross_val_score``, ``GridSearchCV``, ...). Modules imported after
    registration see the new names through ``get_scorer_names``; those imported
    before keep their set, which is extended here.
    """
    from sklearn.utils._param_validation import StrOptions

    marker = {"neg_log_loss", "accuracy", "roc_auc"}
    for constraints in _declared_constraints():
        for constraint in constraints.get("scoring", ()):
            if isinstance(constraint, StrOptions) and marker <= constraint.options:
                constraint.options.update(names)


def register_scorers():
    """Make skcal's scorer names usable wherever scikit-learn takes a scoring string.

    After the call, ``GridSearchCV(..., scoring="neg_ece")``,
    ``cross_validate(..., scoring=["neg_nll", "neg_brier"])`` and
    :func:`sklearn.metrics.get_scorer` know the names of
    :func:`get_scorer_names`. Explicit and idempotent: calling it again
    changes nothing, and a name that scikit-learn already defines is never
    replaced (it is skipped with a warning).

    scikit-learn keeps its scorers in a private registry and checks scoring
    strings against the names it held when each module was imported; this
    function adds skcal's names to both.

    Returns
    -------
    registered : list of str
        The names now registered by skcal.

    Raises
    ------
    RuntimeError
        If scikit-learn's registry is not where it is expected; the message
        says how to pass scorer objects instead.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_val_score
    >>> from skcal.metrics import register_scorers
    >>> register_scorers()
    ['neg_nll', 'neg_nll_bits', 'neg_brier', 'neg_ece', 'neg_classwise_ece', 'neg_nll_calibration']
    >>> X, y = load_iris(return_X_y=True)
    >>> scores = cross_val_score(LogisticRegression(max_iter=1000), X, y, scoring="neg_ece")
    >>> bool(scores.max() <= 0)
    True
    """
    registry = _sklearn_registry()
    registered = []
    for name, scorer in _SCORERS.items():
        current = registry.get(name)
        if current is not None and not isinstance(current, _LabelAwareScorer):
            warn(
                f"scikit-learn already defines a scorer named {name!r}; skcal left it "
                f"in place. Use skcal.metrics.get_scorer({name!r}) for skcal's.",
                UserWarning,
            )
            continue
        registry[name] = scorer
        registered.append(name)
    _extend_scoring_constraints(registered)
    return registered
