"""The methods a comparison ranks and the data it ranks them on: candidates by
name or instance (the uncalibrated baseline added), extra scorers, and the
scores or classifier inputs checked once."""

import warnings

from sklearn.base import clone
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import column_or_1d, indexable
from sklearn.utils.validation import _get_feature_names

from ..calibrators._identity import Uncalibrated
from ..calibrators._registry import calibrator_class, default_calibrators
from ..metrics import get_scorer
from ..rows._labels import (check_labels_and_weights, check_sample_weight,
                             refuse_missing_labels)
from ..rows._scores import as_float_array, resolve_score_type, scores_to_logits
from ._result import BASELINE, BUILTIN_METRICS


# beyond this many classes compare_calibrators' default methods leave out
# MatrixScaling: its K (K + 1) parameters take a fit of 2400 rows 0.9 s at 300
# classes, 5 s at 500, 18 s at 700 and 55 s at 1000 (unconverged at 100
# iterations), growing with the rows; a comparison fits it once per fold and once
# on all the data
MATRIX_DEFAULT_CLASSES = 500


def without_slow_defaults(candidates, n_classes):
    """The default ``candidates`` without MatrixScaling beyond
    ``MATRIX_DEFAULT_CLASSES`` classes, with a warning that says so."""
    if n_classes <= MATRIX_DEFAULT_CLASSES or "MatrixScaling" not in candidates:
        return candidates
    warnings.warn(
        f"MatrixScaling is left out of the default methods for {n_classes} classes: it has "
        f"{n_classes * (n_classes + 1):,} parameters, and fitting it once per fold would "
        "take minutes to hours (55 s for one fit on 2400 rows of 1000 classes). "
        "VectorScaling is its practical alternative; pass calibrators=[..., 'matrix'] "
        "(skcal compare: --methods ... matrix) to compare it all the same.", UserWarning,
        stacklevel=4)
    return {name: c for name, c in candidates.items() if name != "MatrixScaling"}


def _by_name(calibrator):
    """A calibrator given by name (short or class name) as a fresh instance."""
    return calibrator_class(calibrator)() if isinstance(calibrator, str) else calibrator


def named_candidates(calibrators):
    if calibrators is None:
        return default_calibrators()
    if isinstance(calibrators, str):
        calibrators = [calibrators]
    if isinstance(calibrators, dict):
        named = {name: _by_name(c) for name, c in calibrators.items()}
    else:
        named = {}
        for calibrator in map(_by_name, calibrators):
            name = type(calibrator).__name__
            suffix = 2
            while name in named:
                name = f"{type(calibrator).__name__}#{suffix}"
                suffix += 1
            named[name] = calibrator
    if not named:
        raise ValueError("calibrators is empty; pass at least one calibrator, or None.")
    if BASELINE in named:
        raise ValueError(f"{BASELINE!r} is the name of the baseline row; rename that method.")
    for name, calibrator in named.items():
        if not (hasattr(calibrator, "fit") and hasattr(calibrator, "predict_proba")):
            raise ValueError(
                f"Candidate {name!r} ({type(calibrator).__name__}) has no fit and "
                "predict_proba; pass calibrators that take scores."
            )
        params = calibrator.get_params() if hasattr(calibrator, "get_params") else {}
        if params.get("estimator") is not None:
            raise ValueError(
                f"Candidate {name!r} wraps a classifier already; pass it without one "
                "and give the classifier as compare_calibrators(..., estimator=...)."
            )
    return named


def _with_score_type(calibrator, score_type):
    """A clone told how to read the scores, when it takes that parameter."""
    calibrator = clone(calibrator)
    if "score_type" in calibrator.get_params():
        calibrator.set_params(score_type=score_type)
    return calibrator


def resolve_scorers(scoring):
    """``{name: scorer}`` of ``scoring``: a scorer name, a list of them, a
    callable (named ``'score'``, as scikit-learn's ``cross_validate`` names it)
    or a dict of names to scorers or scorer names."""
    if scoring is None:
        return {}
    if isinstance(scoring, str):  # one name, not its letters
        items = [(scoring, scoring)]
    elif callable(scoring):
        items = [("score", scoring)]
    elif isinstance(scoring, dict):
        items = scoring.items()
    elif isinstance(scoring, (list, tuple, set, frozenset)):
        for entry in scoring:
            if not isinstance(entry, str):
                raise ValueError(f"scoring lists scorer names; got {entry!r}. Name a "
                                 "scorer object in a dict: scoring={'name': scorer}.")
        items = [(name, name) for name in scoring]
    else:
        raise ValueError(f"scoring takes a scorer name, a list of them, a callable or a dict "
                         f"of names to scorers; got {type(scoring).__name__}.")
    scorers = {}
    for name, scorer in items:
        if name in BUILTIN_METRICS:
            raise ValueError(f"{name!r} is always reported; give other metrics in scoring.")
        scorers[name] = get_scorer(scorer) if isinstance(scorer, str) else scorer
    return scorers


def prepare_scores(X, y, sample_weight, score_type, candidates):
    # a DataFrame's columns named after the classes say which column is which
    names = _get_feature_names(X)
    X = as_float_array(X)
    resolved = resolve_score_type(X, score_type)
    n_columns = scores_to_logits(X[:1], resolved).shape[1]
    # checked as a calibrator's fit checks them: rows of weight 0 count for nothing,
    # whatever their label (a missing one, say)
    classes, y_index, sample_weight = check_labels_and_weights(
        column_or_1d(y, warn=True), sample_weight, X.shape[0], n_columns=n_columns,
        column_names=names, takes_labels=False,
        length_error="X has {n_rows} samples but y has {n_labels}.")
    named = {BASELINE: Uncalibrated()}
    named.update(candidates)
    candidates = {name: _with_score_type(c, resolved) for name, c in named.items()}
    return X, y_index, classes, sample_weight, candidates


def prepare_classifier(X, y, sample_weight, estimator, candidates):
    X, y = indexable(X, y)
    y = column_or_1d(y)
    # the classifier is trained on them too: no weight 0 stands in for a label
    refuse_missing_labels(y, "; the classifier and every method need each row's label. "
                          "Leave those rows out (X[mask], y[mask]).")
    encoder = LabelEncoder().fit(y)
    y_index = encoder.transform(y)
    sample_weight = check_sample_weight(sample_weight, y_index.shape[0])
    for name, candidate in candidates.items():
        if "estimator" not in candidate.get_params():
            raise ValueError(
                f"Candidate {name!r} has no estimator parameter, so it cannot wrap the "
                "classifier for the final refit; pass skcal-style calibrators."
            )
    named = {BASELINE: Uncalibrated()}
    named.update(candidates)
    candidates = {name: _with_score_type(c, "logits") for name, c in named.items()}
    return X, y_index, encoder.classes_, sample_weight, candidates
