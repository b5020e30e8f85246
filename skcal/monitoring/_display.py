"""MonitorDisplay: a monitor's NLL per chunk, its reference band, alarms and split."""

import numpy as np
from sklearn.utils._param_validation import HasMethods, validate_params

from ..utils._plotting import pyplot


class MonitorDisplay:
    """NLL per chunk against the reference, with alarms and the calibration split.

    The held-out NLL of each chunk is drawn over the band a calibrated model
    would stay in (the reference NLL plus or minus two standard errors of a
    chunk of that size), split into its refinement part (below) and its
    calibration part (the gap a recalibration would close). Chunks in alarm
    are marked in red, with their verdict; the label-free ``expected_nll`` is
    dashed. Build it with :meth:`from_monitor` (or ``monitor.plot()``);
    matplotlib is imported only when drawing.

    Parameters
    ----------
    chunks : list of dict
        The monitor's table (``monitor.to_dict()['chunks']``).

    reference_nll, reference_sd : float
        The reference's mean NLL and per-row standard deviation.

    by_period : bool, default=False
        The chunks are periods of time (a monitor with ``chunk_period``): the
        x-axis is their start (UTC) instead of their number.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    line_ : matplotlib Line2D
        The NLL per chunk.
    alarms_ : matplotlib PathCollection or None
        The chunks in alarm.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skcal import CalibrationMonitor
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(size=(3000, 3))
    >>> y = rng.integers(3, size=3000)
    >>> monitor = CalibrationMonitor(chunk_size=500).fit(logits[:1000] * 0, y[:1000])
    >>> display = monitor.update(logits[1000:] * 0, y[1000:]).plot()
    >>> len(display.line_.get_xdata())
    4
    """

    def __init__(self, *, chunks, reference_nll, reference_sd, by_period=False):
        self.chunks = chunks
        self.reference_nll = reference_nll
        self.reference_sd = reference_sd
        self.by_period = by_period

    @classmethod
    @validate_params({"ax": [HasMethods(["plot"]), None]}, prefer_skip_nested_validation=True)
    def from_monitor(cls, monitor, *, ax=None):
        """Draw a monitor's table.

        Parameters
        ----------
        monitor : CalibrationMonitor
            A fitted monitor.

        ax : matplotlib Axes, default=None
            Axis to draw on; a new figure when None.

        Returns
        -------
        display : MonitorDisplay
        """
        state = monitor.to_dict()
        display = cls(chunks=state["chunks"], reference_nll=monitor.reference_["nll"],
                      reference_sd=monitor.reference_["nll_sd"],
                      by_period=monitor.chunk_period is not None)
        return display.plot(ax=ax)

    @validate_params({"ax": [HasMethods(["plot"]), None]}, prefer_skip_nested_validation=True)
    def plot(self, *, ax=None):
        """Draw the display.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axis to draw on; a new figure when None.

        Returns
        -------
        display : MonitorDisplay
            ``self``, with ``ax_``, ``figure_``, ``line_`` and ``alarms_`` set.
        """
        if ax is None:
            _, ax = pyplot().subplots(figsize=(8, 4.2), layout="constrained")
        column = {key: np.array([_number(c[key]) for c in self.chunks], dtype=float)
                  for key in ("chunk", "nll", "nll_refinement", "expected_nll", "n_labelled")}
        x = column["chunk"]
        if self.by_period:  # nanoseconds since 1970, UTC
            x = np.array([int(c["start"]) for c in self.chunks], dtype="datetime64[ns]")
        alarm = np.array([bool(c["alarm"]) for c in self.chunks], dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            half_band = 2 * self.reference_sd / np.sqrt(column["n_labelled"])
        ax.fill_between(x, self.reference_nll - half_band, self.reference_nll + half_band,
                        color="gray", alpha=0.2, step="mid",
                        label="reference ± 2 standard errors")
        ax.axhline(self.reference_nll, color="gray", linewidth=1)
        ax.fill_between(x, column["nll_refinement"], column["nll"], color="tab:orange",
                        alpha=0.35, step="mid", label="calibration part (a recalibration removes)")
        (self.line_,) = ax.plot(x, column["nll"], marker="o", markersize=3, color="tab:blue",
                                label="held-out NLL per chunk")
        ax.plot(x, column["expected_nll"], linestyle="--", color="tab:green", linewidth=1,
                label="expected NLL if calibrated (no labels needed)")
        self.alarms_ = None
        if alarm.any():
            self.alarms_ = ax.scatter(x[alarm], column["nll"][alarm], color="tab:red", zorder=3,
                                      s=30, label="alarm")
            previous = None
            for at, chunk in ((at, c) for at, c in zip(x, self.chunks) if c["alarm"]):
                if chunk["verdict"] != previous:  # where the verdict changes
                    ax.annotate(chunk["verdict"], (at, _number(chunk["nll"])),
                                textcoords="offset points", xytext=(0, 7), ha="center",
                                fontsize="small", color="tab:red")
                previous = chunk["verdict"]
        ax.set(xlabel="start of the chunk (UTC)" if self.by_period else "chunk",
               ylabel="NLL (nats per row)")
        ax.legend(loc="upper left", fontsize="small")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


def _number(value):
    if value is None:
        return np.nan
    return float(value) if not isinstance(value, bool) else value
