"""Small line charts written as inline SVG, for the monitor's HTML report.

Drawn without matplotlib: a report is written by a scheduled job in a few
milliseconds, with no import of a plotting library and no external resource.
A value that is not finite breaks a line (a chunk without labels).
"""

import html
import math

import numpy as np

PALETTE = {"blue": "#1f77b4", "orange": "#ff7f0e", "green": "#2ca02c", "red": "#d62728",
           "gray": "#7f7f7f", "purple": "#9467bd"}


class Chart:
    """A chart of series over shared axes, rendered by :meth:`svg`.

    Examples
    --------
    >>> chart = Chart(title="NLL", x_label="chunk", y_label="nats")
    >>> chart.line([0, 1, 2], [0.5, float("nan"), 0.7], color="blue", label="NLL")
    >>> svg = chart.svg()
    >>> svg.startswith("<svg") and svg.count("<polyline") == 2  # the gap splits the line
    True
    """

    def __init__(self, *, title, x_label, y_label, width=860, height=250, x_range=None,
                 y_range=None, x_tick_text=None):
        self.title, self.x_label, self.y_label = title, x_label, y_label
        self.width, self.height = width, height
        self.x_range, self.y_range = x_range, y_range
        # x values that are whole numbers (chunks) get whole ticks, named by this
        self.x_tick_text = x_tick_text
        self._items = []  # (kind, x, y, y2, style)

    def line(self, x, y, *, color, label=None, width=1.8, dash=None, markers=False):
        """A line through (x, y); ``markers`` draws a dot at each point."""
        self._add("line", x, y, None, color=color, label=label, width=width, dash=dash,
                  markers=markers)

    def band(self, x, lower, upper, *, color, label=None, opacity=0.2):
        """A filled band between ``lower`` and ``upper``."""
        self._add("band", x, lower, upper, color=color, label=label, opacity=opacity)

    def bars(self, x, lower, upper, *, color, label=None, width=7.0):
        """A vertical bar from ``lower`` to ``upper`` at each x."""
        self._add("bars", x, lower, upper, color=color, label=label, width=width)

    def points(self, x, y, *, color, label=None, radius=4.0):
        """Dots at (x, y)."""
        self._add("points", x, y, None, color=color, label=label, radius=radius)

    def _add(self, kind, x, y, y2, **style):
        as_array = [np.asarray(v, dtype=float) for v in (x, y)]
        self._items.append((kind, *as_array, None if y2 is None else np.asarray(y2, float),
                            style))

    def svg(self):
        """The chart as an ``<svg>`` element (text)."""
        left, right, top, bottom = 64, 16, 44, 42
        whole = self.x_tick_text is not None
        x0, x1 = self.x_range or _span([item[1] for item in self._items], whole=whole)
        y0, y1 = self.y_range or _span([v for item in self._items
                                        for v in (item[2], item[3]) if v is not None])
        plot_w, plot_h = self.width - left - right, self.height - top - bottom

        def sx(x):
            return left + (x - x0) / (x1 - x0) * plot_w

        def sy(y):
            return top + (1 - (np.clip(y, y0, y1) - y0) / (y1 - y0)) * plot_h

        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} '
                 f'{self.height}" role="img" aria-label="{html.escape(self.title)}">',
                 f'<text x="{left}" y="16" class="title">{html.escape(self.title)}</text>']
        for tick in _ticks(y0, y1):
            parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{sy(tick):.1f}" '
                         f'y2="{sy(tick):.1f}" class="grid"/><text x="{left - 6}" '
                         f'y="{sy(tick) + 4:.1f}" text-anchor="end">{_label(tick)}</text>')
        for tick in _ticks(x0, x1, whole=whole):
            text = self.x_tick_text(int(tick)) if whole else _label(tick)
            parts.append(f'<text x="{sx(tick):.1f}" y="{top + plot_h + 16}" '
                         f'text-anchor="middle">{html.escape(text)}</text>')
        parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" '
                     'class="frame"/>')
        for kind, x, y, y2, style in self._items:
            parts.extend(_draw(kind, x, y, y2, style, sx, sy))
        parts.append(f'<text x="{left + plot_w / 2}" y="{self.height - 6}" '
                     f'text-anchor="middle">{html.escape(self.x_label)}</text>')
        parts.append(f'<text transform="translate(14 {top + plot_h / 2}) rotate(-90)" '
                     f'text-anchor="middle">{html.escape(self.y_label)}</text>')
        parts.append(self._legend(left, 32))
        parts.append("</svg>")
        return "".join(parts)

    def _legend(self, x, y):
        out = []
        for kind, _, _, _, style in self._items:
            if not style.get("label"):
                continue
            color = PALETTE[style["color"]]
            swatch = (f'<rect x="{x}" y="{y - 8}" width="14" height="9" fill="{color}" '
                      f'opacity="0.5"/>' if kind in ("band", "bars") else
                      f'<line x1="{x}" x2="{x + 14}" y1="{y - 4}" y2="{y - 4}" '
                      f'stroke="{color}" stroke-width="2.5"/>')
            label = html.escape(style["label"])
            out.append(f'{swatch}<text x="{x + 18}" y="{y}">{label}</text>')
            x += 28 + 6.2 * len(style["label"])
        return "".join(out)


