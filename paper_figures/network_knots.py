"""Figure 5: in a trained layered network every activation's knots lie at pre-activation values.

The representer theorem puts the knots of an optimal activation at the data sites of its neuron.
:meth:`tvspline.nn.SplineNetwork.fit` ends every outer iteration by moving each activation onto the
interpolant at its neuron's current pre-activation values (and fits the last hidden layer exactly
with knots there). This figure trains a 1-Lipschitz spline network on the target ``f1`` (the same
network as ``lipschitz_fits``), recomputes the pre-activations of every hidden neuron on the
training data from the network's public weights, biases and activations, and measures the distance
of every knot to the nearest pre-activation value of its neuron.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import _networks
from ._common import FigureOutput
from ._style import COLOR_DATA, COLOR_EXACT, COLOR_KNOT, PALETTE, SIZE_WIDE, apply_style

NAME = "network_knots"
TITLE = "Knots of a trained network's activations sit at its pre-activation data values"

KIND = "f1"
REL_TOL = 1e-12


def knot_distances(net, X):
    """Rows (layer, neuron, knot, nearest_preactivation, distance) and the pre-activations."""
    zs = _networks.preactivations(net, X)
    rows = []
    for l, (z, layer) in enumerate(zip(zs, net.activations)):
        for j, f in enumerate(layer):
            zz = np.sort(z[:, j])
            near, dist = _networks.nearest(zz, f.knots)
            for k, n, d in zip(f.knots, near, dist):
                rows.append(dict(layer=l, neuron=j, knot=float(k), nearest_preactivation=float(n), distance=float(d)))
    return rows, zs


def make(quick: bool = False) -> FigureOutput:
    apply_style()
    d = _networks.lipschitz_data(KIND, quick)
    info = _networks.lipschitz_network(KIND, "spline", quick)
    net = info["net"]
    X = d.x_train[:, None]
    rows, zs = knot_distances(net, X)
    dist = np.array([r["distance"] for r in rows])
    scale = max(1.0, max(float(np.abs(z).max()) for z in zs))
    tol = REL_TOL * scale
    n_zero = int(np.count_nonzero(dist == 0.0))
    n_knots = dist.size
    max_d = float(dist.max())
    n_layers = len(zs)

    fig = plt.figure(figsize=(SIZE_WIDE[0], 4.6))
    gs = fig.add_gridspec(3, 2, width_ratios=[1, 1.2])
    ax_h = fig.add_subplot(gs[:, 0])
    # histogram: exact zeros as a separate bar on the left, non-zero distances on log bins
    pos = dist[dist > 0]
    edges = np.logspace(-18, 0, 19)
    counts, _ = np.histogram(np.clip(pos, edges[0], edges[-1]), bins=edges)
    centres = np.sqrt(edges[:-1] * edges[1:])
    ax_h.bar(np.arange(counts.size) + 1, counts, width=0.85, color=COLOR_EXACT, label="distance > 0 (log bins)")
    ax_h.bar([-1.5], [n_zero], width=1.6, color=COLOR_KNOT, label="distance exactly 0")
    ticks = [-1.5] + list(range(1, counts.size + 1, 3))
    ax_h.set_xticks(ticks)
    ax_h.set_xticklabels(["0"] + [f"1e{int(round(np.log10(c)))}" for c in centres[::3]], rotation=0)
    tol_pos = np.interp(np.log10(tol), np.log10(centres), np.arange(counts.size) + 1)
    ax_h.axvline(tol_pos, color="k", ls="--", lw=1, label=f"tolerance 1e-12 x scale = {tol:.1e}")
    ax_h.set_yscale("symlog", linthresh=1)
    ax_h.set_ylim(0, max(n_zero, counts.max(initial=0)) * 3 + 1)
    ax_h.set_xlabel("distance from knot to the nearest pre-activation value of its neuron")
    ax_h.set_ylabel("number of knots")
    ax_h.set_title(f"{n_knots} knots, {n_layers} hidden layers: {n_zero} at distance 0")
    ax_h.legend(loc="upper right")
    ax_h.annotate(f"{n_zero} / {n_knots}\nexactly 0", xy=(-1.5, n_zero), xytext=(8.5, n_zero * 0.03 + 1),
                  arrowprops=dict(arrowstyle="->"), fontsize=9)

    # a few activations with their knots and the pre-activation data as rug marks
    picks = []
    for l in range(n_layers):
        nk = [f.n_knots for f in net.activations[l]]
        order = np.argsort(nk)[::-1]
        picks.append((l, int(order[0])))
    if n_layers < 3:
        order = np.argsort([f.n_knots for f in net.activations[-1]])[::-1]
        picks.append((n_layers - 1, int(order[1])))
    for c, (l, j) in enumerate(picks[:3]):
        ax = fig.add_subplot(gs[c, 1])
        f = net.activations[l][j]
        z = zs[l][:, j]
        col = PALETTE[c % len(PALETTE)]
        pad = 0.05 * (z.max() - z.min())
        t = np.linspace(z.min() - pad, z.max() + pad, 400)
        ax.plot(t, f(t), color=col, label=f"layer {l + 1}, neuron {j + 1}")
        k = f.active_knots
        ax.plot(k, f(k), "o", mfc="none", mec=COLOR_KNOT, ms=5, label=f"{k.size} active knots")
        lo, hi = float(f(t).min()), float(f(t).max())
        span = max(hi - lo, 1e-3)
        ax.vlines(z, lo - 0.35 * span, lo - 0.15 * span, color=COLOR_DATA, lw=0.4, alpha=0.7,
                  label="pre-activations (rug)")
        ax.set_ylim(lo - 0.4 * span, hi + 0.35 * span)
        ax.set_ylabel(r"$\sigma(z)$")
        ax.legend(loc="upper left", ncol=3, fontsize=7)
        if c == 0:
            ax.set_title("Activations, active knots and the data they see")
        if c == min(len(picks), 3) - 1:
            ax.set_xlabel("pre-activation z")
    fig.suptitle(f"Trained 1-Lipschitz spline network {list(net.widths)} on target {KIND} "
                 f"({d.x_train.size} training points)", fontsize=10)
    fig.tight_layout()

    ok = max_d <= tol
    caption = (
        f"A spline network {list(net.widths)} trained by SplineNetwork.fit on the 1-Lipschitz target {KIND} "
        f"({d.x_train.size} points, lambda = {_networks.LAM:g}). For each of the {n_knots} knots of the "
        f"{sum(len(a) for a in net.activations)} activations, the distance to the nearest pre-activation value "
        f"of its neuron on the training data, recomputed from the public weights and biases. Left: histogram "
        f"(exact zeros as a separate bar: {n_zero} of {n_knots}); largest distance {max_d:.3g} against the "
        f"tolerance 1e-12 x {scale:.3g}. Right: a few activations with their active knots (circles) and the "
        f"pre-activation values as rug marks."
    )
    numbers = dict(max_distance=max_d, n_knots=n_knots, n_exact_zero=n_zero, scale=scale, tolerance=tol,
                   n_layers=n_layers)
    checks = {"every knot is a pre-activation value (max distance <= 1e-12 x scale)": bool(ok)}
    return FigureOutput(figure=fig, table=rows, caption=caption, numbers=numbers, checks=checks)
