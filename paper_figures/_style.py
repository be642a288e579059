"""Shared plotting style for the paper figures: one look for every module.

Call :func:`apply_style` before drawing (it only touches matplotlib's rcParams). Use the colour
constants for recurring roles so that, e.g., data points and exact fits look the same everywhere.
"""

from __future__ import annotations

import matplotlib as mpl

# Figure sizes in inches (width, height), chosen for readable PNGs at dpi ~110.
SIZE_SINGLE = (5.5, 4.0)
SIZE_WIDE = (10.0, 4.0)
SIZE_GRID = (10.0, 7.0)

# Colours for recurring roles.
COLOR_DATA = "0.35"  # data points (grey)
COLOR_EXACT = "#1f4e9c"  # the exact / certified solution (dark blue)
COLOR_ALT = "#d1495b"  # an alternative solution / comparison (red)
COLOR_KNOT = "#e09f3e"  # knot markers (orange)
COLOR_BOUND = "0.55"  # reference lines, bounds (mid grey)
COLOR_SHADE = "#9ecae1"  # shaded sets / bands (light blue)

# A qualitative cycle (colour-blind friendly, Okabe-Ito) for several curves on one axis.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]


def apply_style() -> None:
    """Set the rcParams shared by all paper figures (fonts, grid, colour cycle, saving)."""
    mpl.rcParams.update(
        {
            "figure.figsize": SIZE_SINGLE,
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "savefig.bbox": "tight",
            "font.size": 9,
            "axes.titlesize": 10,
            "axes.labelsize": 9,
            "legend.fontsize": 8,
            "xtick.labelsize": 8,
            "ytick.labelsize": 8,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "grid.linewidth": 0.6,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": mpl.cycler(color=PALETTE),
            "lines.linewidth": 1.6,
            "lines.markersize": 4,
            "legend.frameon": False,
            "pdf.fonttype": 42,
        }
    )


def mark_knots(ax, spline, *, color: str = COLOR_KNOT, label: str | None = "knots", **kwargs):
    """Mark the active knots (nonzero slope change) of a :class:`tvspline.LinearSpline` on ``ax``."""
    k = spline.active_knots
    v = spline(k)
    opts = dict(marker="o", s=28, facecolors="none", edgecolors=color, linewidths=1.3, zorder=5)
    opts.update(kwargs)
    return ax.scatter(k, v, label=label, **opts)
