"""The Lipschitz paper's experiments in small: a 1-Lipschitz network fit and a Wasserstein critic.

1. Fits the 1-Lipschitz target f1 (slopes alternating +-1 at 9 random knots) from 1000 points
   with networks ``[1, 10, 10, 10, 1]`` with orthonormal weights: learned splines (exact
   activation steps) against GroupSort (group size 5) trained the Lipschitz paper's way
   (mini-batch Adam, 1000 epochs); prints test MSE, certified Lipschitz bounds and
   finite-difference checks, and plots the fits and the learned activations.
2. Estimates W1 between two 2-D sample sets with a spline critic and compares it with the exact
   empirical W1; plots the critic's level sets.

Usage::

    python demos/lipschitz_networks.py [FIGURE.png] [--seed N] [--iterations K]

Takes well under a minute on one core.
"""

from __future__ import annotations

import argparse

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import tvspline
from tvspline.datasets import lipschitz_regression
from tvspline.nn import SplineNetwork, empirical_w1, estimate_w1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("figure", nargs="?", default="demo_lipschitz.png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--iterations", type=int, default=6, help="outer iterations of the spline network")
    args = parser.parse_args(argv)

    data = lipschitz_regression("f1", n_train=1000, n_test=10000, random_state=args.seed)
    X, y = data.x_train[:, None], data.y_train
    nets = {}
    for act in ("spline", "groupsort"):
        net = SplineNetwork([1, 10, 10, 10, 1], tvspline.lipschitz(1), weights="orthonormal", activation=act,
                            lam=1e-4, group_size=5, random_state=args.seed)
        if act == "spline":
            net.fit(X, y, max_iter=args.iterations, weight_steps=100, progress=True)
        else:
            net.fit_adam(X, y, epochs=1000, batch_size=10, lr=2e-3, random_state=args.seed)
        pred = net.predict(data.x_test[:, None])
        fd = np.max(np.abs(np.diff(pred)) / np.diff(data.x_test))
        print(f"{act:10s} test MSE {np.mean((pred - data.y_test) ** 2):.3e}   Lipschitz bound "
              f"{net.lipschitz_bound():.12f}   largest finite-difference slope {fd:.12f}")
        nets[act] = (net, pred)

    rng = np.random.default_rng(args.seed)
    p = rng.normal(0, 1, (200, 2))
    q = rng.normal(0, 1, (200, 2)) * [2.0, 0.5] + [1.0, 0.0]
    exact = empirical_w1(p, q)
    est = estimate_w1(p, q, [2, 10, 10, 1], lam=1e-4, random_state=args.seed, max_iter=20)
    print(f"W1: exact {exact:.6f}, spline critic {est.estimate:.6f} (Lipschitz bound {est.lipschitz_bound:.12f})")

    fig = Figure(figsize=(13, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 3, 1)
    ax.plot(data.x_test, data.y_test, "k", lw=2, label="target f1")
    for act, (_, pred) in nets.items():
        ax.plot(data.x_test, pred, lw=1, label=f"{act} network")
    ax.set(xlabel="x", ylabel="f(x)", title="1-Lipschitz fits (test grid)")
    ax.legend(fontsize=8)
    ax = fig.add_subplot(1, 3, 2)
    net = nets["spline"][0]
    zmax = 0
    for f in net.activations[-1]:
        t = np.linspace(f.knots[0], f.knots[-1], 400)
        ax.plot(t, f(t), lw=1)
        zmax = max(zmax, np.max(np.abs(t)))
    ax.set(xlabel="pre-activation", ylabel="activation", title="learned activations, last hidden layer")
    ax = fig.add_subplot(1, 3, 3)
    g = np.linspace(-5, 6, 200)
    G1, G2 = np.meshgrid(g, np.linspace(-4, 4, 150))
    F = est.critic.predict(np.column_stack([G1.ravel(), G2.ravel()])).reshape(G1.shape)
    cs = ax.contourf(G1, G2, F, levels=20, cmap="coolwarm")
    fig.colorbar(cs, ax=ax, label="critic f")
    ax.scatter(p[:, 0], p[:, 1], s=4, c="k", label="P")
    ax.scatter(q[:, 0], q[:, 1], s=4, c="w", edgecolors="k", linewidths=0.3, label="Q")
    ax.set(xlabel="x1", ylabel="x2", title=f"W1 critic: {est.estimate:.3f} vs exact {exact:.3f}")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(args.figure, dpi=110)
    print(f"figure written to {args.figure}")


if __name__ == "__main__":
    main()
