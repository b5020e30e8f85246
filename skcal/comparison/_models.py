"""Choosing models or checkpoints by held-out NLL, with standard errors that hold
when rows are correlated (the tokens of one document)."""

import math
from numbers import Real
from collections.abc import Mapping

import numpy as np
from sklearn.utils._param_validation import HasMethods, Interval, validate_params

from ..rows._row_order import check_row_order
from ._best_set import covariance_of_rows
from ._paired_errors import (bootstrap_se, by_sequence, check_n_bootstrap, check_units,
                             clustered_variance, t_quantile, units_of)
from ._model_results import add_best_set, model_result, zero_probability_rows
from ._calibrated_models import (calibrated_log_likelihoods, checked_calibration,
                                 models_log_likelihood)


class ModelComparison:
    """Models ranked by held-out NLL (see :func:`compare_models`).

    Attributes
    ----------
    ranking_ : list of str
        Model names, best (lowest NLL) first; a model that gave an observed label
        a probability of 0 (its NLL infinite, clipped in the table) after every
        model that did not.
    best_ : str
        The best model.
    results_ : dict
        Per model: ``nll`` (nats per row), ``nll_diff`` (to the best),
        ``nll_diff_se`` (its paired standard error), ``pvalue`` (two-sided, of
        the difference being 0: Student's t with ``n_groups_ - 1`` degrees of
        freedom), ``perplexity`` and ``bits`` (per row or token),
        ``n_zero_probability`` (rows whose observed label had probability 0),
        and ``best_set_pvalue``: the p-value of the model being among the best,
        which accounts for the best having been chosen on the same rows among
        all the models (the pairwise ``pvalue`` does not: with ten equally good
        models, some ``pvalue`` falls below 0.05 in most samples).
    best_set_ : list of str
        The models whose ``best_set_pvalue`` is above 0.05, in rank order: a 95 %
        confidence set of the best model (see :meth:`best_set`).
    n_rows_, n_groups_ : int
        Rows with weight, and the groups the standard errors are over.
    se_method_ : str
        Those groups: 'rows', 'groups' (cluster-robust), 'sequences' (of
        token labels, without ``groups``) or 'bootstrap'.
    calibration_ : str or None
        The calibrator the models were ranked after (``calibrate``), by class.
    calibrators_ : dict or None
        With ``calibrate``: per model, its calibrator fitted on each fold's
        training part.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal import compare_models
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(size=(1000, 4))
    >>> y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    >>> result = compare_models({"a": logits, "b": logits * 2}, y)
    >>> result.ranking_, result.se_method_
    (['a', 'b'], 'rows')
    """

    def __init__(self, results, n_rows, n_groups, se_method, *, calibration=None):
        self.results_ = results
        self.calibration_, self.calibrators_ = calibration or (None, None)
        self.ranking_ = sorted(results, key=lambda name: (
            results[name]["n_zero_probability"] > 0, results[name]["nll"]))
        self.best_ = self.ranking_[0]
        self.n_rows_, self.n_groups_, self.se_method_ = n_rows, n_groups, se_method
        self.best_set_ = self.best_set()

    def best_set(self, confidence_level=0.95):
        """The models that may be the best, at ``confidence_level``, in rank order.

        With probability at least ``confidence_level`` (for many rows or
        groups), every model whose expected NLL is the lowest is in it: a model
        leaves it when its largest standardised NLL excess over any other model
        passes what chance gives the largest of all pairs' (from the t law of
        the models' NLLs, with their cluster-robust covariance; the bootstrap
        gives only the pairwise standard errors).

        Parameters
        ----------
        confidence_level : float, default=0.95

        Returns
        -------
        names : list of str

        Examples
        --------
        >>> import numpy as np
        >>> from skcal import compare_models
        >>> rng = np.random.default_rng(0)
        >>> logits = rng.normal(size=(2000, 4))
        >>> y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
        >>> models = {"sharp": logits, "same": logits.copy(), "flat": logits / 4}
        >>> compare_models(models, y).best_set()
        ['sharp', 'same']
        """
        if not 0 < confidence_level < 1:
            raise ValueError(f"confidence_level must be in (0, 1); got {confidence_level!r}.")
        return [name for name in self.ranking_
                if self.results_[name]["best_set_pvalue"] > 1 - confidence_level]

    def to_frame(self):
        """The ranked table as a pandas DataFrame, best first, indexed by model:
        ``nll``, ``nll_diff``, ``nll_diff_se``, ``pvalue``, ``best_set_pvalue``,
        ``perplexity``, ``bits``, ``n_zero_probability``, and with
        ``calibrate``, ``nll_uncalibrated`` and ``n_zero_probability_uncalibrated``.

        Returns
        -------
        frame : pandas.DataFrame
        """
        import pandas as pd

        frame = pd.DataFrame([self.results_[name] for name in self.ranking_],
                             index=pd.Index(self.ranking_, name="model"))
        return frame[["nll", "nll_diff", "nll_diff_se", "pvalue", "best_set_pvalue",
                      "perplexity", "bits", "n_zero_probability"]
                     + ["nll_uncalibrated", "n_zero_probability_uncalibrated"]
                     * (self.calibration_ is not None)]

    def __str__(self):
        unit = {"rows": f"{self.n_rows_} rows taken as independent",
                "groups": f"cluster-robust over {self.n_groups_} groups",
                "sequences": f"cluster-robust over {self.n_groups_} sequences",
                "bootstrap": f"a bootstrap of {self.n_groups_} groups"}[self.se_method_]
        width = max([24] + [len(name) + 2 for name in self.ranking_])  # names whole
        calibrated = self.calibration_ is not None
        after = (f" after {self.calibration_} fitted on the other rows ("
                 f"{len(next(iter(self.calibrators_.values())))} folds; raw NLL: before it)"
                 if calibrated else "")
        lines = [f"Models ranked by held-out NLL{after} (nats per row; Δ ± standard error of "
                 f"the paired difference to the best, {unit}; p its two-sided p-value, for "
                 f"that pair alone, from Student's t with {self.n_groups_ - 1} degrees of "
                 "freedom)",
                 f"{'rank':<5}{'model':<{width}}{'NLL':>9}{'ΔNLL vs best':>22}{'p':>9}"
                 f"{'perplexity':>12}{'bits':>8}" + f"{'raw NLL':>10}" * calibrated]
        for rank, name in enumerate(self.ranking_, 1):
            r = self.results_[name]
            diff = ("" if name == self.best_ else  # below 0 only by rounding: shown as 0
                    f"{max(r['nll_diff'], 0.0):+.4f} ± {r['nll_diff_se']:.4f}")
            p = "" if name == self.best_ else _format_p(r["pvalue"])
            raw = f"{r['nll_uncalibrated']:>10.4f}" if calibrated else ""
            lines.append(f"{rank:<5}{name:<{width}}{r['nll']:>9.4f}{diff:>22}{p:>9}"
                         f"{r['perplexity']:>12.3f}{r['bits']:>8.4f}{raw}")
        if len(self.ranking_) > 2:  # with two, the set follows the pairwise p
            lines.append(f"95 % confidence set of the best, the choice of the best among "
                         f"{len(self.ranking_)} models accounted for: "
                         f"{', '.join(self.best_set_)}.")
        if calibrated and all(hasattr(fits[0], "temperature_")
                              for fits in self.calibrators_.values()):
            lines.append("Temperature fitted (the median of the folds'): " + ", ".join(
                f"{name} {np.median([fit.temperature_ for fit in self.calibrators_[name]]):.3g}"
                for name in self.ranking_) + ".")
        zeros = {name: r["n_zero_probability"] for name, r in self.results_.items()
                 if r["n_zero_probability"]}
        if zeros:
            lines.append("Ranked after every model that gave no observed label a "
                         "probability of 0, its NLL being infinite (clipped in the table): "
                         + "; ".join(
                             f"{name} gave {n} observed label(s) a probability of 0"
                             for name, n in zeros.items()) + ".")
        raw_zeros = {name: r.get("n_zero_probability_uncalibrated", 0)
                     for name, r in self.results_.items()}
        if any(raw_zeros.values()):
            lines.append("Before calibration, " + "; ".join(
                f"{name} gave {n} observed label(s) a probability of 0"
                for name, n in raw_zeros.items() if n)
                + " (its raw NLL is infinite, clipped in the table).")
        return "\n".join(lines)

    def __repr__(self):
        return self.__str__()

    @validate_params({"ax": [HasMethods(["errorbar"]), None],
                      "confidence_level": [Interval(Real, 0, 1, closed="neither")]},
                     prefer_skip_nested_validation=True)
    def plot(self, *, ax=None, confidence_level=0.95):
        """Each model's NLL difference to the best with its confidence interval.

        Returns
        -------
        ax : matplotlib Axes
        """
        from ..utils._plotting import pyplot

        if ax is None:
            _, ax = pyplot().subplots(figsize=(6.5, 0.5 + 0.45 * len(self.ranking_)),
                                      layout="constrained")
        z = t_quantile(confidence_level, self.n_groups_ - 1)
        names = self.ranking_[::-1]
        diffs = [self.results_[n]["nll_diff"] for n in names]
        errors = [z * self.results_[n]["nll_diff_se"] for n in names]
        ax.errorbar(diffs, range(len(names)), xerr=errors, fmt="o", capsize=3)
        ax.axvline(0, color="gray", linewidth=1)
        ax.set_yticks(range(len(names)), names)
        ax.set_xlabel(f"NLL difference to {self.best_} (nats; {confidence_level:.0%} interval)")
        return ax


