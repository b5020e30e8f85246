"""The shared calibrator base: scores, wrapping, cross-fitting, checks.

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
    clone,
)
from sklearn.frozen import FrozenEstimator
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import _safe_indexing, assert_all_finite, column_or_1d, get_tags, indexable
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _num_samples,
    check_is_fitted,
    has_fit_parameter,
)

from ..rows import _device_kernels as device
from ..rows._blocks import Rows, is_dask, is_streamed
from ..rows._namespaces import (
    check_same_namespace,
    device_namespace,
    is_device_array,
    like,
    to_numpy,
)
from ._classifier_scores import (
    _fit_params,
    _resolve_response_method,
    classifier_logits,
    cross_fitted_logits,
)
from ..rows._score_rows import as_vector, in_memory_scores, score_rows
from ..rows._scores import (
    SCORE_TYPES,
    as_float_array,
    check_sample_weight,
    check_score_columns,
    drop_unweighted,
    encode_labels,
    flatten_leading,
    flatten_like,
    plain,
    resolve_score_type,
    scores_to_logits,
)
from ._ties import has_ties, separate_ties
from ..utils._warnings import once_per_call, warn


class BaseCalibrator(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Base class of skcal calibrators; not for direct use.

    Subclasses set ``_map_attributes`` (the fitted attributes that define the
    map) and implement:

    - ``_fit_map(logits, y, sample_weight) -> dict`` returning those attributes;
    - ``_apply_map(logits, **map_params) -> calibrated logits``.

    ``logits`` is a float32 or float64 array of shape (n_samples, n_classes);
    a binary problem with one score ``s`` per sample arrives as ``[0, s]``.
    ``y`` holds column indices and ``sample_weight`` is None or validated.
    A map that sets ``_streams = True`` receives instead a
    :class:`~skcal.rows._blocks.Rows` of logits and sums over its row blocks, so
    it fits scores of any size (memory-mapped, Zarr, Dask). ``_apply_map`` is
    always called on one block at a time.
    """

    _map_attributes = ()
    _streams = False
    # True for maps that fit and predict on arrays of any array API library
    # under scikit-learn's array_api_dispatch (scores mode)
    _array_api = False

    _parameter_constraints = {
        "estimator": [
            HasMethods(["fit", "predict_proba"]),
            HasMethods(["fit", "decision_function"]),
            None,
        ],
        "cv": ["cv_object"],
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
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit the calibration map (and the classifier, if one is wrapped).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, n_classes) \
                or (n_samples,)
            The classifier's input, or, without a classifier, the scores.

        y : array-like of shape (n_samples,)
            The true labels.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights. They weight the calibration NLL and are
            passed to the classifier's ``fit`` when it accepts them (a warning
            says so when it does not).

        Returns
        -------
        self : object
            The fitted calibrator.
        """
        with once_per_call():
            return self._fit(X, y, sample_weight)

    def _fit(self, X, y, sample_weight):
        self._check_mode_parameters()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is "
                "None; pass the true labels of the calibration data."
            )
        if self.estimator is None:
            self._fit_scores(X, y, sample_weight)
        else:
            self._fit_classifier(X, y, sample_weight)
        return self

    def _check_mode_parameters(self):
        """Refuse parameters that the chosen mode would otherwise ignore."""
        if self.estimator is None:
            unused = {
                "cv": self.cv is not None,
                "ensemble": self.ensemble,
                "n_jobs": self.n_jobs is not None,
                "response_method": self.response_method != "auto",
            }
            reason = "without a classifier (estimator=None, X holds scores)"
        else:
            frozen = isinstance(self.estimator, FrozenEstimator)
            unused = {
                "score_type": self.score_type != "auto",
                "cv": frozen and self.cv is not None,
                "ensemble": frozen and self.ensemble,
                "n_jobs": frozen and self.n_jobs is not None,
            }
            reason = (
                "with a FrozenEstimator, which is not refitted"
                if frozen
                else "with a classifier (the scores come from its response_method)"
            )
        names = [name for name, is_set in unused.items() if is_set]
        if names:
            raise ValueError(
                f"{', '.join(names)} {'has' if len(names) == 1 else 'have'} no effect "
                f"{reason}; leave {'it' if len(names) == 1 else 'them'} at the default."
            )

    def _fit_scores(self, X, y, sample_weight):
        on_device = device_namespace(X) is not None
        if on_device and not self._array_api:
            raise TypeError(
                f"{type(self).__name__} does not compute on {type(X).__module__} arrays "
                "under array_api_dispatch; TemperatureScaling, VectorScaling and "
                "PlattScaling do. Pass X as a numpy array (or fit outside "
                "sklearn.config_context(array_api_dispatch=True))."
            )
        X, leading = flatten_leading(X)
        y = flatten_like(as_vector(y), leading, "y")
        sample_weight = flatten_like(as_vector(sample_weight), leading, "sample_weight")
        if is_streamed(X) and not self._streams:
            X = in_memory_scores(X, type(self).__name__)
        logits, self.score_type_ = score_rows(X, self.score_type)
        _check_lengths(X, y)
        shape = np.shape(X)
        self.n_features_in_ = 1 if len(shape) == 1 else shape[1]
        sample_weight = check_sample_weight(sample_weight, shape[0])
        y, sample_weight = drop_unweighted(y, sample_weight, self.ignore_index)
        self.classes_, y_index = encode_labels(y, logits.n_columns)
        _check_weighted_classes(y_index, sample_weight, self.classes_)
        classes = _classes_like(self.classes_, X) if on_device else None
        params = self._fit_logits(logits, y_index, sample_weight)
        if on_device:  # fitted attributes live beside the scores (scikit-learn's rule)
            params = {name: like(value, X) if isinstance(value, np.ndarray) else value
                      for name, value in params.items()}
            self.classes_ = classes
        self._set_map(params)

    def _fit_logits(self, logits, y_index, sample_weight):
        """``_fit_map`` on logits given as an array or as Rows, in the form it takes."""
        if self._streams:
            logits = logits if isinstance(logits, Rows) else Rows(logits)
        elif isinstance(logits, Rows):
            logits = logits.data
        return self._fit_map(logits, y_index, sample_weight)

    def _fit_classifier(self, X, y, sample_weight):
        if self.ignore_index is not None:
            X, y, sample_weight = _drop_ignored(X, y, sample_weight, self.ignore_index)
        n_samples = _num_samples(X)
        if n_samples == 0:
            raise ValueError("X has 0 samples; at least one sample is required.")
        _check_lengths(X, y)
        X, y = indexable(X, y)
        y = column_or_1d(y, warn=True)
        if y.dtype.kind in "fc":
            assert_all_finite(y, input_name="y")
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if self.classes_.shape[0] < 2:
            raise ValueError(
                f"y has only one class ({self.classes_[0]!r}); calibration needs "
                "samples of at least two classes."
            )
        y_index = encoder.transform(y)
        sample_weight = check_sample_weight(sample_weight, n_samples)
        _check_weighted_classes(y_index, sample_weight, self.classes_)
        self.response_method_ = _resolve_response_method(
            self.estimator, self.response_method
        )
        if sample_weight is not None and not has_fit_parameter(
            self.estimator, "sample_weight"
        ) and not isinstance(self.estimator, FrozenEstimator):
            warn(
                f"{type(self.estimator).__name__}.fit does not accept sample_weight: "
                "the weights are used for the calibration map only, and the "
                "classifier is fitted unweighted.",
                UserWarning,
            )

        if isinstance(self.estimator, FrozenEstimator):
            logits = classifier_logits(self.estimator, X, self.response_method_, self.classes_)
            self._set_map(self._fit_logits(logits, y_index, sample_weight))
            self.estimator_ = self.estimator
            fitted = [self.estimator]
        else:
            fitted = self._cross_fit(X, y, y_index, sample_weight)
        first = fitted[0]
        for attribute in ("n_features_in_", "feature_names_in_"):
            if hasattr(first, attribute):
                setattr(self, attribute, getattr(first, attribute))

    def _cross_fit(self, X, y, y_index, sample_weight):
        fitted, logits, tests = cross_fitted_logits(
            self.estimator,
            X,
            y,
            y_index,
            sample_weight,
            cv=self.cv,
            response_method=self.response_method_,
            classes=self.classes_,
            n_jobs=self.n_jobs,
        )
        if self.ensemble:
            maps = [
                self._fit_logits(fold_logits, y_index[test], _take(sample_weight, test))
                for fold_logits, test in zip(logits, tests)
            ]
            self._set_map({key: np.stack([m[key] for m in maps]) for key in maps[0]})
            self.estimators_ = fitted
            return self.estimators_
        test = np.concatenate(tests)
        self._set_map(
            self._fit_logits(np.concatenate(logits), y_index[test], _take(sample_weight, test))
        )
        self.estimator_ = clone(self.estimator).fit(X, y, **_fit_params(self.estimator, sample_weight))
        return [self.estimator_]

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

    def _scores_for_predict(self, X, estimator):
        if estimator is not None:
            return classifier_logits(estimator, X, self.response_method_, self.classes_)
        X = as_float_array(X)
        check_score_columns(X, self.n_features_in_)
        if self.score_type_ == "probabilities":
            resolve_score_type(X, "probabilities")
        return scores_to_logits(X, self.score_type_)

    def _calibrated_rows(self, X):
        """Row blocks of pairs (calibrated log-probabilities, uncalibrated logits)
        of scores ``X`` (scores mode)."""
        check_score_columns(X, self.n_features_in_)
        rows, _ = score_rows(X, self.score_type_)
        (params,) = self._map_params(on_host=rows.xp is None)
        return rows.then(
            lambda logits: (_log_softmax(self._apply_map(logits, **params)), logits)
        )

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
        return self._calibrated_output(X, _same, "predict_log_proba")

    def _calibrated_output(self, X, transform, method):
        """``transform`` of the calibrated log-probabilities, exact ties separated
        by the uncalibrated scores, for arrays in memory, streamed ones and
        arrays on a device."""
        check_is_fitted(self)
        check_same_namespace(X, self, method)
        X, leading = flatten_leading(X) if self.estimator is None else (X, None)
        if self.estimator is None and (is_streamed(X) or device_namespace(X) is not None):
            rows = self._calibrated_rows(X)
            output = rows.map_rows(lambda pair: separate_ties(transform(pair[0]), pair[1]),
                                   lazy=True)
            return _unflatten(output, leading)
        output = transform(self._raw_log_proba(X))
        if has_ties(output):
            output = separate_ties(output, self._uncalibrated_logits(X))
        return _unflatten(output, leading)

    def _raw_log_proba(self, X):
        """Calibrated log-probabilities of in-memory input, ties left as they are."""
        maps = self._map_params(on_host=True)
        if self.estimator is None:
            estimators = [None]
        elif len(maps) > 1:
            estimators = self.estimators_
        else:
            estimators = [self.estimator_]
        log_probas = [
            log_softmax(self._apply_map(self._scores_for_predict(X, est), **params), axis=1)
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
        return self._calibrated_output(X, _exp, "predict_proba")

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
        proba = self._calibrated_output(X, _same, "predict")
        if is_device_array(proba):
            xp = device_namespace(proba)
            return xp.take(self.classes_, xp.argmax(proba, axis=-1), axis=0)
        if is_dask(proba):
            return proba.argmax(axis=-1).map_blocks(self.classes_.take,
                                                    dtype=self.classes_.dtype)
        return self.classes_[np.argmax(proba, axis=-1)]

    def _uncalibrated_logits(self, X):
        """The logits the map calibrates (averaged over the folds of an ensemble)."""
        if self.estimator is None:
            return self._scores_for_predict(X, None)
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
    def _fit_map(self, logits, y, sample_weight):  # pragma: no cover - abstract
        raise NotImplementedError

    def _apply_map(self, logits, **map_params):  # pragma: no cover - abstract
        raise NotImplementedError


def _drop_ignored(X, y, sample_weight, ignore_index):
    """The rows whose label is not ``ignore_index`` (classifier mode)."""
    _check_lengths(X, y)
    keep = np.flatnonzero(np.asarray(y) != ignore_index)
    weights = None if sample_weight is None else _safe_indexing(sample_weight, keep)
    return _safe_indexing(X, keep), _safe_indexing(y, keep), weights


def _unflatten(values, leading):
    """Outputs of flattened ``(..., n_classes)`` scores, shaped back."""
    return values if leading is None else values.reshape(tuple(leading) + values.shape[1:])


def _same(values):
    return values


def _exp(values):
    return device.exp(values) if is_device_array(values) else np.exp(values)


def _log_softmax(logits):
    return device.log_softmax(logits) if is_device_array(logits) else log_softmax(logits, axis=1)


def _classes_like(classes, X):
    """Numeric classes as an array beside ``X``; others refused (they cannot live
    on a device)."""
    if classes.dtype.kind not in "iufb":
        raise ValueError(
            f"Under array_api_dispatch the labels must be numbers (they are kept "
            f"beside the scores); got labels of dtype {classes.dtype}. Encode them "
            "first, for example with sklearn.preprocessing.LabelEncoder."
        )
    integers = classes.dtype.kind != "f"
    return like(classes, X, dtype=device_namespace(X).int64 if integers else None)


def _take(sample_weight, index):
    return None if sample_weight is None else sample_weight[index]


def _check_weighted_classes(y_index, sample_weight, classes):
    """Refuse weights that leave a single class with positive weight."""
    if sample_weight is None:
        return
    weighted = np.unique(y_index[sample_weight > 0])
    if weighted.shape[0] < 2:
        raise ValueError(
            f"Only the class {plain(classes[weighted[0]])!r} has samples with positive "
            "sample_weight; calibration needs weighted samples of at least two classes."
        )


def _check_lengths(X, y):
    n_x, n_y = _num_samples(X), _num_samples(y)
    if n_x != n_y:
        raise ValueError(
            f"X has {n_x} samples but y has {n_y}; pass one label per row of X."
        )

