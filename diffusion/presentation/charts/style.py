"""One style for every chart: fonts, colours, line styles, axis formatters and the save function.

- Font: DejaVu Sans only (ships with matplotlib, has every Vietnamese glyph), so a chart renders the same
  on every machine and a missing glyph is a warning the tests turn into an error.
- Colours: the Okabe–Ito palette (safe for the common colour-vision deficiencies), always paired with a
  line style, a marker and a hatch, so that series stay distinguishable in black-and-white print.
- Axes: no top/right spines, a light horizontal grid only, units in every axis label.
- ``save(fig, path_stem)`` writes PNG, SVG and PDF with fixed metadata (no dates, fixed SVG hash salt),
  so rendering the same results twice gives byte-identical files. Writes are atomic
  (``foundation.files.atomic_write``).

Charts are built on ``matplotlib.figure.Figure`` directly (no pyplot, no global state; rendering uses
the Agg canvas), inside ``style_context()``. They are ``ChartFigure``s, which Jupyter shows inline as PNG
(``_repr_png_``): a chart function's result as the last line of a notebook cell displays the chart.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, Formatter, FuncFormatter, PercentFormatter

from diffusion.foundation.files import atomic_write
from diffusion.foundation.strings import fmt_number, tr

# fontTools (PDF font subsetting) logs every table it prunes at INFO; keep that out of our logs.
if logging.getLogger("fontTools").level == logging.NOTSET:
    logging.getLogger("fontTools").setLevel(logging.WARNING)

FONT = "DejaVu Sans"

#: Okabe & Ito (2008) colour-blind-safe palette; black first, yellow (weak on white) last.
PALETTE: tuple[str, ...] = (
    "#000000",  # black
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#E69F00",  # orange
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
)
LINESTYLES: tuple = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)), (0, (1, 1)), (0, (3, 1, 1, 1)))
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")
HATCHES: tuple[str, ...] = ("", "///", "...", "xx", "\\\\\\", "++", "oo", "--")
#: Sequential colour map whose lightness rises monotonically (reads in grey, colour-blind safe).
SEQUENTIAL_CMAP = "cividis"

#: Text width of an A4 report page (16 cm) in inches; heights are chosen per chart.
WIDTH = 6.3
PNG_DPI = 200
CREATOR = "diffusion"

RC: dict = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT],
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#333333",
    "axes.linewidth": 0.7,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "axes.axisbelow": True,
    "axes.prop_cycle": mpl.cycler(color=list(PALETTE)),
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "legend.fontsize": 8,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "lines.markersize": 4.5,
    "hatch.linewidth": 0.6,
    "figure.titlesize": 11,
    "figure.titleweight": "bold",
    "figure.dpi": 100,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "svg.hashsalt": "diffusion",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "date.converter": "auto",
    "axes.formatter.use_mathtext": False,
    "mathtext.default": "regular",
    "text.usetex": False,
}


@contextlib.contextmanager
def style_context() -> Iterator[None]:
    """Apply the house style (rcParams) for building and saving a chart."""
    with mpl.rc_context(RC):
        yield


#: Width at which a notebook shows a chart (pixels): the PNG is drawn at twice that, for sharp screens.
NOTEBOOK_DPI = 100


class ChartFigure(Figure):
    """A chart: a matplotlib ``Figure`` that Jupyter and IPython display inline (as PNG, in the house style).

    Figures made without pyplot are not known to pyplot, so ``plt.show()`` does not show them; this one shows
    itself when it is the value of a notebook cell (or passed to ``IPython.display.display``).
    """

    def _repr_png_(self) -> tuple[bytes, dict[str, int]]:
        width, height = self.get_size_inches()
        data = render_bytes(self, "png", dpi=2 * NOTEBOOK_DPI)
        return data, {"width": round(width * NOTEBOOK_DPI), "height": round(height * NOTEBOOK_DPI)}


def new_figure(nrows: int = 1, ncols: int = 1, *, height: float = 3.4, width: float = WIDTH,
               sharex: bool | str = False, sharey: bool | str = False) -> tuple[Figure, np.ndarray]:
    """A Figure with a grid of axes (always returned as a 2-D array) and constrained layout."""
    fig = ChartFigure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharex=sharex, sharey=sharey, squeeze=False)
    return fig, axes


def series_style(i: int) -> dict:
    """Colour, line style and marker of the i-th series (scenario, group or lever)."""
    return {
        "color": PALETTE[i % len(PALETTE)],
        "linestyle": LINESTYLES[i % len(LINESTYLES)],
        "marker": MARKERS[i % len(MARKERS)],
    }


def percent_axis(ax: Axes, axis: str = "y", lang: str = "en") -> None:
    """Show shares 0..1 as whole percentages on ``axis`` ("x" or "y")."""
    if lang == "vi":
        fmt = FuncFormatter(lambda v, _pos: fmt_number(100 * v, lang, 0) + "%")
    else:
        fmt = PercentFormatter(xmax=1.0, decimals=0)
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


class NumberFormatter(Formatter):
    """Tick labels with the language's separators and as many decimals as the ticks need (the same for
    every tick of the axis); values are divided by ``scale`` first."""

    def __init__(self, lang: str = "en", scale: float = 1.0, decimals: int | None = None):
        self.lang, self.scale, self.decimals = lang, scale, decimals
        self._ticks: list[float] = []

    def set_locs(self, locs) -> None:
        self._ticks = list(locs)

    def _needed(self) -> int:
        if self.decimals is not None:
            return self.decimals
        locs = [v / self.scale for v in self._ticks if np.isfinite(v)]
        for d in range(4):
            if all(abs(round(v, d) - v) <= 1e-9 * max(1.0, abs(v)) for v in locs):
                return d
        return 3

    def __call__(self, x, pos=None) -> str:
        return fmt_number(x / self.scale, self.lang, self._needed())


def number_axis(ax: Axes, axis: str = "y", lang: str = "en", scale: float = 1.0) -> None:
    """Plain numbers with the language's separators (values divided by ``scale``) on ``axis``."""
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(NumberFormatter(lang, scale))


