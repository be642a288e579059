"""The learned activations of a trained 1-Lipschitz spline network (Ducotterd et al., JMLR 2024).

The spline network of ``lipschitz_fits`` on the target f3 = cos(7 pi x) / (7 pi) (cached: it is
trained once per process): every activation of every hidden layer, drawn over the range of its
neuron's pre-activation values on the training data, with its active knots; and every segment
slope, which the slope bounds ``lipschitz(1)`` keep in [-1, 1].
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import _networks
from ._common import FigureOutput
from ._style import COLOR_BOUND, PALETTE, apply_style

NAME = "learned_activations"
TITLE = "Learned activations of a 1-Lipschitz spline network (slopes in [-1, 1])"

KIND = "f3"


def make(quick: bool = False) -> FigureOutput:
    apply_style()
    d = _networks.lipschitz_data(KIND, quick)
    info = _networks.lipschitz_network(KIND, "spline", quick)
    net = info["net"]
    acts = net.activations
    zs = _networks.preactivations(net, d.x_train[:, None])
    n_layers = len(acts)
    fig, axes = plt.subplots(1, n_layers + 1, figsize=(3.3 * (n_layers + 1), 3.8),
                             gridspec_kw=dict(width_ratios=[1] * n_layers + [0.8]))
    rows = []
    for l, (ax, layer) in enumerate(zip(axes, acts)):
        for j, f in enumerate(layer):
            z = zs[l][:, j]
            pad = 0.05 * (z.max() - z.min())
            t = np.linspace(z.min() - pad, z.max() + pad, 300)
            col = plt.cm.tab10(j % 10)
            ax.plot(t, f(t), color=col, lw=1.1, label=f"neuron {j + 1}" if l == 0 else None)
            k = f.active_knots
            ax.plot(k, f(k), "o", mfc="none", mec=col, ms=3.5 if k.size < 100 else 2.0, mew=0.7)
            s = f.slopes
            rows.append(dict(layer=l + 1, neuron=j + 1, n_knots=int(f.knots.size), n_active_knots=int(k.size),
                             min_slope=float(s.min()), max_slope=float(s.max()), tv2=float(f.tv2()),
                             z_min=float(z.min()), z_max=float(z.max())))
        ax.set_xlabel(f"pre-activation z (layer {l + 1})")
        ax.set_ylabel(r"$\sigma_{%d,n}(z)$" % (l + 1))
        n_act = sum(r["n_active_knots"] for r in rows if r["layer"] == l + 1)
        ax.set_title(f"hidden layer {l + 1}: {len(layer)} activations, {n_act} active knots", fontsize=9)
    axes[0].plot([], [], "o", mfc="none", mec="0.3", ms=3.5, label="active knots")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=7)
    # every segment slope, per layer
    ax = axes[-1]
    rng = np.random.default_rng(0)
    for l, layer in enumerate(acts):
        s = np.concatenate([f.slopes for f in layer])
        ax.plot(l + 1 + 0.25 * rng.uniform(-1, 1, s.size), s, ".", ms=2.5, alpha=0.5, color=PALETTE[l])
    ax.axhline(1, color=COLOR_BOUND, ls="--", lw=1)
    ax.axhline(-1, color=COLOR_BOUND, ls="--", lw=1)
    ax.set_xticks(range(1, n_layers + 1))
    ax.set_xlabel("hidden layer")
    ax.set_ylabel("segment slope")
    ax.set_ylim(-1.25, 1.25)
    ax.set_title("all segment slopes (dashed: bounds -1, 1)", fontsize=9)
    fig.suptitle(f"Learned activations of the 1-Lipschitz spline network {list(net.widths)} trained on {KIND} "
                 f"(certified Lipschitz bound {net.lipschitz_bound():.6g})", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))

    smin = min(r["min_slope"] for r in rows)
    smax = max(r["max_slope"] for r in rows)
    caption = (
        f"Every activation of the spline network {list(net.widths)} of lipschitz_fits trained on {KIND} "
        f"({d.x_train.size} points, lambda = {_networks.LAM:g}), drawn over its neuron's pre-activation range on the "
        f"training data, with its active knots (circles); right: all segment slopes per layer. Slopes lie in "
        f"[{smin:.6g}, {smax:.6g}], within the bounds [-1, 1]; total active knots "
        f"{sum(r['n_active_knots'] for r in rows)}, total TV2 {sum(r['tv2'] for r in rows):.4g}. Only the last "
        "hidden layer is fitted exactly (sparse knots); the earlier layers take linearised steps on a 100-knot grid "
        "that are then interpolated at every training pre-activation, so they keep an active knot at almost every one."
    )
    numbers = dict(min_slope=smin, max_slope=smax, lipschitz_bound=float(net.lipschitz_bound()),
                   n_active_knots=int(sum(r["n_active_knots"] for r in rows)))
    checks = {"every activation slope within [-1, 1]": bool(smin >= -1.0 and smax <= 1.0),
              "certified Lipschitz bound <= 1 + 1e-9": bool(net.lipschitz_bound() <= 1 + 1e-9)}
    return FigureOutput(figure=fig, table=rows, caption=caption, numbers=numbers, checks=checks)
