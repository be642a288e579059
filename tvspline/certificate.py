r"""Dual certificates: a certified lower bound on the optimal objective.

With :math:`D` the slope operator (:math:`(Dc)_k = (c_{k+1}-c_k)/h_k`), :math:`\Delta` first
differences of slopes and :math:`L_k` the total loss at site :math:`k`, the problem

.. math:: \min_c \sum_k L_k(c_k) + \lambda \|\Delta D c\|_1
          \quad\text{s.t.}\quad s_{\min} \le Dc \le s_{\max}

has, for every :math:`v \in \mathbb{R}^{K-1}` split as :math:`v = \Delta^T z + \nu` with
:math:`|z| \le \lambda`, the weak-duality bound (Fenchel; ``docs/math.md#the-dual-certificate``)

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
from dataclasses import replace

import numba
import numpy as np

from ._sorted_eval import values_at_sorted
from .bounds import SlopeBounds
from .losses import site_conjugate

__all__ = ["certify", "dual_bound", "slope_states", "z_path", "FREE", "AT_LO", "AT_HI", "PINNED"]

FREE, AT_LO, AT_HI, PINNED = 0, -1, 1, 2


def slope_states(slopes: np.ndarray, lo: float, hi: float, atol: float) -> np.ndarray:
    """Classify slopes as free, at the lower bound, at the upper bound, or pinned (at both: lo == hi
    or bounds closer than ``2 atol``). ``atol`` may be an array (one tolerance per slope)."""
    st = np.zeros(slopes.size, dtype=np.int64)
    if lo == hi:
        st[:] = PINNED
        return st
    if math.isfinite(hi):
        st[slopes >= hi - atol] = AT_HI
    if math.isfinite(lo):
        st[slopes <= lo + atol] = AT_LO
    if math.isfinite(lo) and math.isfinite(hi):
        # within atol of both bounds (hi - lo <= 2 atol): either sign of the multiplier may be needed
        st[(slopes >= hi - atol) & (slopes <= lo + atol)] = PINNED
    return st


@numba.njit(cache=True)
def _z_path(v, states, lam, lo_finite, hi_finite, z_start, z_end):
    """Build (z, nu, v_out) with z_k = z_{k-1} - v_k + nu_k, |z| <= lam, z_0 = z_start, z_n = z_end.

    Backward pass: reachable intervals J_k of z_k from which z_end can be reached with nu = 0 on
    free slopes and nu of the bound's sign on slopes at a bound. Forward pass: follow the
    zero-cost step when it stays in J_k, else the nearest point of J_k (paying sigma(nu), or
    moving v where nu would need a sign whose bound is infinite).
    """
    n = v.size
    inf = np.inf
    jlo = np.empty(n + 1)
    jhi = np.empty(n + 1)
    jlo[n] = z_end
    jhi[n] = z_end
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
    z[0] = z_start
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
            zk = z_end
        d = zk - target
        if (d > 0 and not hi_finite) or (d < 0 and not lo_finite):
            d = 0.0
            vout[k - 1] = z[k - 1] - zk  # keep nu admissible by moving v instead
        z[k] = zk
        nu[k - 1] = d
    return z, nu, vout


#: The dual path of :func:`_z_path` under its public name (used by the layer fits).
z_path = _z_path


@numba.njit(cache=True)
def _tent_correct(vr, hr, za, lam, max_rounds=8):
    """Pull a free run's zero-cost path back into [-lam, lam] without touching its ends.

    Where the path ``za - cumsum(vr)`` leaves the box at step ``k`` by ``e``, add ``e`` spread in
    proportion to ``h`` over the steps up to ``k`` and subtract it likewise over the rest: the
    path is corrected by a tent that vanishes at both ends, and ``Q`` changes only at the run's
    ends and at ``k``, by ``e`` over a length. Clipping the single step would instead change
    ``Q`` by ``e / h_k``, ruinous for nearly tied sites.
    """
    m = vr.size
    for _ in range(max_rounds):
        z = za
        worst = 0.0
        kw = -1
        for k in range(m - 1):
            z -= vr[k]
            e = abs(z) - lam
            if e > worst:
                worst = e
                kw = k
        if kw < 0:
            return
        z = za
        for k in range(kw + 1):
            z -= vr[k]
        e = z - lam if z > 0 else z + lam  # signed excess
        left = 0.0
        for k in range(kw + 1):
            left += hr[k]
        right = 0.0
        for k in range(kw + 1, m):
            right += hr[k]
        if left <= 0.0 or right <= 0.0:
            return
        for k in range(kw + 1):
            vr[k] += e * hr[k] / left
        for k in range(kw + 1, m):
            vr[k] -= e * hr[k] / right


@numba.njit(cache=True)
def _z_path_anchored(v, h, states, anchor_sign, lam, lo_finite, hi_finite):
    """As :func:`_z_path`, with z pinned to ``lam * sign`` at the knots of a primal solution.

    Between consecutive anchors the mismatch of v (what the path lacks to reach the next anchor
    with zero-cost steps) is spread over the run in proportion to h, which changes Q only at the
    run's ends and by mismatch / run length: far cheaper than correcting a single step when some
    h are tiny.
    """
    n = v.size
    z = np.zeros(n + 1)
    nu = np.zeros(n)
    vout = v.copy()
    a = 0
    while a < n:
        b = a + 1
        while b < n and anchor_sign[b] == 0:
            b += 1
        za = 0.0 if a == 0 else lam * anchor_sign[a]
        zb = 0.0 if b == n else lam * anchor_sign[b]
        L = 0.0
        sv = 0.0
        n_free = 0
        n_hi = 0
        n_lo = 0
        for k in range(a, b):
            L += h[k]
            sv += v[k]
            if states[k] == 0:
                n_free += 1
            elif states[k] == 1:
                n_hi += 1
            elif states[k] == -1:
                n_lo += 1
        T = zb - za + sv  # total nu the run needs
        spread = True
        if n_free == 0:
            if n_hi == b - a and hi_finite and T >= 0:
                spread = False
            elif n_lo == b - a and lo_finite and T <= 0:
                spread = False
            elif n_hi == 0 and n_lo == 0:
                spread = False  # pinned slopes: any nu
        vr = vout[a:b].copy()
        if spread:
            for k in range(a, b):
                vr[k - a] -= T * h[k] / L
        if b - a > 1 and n_free == b - a:
            _tent_correct(vr, h[a:b], za, lam)
        zr, nur, vor = _z_path(vr, states[a:b], lam, lo_finite, hi_finite, za, zb)
        for k in range(a, b):
            z[k + 1] = zr[k - a + 1]
            nu[k] = nur[k - a]
            vout[k] = vor[k - a]
        a = b
    return z, nu, vout


def dual_bound(problem, v, states, anchor_sign=None):
    """Certified lower bound from a dual estimate ``v`` (shape ``(K-1,)``) and slope states.

    ``anchor_sign`` (shape ``(K,)``, optional) gives the sign of the slope change of the primal
    solution at each site (0 where none): the path is then pinned to ``lam * sign`` there.

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
    v = np.ascontiguousarray(v, dtype=np.float64)
    states = np.ascontiguousarray(states, dtype=np.int64)
    if anchor_sign is None:
        z, nu, vout = _z_path(v, states, float(lam), math.isfinite(lo), math.isfinite(hi), 0.0, 0.0)
    else:
        anchors = np.ascontiguousarray(anchor_sign, dtype=np.float64)
        z, nu, vout = _z_path_anchored(v, h, states, anchors, float(lam), math.isfinite(lo), math.isfinite(hi))
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
    """``v_k = h_k sum_{j<=k} Q_j`` with ``Q`` the loss gradient at the fitted site values.

    A dual point needs ``sum_k Q_k = 0``, which the gradient meets only when the fitted offset is
    exact. The imbalance is removed as the gradient of the best offset would remove it: in
    proportion to the curvature of the loss at each site (its weight in the quadratic zone).
    Left at the last site instead, it would cost about ``imbalance * f(t_K)`` in the bound, ruinous
    when the values are far from 0 (``y ~ 1e6``).
    """
    from .losses import loss_gradient

    if problem.loss == "squared":  # sum over a site's points of w (f - y) = W_k (f_k - ybar_k)
        Q = problem.site_w * (site_values - problem.site_y)
        curvature = problem.site_w
    else:
        r = site_values[problem.site_of] - problem.y
        q = loss_gradient(r, problem.w, problem.loss, problem.delta)
        Q = np.bincount(problem.site_of, weights=q, minlength=problem.K)
        curvature = None
        if problem.loss == "huber":
            inside = problem.w * (np.abs(r) < problem.delta)
            curvature = np.bincount(problem.site_of, weights=inside, minlength=problem.K)
    if curvature is not None:
        total = float(curvature.sum())
        if total > 0:
            Q = Q - float(Q.sum()) * (curvature / total)
    S = np.cumsum(Q)[:-1]
    return problem.h * S


