r"""Dual certificates: a certified lower bound on the optimal objective.

With :math:`D` the slope operator (:math:`(Dc)_k = (c_{k+1}-c_k)/h_k`), :math:`\Delta` first
differences of slopes and :math:`L_k` the total loss at site :math:`k`, the problem

.. math:: \min_c \sum_k L_k(c_k) + \lambda \|\Delta D c\|_1
          \quad\text{s.t.}\quad s_{\min} \le Dc \le s_{\max}

has, for every :math:`v \in \mathbb{R}^{K-1}` split as :math:`v = \Delta^T z + \nu` with
:math:`|z| \le \lambda`, the weak-duality bound (Fenchel; ``MATH.md`` section 5)

.. math:: \mathrm{OPT} \ \ge\ -\sum_k L_k^*(Q_k) - \sum_k \sigma(\nu_k), \qquad
          Q = -D^T v, \quad \sigma(\nu) = \max(s_{\min}\nu,\ s_{\max}\nu),

where :math:`\sigma(\nu) = +\infty` when the needed bound is infinite. In coordinates,
:math:`z_k = z_{k-1} - v_k + \nu_k` with :math:`z_0 = z_{K-1} = 0`, and :math:`Q_1 = v_1/h_1`,
:math:`Q_k = v_k/h_k - v_{k-1}/h_{k-1}`, :math:`Q_K = -v_{K-1}/h_{K-1}`.

:func:`dual_bound` builds such a point from a primal estimate: :math:`v_k = h_k \sum_{j\le k}Q_j`
with :math:`Q` the loss gradient (or a solver's multipliers), then a path :math:`z` that keeps
:math:`\nu = 0` on free slopes and the right sign on slopes at a bound, steered by backward
reachable intervals so that it ends at 0 inside :math:`[-\lambda, \lambda]`. Where that is not
possible (an inexact primal) it deviates at a price that lowers the bound but never invalidates
it; where a deviation would need a forbidden sign (infinite bound) it changes :math:`v` instead,
which stays feasible. At an exact solution the bound equals the optimum to rounding.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .losses import site_conjugate

__all__ = ["dual_bound", "slope_states", "FREE", "AT_LO", "AT_HI", "PINNED"]

FREE, AT_LO, AT_HI, PINNED = 0, -1, 1, 2


def slope_states(slopes: np.ndarray, lo: float, hi: float, atol: float) -> np.ndarray:
    """Classify slopes as free, at the lower bound, at the upper bound, or pinned (lo == hi)."""
    st = np.zeros(slopes.size, dtype=np.int64)
    if lo == hi:
        st[:] = PINNED
        return st
    if math.isfinite(hi):
        st[slopes >= hi - atol] = AT_HI
    if math.isfinite(lo):
        st[slopes <= lo + atol] = AT_LO
    return st


@numba.njit(cache=True)
def _z_path(v, states, lam, lo_finite, hi_finite):
    """Build (z, nu, v_out) with z_k = z_{k-1} - v_k + nu_k, |z| <= lam, z_0 = z_{n} = 0."""
    n = v.size  # K - 1 slopes; z has indices 0..n with z_0 = z_n = 0
    inf = np.inf
    jlo = np.empty(n + 1)
    jhi = np.empty(n + 1)
    jlo[n] = 0.0
    jhi[n] = 0.0
    for k in range(n, 0, -1):
        a = jlo[k] + v[k - 1]
        b = jhi[k] + v[k - 1]
        st = states[k - 1]
        if st == 1:  # at upper bound: nu >= 0, z_{k-1} = z_k + v_k - nu
            a = -inf
        elif st == -1:
            b = inf
        elif st == 2:
            a = -inf
            b = inf
        if k - 1 >= 1:
            if a < -lam:
                a = -lam
            if b > lam:
                b = lam
            if a > b:  # unreachable: collapse to the nearest admissible point
                p = a if a <= lam else lam
                if b < -lam:
                    p = -lam
                a = p
                b = p
        jlo[k - 1] = a
        jhi[k - 1] = b
    z = np.zeros(n + 1)
    nu = np.zeros(n)
    vout = v.copy()
    for k in range(1, n + 1):
        target = z[k - 1] - v[k - 1]
        st = states[k - 1]
        lo_a, hi_a = target, target
        if st == 1:
            hi_a = inf
        elif st == -1:
            lo_a = -inf
        elif st == 2:
            lo_a = -inf
            hi_a = inf
        a = max(lo_a, jlo[k])
        b = min(hi_a, jhi[k])
        if a <= b:
            zk = min(max(target, a), b)
        else:
            zk = min(max(target, jlo[k]), jhi[k])
        if k == n:
            zk = 0.0
        d = zk - target
        if (d > 0 and not hi_finite) or (d < 0 and not lo_finite):
            d = 0.0
            vout[k - 1] = z[k - 1] - zk  # keep nu admissible by moving v instead
        z[k] = zk
        nu[k - 1] = d
    return z, nu, vout


def dual_bound(problem, v, states):
    """Certified lower bound from a dual estimate ``v`` (shape ``(K-1,)``) and slope states.

    Returns
    -------
    bound : float
        A valid lower bound on the optimal objective (``-inf`` if none could be built).
    z : ndarray
        The dual certificate on the interior sites, ``|z| <= lam``.
    """
    lo, hi = problem.bounds.lo, problem.bounds.hi
    h = problem.h
    lam = problem.lam
    z, nu, vout = _z_path(
        np.ascontiguousarray(v, dtype=np.float64),
        np.ascontiguousarray(states, dtype=np.int64),
        float(lam),
        math.isfinite(lo),
        math.isfinite(hi),
    )
    vh = vout / h
    Q = np.empty(problem.K)
    Q[0] = vh[0]
    Q[1:-1] = vh[1:] - vh[:-1]
    Q[-1] = -vh[-1]
    # sigma(nu) = s_max nu for nu > 0, s_min nu for nu < 0 (the path never uses an infinite side)
    sig = np.zeros_like(nu)
    sig[nu > 0] = hi * nu[nu > 0]
    sig[nu < 0] = lo * nu[nu < 0]
    alpha = 1.0
    if problem.loss in ("absolute", "huber"):
        cap = problem.site_w * (problem.delta if problem.loss == "huber" else 1.0)
        # per-site domain |Q_k| <= cap (ties: the total weight of the site)
        ratio = np.max(np.abs(Q) / cap)
        if ratio > 1.0:
            alpha = 1.0 / ratio
            alpha = alpha * (1.0 - 4 * np.finfo(float).eps)
    conj = site_conjugate(alpha * Q, problem.site_y, problem.site_w, problem.ties, problem.loss, problem.delta)
    value = -float(np.sum(conj)) - alpha * float(np.sum(sig))
    if problem.loss == "squared":
        value += problem.const
    if not math.isfinite(value):
        return -math.inf, alpha * z[1:-1]
    return value, alpha * z[1:-1]


def gradient_dual_estimate(problem, site_values):
    """``v_k = h_k sum_{j<=k} Q_j`` with ``Q`` the loss gradient at the fitted site values."""
    from .losses import loss_gradient

    r = site_values[problem.site_of] - problem.y
    q = loss_gradient(r, problem.w, problem.loss, problem.delta)
    Q = np.bincount(problem.site_of, weights=q, minlength=problem.K)
    S = np.cumsum(Q)[:-1]
    return problem.h * S
