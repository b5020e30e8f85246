"""The numbers of a reliability diagram, from predictions: the curve's bins, the
histogram of the predictions, the consistency band and the ECE of those bins."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ..metrics._curve import curve_from_points, curve_points
from ..stats._consistency import consistency_band, random_generator
from ..utils._binning import bin_index

# resamples of the consistency band
_BAND_RESAMPLES = 1000

# the arguments of ReliabilityDisplay's constructors and plot, checked in their names
DRAWING_CONSTRAINTS = {
    "kind": [StrOptions({"top_label", "class"})],
    "n_bins": [Interval(Integral, 1, None, closed="left")],
    "strategy": [StrOptions({"uniform", "quantile"})],
    "sample_weight": ["array-like", None],
    "name": [str, None],
    "ax": [HasMethods(["plot"]), None],
    "ref_line": ["boolean"],
    "hist": ["boolean"],
    "min_bin_weight": [Interval(Real, 0, None, closed="left")],
    "random_state": ["random_state"],
}


def _band(confidence, sample_weight, edges, level, random_state):
    """(low, high) per non-empty bin of the consistency band, or (None, None)."""
    if level is None:
        if random_state is not None:
            raise ValueError("random_state seeds the consistency band; give "
                             "consistency_band= too, or no random_state.")
        return None, None
    if not isinstance(level, Real) or not 0 < level < 1:
        raise ValueError(f"consistency_band is a level in (0, 1), such as 0.95; got {level!r}.")
    return consistency_band(confidence, edges, sample_weight, level, _BAND_RESAMPLES,
                            random_generator(random_state))


def reliability_points(y_true, y_prob, *, kind, class_label, n_bins, strategy, sample_weight,
                       labels, consistency_band, random_state, logits=None):
    """The arrays of a :class:`~skcal.ReliabilityDisplay` (``prob_true``,
    ``prob_pred``, ``bin_weight``, ``bin_edges``, ``ece``, ``hist_weight``,
    ``hist_edges``, ``band_low``, ``band_high``) from one pass over the predictions."""
    # one pass over the predictions: the curve, the histogram and the band
    # all bin these points
    confidence, outcome, sample_weight = curve_points(
        y_true, y_prob, logits=logits, kind=kind, class_label=class_label, labels=labels,
        sample_weight=sample_weight,
    )
    curve = curve_from_points(confidence, outcome, sample_weight, n_bins, strategy)
    band_low, band_high = _band(confidence, sample_weight, curve.bin_edges,
                                consistency_band, random_state)
    # the histogram shows the distribution on equal-width bins, whatever the
    # curve's binning (equal-mass bins would draw every bar the same height)
    histogram = (curve if strategy == "uniform" else
                 curve_from_points(confidence, outcome, sample_weight, n_bins, "uniform"))
    hist_edges = histogram.bin_edges
    hist_weight = np.zeros(hist_edges.shape[0] - 1)
    filled = bin_index(histogram.prob_pred, hist_edges)
    hist_weight[filled] = histogram.bin_weight / histogram.bin_weight.sum()
    # the ECE of exactly these bins (for kind='top_label', equal to
    # expected_calibration_error with the same n_bins and strategy)
    gaps = np.abs(curve.prob_true - curve.prob_pred)
    ece = float(curve.bin_weight @ gaps / curve.bin_weight.sum())
    return dict(prob_true=curve.prob_true, prob_pred=curve.prob_pred,
                bin_weight=curve.bin_weight, bin_edges=curve.bin_edges, ece=ece,
                hist_weight=hist_weight, hist_edges=hist_edges, band_low=band_low,
                band_high=band_high)