def absolute_dual_estimate(problem, spline, anchor_sign, states, rtol, residual_scale=False):
    """Dual estimate for the absolute loss read off the primal structure.

    Complementary slackness fixes ``q_m = w_m sign(r_m)`` wherever the spline misses the point
    (``|r_m| > rtol * scale``). The multipliers of the interpolated points are unknown in
    ``[-w_m, w_m]``; they must make the dual path reach each knot's ``lam * sign`` along every free
    run with zero-cost steps, and sum to zero with the others. Those linear conditions are solved
    in the least-squares sense and the result clipped into the box; :func:`dual_bound` then
    repairs what is left. Solver multipliers are not needed, which matters when nearly tied
    sites make them unreliable.

    A point counts as interpolated when ``|r_m| <= rtol * max(1, max|y|)``, or with
    ``residual_scale`` when ``|r_m| <= rtol * max|r| + 8 ulp(max|y|)``: the rounding of the data,
    not their size, for targets far from 0 (``y ~ 1e9`` with residuals ~1).
    """
    t, K, lam = problem.t, problem.K, problem.lam
    r = spline(problem.x) - problem.y
    ymax = float(np.max(np.abs(problem.y)))
    if residual_scale:
        threshold = rtol * float(np.max(np.abs(r))) + 8 * float(np.spacing(ymax))
    else:
        threshold = rtol * max(1.0, ymax)
    interp = np.abs(r) <= threshold
    q = problem.w * np.sign(r)
    q[interp] = 0.0
    unknown = np.flatnonzero(interp)
    if unknown.size:
        anchors = np.zeros(K) if anchor_sign is None else np.asarray(anchor_sign, dtype=np.float64)
        bnd = np.concatenate([[0], np.flatnonzero(anchors[1:-1]) + 1, [K - 1]])
        rows, rhs = [], []
        Qk = np.bincount(problem.site_of, weights=q, minlength=K)
        S = np.cumsum(Qk)
        h = problem.h
        site_u = problem.site_of[unknown]
        for a, b in zip(bnd[:-1], bnd[1:]):
            if not np.all(states[a:b] == FREE):
                continue
            za = 0.0 if a == 0 else lam * anchors[a]
            zb = 0.0 if b == K - 1 else lam * anchors[b]
            # sum_{k=a}^{b-1} h_k S_k = za - zb; S_k depends on q_j for sites j <= k
            coef = np.where(site_u < b, t[b] - np.maximum(t[a], t[site_u]), 0.0)
            known = float(np.dot(h[a:b], S[a:b]))
            rows.append(coef)
            rhs.append(za - zb - known)
        rows.append(np.ones(unknown.size))
        rhs.append(-float(S[-1]))
        A = np.array(rows)
        sol, *_ = np.linalg.lstsq(A, np.array(rhs), rcond=None)
        q[unknown] = np.clip(sol, -problem.w[unknown], problem.w[unknown])
    Q = np.bincount(problem.site_of, weights=q, minlength=K)
    return problem.h * np.cumsum(Q)[:-1]


