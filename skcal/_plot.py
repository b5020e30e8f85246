"""Reliability diagrams, multiclass, in scikit-learn's Display pattern."""

import numpy as np

from .metrics import calibration_curve


def _pyplot():
    """matplotlib.pyplot, imported only when something is drawn."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "Plotting needs matplotlib, an optional dependency: "
            'pip install "skcal[plot]" (or pip install matplotlib).'
        ) from exc
    return plt


class ReliabilityDisplay:
    """Reliability diagram: observed frequency against predicted probability.

    Multiclass: the confidence of the predicted class against accuracy
    (``kind='top_label'``, the default) or one class's probability against its
    frequency (``kind='class'``). A histogram of the binned probabilities sits
    under the curve, and the legend gives the ECE of the same bins. Several
    displays can be drawn on one axis. Build it with :meth:`from_predictions`
    or :meth:`from_estimator`; matplotlib is imported only when drawing.

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

    Attributes
    ----------
    line_ : matplotlib Line2D
        The reliability curve.

    hist_ : matplotlib BarContainer or None
        The histogram of binned probabilities (share of the weight per bin).

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
    ):
        self.prob_true = prob_true
        self.prob_pred = prob_pred
        self.bin_weight = bin_weight
        self.bin_edges = bin_edges
        self.ece = ece
        self.estimator_name = estimator_name
        self.kind = kind
        self.class_label = class_label

    def plot(self, *, ax=None, name=None, ref_line=True, hist=True, **kwargs):
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
            Draw the share of weight in each bin as bars under the curve.

        **kwargs : dict
            Passed to ``ax.plot`` for the curve.

        Returns
        -------
        display : ReliabilityDisplay
            ``self``, with ``ax_``, ``figure_``, ``line_`` and ``hist_`` set.
        """
        if ax is None:
            _, ax = _pyplot().subplots()
        name = self.estimator_name if name is None else name
        label = name
        if self.ece is not None:
            ece = f"ECE {100 * self.ece:.1f}%"
            label = ece if name is None else f"{name} ({ece})"
        if ref_line and not any(
            line.get_label() == "perfectly calibrated" for line in ax.get_lines()
        ):
            ax.plot([0, 1], [0, 1], linestyle=":", color="gray", label="perfectly calibrated")
        self.hist_ = None
        if hist:
            widths = np.diff(self.bin_edges)
            index = np.searchsorted(self.bin_edges[1:-1], self.prob_pred, side="left")
            share = self.bin_weight / self.bin_weight.sum()
            self.hist_ = ax.bar(
                self.bin_edges[index], share, width=widths[index], align="edge",
                alpha=0.25, color="gray", edgecolor="none",
            )
        style = {"marker": "s", "label": label, **kwargs}
        (self.line_,) = ax.plot(self.prob_pred, self.prob_true, **style)
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

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_prob,
        *,
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
        **kwargs,
    ):
        """Bin predicted probabilities and draw their reliability diagram.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels.

        y_prob : array-like of shape (n_samples, n_classes) or (n_samples,)
            Predicted probabilities.

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

        **kwargs : dict
            Passed to ``ax.plot`` for the curve.

        Returns
        -------
        display : ReliabilityDisplay
        """
        curve = calibration_curve(
            y_true, y_prob, kind=kind, class_label=class_label, n_bins=n_bins,
            strategy=strategy, sample_weight=sample_weight, labels=labels,
        )
        # the ECE of exactly these bins (for kind='top_label', equal to
        # expected_calibration_error with the same n_bins and strategy)
        gaps = np.abs(curve.prob_true - curve.prob_pred)
        ece = float(curve.bin_weight @ gaps / curve.bin_weight.sum())
        display = cls(
            prob_true=curve.prob_true,
            prob_pred=curve.prob_pred,
            bin_weight=curve.bin_weight,
            bin_edges=curve.bin_edges,
            ece=ece,
            estimator_name=name,
            kind=kind,
            class_label=class_label,
        )
        return display.plot(ax=ax, ref_line=ref_line, hist=hist, **kwargs)

    @classmethod
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

        kind, class_label, n_bins, strategy, sample_weight, ax, ref_line, hist
            As in :meth:`from_predictions`.

        name : str, default=None
            Legend name; the estimator's class name when None.

        **kwargs : dict
            Passed to ``ax.plot`` for the curve.

        Returns
        -------
        display : ReliabilityDisplay
        """
        if not hasattr(estimator, "predict_proba"):
            raise ValueError(
                f"{type(estimator).__name__} has no predict_proba; a reliability "
                "diagram needs probabilities."
            )
        proba = estimator.predict_proba(X)
        name = type(estimator).__name__ if name is None else name
        return cls.from_predictions(
            y, proba, kind=kind, class_label=class_label, n_bins=n_bins, strategy=strategy,
            sample_weight=sample_weight, labels=estimator.classes_, name=name, ax=ax,
            ref_line=ref_line, hist=hist, **kwargs,
        )

