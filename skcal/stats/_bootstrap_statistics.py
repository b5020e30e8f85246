"""The statistics :func:`~skcal.stats.bootstrap` resamples, by units.

A unit is what one draw of the bootstrap takes whole: a row of the labels'
first axis (a sample; for tokens of shape ``(batch, length)``, a sequence),
or with ``groups`` a group of them (a document, a patient). Each statistic
keeps what a unit contributes, so that a resample, a list of drawn units, is
a gather and a sum (the additive metrics and the binned ECE), or the rows of
the drawn units handed to the metric (any other).
"""

import numpy as np

from ..rows._labels import group_codes
from ..utils._binning import bin_edges, bin_index


def unit_codes(groups, first_axis, n_rows):
    """Each row's unit as 0..U-1 (rows flattened from labels whose first axis
    has ``first_axis`` entries, ``n_rows`` in all), or None where each row is
    its own unit (1-D labels, no groups).

    >>> unit_codes(None, 2, 6)
    array([0, 0, 0, 1, 1, 1])
    >>> unit_codes(["b", "a"], 2, 4)
    array([1, 1, 0, 0])
    """
    if groups is None and first_axis == n_rows:
        return None
    per_first = (np.arange(first_axis) if groups is None
                 else first_axis_groups(groups, first_axis))
    return np.repeat(per_first, n_rows // first_axis)


def first_axis_groups(groups, first_axis):
    """``groups`` as 0..G-1, one per row of the labels' first axis."""
    if np.ndim(groups) != 1 or np.shape(groups)[0] != first_axis:
        raise ValueError(
            f"groups has shape {np.shape(groups)} for labels whose first axis has "
            f"{first_axis} rows; pass one group (a document or patient id) per row of "
            "y_true's first axis (per sequence for tokens of shape (batch, length)).")
    codes = group_codes(groups, first_axis)
    if codes.max(initial=0) < 1:
        raise ValueError("groups holds a single group; a bootstrap of groups needs at least "
                         "2 (each document or patient its own id).")
    return codes


class AdditiveStatistic:
    """A weighted mean of per-row losses: each unit's weighted sum and weight,
    resampled by gathers, jackknifed exactly. Units of weight 0 (rows labelled
    ``ignore_index``, padding) are not drawn: they hold no data."""

    def __init__(self, losses, sample_weight, scale, unit=None):
        losses = losses * scale
        weight = np.ones_like(losses) if sample_weight is None else sample_weight
        self._observed = float(weight @ losses / weight.sum())
        if unit is None:
            sums, totals = weight * losses, weight
        else:
            sums = np.bincount(unit, weights=weight * losses)
            totals = np.bincount(unit, weights=weight)
        kept = totals > 0
        self.sums, self.totals = sums[kept], totals[kept]
        self.n_units = self.sums.shape[0]

    def observed(self):
        return self._observed

    def resampled(self, draws):
        return self.sums[draws].sum(axis=1) / self.totals[draws].sum(axis=1)

    def jackknife(self):
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.sums.sum() - self.sums) / (self.totals.sum() - self.totals)


class BinnedECEStatistic:
    """The top-label ECE on fixed equal-width bins: per-bin sums of the weighted
    gaps of the drawn units, all resamples of a chunk at once."""

    def __init__(self, confidence, correct, sample_weight, n_bins, scale, unit=None):
        self.n_bins, self.scale = n_bins, scale
        weight = np.ones_like(confidence) if sample_weight is None else sample_weight
        bins = bin_index(confidence, bin_edges(confidence, None, n_bins, "uniform"))
        gap = weight * (correct - confidence)
        self._bin_sums = np.bincount(bins, weights=gap, minlength=n_bins)
        self._total = weight.sum()
        if unit is None:  # a row per unit: its bin and its gap
            kept = weight > 0
            self.bin, self.gap, self.weight = bins[kept], gap[kept], weight[kept]
            self.n_units, self.unit_sums = self.bin.shape[0], None
        else:  # a unit's gaps summed per bin
            n_units = int(unit.max()) + 1
            sums = np.bincount(unit * n_bins + bins, weights=gap,
                               minlength=n_units * n_bins).reshape(n_units, n_bins)
            totals = np.bincount(unit, weights=weight, minlength=n_units)
            kept = totals > 0
            self.unit_sums, self.weight = sums[kept], totals[kept]
            self.n_units = self.weight.shape[0]

    def observed(self):
        return float(self.scale * np.abs(self._bin_sums).sum() / self._total)

    def resampled(self, draws):
        size = draws.shape[0]
        if self.unit_sums is None:
            flat = (self.bin[draws] + self.n_bins * np.arange(size)[:, None]).ravel()
            sums = np.bincount(flat, weights=self.gap[draws].ravel(),
                               minlength=size * self.n_bins).reshape(size, self.n_bins)
        else:
            flat = (draws + self.n_units * np.arange(size)[:, None]).ravel()
            counts = np.bincount(flat, minlength=size * self.n_units)
            sums = counts.reshape(size, self.n_units).astype(np.float64) @ self.unit_sums
        return self.scale * np.abs(sums).sum(axis=1) / self.weight[draws].sum(axis=1)

    def jackknife(self):
        if self.unit_sums is None:
            own = self._bin_sums[self.bin]
            total = (np.abs(self._bin_sums).sum() - np.abs(own)
                     + np.abs(own - self.gap))
        else:
            total = np.abs(self._bin_sums - self.unit_sums).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.scale * total / (self.weight.sum() - self.weight)


class RecomputedStatistic:
    """Any metric, called on the rows (of the labels' first axis) of each
    resample's units; units without a row of data (all weight 0, or all
    labelled ``ignore_index``) are not drawn."""

    def __init__(self, function, scale, keywords, y_true, y_prob, sample_weight,
                 groups=None):
        self.function, self.scale, self.keywords = function, scale, keywords
        self.y_true, self.y_prob, self.sample_weight = y_true, y_prob, sample_weight
        n = y_true.shape[0]
        codes = np.arange(n) if groups is None else first_axis_groups(groups, n)
        with_data = np.bincount(codes, weights=_rows_with_data(
            y_true, sample_weight, keywords.get("ignore_index"))) > 0
        order = np.argsort(codes, kind="stable")
        members = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)
        self.members = [rows for rows, kept in zip(members, with_data) if kept]
        self.n_units = len(self.members)

    def _rows(self, units):
        return np.concatenate([self.members[unit] for unit in units])

    def _call(self, rows):
        keywords = dict(self.keywords)
        if self.sample_weight is not None:
            keywords["sample_weight"] = self.sample_weight[rows]
        return self.scale * self.function(self.y_true[rows], self.y_prob[rows], **keywords)

    def observed(self):
        return float(self._call(slice(None)))

    def resampled(self, draws):
        return np.array([self._call(self._rows(units)) for units in draws])

    def jackknife(self):
        everyone = np.arange(self.n_units)
        return np.array([self._call(self._rows(np.delete(everyone, unit)))
                         for unit in everyone])


def _rows_with_data(y_true, sample_weight, ignore_index):
    """Whether each row of the labels' first axis holds a label of weight
    above 0 that is not ``ignore_index``, as 0.0 or 1.0."""
    data = np.ones(y_true.shape, dtype=bool)
    if ignore_index is not None:
        data &= y_true != ignore_index
    if sample_weight is not None:
        data &= np.reshape(sample_weight, y_true.shape) > 0
    return data.reshape(y_true.shape[0], -1).any(axis=1).astype(np.float64)