def _draw(kind, x, y, y2, style, sx, sy):
    color = PALETTE[style["color"]]
    if kind == "line":
        dash = f' stroke-dasharray="{style["dash"]}"' if style["dash"] else ""
        out = [f'<polyline fill="none" stroke="{color}" stroke-width="{style["width"]}"{dash} '
               f'points="{_points(x[run], y[run], sx, sy)}"/>' for run in _runs(x, y)]
        if style["markers"]:
            out += _circles(x, y, sx, sy, 2.2, color)
        return out
    if kind == "band":
        out = []
        for run in _runs(x, y, y2):
            edge = _points(x[run], y2[run], sx, sy) + " " + _points(
                x[run][::-1], y[run][::-1], sx, sy)
            out.append(f'<polygon fill="{color}" opacity="{style["opacity"]}" '
                       f'points="{edge}"/>')
        return out
    if kind == "bars":
        half = style["width"] / 2
        keep = np.isfinite(y) & np.isfinite(y2)
        tops, bottoms = sy(y2[keep]).tolist(), sy(y[keep]).tolist()
        return [f'<rect x="{a - half:.1f}" y="{top:.1f}" width="{style["width"]}" '
                f'height="{max(bottom - top, 1):.1f}" fill="{color}" opacity="0.3"/>'
                for a, top, bottom in zip(sx(x[keep]).tolist(), tops, bottoms)]
    return _circles(x, y, sx, sy, style["radius"], color)


def _circles(x, y, sx, sy, radius, color):
    keep = np.isfinite(x) & np.isfinite(y)
    return [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="{radius}" fill="{color}"/>'
            for a, b in zip(sx(x[keep]).tolist(), sy(y[keep]).tolist())]


def _runs(x, *ys):
    """Index arrays of the stretches where x and every y are finite."""
    finite = np.isfinite(x) & np.logical_and.reduce([np.isfinite(y) for y in ys])
    edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(int), [0]])))
    return [np.arange(a, b) for a, b in zip(edges[::2], edges[1::2])]


def _points(x, y, sx, sy):
    """``x,y x,y ...`` in the picture's coordinates (x and y finite arrays), by
    one formatting of all numbers (twice as fast as one per point)."""
    flat = np.empty(2 * x.shape[0])
    flat[0::2], flat[1::2] = sx(x), sy(y)
    return " ".join(["%.1f,%.1f"] * x.shape[0]) % tuple(flat.tolist())


def _span(arrays, *, whole=False):
    """The range of the finite values, padded by 5 % (half a unit at least for
    whole numbers: one chunk is not widened to thousands of them)."""
    values = np.concatenate([a[np.isfinite(a)] for a in arrays] or [np.zeros(0)])
    if values.size == 0:
        return 0.0, 1.0
    low, high = float(values.min()), float(values.max())
    if whole:
        pad = max((high - low) * 0.05, 0.5)
    else:
        pad = (high - low) * 0.05 or max(abs(high) * 0.05, 0.5)
    return low - pad, high + pad


def _ticks(low, high, count=5, *, whole=False):
    """At most about ``count`` round values in [low, high]; whole numbers only
    with ``whole``.

    >>> [int(t) for t in _ticks(83047.6, 83062.4, whole=True)]
    [83050, 83055, 83060]
    >>> [int(t) for t in _ticks(-0.1, 2.1, whole=True)]
    [0, 1, 2]
    """
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if whole:
        step = max(step, 1)
    return [t for t in np.arange(math.ceil(low / step) * step, high + step / 2, step)
            if low <= t <= high]


def _label(value):
    return f"{value:.4g}"
