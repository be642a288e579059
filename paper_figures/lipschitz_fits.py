"""1-Lipschitz fitting comparison of the Lipschitz paper (Ducotterd et al., JMLR 2024), 1-D.

On the targets f1 (slopes +-1), f2 (slopes in {-1, 0, 1}) and f3 (cos(7 pi x) / (7 pi)) of
:mod:`tvspline.datasets`, 1-Lipschitz networks (orthonormal weights) with learned spline
activations and with the baselines ReLU, AbsVal and GroupSort are trained by
:meth:`tvspline.nn.SplineNetwork.fit`; the exact single-activation optimum
``tvspline.fit(x, y, lam, lipschitz(1))`` is the best any 1-Lipschitz function can do on the
training objective. One seed (0) per target; the full run of ``benchmarks/lipschitz_nets.py`` has
10 seeds and larger budgets.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import _networks
from ._common import FigureOutput
from ._style import COLOR_DATA, PALETTE, SIZE_GRID, apply_style

NAME = "lipschitz_fits"
TITLE = "1-Lipschitz fits of f1, f2, f3: spline networks, baselines and the exact 1-D fit"

METHODS = ("exact 1-D fit", "spline") + _networks.BASELINES
COLORS = dict(zip(METHODS, ["#000000", PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3]]))
STYLES = {"exact 1-D fit": ":", "spline": "-", "relu": "--", "absval": "-.", "groupsort": (0, (5, 1, 1, 1))}
FD_GRID = np.linspace(-1.25, 1.25, 20_001)  # finite differences, a little beyond the data


def _predictor(kind, method, quick):
    if method == "exact 1-D fit":
        info = _networks.exact_fit(kind, quick)
        return info, info["result"].spline
    info = _networks.lipschitz_network(kind, method, quick)
    net = info["net"]
    return info, lambda x: net.predict(np.asarray(x)[:, None])


def results(quick: bool):
    """One row per (target, method): test MSE, bound, finite-difference slope, time."""
    rows, preds = [], {}
    for kind in _networks.KINDS:
        d = _networks.lipschitz_data(kind, quick)
        for method in METHODS:
            info, f = _predictor(kind, method, quick)
            v = f(FD_GRID)
            fd = float(np.max(np.abs(np.diff(v) / np.diff(FD_GRID))))
            preds[kind, method] = f(d.x_test)
            rows.append(dict(kind=kind, method=method, test_mse=info["test_mse"],
                             train_mse=info["train_mse"], lipschitz_bound=info["lipschitz"],
                             max_fd_slope=fd, time_s=info["time"], iterations=info["iterations"],
                             n_train=d.x_train.size, n_test=d.x_test.size))
    return rows, preds


def make(quick: bool = False) -> FigureOutput:
    apply_style()
    rows, preds = results(quick)
    s = _networks.settings(quick)
    fig, axes = plt.subplots(2, 2, figsize=SIZE_GRID)
    for ax, kind in zip(axes.flat, _networks.KINDS):
        d = _networks.lipschitz_data(kind, quick)
        ax.plot(d.x_train, d.y_train, ".", color=COLOR_DATA, ms=2, alpha=0.5, label="training data")
        ax.plot(d.x_test, d.y_test, color="0.75", lw=4, label="target")
        for method in METHODS:
            ax.plot(d.x_test, preds[kind, method], color=COLORS[method], ls=STYLES[method], lw=1.3,
                    label=method)
        ax.set_xlabel("x")
        ax.set_ylabel("f(x)")
        ax.set_title(f"target {kind}")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8)
    ax = axes.flat[3]
    width = 0.16
    xs = np.arange(len(_networks.KINDS))
    for i, method in enumerate(METHODS):
        vals = [next(r["test_mse"] for r in rows if r["kind"] == k and r["method"] == method) for k in _networks.KINDS]
        ax.bar(xs + (i - 2) * width, vals, width, color=COLORS[method], label=method)
    ax.set_yscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels(_networks.KINDS)
    ax.set_xlabel("target")
    ax.set_ylabel("test MSE (log scale)")
    ax.set_title("Test MSE per method (seed 0; lower is better)")
    fig.suptitle(f"1-Lipschitz regression: networks {list(s['widths'])}, {s['n_train']} training points, "
                 f"lambda = {_networks.LAM:g}", fontsize=10)
    fig.tight_layout(rect=(0, 0.04, 1, 1))

    max_bound = max(r["lipschitz_bound"] for r in rows)
    fd_ok = all(r["max_fd_slope"] <= r["lipschitz_bound"] + 1e-9 for r in rows)
    best_net = {k: min((r for r in rows if r["kind"] == k and r["method"] != "exact 1-D fit"),
                       key=lambda r: r["test_mse"])["method"] for k in _networks.KINDS}
    mse = {f"test_mse_{r['kind']}_{r['method'].replace(' ', '_')}": r["test_mse"] for r in rows}
    caption = (
        f"Fits of the 1-Lipschitz targets f1, f2, f3 (seed 0, {s['n_train']} noise-free training points, "
        f"test on {s['n_test']} grid points) by 1-Lipschitz networks {list(s['widths'])} with orthonormal weights and "
        f"learned spline activations ({s['spline_iter']} outer iterations of {s['weight_steps']} weight steps) or "
        f"ReLU / AbsVal / GroupSort (group size 5) trained as in the Lipschitz paper (mini-batch Adam, batch 10, "
        f"{s['epochs']} epochs, Björck weights), and by the exact single-activation fit "
        f"tvspline.fit(x, y, {_networks.LAM:g}, lipschitz(1)). Lowest test MSE among the networks: "
        + ", ".join(f"{k}: {m}" for k, m in best_net.items())
        + f". Largest certified Lipschitz bound {max_bound:.15g}; the finite-difference slopes on a 20 001-point "
        "grid never exceed each model's bound."
    )
    numbers = dict(max_lipschitz_bound=max_bound, **mse)
    checks = {
        "every model's certified Lipschitz bound <= 1 + 1e-9": bool(max_bound <= 1 + 1e-9),
        "finite-difference slopes on a fine grid <= the certified bound": bool(fd_ok),
    }
    return FigureOutput(figure=fig, table=rows, caption=caption, numbers=numbers, checks=checks)
