"""Shared training helpers of the network figures (private; cached within a process).

``lipschitz_fits``, ``learned_activations`` and ``network_knots`` all look at the same trained
1-Lipschitz networks: :func:`lipschitz_network` trains each (target, activation, mode) once per
process (``functools.lru_cache``), so the runner never trains a network twice.

Everything goes through tvspline's public API: :class:`tvspline.nn.SplineNetwork` (spline
networks by :meth:`~tvspline.nn.SplineNetwork.fit`, the baselines by the Lipschitz paper's
mini-batch Adam, :meth:`~tvspline.nn.SplineNetwork.fit_adam`), :func:`tvspline.fit`,
:func:`tvspline.datasets.lipschitz_regression`.
"""

from __future__ import annotations

import functools
import time

import numpy as np

import tvspline
from tvspline.datasets import lipschitz_regression
from tvspline.nn import SplineNetwork

KINDS = ("f1", "f2", "f3")
BASELINES = ("relu", "absval", "groupsort")
GROUP_SIZE = 5  # GroupSort as in the Lipschitz paper
LAM = 1e-4


def settings(quick: bool) -> dict:
    """Sizes of the Lipschitz experiments (quick: seconds; full: a few minutes in all)."""
    if quick:
        return dict(n_train=200, n_test=2000, widths=(1, 10, 10, 1), spline_iter=2, epochs=20,
                    weight_steps=50, seed=0)
    return dict(n_train=1000, n_test=10_000, widths=(1, 10, 10, 10, 1), spline_iter=6, epochs=1000,
                weight_steps=100, seed=0)


@functools.lru_cache(maxsize=None)
def lipschitz_data(kind: str, quick: bool):
    s = settings(quick)
    return lipschitz_regression(kind, n_train=s["n_train"], n_test=s["n_test"], random_state=s["seed"])


@functools.lru_cache(maxsize=None)
def lipschitz_network(kind: str, activation: str, quick: bool) -> dict:
    """Train a 1-Lipschitz network (orthonormal weights, 1-Lipschitz activations) on target ``kind``.

    Returns a dict with ``net``, ``test_mse``, ``train_mse``, ``lipschitz``, ``time``,
    ``iterations``. Do not mutate the network (it is shared through the cache).
    """
    s = settings(quick)
    d = lipschitz_data(kind, quick)
    start = time.perf_counter()
    net = SplineNetwork(list(s["widths"]), tvspline.lipschitz(1), weights="orthonormal", activation=activation,
                        lam=LAM, group_size=GROUP_SIZE, random_state=s["seed"])
    if activation == "spline":
        # from the random start, as the papers train their networks (the default start of a scalar
        # network would carry the exact 1-D fit, already a curve of this figure)
        net.fit(d.x_train[:, None], d.y_train, start="current", max_iter=s["spline_iter"],
                weight_steps=s["weight_steps"], progress=False)
    else:
        net.fit_adam(d.x_train[:, None], d.y_train, epochs=s["epochs"], random_state=s["seed"])
    elapsed = time.perf_counter() - start
    pred = net.predict(d.x_test[:, None])
    return dict(net=net, test_mse=float(np.mean((pred - d.y_test) ** 2)),
                train_mse=float(np.mean((net.predict(d.x_train[:, None]) - d.y_train) ** 2)),
                lipschitz=float(net.lipschitz_bound()), time=elapsed,
                iterations=len(net.history["objective"]) - 1 if activation == "spline" else s["epochs"])


@functools.lru_cache(maxsize=None)
def exact_fit(kind: str, quick: bool) -> dict:
    """The single-activation optimum ``tvspline.fit(x, y, LAM, lipschitz(1))``."""
    d = lipschitz_data(kind, quick)
    start = time.perf_counter()
    res = tvspline.fit(d.x_train, d.y_train, LAM, tvspline.lipschitz(1))
    elapsed = time.perf_counter() - start
    pred = res.spline(d.x_test)
    return dict(result=res, test_mse=float(np.mean((pred - d.y_test) ** 2)),
                train_mse=float(np.mean((res.spline(d.x_train) - d.y_train) ** 2)), lipschitz=float(res.spline.lipschitz_constant()), time=elapsed, iterations=res.n_iter)


def preactivations(net, X):
    """Pre-activation values ``z_l = h_{l-1} W_l^T + b_l`` of every hidden layer on inputs ``X``.

    Computed from the public ``weights``, ``biases`` and ``activations`` of a spline network
    (the same arithmetic as the network's forward pass).
    """
    W, b, acts = net.weights, net.biases, net.activations
    h = np.asarray(X, dtype=np.float64)
    zs = []
    for l, layer in enumerate(acts):
        z = h @ W[l].T + b[l]
        zs.append(z)
        out = np.empty_like(z)
        for j, f in enumerate(layer):
            out[:, j] = f(z[:, j])
        h = out
    return zs


def nearest(sorted_values, points):
    """For each point, the nearest entry of ``sorted_values`` and its distance."""
    v = np.asarray(sorted_values)
    p = np.asarray(points)
    i = np.clip(np.searchsorted(v, p), 1, v.size - 1) if v.size > 1 else np.zeros(p.size, dtype=int)
    left, right = v[i - 1] if v.size > 1 else v[i], v[i]
    take_left = np.abs(p - left) <= np.abs(right - p)
    near = np.where(take_left, left, right)
    return near, np.abs(p - near)
