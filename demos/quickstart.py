"""Quick start: fit 1-Lipschitz TV2-regularised linear splines to noisy data.

Generates noisy samples of a piecewise-linear function, fits

    min_f  1/2 sum_m (f(x_m) - y_m)^2 + lam * TV2(f)   subject to  -1 <= f' <= 1

exactly for a few values of lam with :func:`tvspline.fit`, prints each result's summary (objective,
certified gap, knots, time) and saves a figure with the data, the fits and their knots.

Usage::

    python demos/quickstart.py [FIGURE.png] [--seed N]

The figure goes to ``demo_fit.png`` in the current directory unless a path is given.
"""

from __future__ import annotations

import argparse

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import tvspline

LAMS = (0.02, 0.3)


def truth(x):
    """A 1-Lipschitz piecewise-linear target with three kinks (slopes -0.5, -1, 1, 0.2)."""
    return np.abs(x) - 0.8 * np.maximum(x - 1.0, 0.0) - 0.5 * np.maximum(-1.5 - x, 0.0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("figure", nargs="?", default="demo_fit.png",
                        help="where to save the figure (default: demo_fit.png)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the data (default: 0)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    x = np.sort(rng.uniform(-3.0, 3.0, 120))
    y = truth(x) + 0.2 * rng.standard_normal(x.size)
    bounds = tvspline.lipschitz(1)

    results = []
    for lam in LAMS:
        res = tvspline.fit(x, y, lam, bounds)
        sparse = res.sparsest()
        print(f"--- lam = {lam:g}, bounds = [{bounds.lo:g}, {bounds.hi:g}]")
        print(res.summary())
        print(f"sparsest   : {sparse.n_knots} knots (same objective {sparse.objective:.12g})\n")
        results.append((lam, sparse))

    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.scatter(x, y, s=10, color="0.55", alpha=0.7, label="noisy data")
    grid = np.linspace(-3.3, 3.3, 661)
    ax.plot(grid, truth(grid), color="k", lw=1, ls="--", label="ground truth")
    for i, (lam, res) in enumerate(results):
        color = f"C{i}"
        ax.plot(grid, res.spline(grid), color=color, lw=2, label=f"λ = {lam:g} ({res.n_knots} knots)")
        knots = res.spline.active_knots
        ax.plot(knots, res.spline(knots), "o", ms=6, mfc="white", mec=color, mew=1.5, ls="none")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("1-Lipschitz TV2-regularised linear splines (knots marked)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.savefig(args.figure, dpi=120)
    print(f"saved {args.figure}")


if __name__ == "__main__":
    main()
