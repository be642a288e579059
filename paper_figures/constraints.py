"""Figure 2: one data set under each slope constraint, knots marked; knot counts against M - 2.

By the representer theorem (``docs/math.md``) each constrained problem has a minimiser that
is a linear spline with knots at interior data sites only, hence at most ``M - 2`` knots, with
every slope inside the bounds. :func:`tvspline.fit` returns such a minimiser with a certified gap;
the figure shows the five fits and checks the knot count and the slopes of each.
"""

from __future__ import annotations

import math

import numpy as np

import tvspline

from ._common import FigureOutput
from ._style import COLOR_BOUND, COLOR_DATA, COLOR_EXACT, PALETTE, apply_style, mark_knots
from .grid_convergence import dataset

NAME = "constraints"
TITLE = "One data set under each slope constraint: fits, knots and the M - 2 bound"

LAM = 0.02  # the λ of the fit panels
BAR_LAMS = (0.02, 1e-3, 1e-4)  # the knot-count panel: as λ -> 0 the count approaches M - 2
EPS = 0.5  # invertible(eps): slopes in [eps, 1/eps]
SLOPE_ATOL = 1e-12  # slopes within the bounds to rounding (relative to max(1, |bound|))


def constraint_cases():
    """(label, SlopeBounds) for each constraint of the figure."""
    return [
        ("none", tvspline.unbounded()),
        ("1-Lipschitz", tvspline.lipschitz(1.0)),
        ("monotone", tvspline.monotone()),
        ("firmly non-expansive", tvspline.firmly_nonexpansive()),
        (f"invertible(eps={EPS:g})", tvspline.invertible(EPS)),
    ]


def _within(value, bound, side):
    if math.isinf(bound):
        return True
    tol = SLOPE_ATOL * max(1.0, abs(bound))
    return value >= bound - tol if side == "lo" else value <= bound + tol


