"""A calibrator that wraps a classifier: the classifier's fit parameters passed
on (as they come, or by scikit-learn's metadata routing), its cross-fit and its
refit on all the rows."""

import numpy as np
from sklearn import get_config
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping, process_routing
from sklearn.utils.validation import has_fit_parameter

from ..utils._warnings import warn
from ._classifier_scores import (
    _resolve_response_method,
    cross_fitted_logits,
    fit_classifier_logits,
)
from ._inputs import checked_classifier_inputs


class ClassifierWrapping:
    """The classifier mode of :class:`~skcal.calibrators._base.BaseCalibrator`."""

    def get_metadata_routing(self):
        """Get the metadata routing of this calibrator.

        With ``sklearn.set_config(enable_metadata_routing=True)``, ``fit``
        passes a wrapped classifier's requested metadata to its ``fit`` and the
        ``cv`` splitter's (``groups``, say) to its ``split``; ``sample_weight``
        always weights the calibration map itself. See scikit-learn's
        metadata routing user guide.

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRouter
            The calibrator's own requests, and those of its classifier and
            splitter.

        Examples
        --------
        >>> import sklearn
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.model_selection import GroupKFold
        >>> from skcal import TemperatureScaling
        >>> with sklearn.config_context(enable_metadata_routing=True):
        ...     classifier = LogisticRegression().set_fit_request(sample_weight=False)
        ...     calibrator = TemperatureScaling(classifier, cv=GroupKFold(3))
        ...     routing = calibrator.get_metadata_routing()
        ...     sorted(routing.consumes("fit", ["sample_weight", "groups", "other"]))
        ['groups']
        """
        router = MetadataRouter(owner=self).add_self_request(self)
        if self.estimator is None:
            return router
        router.add(estimator=self.estimator,
                   method_mapping=MethodMapping().add(caller="fit", callee="fit"))
        if not isinstance(self.estimator, FrozenEstimator):  # a frozen one is not split
            router.add(splitter=self.cv,
                       method_mapping=MethodMapping().add(caller="fit", callee="split"))
        return router

    def _fit_classifier(self, X, y, sample_weight, fit_params):
        X, y, self.classes_, y_index, sample_weight, fit_params = checked_classifier_inputs(
            self.estimator, X, y, sample_weight, self.ignore_index, fit_params)
        estimator_params, split_params = routed_fit_params(self, sample_weight, fit_params)
        self.response_method_ = _resolve_response_method(
            self.estimator, self.response_method
        )
        if isinstance(self.estimator, FrozenEstimator):
            logits, self.probability_floor_ = fit_classifier_logits(
                self.estimator, X, self.response_method_, self.classes_)
            self._set_map(self._fit_logits(logits, y_index, sample_weight))
            self.estimator_ = self.estimator
            fitted = [self.estimator]
        else:
            fitted = self._cross_fit(X, y, y_index, sample_weight, estimator_params,
                                     split_params)
        first = fitted[0]
        for attribute in ("n_features_in_", "feature_names_in_"):
            if hasattr(first, attribute):
                setattr(self, attribute, getattr(first, attribute))

    def _cross_fit(self, X, y, y_index, sample_weight, estimator_params, split_params):
        fitted, logits, tests, self.probability_floor_ = cross_fitted_logits(
            self.estimator, X, y, y_index, estimator_params, cv=self.cv,
            response_method=self.response_method_, classes=self.classes_,
            n_jobs=self.n_jobs, split_params=split_params)
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
        self.estimator_ = clone(self.estimator).fit(X, y, **estimator_params)
        return [self.estimator_]


def refuse_fit_params_without_classifier(calibrator, fit_params):
    """Refuse parameters for a classifier's ``fit`` given to a calibrator that
    wraps none (they would go nowhere)."""
    if fit_params and calibrator.estimator is None:
        raise TypeError(
            f"{type(calibrator).__name__}.fit got {sorted(fit_params)}, which go to a "
            "wrapped classifier's fit (or, with metadata routing, to its cv splitter); "
            "this calibrator wraps no classifier and fits on scores. Leave them out, or "
            "pass the classifier as estimator=."
        )


def routed_fit_params(calibrator, sample_weight, fit_params):
    """(the classifier's ``fit`` parameters, the splitter's ``split`` parameters)
    of a classifier-mode ``fit``, each a dict over all the rows.

    With metadata routing enabled, each goes where it is requested
    (scikit-learn refuses metadata nobody requested). Otherwise, as
    ``CalibratedClassifierCV`` does, ``fit_params`` go to the classifier, with
    ``sample_weight`` when its ``fit`` takes one (a warning says when it does
    not), and nothing to the splitter; a frozen classifier, which is not
    fitted, takes none.
    """
    if get_config().get("enable_metadata_routing", False):
        routed = process_routing(calibrator, "fit", sample_weight=sample_weight, **fit_params)
        split = routed.splitter.split if "splitter" in routed else {}
        return dict(routed.estimator.fit), dict(split)
    estimator = calibrator.estimator
    if isinstance(estimator, FrozenEstimator):
        if fit_params:
            raise TypeError(
                f"{type(calibrator).__name__}.fit got {sorted(fit_params)} for the "
                "classifier's fit, but a FrozenEstimator is not fitted again; leave them "
                "out, or pass the classifier unfrozen to cross-fit it with them.")
        return {}, {}
    params = {**fit_params, **classifier_weight_params(estimator, sample_weight, None)}
    if sample_weight is not None and "sample_weight" not in params:
        warn(
            f"{type(estimator).__name__}.fit does not accept sample_weight: "
            "sample_weight weights the calibration map only, not the classifier's "
            "fit. Under scikit-learn's metadata routing "
            "(sklearn.set_config(enable_metadata_routing=True)) a pipeline passes "
            "the weights to the steps that request them; a calibrator's fit also "
            "takes a step's own by name (logisticregression__sample_weight=w, say).",
            UserWarning,
        )
    return params, {}


def classifier_weight_params(estimator, sample_weight, owner):
    """The fit parameters that carry ``sample_weight`` (over all the rows) to
    ``estimator``, as a calibrator wrapping it passes them: under metadata
    routing, where it requests them (scikit-learn refuses weights it did not
    decide on, naming ``owner``); otherwise as ``sample_weight`` if its ``fit``
    takes one.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> weights = np.ones(4)
    >>> sorted(classifier_weight_params(LogisticRegression(), weights, "compare"))
    ['sample_weight']
    >>> classifier_weight_params(KNeighborsClassifier(), weights, "compare")
    {}
    """
    if sample_weight is None:
        return {}
    if get_config().get("enable_metadata_routing", False):
        routed = fit_router(estimator, owner).route_params(
            caller="fit", params={"sample_weight": sample_weight})
        return dict(routed.estimator.fit)
    if has_fit_parameter(estimator, "sample_weight"):
        return {"sample_weight": sample_weight}
    return {}


def fit_router(estimator, owner):
    """A metadata router from ``owner``'s fit (a name) to ``estimator``'s fit.

    Examples
    --------
    >>> import sklearn
    >>> from sklearn.linear_model import LogisticRegression
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     classifier = LogisticRegression().set_fit_request(sample_weight=True)
    ...     sorted(fit_router(classifier, "compare").consumes("fit", ["sample_weight", "x"]))
    ['sample_weight']
    """
    return MetadataRouter(owner=owner).add(
        estimator=estimator, method_mapping=MethodMapping().add(caller="fit", callee="fit"))


def _take(sample_weight, index):
    return None if sample_weight is None else sample_weight[index]