def date_axis(ax: Axes, first: np.datetime64, last: np.datetime64, lang: str = "en") -> None:
    """Dated x axis from ``first`` to ``last`` with its label: year ticks (quarters as minor ticks) for runs
    of 18 months or more, month/year ticks otherwise."""
    m0, m1 = first.astype("datetime64[M]"), last.astype("datetime64[M]")
    months = np.arange(m0, m1 + 2)  # month starts covering the range (fixed ticks: no rrule, fast)
    quarters = months[(months.astype(int) % 3) == 0]
    if (m1 - m0).astype(int) >= 18:
        step = 12 if (m1 - m0).astype(int) <= 96 else 24
        major = months[(months.astype(int) % step) == 0]
        minor, fmt, key = quarters, "%Y", "axis.year"
    else:
        major, minor, fmt, key = quarters, months, "%m/%Y", "axis.month"
    ax.xaxis.set_major_locator(FixedLocator(mdates.date2num(major.astype("datetime64[D]"))))
    ax.xaxis.set_minor_locator(FixedLocator(mdates.date2num(minor.astype("datetime64[D]"))))
    ax.xaxis.set_major_formatter(mdates.DateFormatter(fmt))
    ax.set_xlabel(tr(key, lang))
    pad = np.timedelta64(15, "D")
    ax.set_xlim(first - pad, last + pad)


def bottom_xlabels_only(axes: list[Axes]) -> None:
    """Keep x labels only on panels with no panel below them (shared x axes in a grid)."""
    spans = [(ax, ax.get_subplotspec()) for ax in axes]
    for ax, sp in spans:
        below = any(o is not ax and osp.colspan.start == sp.colspan.start and osp.rowspan.start > sp.rowspan.start
                    for o, osp in spans)
        if below:
            ax.set_xlabel("")


#: Metadata written into every file: no dates and no version strings, so reruns are byte-identical.
METADATA: dict[str, dict] = {
    "png": {"Software": CREATOR},
    "svg": {"Date": None, "Creator": CREATOR},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": CREATOR, "Producer": CREATOR},
}


def render_bytes(fig: Figure, fmt: str, dpi: int = PNG_DPI) -> bytes:
    """The figure rendered as ``fmt`` ("png", "svg" or "pdf") with the fixed metadata (PNG at ``dpi``)."""
    buf = io.BytesIO()
    kw = {"dpi": dpi} if fmt == "png" else {}
    with style_context():
        fig.savefig(buf, format=fmt, metadata=METADATA[fmt], **kw)
    return buf.getvalue()


def save(fig: Figure, path_stem: str | os.PathLike, formats: tuple[str, ...] = ("png", "svg", "pdf")) -> list[Path]:
    """Write ``fig`` as ``<path_stem>.png``, ``.svg`` and ``.pdf`` (atomically) and return the paths.

    Args:
        fig: the chart.
        path_stem: target path without suffix, e.g. ``results/x/charts/adoption_internet``.
        formats: which of png, svg, pdf to write.

    Returns:
        The paths written, in the order of ``formats``.
    """
    stem = Path(path_stem)
    out = []
    engine = fig.get_layout_engine()
    try:
        for i, fmt in enumerate(formats):
            path = stem.with_name(stem.name + "." + fmt)
            atomic_write(path, render_bytes(fig, fmt))
            out.append(path)
            if i == 0 and engine is not None:
                # the layout is computed once, by the first format; the others reuse it (a third faster,
                # and the three files show exactly the same arrangement)
                fig.set_layout_engine("none")
    finally:
        if engine is not None:
            fig.set_layout_engine(engine)
    return out
