"""The result of a comparison: the ranked table, the recommendation, the plots."""

import numpy as np
from scipy.special import ndtr
from sklearn.utils._param_validation import validate_params

from ..metrics._row_metrics import COMPARED
from ._comparison_table import comparison_table
from ._reliability_points import DRAWING_CONSTRAINTS

BASELINE = "uncalibrated"
# size of one reliability diagram in a comparison's figure (inches)
_PANEL_WIDTH, _PANEL_HEIGHT = 4.2, 3.3
# the row-wise metrics' columns (from their definitions), then the ECE and the accuracy
BUILTIN_METRICS = tuple(metric.name for metric in COMPARED) + ("ece", "accuracy")
# a method is "tied" with the best when its NLL difference is within this many
# standard errors of zero, under the normal law; under Student's t with the
# comparison's degrees of freedom, within the same two-sided level's quantile
TIE_STANDARD_ERRORS = 2.0
TIE_LEVEL = float(2 * ndtr(TIE_STANDARD_ERRORS) - 1)  # 0.9545


def recommended_method(cv_results):
    """The simplest method tied with the best (``cv_results['tied_with_best']``),
    the methods being in order of simplicity, the uncalibrated baseline first;
    the best by mean held-out NLL when none is tied, not even the best (whose
    NLL is infinite)."""
    tied = [str(m) for m, t in zip(cv_results["method"], cv_results["tied_with_best"]) if t]
    if tied:
        return tied[0]
    return str(cv_results["method"][int(np.argmin(cv_results["mean_test_nll"]))])


