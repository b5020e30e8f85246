"""The shared calibrator base: scores, wrapping, cross-fitting, prediction
(the inputs of ``fit`` are checked in :mod:`skcal.calibrators._inputs`).

Think twice before adding to this module: everything here applies to every
calibration map. A calibrator subclass only says how to fit its map on a logit
matrix (``_fit_map``) and how to apply it (``_apply_map``).
"""

from numbers import Integral

import numpy as np
from scipy.special import log_softmax, logsumexp
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    _fit_context,
)
from sklearn.frozen import FrozenEstimator
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Hidden, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..rows._blocks import Rows, is_dask, is_streamed
from ..rows._namespaces import (
    check_same_namespace,
    device_namespace,
    is_device_array,
    like,
    to_numpy,
)
from ..rows._score_rows import (checked_scores, refuse_probabilities_read_as_logits,
                                score_rows)
from ..rows._scores import (
    SCORE_TYPES,
    flatten_leading,
    scores_to_logits,
)
from ..utils._warnings import once_per_call
from ._classifier_scores import classifier_logits
from ._class_order import in_class_order
from ._inputs import check_mode_parameters, check_predict_scores, checked_score_inputs
from ._outputs import exp_of, log_softmax_of, unchanged, unflatten
from ._ties import has_ties, separate_ties
from ._wrapping import ClassifierWrapping, refuse_fit_params_without_classifier

# the way out when scores that look like probabilities are logits after all
_THEY_ARE_LOGITS = (", or, if they are logits, set score_type='logits' "
                    "(calibrator.set_params(score_type='logits')): its fit read logits "
                    "already, and nothing else changes.")


