"""matplotlib, imported only when something is drawn, and the axes skcal's
displays share."""


# share of the height of the main axis that the histogram's tallest bar reaches
_HISTOGRAM_HEIGHT = 0.25


def histogram_axis(ax):
    """The histogram axis of ``ax``: a twin sharing its x-axis, made once per axis,
    scaled so that bars of share 1 reach a quarter of the height."""
    existing = getattr(ax, "_skcal_histogram_axis", None)
    if existing is not None:
        return existing
    hist_ax = ax.twinx()
    hist_ax.set_ylim(0, 1 / _HISTOGRAM_HEIGHT)
    hist_ax.set_yticks([0, 0.5, 1])
    hist_ax.set_ylabel("share of samples", loc="bottom", fontsize="small")
    hist_ax.tick_params(labelsize="small")
    ax._skcal_histogram_axis = hist_ax
    return hist_ax


def pyplot():
    """matplotlib.pyplot, imported only when something is drawn."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "Plotting needs matplotlib, an optional dependency: "
            'pip install "skcal[plot]" (or pip install matplotlib).'
        ) from exc
    return plt