def _grid_shape(n_panels, aspect=4 / 3):
    """(rows, columns) of a grid of ``n_panels`` whose figure is closest to ``aspect``.

    Examples
    --------
    >>> _grid_shape(8), _grid_shape(1), _grid_shape(4)
    ((3, 3), (1, 1), (2, 2))
    """
    best = None
    for n_cols in range(1, n_panels + 1):
        n_rows = -(-n_panels // n_cols)
        ratio = (n_cols * _PANEL_WIDTH) / (n_rows * _PANEL_HEIGHT)
        score = (abs(np.log(ratio / aspect)), n_rows * n_cols - n_panels)
        if best is None or score < best[0]:
            best = (score, (n_rows, n_cols))
    return best[1]


class CalibratorComparison:
    """Result of :func:`compare_calibrators`: a ranked table of held-out metrics.

    Attributes
    ----------
    ranking_ : list of str
        Method names, best first by mean held-out NLL.

    recommended_ : str
        The simplest method whose held-out NLL is not distinguishable from the
        best (``tied_with_best``), the candidates being taken in order of
        simplicity: ``'uncalibrated'`` first, then the calibrators in the
        order given (by default skcal's, simplest first). Often a one-parameter
        map is as good as the best within the noise of the comparison.

    cv_results_ : dict of ndarray
        One entry per method (in the order of ``cv_results_['method']``):
        ``split{k}_test_{metric}``, ``mean_test_{metric}``, ``std_test_{metric}``
        for ``nll``, ``ece``, ``brier``, ``accuracy`` and every scorer passed;
        ``rank_test_nll``; ``nll_diff_to_best`` (mean over splits of the paired
        difference), ``nll_diff_se`` (its standard error from the per-sample
        paired differences, cluster-robust with ``groups``), ``nll_diff_pvalue``
        (two-sided p-value of that difference being 0, from Student's t with
        each split's units, groups or rows, less one; 1 for the best itself;
        the best was picked on the same folds, so treat small differences with
        care) and ``tied_with_best`` (difference within two standard errors of
        zero, or with few groups their equivalent under the same Student's t,
        2.87 with 4 degrees of freedom: tied exactly when the p-value is above
        0.0455; and no held-out probability of zero for an observed label:
        ``n_zero_probability`` counts those rows, whose NLL is infinite);
        ``mean_fit_time`` (seconds per fold; work that several
        methods share, such as the temperature fit that vector and matrix
        scaling start from, is done once per fold and counted in the first
        method that needs it); with ``calibration_test=``,
        ``calibration_pvalue``.

    best_calibrator_ : estimator
        The best method refitted on all the data (wrapping the classifier,
        when one was given).

    recommended_calibrator_ : estimator
        The recommended method (:attr:`recommended_`) refitted on all the
        data, as ``best_calibrator_`` is: the same object when the best is
        the one recommended. With ``'uncalibrated'`` recommended, the identity
        map, whose ``predict_proba`` gives the scores' own probabilities.

    predictions_ : mapping of str to ndarray
        Out-of-fold probabilities of each method, shape (n_samples, n_classes),
        in the order of the input rows (a read-only mapping by method name;
        each array is predicted when first read by the method as fitted on each
        fold, so a comparison holds its fitted methods and the scores, not a
        copy of every method's probabilities).

    classes_ : ndarray
        The class labels, in the column order of the probabilities.

    test_results_ : dict or None
        With a test set: for each method fitted on all the data, its ``nll``,
        ``ece``, ``brier`` and ``accuracy`` on the test set.

    n_splits_ : int
        The number of outer folds.

    n_groups_ : int or None
        With ``groups``: the number of groups, over which the standard errors
        are cluster-robust.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal import TemperatureScaling, compare_calibrators
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(scale=3.0, size=(1000, 3))
    >>> y = np.argmax(logits / 3 + rng.gumbel(size=(1000, 3)), axis=1)  # overconfident
    >>> comparison = compare_calibrators(logits, y, calibrators=[TemperatureScaling()])
    >>> comparison.ranking_
    ['TemperatureScaling', 'uncalibrated']
    >>> comparison.recommended_, type(comparison.recommended_calibrator_).__name__
    ('TemperatureScaling', 'TemperatureScaling')
    >>> summary = comparison.to_dict()
    >>> [method["method"] for method in summary["methods"]]
    ['TemperatureScaling', 'uncalibrated']
    """

    def __init__(self, *, cv_results, predictions, y_true, sample_weight, classes,
                 best_calibrator, recommended_calibrator, test_results, n_splits,
                 n_groups=None, tie=(TIE_STANDARD_ERRORS, None)):
        self.cv_results_ = cv_results
        self.predictions_ = predictions
        self.classes_ = classes
        self.best_calibrator_ = best_calibrator
        self.recommended_calibrator_ = recommended_calibrator
        self.test_results_ = test_results
        self.n_splits_ = n_splits
        self.n_groups_ = n_groups
        self._tie = tie  # (standard errors, degrees of freedom)
        order = np.argsort(cv_results["mean_test_nll"], kind="stable")
        self.ranking_ = [str(cv_results["method"][i]) for i in order]
        self.recommended_ = recommended_method(cv_results)
        self._y_true = y_true
        self._sample_weight = sample_weight

    def _rows(self):
        results = self.cv_results_
        index = {name: i for i, name in enumerate(results["method"])}
        for rank, name in enumerate(self.ranking_, start=1):
            i = index[name]
            yield rank, name, {key: value[i] for key, value in results.items()}

    def __str__(self):
        return comparison_table(self)

    def __repr__(self):
        return self.__str__()

    def recommendation(self):
        """One line naming :attr:`recommended_` and why.

        Returns
        -------
        line : str
        """
        best, recommended = self.ranking_[0], self.recommended_
        within = self._within()
        if recommended == best == BASELINE:
            return ("Recommended: no calibration. The uncalibrated scores are the best by "
                    "held-out NLL.")
        if recommended == best:
            return (f"Recommended: {best}, the best by held-out NLL (no simpler method is "
                    f"within {within} of it).")
        if recommended == BASELINE:
            return (f"Recommended: no calibration. The uncalibrated scores are within "
                    f"{within} of the best method ({best}) by held-out NLL.")
        return (f"Recommended: {recommended}, the simplest method whose held-out NLL is "
                f"within {within} of the best ({best}).")

    def _within(self):
        """How far from the best a tied method may be, in words: 2 standard
        errors, or with few degrees of freedom their Student's t equivalent."""
        standard_errors, dof = self._tie
        if round(standard_errors, 2) == TIE_STANDARD_ERRORS:
            return f"{TIE_STANDARD_ERRORS:g} standard errors"
        return f"{standard_errors:.2f} standard errors (Student's t, {dof} degrees of freedom)"

    def to_dict(self):
        """The results as plain Python types, ready for ``json.dump``.

        Returns
        -------
        results : dict
            ``ranking``, ``n_splits``, ``n_groups``, ``classes``, ``methods`` (one dict per
            method, best first, with every ``cv_results_`` entry) and
            ``test_results`` (or None).
        """
        methods = []
        for _, name, row in self._rows():
            entry = {"method": name}
            for key, value in row.items():
                if key == "method":
                    continue
                entry[key] = value.item() if hasattr(value, "item") else value
            methods.append(entry)
        test = None
        if self.test_results_ is not None:
            test = {
                name: {key: float(value) for key, value in metrics.items()}
                for name, metrics in self.test_results_.items()
            }
        return {
            "ranking": list(self.ranking_),
            "n_splits": int(self.n_splits_),
            "n_groups": self.n_groups_,
            "classes": [c.item() if hasattr(c, "item") else c for c in self.classes_],
            "methods": methods,
            "test_results": test,
        }

    def to_frame(self, *, splits=False):
        """The ranked table as a pandas DataFrame, one row per method, best first.

        Parameters
        ----------
        splits : bool, default=False
            Also give the standard deviations over folds and every fold's
            value (``std_test_*``, ``split{k}_test_*``), after the summary.

        Returns
        -------
        frame : pandas.DataFrame
            Indexed by method: ``mean_test_nll``, ``nll_diff_to_best``,
            ``nll_diff_se``, ``tied_with_best``, ``nll_diff_pvalue``, ``mean_test_ece``,
            ``mean_test_brier``, ``mean_test_accuracy``, ``mean_fit_time``, any
            extra scorer's mean, and ``rank_test_nll``.
        """
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "to_frame needs pandas, an optional dependency: pip install pandas"
            ) from exc
        frame = pd.DataFrame([row for _, _, row in self._rows()]).set_index("method")
        summary = ["mean_test_nll", "nll_diff_to_best", "nll_diff_se", "tied_with_best",
                   "nll_diff_pvalue", "mean_test_ece", "mean_test_brier", "mean_test_accuracy",
                   "mean_fit_time"]
        if "calibration_pvalue" in frame.columns:
            summary.append("calibration_pvalue")
        summary += [c for c in frame.columns if c.startswith("mean_test_") and c not in summary]
        summary.append("rank_test_nll")
        detail = [c for c in frame.columns if c not in summary] if splits else []
        return frame[summary + detail]

    @validate_params({key: DRAWING_CONSTRAINTS[key] for key in
                      ("kind", "n_bins", "strategy", "min_bin_weight")},
                     prefer_skip_nested_validation=True)
    def plot(self, *, methods=None, kind="top_label", n_bins=15, strategy="uniform", axes=None,
             min_bin_weight=10, consistency_band=None, random_state=None):
        """Reliability diagrams of the out-of-fold probabilities, side by side.

        The diagrams are laid out in a grid close to 4:3. Each pools the
        held-out predictions of all folds, so the ECE in its legend (labelled
        "pooled") is computed on all samples at once; the table's ECE is the
        mean of the per-fold ECEs, which is larger (fewer samples per bin).

        Parameters
        ----------
        methods : str or list of str, default=None
            Which methods to draw; all of them (best first) by default.

        kind : {'top_label', 'class'}, default='top_label'
            Passed to :class:`~skcal.ReliabilityDisplay`.

        n_bins : int, default=15
            Number of bins.

        strategy : {'uniform', 'quantile'}, default='uniform'
            Equal-width or equal-mass bins.

        axes : array of matplotlib Axes, default=None
            One axis per method; a new figure when None.

        min_bin_weight : float, default=10
            Bins of less weight (fewer samples) are not drawn, so that a bin of
            two samples does not draw a spike; they still count in the ECE.

        consistency_band : float, default=None
            Draw each method's consistency band at this level (0.95, say), as
            in :meth:`ReliabilityDisplay.from_predictions`.

        random_state : int, RandomState instance or None, default=None
            Seed of the bands' draws.

        Returns
        -------
        displays : list of ReliabilityDisplay
        """
        from ..utils._plotting import pyplot
        from ._reliability_display import ReliabilityDisplay

        if isinstance(methods, str):
            methods = [methods]
        methods = self.ranking_ if methods is None else list(methods)
        unknown = [m for m in methods if m not in self.predictions_]
        if unknown:
            raise ValueError(f"Unknown methods {unknown}; choose among {self.ranking_}.")
        if not methods:
            raise ValueError(f"methods is empty; name at least one of {self.ranking_}, or "
                             "pass None for all of them.")
        if axes is not None and np.size(axes) < len(methods):
            raise ValueError(f"axes has {np.size(axes)} Axes for {len(methods)} methods; pass "
                             "one per method, or axes=None for a new figure.")
        new_figure = axes is None
        if new_figure:
            n_rows, n_cols = _grid_shape(len(methods))
            figure, axes = pyplot().subplots(
                n_rows, n_cols, figsize=(_PANEL_WIDTH * n_cols, _PANEL_HEIGHT * n_rows),
                squeeze=False, sharex=True, sharey=True, layout="constrained",
            )
            for ax in axes.ravel()[len(methods):]:
                ax.set_visible(False)
        displays = []
        for ax, name in zip(np.ravel(axes), methods):
            display = ReliabilityDisplay.from_predictions(
                self._y_true,
                self.predictions_[name],
                labels=self.classes_,
                kind=kind,
                n_bins=n_bins,
                strategy=strategy,
                sample_weight=self._sample_weight,
                name=name,
                ax=ax,
                min_bin_weight=min_bin_weight,
                consistency_band=consistency_band,
                random_state=random_state,
            )
            # this ECE pools all out-of-fold predictions; say so beside the table's
            display.line_.set_label(f"{name}\n(pooled ECE {100 * display.ece:.1f}%)")
            ax.legend(loc="upper left", fontsize="small")
            displays.append(display)
        if new_figure:
            figure.suptitle(
                f"Out-of-fold predictions of {self.n_splits_} folds, pooled (the table's "
                "ECE is the mean of the per-fold ECEs)",
                fontsize="medium",
            )
        return displays