def certify(problem, spline, extra_duals=(), target=math.inf):
    """Best lower bound over the dual estimates tried for a feasible ``spline``; returns (bound, z).

    The estimates are tried from the most to the least promising; the search stops as soon as a
    bound reaches ``target`` (the objective minus the tolerated gap).
    """
    t = problem.t
    mids = 0.5 * (t[:-1] + t[1:])
    seg = spline.derivative(mids)
    lo, hi = problem.bounds.lo, problem.bounds.hi
    atol = 1e-9 * max(1.0, abs(lo) if math.isfinite(lo) else 1.0, abs(hi) if math.isfinite(hi) else 1.0)
    states = slope_states(seg, lo, hi, atol)
    anchors = None
    if problem.lam > 0 and spline.knots.size > 2:
        idx = np.searchsorted(t, spline.knots[1:-1])
        if np.array_equal(t[np.clip(idx, 0, t.size - 1)], spline.knots[1:-1]):
            anchors = np.zeros(problem.K)
            anchors[idx] = np.sign(spline.slope_changes)

    def estimates():  # computed one at a time: the search usually stops at the first
        if problem.loss != "absolute":
            yield gradient_dual_estimate(problem, values_at_sorted(spline, t))
        yield from extra_duals
        if problem.loss == "absolute":
            for rtol in (1e-9, 1e-7):
                yield absolute_dual_estimate(problem, spline, anchors, states, rtol)
            if np.max(np.abs(problem.y)) > 1.0:  # targets far from 0: interpolation read to rounding
                yield absolute_dual_estimate(problem, spline, anchors, states, 1e-9, residual_scale=True)

    best, best_z = -math.inf, None
    # With every slope strictly inside finite bounds, the problem without bounds is a relaxation
    # whose dual bounds are valid here too; its path never pays sigma(nu) = s_max nu for rounding,
    # which costs far more than the data's slopes when the bounds are much wider than them.
    relaxed = None
    if np.all(states == FREE) and (math.isfinite(lo) or math.isfinite(hi)):
        relaxed = replace(problem, bounds=SlopeBounds(-math.inf, math.inf))
    for v in estimates():
        if v is None or v.shape != (problem.K - 1,):
            continue
        # anchored at the primal knots first: at an exact solution that path closes the gap
        for anchor_sign in (anchors, None) if anchors is not None else (None,):
            for prob in (problem, relaxed) if relaxed is not None else (problem,):
                bound, z = dual_bound(prob, v, states, anchor_sign)
                if bound > best:
                    best, best_z = bound, z
                if best >= target:
                    return best, best_z
    return best, best_z