def make(quick: bool = False) -> FigureOutput:
    apply_style()
    import matplotlib.pyplot as plt

    x, y = dataset()
    m = x.size
    fits = []
    all_fits = []
    table = []
    lams = list(dict.fromkeys((LAM,) + tuple(BAR_LAMS)))
    for lam in lams:
        for label, b in constraint_cases():
            res = tvspline.fit(x, y, lam, bounds=b)
            smin, smax = res.spline.slope_range()
            if lam == LAM:
                fits.append((label, b, res))
            all_fits.append((label, b, res))
            table.append({
                "constraint": label,
                "lo": b.lo,
                "hi": b.hi,
                "lam": lam,
                "objective": res.objective,
                "data_fit": res.data_fit,
                "tv2": res.tv2,
                "gap": res.gap,
                "status": res.status.name,
                "n_knots": res.n_knots,
                "M": m,
                "min_slope": smin,
                "max_slope": smax,
                "knots": " ".join(f"{k:.6g}" for k in res.spline.active_knots),
            })

    knots_ok = all(r["n_knots"] <= m - 2 for r in table)
    slopes_ok = all(_within(r["min_slope"], r["lo"], "lo") and _within(r["max_slope"], r["hi"], "hi")
                    for r in table)
    optimal = all(r["status"] == "OPTIMAL" for r in table)
    knots_at_sites = all(np.isin(res.spline.active_knots, x).all() for _, _, res in all_fits)
    # more constraints never help: each constrained optimum >= the unconstrained one (to the gaps)
    ordered = True
    for lam in lams:
        group = [res for _, _, res in all_fits if res.lam == lam]
        base = group[0]
        ordered &= all(res.objective >= base.objective - base.gap - res.gap
                       - 1e-9 * max(1.0, base.objective) for res in group)
    checks = {
        "knot count <= M - 2 for every constraint": knots_ok,
        "every slope within its bounds to rounding": slopes_ok,
        "status OPTIMAL (certified gap) for every constraint": optimal,
        "every knot is a data site (representer theorem)": bool(knots_at_sites),
        "no constrained optimum below the unconstrained one": bool(ordered),
    }
    numbers = {
        "M": m,
        "lam": LAM,
        "bar_lams": ",".join(f"{v:g}" for v in lams),
        "max_knots": max(r["n_knots"] for r in table),
        "knot_bound": m - 2,
        "max_gap": max(r["gap"] for r in table),
    }

    # ------------------------------------------------------------------ figure
    fig, axes = plt.subplots(2, 3, figsize=(11.0, 7.0))
    t = np.linspace(x.min() - 0.4, x.max() + 0.4, 800)
    ylim = (y.min() - 0.6, y.max() + 0.6)
    for ax, (label, b, res), col in zip(axes.flat, fits, [COLOR_EXACT] + PALETTE[1:]):
        ax.plot(x, y, "o", color=COLOR_DATA, ms=3.5, label="data", zorder=3)
        ax.plot(t, res.spline(t), "-", color=col, lw=1.8, label="exact fit")
        mark_knots(ax, res.spline, label=f"knots ({res.n_knots})")
        smin, smax = res.spline.slope_range()
        bl = "-inf" if math.isinf(b.lo) else f"{b.lo:g}"
        bh = "inf" if math.isinf(b.hi) else f"{b.hi:g}"
        ax.set_title(f"{label}: slopes in [{bl}, {bh}]")
        ax.text(0.98, 0.03, f"f' in [{smin:.3g}, {smax:.3g}]\nobjective {res.objective:.4f}\n"
                f"gap {res.gap:.1e}", transform=ax.transAxes, ha="right", va="bottom", fontsize=7.5)
        ax.set_ylim(*ylim)
        ax.set_xlabel("x")
        ax.set_ylabel("f(x)")
        ax.legend(loc="upper left", fontsize=7)
    ax = axes.flat[5]
    labels = [label for label, _ in constraint_cases()]
    pos = np.arange(len(labels))
    width = 0.8 / len(lams)
    for j, (lam, col) in enumerate(zip(lams, PALETTE)):
        counts = [r["n_knots"] for r in table if r["lam"] == lam]
        xs = pos + (j - (len(lams) - 1) / 2) * width
        ax.bar(xs, counts, width=width, color=col, label=f"lambda = {lam:g}")
        for p_, c in zip(xs, counts):
            ax.text(p_, c + 0.3, str(c), ha="center", va="bottom", fontsize=6.5)
    ax.axhline(m - 2, color=COLOR_BOUND, ls="--", label=f"bound M - 2 = {m - 2}")
    ax.set_xticks(pos)
    ax.set_xticklabels(labels, rotation=25, ha="right", fontsize=7.5)
    ax.set_xlabel("slope constraint")
    ax.set_ylabel("number of knots")
    ax.set_ylim(0, m + 6)
    ax.set_title("knot counts against the representer bound")
    ax.legend(loc="upper right", fontsize=7, ncol=2)
    fig.suptitle(f"M = {m} samples, squared loss; fits at lambda = {LAM:g} (exact, certified)", fontsize=10)
    fig.tight_layout()

    caption = (
        f"The M = {m} samples of figure 1 (squared loss, lambda = {LAM}) fitted under each slope "
        "constraint: none, 1-Lipschitz [-1, 1], monotone [0, inf), firmly non-expansive [0, 1] "
        f"(a proximal operator) and invertible [{EPS:g}, {1 / EPS:g}]. Each fit is tvspline.fit's "
        "certified minimiser; open circles mark its knots, all at data sites, and the text gives the "
        "slope range of the fit (it touches the active bounds). The last panel compares the knot "
        f"counts at lambda = {', '.join(f'{v:g}' for v in lams)} with the representer theorem's bound "
        f"M - 2 = {m - 2}: as lambda decreases the unconstrained fit approaches interpolation and the "
        "bound, while the slope bounds keep the constrained fits sparse."
    )
    return FigureOutput(figure=fig, table=table, caption=caption, numbers=numbers, checks=checks)