class BaseCalibrator(ClassifierWrapping, ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Base class of skcal calibrators; not for direct use.

    Subclasses set ``_map_attributes`` (the fitted attributes that define the map) and:

    - ``_fit_map(logits, y, sample_weight, cache) -> dict`` returning those attributes;
    - ``_apply_map(logits, cache, **map_params) -> calibrated logits``;
    ``cache`` is None or a comparison's :class:`~skcal.utils._reuse.FoldCache`.

    ``logits`` is a float32 or float64 array of shape (n_samples, n_classes); a binary
    problem with one score ``s`` per sample arrives as ``[0, s]``. Both receive checked
    input (:mod:`skcal.calibrators._inputs` checks it once, where ``fit`` is called):
    ``y`` holds column indices (intp) and ``sample_weight`` is None or finite,
    non-negative float64 weights, with at least two classes of positive weight; neither
    checks them again. A map that sets ``_streams = True`` receives instead a
    :class:`~skcal.rows._blocks.Rows` of logits and sums over its row blocks, so it fits
    scores of any size (memory-mapped, Zarr, Dask). ``_apply_map`` is always called on
    one block at a time.
    """

    _map_attributes = ()
    _streams = False
    # True for maps that fit and predict on arrays of any array API library
    # under scikit-learn's array_api_dispatch (scores mode)
    _array_api = False
    _starts_from_class_totals = False  # a streamed fit needs them before its first pass

    _parameter_constraints = {
        "estimator": [
            HasMethods(["fit", "predict_proba"]),
            HasMethods(["fit", "decision_function"]),
            None,
        ],
        "cv": ["cv_object", Hidden(StrOptions({"prefit"}))],  # refused with the fix
        "ensemble": ["boolean"],
        "n_jobs": [Integral, None],
        "response_method": [
            StrOptions({"auto", "decision_function", "predict_log_proba", "predict_proba"})
        ],
        "score_type": [StrOptions(set(SCORE_TYPES))],
        "ignore_index": "no_validation",
    }

    def __init__(
        self,
        estimator=None,
        *,
        cv=None,
        ensemble=False,
        n_jobs=None,
        response_method="auto",
        score_type="auto",
        ignore_index=None,
    ):
        self.estimator = estimator
        self.cv = cv
        self.ensemble = ensemble
        self.n_jobs = n_jobs
        self.response_method = response_method
        self.score_type = score_type
        self.ignore_index = ignore_index

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the calibration map (and the classifier, if one is wrapped).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, n_classes) \
                or (n_samples,)
            The classifier's input, or, without a classifier, the scores (a
            DataFrame's columns named after the classes are those classes).

        y : array-like of shape (n_samples,)
            The true labels.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights. They weight the calibration NLL and are
            passed to the classifier's ``fit`` when it accepts them (a warning
            says so when it does not). Under metadata routing they go to the
            classifier when it requests them.

        **fit_params : dict
            Parameters of the wrapped classifier's ``fit``, those of one row
            each taken per fold; under metadata routing also the ``cv``
            splitter's (``groups``), each where requested (see
            :meth:`get_metadata_routing`).

        Returns
        -------
        self : object
            The fitted calibrator.
        """
        return self._fit_sharing(X, y, sample_weight, None, fit_params)

    @_fit_context(prefer_skip_nested_validation=False)
    def _fit_sharing(self, X, y, sample_weight, cache, fit_params=None):
        """:meth:`fit`, sharing work on the scores through ``cache`` (or None)."""
        with once_per_call():
            check_mode_parameters(self, y)
            refuse_fit_params_without_classifier(self, fit_params)
            if self.estimator is None:
                self._fit_scores(X, y, sample_weight, cache)
            else:
                self._fit_classifier(X, y, sample_weight, fit_params or {})
            return self

    def _fit_scores(self, X, y, sample_weight, cache):
        self._fit_checked_scores(X, checked_score_inputs(self, X, y, sample_weight, cache), cache)

    def _fit_checked_scores(self, X, inputs, cache):
        """The map fitted on ``inputs`` checked already (once for every fold of a
        cross-fit on a Spark table, see :mod:`skcal.spark._calibrated`)."""
        self.score_type_, self.n_features_in_ = inputs.score_type, inputs.n_features_in
        self.probability_floor_ = inputs.probability_floor
        params = self._fit_logits(inputs.logits, inputs.y_index, inputs.sample_weight, cache)
        if device_namespace(X) is not None:  # fitted attributes live beside the scores
            params = {name: like(value, X) if isinstance(value, np.ndarray) else value
                      for name, value in params.items()}
        self.classes_ = inputs.classes
        self._set_map(params)

    def _fit_logits(self, logits, y_index, sample_weight, cache=None):
        """``_fit_map`` on logits given as an array or as Rows, in the form it takes."""
        if self._streams:
            logits = logits if isinstance(logits, Rows) else Rows(logits)
        elif isinstance(logits, Rows):
            logits = logits.data
        return self._fit_map(logits, y_index, sample_weight, cache)

    def _set_map(self, params):
        for name, value in params.items():
            setattr(self, name, value)

    # -------------------------------------------------------------- predict
    def _map_params(self, on_host=False):
        """The fitted map(s) as a list of keyword dicts, one per fold if ensembled;
        as numpy arrays with ``on_host`` (a map fitted on a device, applied to
        numpy scores outside array API dispatch)."""
        params = {name: getattr(self, name) for name in self._map_attributes}
        if on_host:
            params = {name: to_numpy(value) for name, value in params.items()}
        if self.estimator is not None and self.ensemble and not isinstance(
            self.estimator, FrozenEstimator
        ):
            return [
                {name: value[i] for name, value in params.items()}
                for i in range(len(self.estimators_))
            ]
        return [params]

    def _scores_for_predict(self, X, estimator, cache=None):
        floor = getattr(self, "probability_floor_", None)  # absent: fitted before it was
        if estimator is not None:
            return classifier_logits(estimator, X, self.response_method_, self.classes_, floor)
        check_predict_scores(self, X)
        X = checked_scores(X, self.score_type_, "X", cache)[0]
        refuse_probabilities_read_as_logits(X, self, fix=_THEY_ARE_LOGITS)
        return in_class_order(self, scores_to_logits(X, self.score_type_, cache, floor))

    def _calibrated_rows(self, X, normalised=True):
        """Row blocks of pairs (calibrated log-probabilities, or calibrated logits
        without ``normalised``; uncalibrated logits) of scores ``X`` (scores mode)."""
        check_predict_scores(self, X)
        refuse_probabilities_read_as_logits(X, self, fix=_THEY_ARE_LOGITS)
        rows = in_class_order(self, score_rows(X, self.score_type_, floor=getattr(
            self, "probability_floor_", None))[0])
        (params,) = self._map_params(on_host=rows.xp is None)
        finish = log_softmax_of if normalised else unchanged
        return rows.then(lambda logits: (finish(self._apply_map(logits, None, **params)), logits))

    def predict_log_proba(self, X):
        """Calibrated log-probabilities, the log-softmax of the calibrated logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, n_classes) \
                or (n_samples,)
            The classifier's input, or, without a classifier, the scores. Scores
            may be a memory map, a Zarr or a Dask array: they are read block by
            block (float16 computed in float32).

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            A lazy Dask array, chunked like the rows of ``X``, for a Dask ``X``.
        """
        return self._calibrated_output(X, unchanged, "predict_log_proba")

    def _calibrated_output(self, X, transform, method, cache=None):
        """``transform`` of the calibrated log-probabilities, exact ties separated
        by the uncalibrated scores, for arrays in memory, streamed ones and
        arrays on a device (``cache``: as for ``_fit_map``)."""
        check_is_fitted(self)
        check_same_namespace(X, self, method)
        X, leading = flatten_leading(X) if self.estimator is None else (X, None)
        if self.estimator is None and (is_streamed(X) or device_namespace(X) is not None):
            rows = self._calibrated_rows(X)
            output = rows.map_rows(lambda pair: separate_ties(transform(pair[0]), pair[1]),
                                   lazy=True)
            return unflatten(output, leading)
        output = transform(self._raw_log_proba(X, cache))
        if has_ties(output):
            output = separate_ties(output, self._uncalibrated_logits(X, cache))
        return unflatten(output, leading)

    def _raw_log_proba(self, X, cache):
        """Calibrated log-probabilities of in-memory input, ties left as they are."""
        maps = self._map_params(on_host=True)
        estimators = ([None] if self.estimator is None
                      else self.estimators_ if len(maps) > 1 else [self.estimator_])
        log_probas = [
            log_softmax(self._apply_map(self._scores_for_predict(X, est, cache), cache,
                                        **params), axis=1)
            for est, params in zip(estimators, maps)
        ]
        if len(log_probas) == 1:
            return log_probas[0]
        return logsumexp(np.stack(log_probas), axis=0) - np.log(len(log_probas))

    def predict_proba(self, X):
        """Calibrated probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, n_classes) \
                or (n_samples,)
            The classifier's input, or, without a classifier, the scores (also
            a memory map, a Zarr or a Dask array).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            A lazy Dask array for a Dask ``X``.

        Notes
        -----
        Where several classes of a row share the largest calibrated
        probability exactly, all but the one with the largest uncalibrated
        score are lowered by one unit in the last place, so that ``argmax``
        (and :meth:`predict`) keeps the model's ranking where the map cannot
        tell the classes apart. No probability changes by more than that;
        :meth:`predict_log_proba` separates the same ties likewise.
        """
        return self._calibrated_output(X, exp_of, "predict_proba")

    def predict(self, X):
        """The most probable class under the calibrated probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, n_classes) \
                or (n_samples,)
            The classifier's input, or, without a classifier, the scores (also
            a memory map, a Zarr or a Dask array).

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            A lazy Dask array for a Dask ``X``.

        Notes
        -----
        Where the calibrated probabilities of several classes are exactly
        equal (a histogram bin or an isotonic step can give many classes the
        same value), the class with the largest uncalibrated score wins: the
        map cannot tell those classes apart, so the model's ranking decides,
        instead of the first column (see :meth:`predict_proba`).
        """
        proba = self._calibrated_output(X, unchanged, "predict")
        if is_device_array(proba):
            xp = device_namespace(proba)
            return xp.take(self.classes_, xp.argmax(proba, axis=-1), axis=0)
        if is_dask(proba):
            return proba.argmax(axis=-1).map_blocks(self.classes_.take,
                                                    dtype=self.classes_.dtype)
        return self.classes_[np.argmax(proba, axis=-1)]

    def _uncalibrated_logits(self, X, cache=None):
        """The logits the map calibrates (averaged over the folds of an ensemble)."""
        if self.estimator is None:
            return self._scores_for_predict(X, None, cache)
        if self.ensemble and not isinstance(self.estimator, FrozenEstimator):
            return np.mean([self._scores_for_predict(X, est) for est in self.estimators_],
                           axis=0)
        return self._scores_for_predict(X, self.estimator_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.estimator is None:
            tags.input_tags.one_d_array = True
            tags.array_api_support = self._array_api
        else:
            inner = get_tags(self.estimator).input_tags
            tags.input_tags.sparse = inner.sparse
            tags.input_tags.allow_nan = inner.allow_nan
            tags.input_tags.string = inner.string
            tags.input_tags.categorical = inner.categorical
        return tags

    # ------------------------------------------------------ subclass hooks
    def _fit_map(self, logits, y, sample_weight, cache):  # pragma: no cover - abstract
        raise NotImplementedError

    def _apply_map(self, logits, cache, **map_params):  # pragma: no cover - abstract
        raise NotImplementedError

