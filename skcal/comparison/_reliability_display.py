"""Reliability diagrams, multiclass, in scikit-learn's Display pattern."""

import numpy as np
from sklearn.utils._param_validation import HasMethods, validate_params

from ..utils._binning import bin_index
from ..utils._plotting import histogram_axis, pyplot
from ._reliability_points import DRAWING_CONSTRAINTS, reliability_points



class ReliabilityDisplay:
    """Reliability diagram: observed frequency against predicted probability.

    Multiclass: the confidence of the predicted class against accuracy
    (``kind='top_label'``, the default) or one class's probability against its
    frequency (``kind='class'``). Each point's marker area grows with the
    weight of its bin, so the eye reads the well-populated bins and a bin of a
    handful of samples shows as a dot (``min_bin_weight`` leaves such bins
    out). The distribution of the predicted probabilities is drawn on its own
    axis (right-hand scale, equal-width bins whatever the binning strategy),
    one outline per display, and the legend gives the ECE of the curve's bins.
    Several displays can be drawn on one axis. Build it with
    :meth:`from_predictions` or :meth:`from_estimator`; matplotlib is imported
    only when drawing.

    Parameters
    ----------
    prob_true : ndarray
        Observed frequency in each non-empty bin.

    prob_pred : ndarray
        Mean predicted probability in each non-empty bin.

    bin_weight : ndarray
        Weight (count) of each non-empty bin.

    bin_edges : ndarray
        Edges of all the bins.

    ece : float, default=None
        Expected calibration error of these bins, shown in the legend.

    estimator_name : str, default=None
        Name shown in the legend.

    kind : {'top_label', 'class'}, default='top_label'
        What was binned, for the axis labels.

    class_label : label, default=None
        With ``kind='class'``, the class that was binned.

    hist_weight : ndarray, default=None
        Share of the weight of the predicted probabilities in each of the
        equal-width bins ``hist_edges``; by default the curve's own bins.

    hist_edges : ndarray, default=None
        Edges of the histogram's bins.

    band_low, band_high : ndarray, default=None
        Per non-empty bin, the consistency band: the range of observed
        frequencies a perfectly calibrated model would show in that bin with
        probability ``band_level``.

    band_level : float, default=None
        The band's probability, for the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The reliability curve.

    markers_ : matplotlib PathCollection
        The bins' points, with areas growing with their weight.

    hist_ : list of matplotlib Polygon or None
        The histogram's outline, on ``hist_ax_``.

    hist_ax_ : matplotlib Axes or None
        The histogram's own axis (a twin of ``ax_``, shared by overlays).

    band_ : matplotlib PolyCollection or None
        The consistency band, behind the curve.

    ax_ : matplotlib Axes
        The axis drawn on.

    figure_ : matplotlib Figure
        The figure holding the axis.

    See Also
    --------
    skcal.metrics.calibration_curve : The binned points.
    skcal.metrics.expected_calibration_error : The ECE shown in the legend.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skcal import ReliabilityDisplay
    >>> rng = np.random.default_rng(0)
    >>> proba = rng.dirichlet([1, 1, 1], size=500)
    >>> y = (proba.cumsum(axis=1) > rng.random((500, 1))).argmax(axis=1)
    >>> display = ReliabilityDisplay.from_predictions(y, proba, name="model")
    >>> display.line_.get_label()
    'model (ECE 4.9%)'
    """

    def __init__(
        self,
        *,
        prob_true,
        prob_pred,
        bin_weight,
        bin_edges,
        ece=None,
        estimator_name=None,
        kind="top_label",
        class_label=None,
        hist_weight=None,
        hist_edges=None,
        band_low=None,
        band_high=None,
        band_level=None,
    ):
        self.prob_true = prob_true
        self.prob_pred = prob_pred
        self.bin_weight = bin_weight
        self.bin_edges = bin_edges
        self.ece = ece
        self.estimator_name = estimator_name
        self.kind = kind
        self.class_label = class_label
        self.hist_weight = hist_weight
        self.hist_edges = hist_edges
        self.band_low = band_low
        self.band_high = band_high
        self.band_level = band_level

    @validate_params({key: DRAWING_CONSTRAINTS[key] for key in
                      ("ax", "name", "ref_line", "hist", "min_bin_weight")},
                     prefer_skip_nested_validation=True)
    def plot(self, *, ax=None, name=None, ref_line=True, hist=True, min_bin_weight=0,
             **kwargs):
        """Draw the diagram.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axis to draw on; a new figure when None. Drawing several displays
            on one axis overlays them.

        name : str, default=None
            Legend name; ``estimator_name`` when None.

        ref_line : bool, default=True
            Draw the diagonal of perfect calibration (once per axis).

        hist : bool, default=True
            Draw the distribution of the predicted probabilities on its own
            axis under the curve.

        min_bin_weight : float, default=0
            Bins of less weight (fewer samples, when unweighted) are not drawn.
            They still count in the ECE of the legend.

        **kwargs : dict
            Passed to ``ax.plot`` for the curve.

        Returns
        -------
        display : ReliabilityDisplay
            ``self``, with ``ax_``, ``figure_``, ``line_``, ``markers_``,
            ``band_``, ``hist_`` and ``hist_ax_`` set.
        """
        if ax is None:
            _, ax = pyplot().subplots(layout="constrained")
        name = self.estimator_name if name is None else name
        label = name
        if self.ece is not None:
            ece = f"ECE {100 * self.ece:.1f}%"
            label = ece if name is None else f"{name} ({ece})"
        if ref_line and not any(
            line.get_label() == "perfectly calibrated" for line in ax.get_lines()
        ):
            ax.plot([0, 1], [0, 1], linestyle=":", color="gray", label="perfectly calibrated")
        shown = self.bin_weight >= min_bin_weight
        style = {"label": label, "linewidth": 1.2, **kwargs}
        (self.line_,) = ax.plot(self.prob_pred[shown], self.prob_true[shown], **style)
        share = self.bin_weight / max(float(self.bin_weight.sum()), 1e-300)
        area = 6.0 + 110.0 * share[shown] / max(float(share.max()), 1e-300)
        self.markers_ = ax.scatter(
            self.prob_pred[shown], self.prob_true[shown], s=area, marker="s",
            color=self.line_.get_color(), zorder=self.line_.get_zorder() + 0.1,
        )
        self.band_ = None
        if self.band_low is not None:
            level = "" if self.band_level is None else f"{100 * self.band_level:g}% "
            self.band_ = ax.fill_between(
                self.prob_pred[shown], self.band_low[shown], self.band_high[shown],
                color=self.line_.get_color(), alpha=0.18, linewidth=0,
                zorder=self.line_.get_zorder() - 0.5,
                label=f"{level}consistency band{'' if name is None else f' ({name})'}",
            )
        self.hist_, self.hist_ax_ = None, None
        if hist:
            self.hist_ax_ = histogram_axis(ax)
            weight, edges = self._histogram()
            _, _, self.hist_ = self.hist_ax_.hist(
                edges[:-1], bins=edges, weights=weight, histtype="step",
                color=self.line_.get_color(), alpha=0.7,
            )
        if self.kind == "top_label":
            xlabel, ylabel = "Confidence (top-label probability)", "Accuracy"
        else:
            what = "" if self.class_label is None else f" of class {self.class_label!r}"
            xlabel, ylabel = f"Predicted probability{what}", f"Observed frequency{what}"
        ax.set(xlabel=xlabel, ylabel=ylabel, xlim=(0, 1), ylim=(0, 1.02))
        ax.legend(loc="upper left", fontsize="small")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    def _histogram(self):
        """(share of weight per bin, edges): the stored histogram, or the curve's bins."""
        if self.hist_weight is not None:
            return np.asarray(self.hist_weight), np.asarray(self.hist_edges)
        edges = np.asarray(self.bin_edges)
        weight = np.zeros(edges.shape[0] - 1)
        index = bin_index(self.prob_pred, edges)
        np.add.at(weight, index, self.bin_weight / self.bin_weight.sum())
        return weight, edges

    @classmethod
    @validate_params({"y_true": ["array-like"], "y_prob": ["array-like", None],
                      "logits": ["array-like", None], "labels": ["array-like", None],
                      **DRAWING_CONSTRAINTS}, prefer_skip_nested_validation=True)
    def from_predictions(
        cls,
        y_true,
        y_prob=None,
        *,
        logits=None,
        kind="top_label",
        class_label=None,
        n_bins=15,
        strategy="uniform",
        sample_weight=None,
        labels=None,
        name=None,
        ax=None,
        ref_line=True,
        hist=True,
        min_bin_weight=0,
        consistency_band=None,
        random_state=None,
        **kwargs,
    ):
        """Bin predicted probabilities and draw their reliability diagram.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels.

        y_prob : array-like of shape (n_samples, n_classes) or (n_samples,), default=None
            Predicted probabilities.

        logits : array-like of shape (n_samples, n_classes) or (n_samples,), default=None
            Instead of ``y_prob``: logits, turned into probabilities as
            :func:`skcal.metrics.calibration_curve` does.

        kind : {'top_label', 'class'}, default='top_label'
            Top-label confidence, or the probability of ``class_label``.

        class_label : label, default=None
            With ``kind='class'``, the class to draw (the last column if None).

        n_bins : int, default=15
            Number of bins.

        strategy : {'uniform', 'quantile'}, default='uniform'
            Equal-width or equal-mass bins.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        labels : array-like of shape (n_classes,), default=None
            The class of each column, as in :func:`skcal.metrics.nll`.

        name : str, default=None
            Legend name.

        ax : matplotlib Axes, default=None
            Axis to draw on.

        ref_line, hist : bool, default=True
            As in :meth:`plot`.

        min_bin_weight : float, default=0
            As in :meth:`plot`.

        consistency_band : float, default=None
            Draw, behind the curve, the band within which a perfectly calibrated
            model's curve would fall with this probability (0.95, say): in each
            bin, labels are drawn from the predicted probabilities themselves
            (consistency resampling, Bröcker and Smith 2007, 1000 draws) and the
            band spans the central quantiles of the resulting frequencies. A
            point outside the band is miscalibration the bin's sample size
            cannot explain; a point inside may still be noise. The band is
            pointwise: with 15 bins, about one point in 20 of a calibrated
            model falls outside a 95% band.

        random_state : int, RandomState instance or None, default=None
            Seed of the band's draws.

        **kwargs : dict
            Passed to ``ax.plot`` for the curve.

        Returns
        -------
        display : ReliabilityDisplay
        """
        points = reliability_points(
            y_true, y_prob, logits=logits, kind=kind, class_label=class_label, n_bins=n_bins,
            strategy=strategy, sample_weight=sample_weight, labels=labels,
            consistency_band=consistency_band, random_state=random_state,
        )
        display = cls(**points, estimator_name=name, kind=kind, class_label=class_label,
                      band_level=consistency_band)
        return display.plot(ax=ax, ref_line=ref_line, hist=hist, min_bin_weight=min_bin_weight,
                            **kwargs)

    @classmethod
    @validate_params({"estimator": [HasMethods(["predict_proba"])], "X": ["array-like"],
                      "y": ["array-like"], **DRAWING_CONSTRAINTS},
                     prefer_skip_nested_validation=True)
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        kind="top_label",
        class_label=None,
        n_bins=15,
        strategy="uniform",
        sample_weight=None,
        name=None,
        ax=None,
        ref_line=True,
        hist=True,
        min_bin_weight=0,
        consistency_band=None,
        random_state=None,
        **kwargs,
    ):
        """Draw the reliability diagram of a fitted classifier's ``predict_proba``.

        Parameters
        ----------
        estimator : fitted classifier
            Any estimator with ``predict_proba`` and ``classes_``.

        X : array-like
            Input of the estimator.

        y : array-like of shape (n_samples,)
            True labels.

        kind, class_label, n_bins, strategy, sample_weight, ax, ref_line, hist, \
                min_bin_weight, consistency_band, random_state
            As in :meth:`from_predictions`.

        name : str, default=None
            Legend name; the estimator's class name when None.

        **kwargs : dict
            Passed to ``ax.plot`` for the curve.

        Returns
        -------
        display : ReliabilityDisplay
        """
        proba = estimator.predict_proba(X)
        name = type(estimator).__name__ if name is None else name
        return cls.from_predictions(
            y, proba, kind=kind, class_label=class_label, n_bins=n_bins, strategy=strategy,
            sample_weight=sample_weight, labels=estimator.classes_, name=name, ax=ax,
            ref_line=ref_line, hist=hist, min_bin_weight=min_bin_weight,
            consistency_band=consistency_band, random_state=random_state, **kwargs,
        )