def compare_models(models, y, *, groups=None, sample_weight=None, ignore_index=None,
                   score_type="auto", metric="nll", n_bootstrap=None, random_state=None,
                   labels=None, calibrate=None, cv=None):
    """Rank models or checkpoints by held-out NLL, with honest standard errors.

    Each model's scores are read once, in row blocks, and reduced to each row's
    log-likelihood. The difference of each model to the best is paired row by
    row. Rows of one document (the tokens of a sequence) are correlated: give
    their ``groups``, and the standard error is cluster-robust over groups
    (from the paired per-group sums), or a bootstrap of groups with
    ``n_bootstrap``. Without groups, tokens (labels of shape ``(batch,
    length)``) are grouped by sequence, and other rows are taken as
    independent: for tokens listed as flat rows, give their groups, or the
    standard error is far too small.

    Parameters
    ----------
    models : mapping of str to array-like
        Each model's scores on the same rows: logits or probabilities of shape
        (n_rows, n_classes), or (..., vocabulary) token logits; arrays,
        memory maps, Zarr or Dask arrays, or DataFrames. Each model is read as
        it would be alone: a DataFrame's columns named after the classes as the
        classes they name, in any order; other columns as the metrics read them
        (integer labels index them, other labels in sorted order).

    y : array-like of shape (n_rows,) or (...)
        True labels (tokens).

    groups : array-like of shape (n_rows,) or (...), default=None
        The group (document, sequence) of each row; or of each leading index
        of ``y``: shape (batch,) for tokens of shape (batch, length), a
        document id per sequence. None: each sequence of such tokens is a
        group; flat rows are independent.

    sample_weight : array-like, default=None
        Non-negative row weights.

    ignore_index : label, default=None
        Rows with this label (``-100`` for padding) are left out.

    score_type : {'auto', 'logits', 'probabilities'}, default='auto'
        How each model's scores are read; 'auto' decides per model.

    metric : {'nll'}, default='nll'
        The criterion: held-out NLL (the others are not proper for ranking
        probabilities by likelihood, and are not offered).

    n_bootstrap : int, default=None
        Standard errors from this many bootstrap draws of groups (sequences or
        rows without them), not the analytic cluster-robust ones.

    random_state : int, RandomState or None, default=None
        Seed of the bootstrap, and of the folds of ``calibrate`` (0 when None,
        so that such a comparison repeats).

    labels : array-like of shape (n_classes,), default=None
        The class of each column, as in :func:`~skcal.metrics.nll`.

    calibrate : str or calibrator, default=None
        Rank the models at their best calibration: each row's log-likelihood
        is that of this calibrator (a method's name, ``'temperature'``, or an
        unfitted skcal calibrator) fitted on the other folds of the same rows,
        the same folds for every model (groups and sequences kept whole).
        A model's raw NLL also counts how well its confidence is scaled,
        which one temperature fixes; this ranks what it cannot fix. Each
        model's raw NLL stays in ``results_`` as ``nll_uncalibrated``, and
        its rows whose observed label it gave a probability of 0 (before
        calibration) as ``n_zero_probability_uncalibrated``.

    cv : int or cross-validation splitter, default=None
        The folds of ``calibrate`` (None: 5): an integer gives shuffled
        folds, stratified by label where each class has that many rows.

    Returns
    -------
    comparison : ModelComparison

    Examples
    --------
    >>> import numpy as np
    >>> from skcal import compare_models
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(size=(2000, 5))
    >>> y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    >>> result = compare_models({"sharp": logits, "flat": logits / 3}, y,
    ...                         groups=np.repeat(np.arange(100), 20))
    >>> result.best_
    'sharp'
    >>> frame = result.to_frame()
    >>> bool(frame.loc["flat", "nll_diff"] > 3 * frame.loc["flat", "nll_diff_se"])
    True

    Ranked after a temperature fitted on the other folds, the two are one model:

    >>> calibrated = compare_models({"sharp": logits, "flat": logits / 3}, y,
    ...                             calibrate="temperature")
    >>> calibrated.calibration_, bool(abs(calibrated.results_["flat"]["nll_diff"]) < 1e-6)
    ('TemperatureScaling', True)
    """
    if metric != "nll":
        raise ValueError(f"metric must be 'nll' (models are ranked by held-out NLL); "
                         f"got {metric!r}.")
    if not isinstance(models, Mapping):
        swapped = " (it comes first: compare_models(models, y))" * isinstance(y, Mapping)
        raise TypeError(f"models must be a mapping of names to scores{swapped}, such as "
                        "{'checkpoint-1000': logits, 'checkpoint-2000': logits2}; got "
                        f"{type(models).__name__}.")
    if len(models) < 2:
        raise ValueError(f"models must map at least two names to scores; got {len(models)} "
                         "({'checkpoint-1000': logits, 'checkpoint-2000': logits2}).")
    if y is None:
        raise ValueError("compare_models needs y, the labels the models are scored on; got "
                         "y=None.")
    check_n_bootstrap(n_bootstrap)
    check_row_order(**{f"models[{name!r}]": scores for name, scores in models.items()},
                    y=y, groups=groups, sample_weight=sample_weight)
    if calibrate is None and cv is not None:
        raise ValueError("cv sets the folds of calibrate, and calibrate is None; pass "
                         "calibrate='temperature' too, or leave cv out.")
    calibrator = None if calibrate is None else checked_calibration(calibrate)
    log_lik, weight, y_index = models_log_likelihood(
        models, y, score_type=score_type, labels=labels, sample_weight=sample_weight,
        ignore_index=ignore_index)
    n = next(iter(log_lik.values())).shape[0]
    weight = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
    unit = units_of(groups, n, np.shape(y))
    grouped = groups is not None or by_sequence(np.shape(y))
    kept = weight > 0
    n_units = np.unique(unit[kept]).shape[0]
    check_units(n_units, by_sequence=groups is None and grouped)
    total = weight.sum()
    calibration = None
    if calibrator is not None:
        uncalibrated = {name: -float(weight @ lp) / total for name, lp in log_lik.items()}
        raw_zeros = {name: zero_probability_rows(lp, weight) for name, lp in log_lik.items()}
        log_lik, fitted = calibrated_log_likelihoods(
            models, y_index, weight, calibrator, cv=5 if cv is None else cv,
            groups=unit if grouped else None,
            random_state=0 if random_state is None else random_state,
            score_type=score_type)
        calibration = (type(calibrator).__name__, fitted)
    nlls = {name: -float(weight @ lp) / total for name, lp in log_lik.items()}
    zeros = {name: zero_probability_rows(lp, weight) for name, lp in log_lik.items()}
    best = min(nlls, key=lambda name: (zeros[name] > 0, nlls[name]))
    results = {}
    for name, lp in log_lik.items():
        difference = log_lik[best] - lp  # this model's NLL minus the best's, per row
        diff = float(weight @ difference) / total
        if n_bootstrap is not None:
            se = bootstrap_se(weight * difference, weight, unit, n_bootstrap, random_state)
        else:
            se = math.sqrt(clustered_variance(weight * (difference - diff), unit,
                                              n_units)) / total
        results[name] = model_result(nlls[name], diff, se, name == best, zeros[name], n_units)
        if calibration is not None:
            results[name]["nll_uncalibrated"] = uncalibrated[name]
            results[name]["n_zero_probability_uncalibrated"] = raw_zeros[name]
    covariance = covariance_of_rows(list(log_lik.values()), weight,
                                    unit if grouped else None, n_units)
    add_best_set(results, covariance, n_units)
    method = ("bootstrap" if n_bootstrap is not None else "groups" if groups is not None
              else "sequences" if grouped else "rows")
    return ModelComparison(results, int(kept.sum()), n_units, method,
                           calibration=calibration)


def _format_p(p):
    if not np.isfinite(p):
        return "-"
    return "<1e-4" if p < 1e-4 else f"{p:.4f}"
