r"""A dedicated primal-dual interior-point method for the squared loss, O(M) per iteration.

Written with explicit slopes and the scaled coupling (``MATH.md`` section 4), on coordinates
normalised like the generic path, the problem is the QP

.. math::

    \min_{c, s, u}\ \tfrac12 \sum_k W_k (c_k - y_k)^2 + \lambda \sum_j u_j
    \quad\text{s.t.}\quad c_{k+1} - c_k = h_k s_k,\ \ |(\Delta s)_j| \le u_j,\ \
    s_{\min} \le s_k \le s_{\max}.

Eliminating the inequality multipliers, ``u`` and ``c`` from the Newton system of Mehrotra's
predictor-corrector method leaves, for the slope step ``ds`` and the coupling multiplier step
``dpi``,

.. math::

    \begin{pmatrix} \Delta^T\Theta\Delta + \Gamma & -H \\ -H & -D_0 W^{-1} D_0^T \end{pmatrix}
    \begin{pmatrix} ds \\ d\pi \end{pmatrix} = \begin{pmatrix} b_s \\ b_\pi \end{pmatrix},

two tridiagonal blocks coupled by the diagonal :math:`H = \mathrm{diag}(h)`. Interleaving
:math:`(\pi_1, s_1, \pi_2, s_2, \dots)` makes it a symmetric quasi-definite pentadiagonal matrix,
factored without pivoting by a banded :math:`LDL^T` (Numba) in :math:`O(M)`. No entry is divided
by :math:`h`, so nearly tied sites do not spoil the conditioning.

The interior-point answer is accurate to about ``1e-9``; :func:`tvspline.fit` then makes it exact
with the active-set step and certifies it.
"""

from __future__ import annotations

import math
import time

import numba
import numpy as np

from .base import Candidate, SolverFailure

__all__ = ["solve_ipm"]

#: Primal-dual regularisation of the reduced Newton matrix (normalised units). With a finite slope
#: bound the slope block is definite and 1e-12 suffices; without any bound it is only
#: semidefinite and 1e-9 keeps the pivots of the unpivoted LDL^T away from 0 (1e-12 diverged on
#: 3e5 random sites; 1e-9 everywhere stalled at 1e6 with bounds). Residuals are always those of
#: the true KKT system, so the limit is the exact solution.
_REGULARISATION = {"bounded": 1e-12, "unbounded": 1e-9}


@numba.njit(cache=True, error_model="numpy")
def _ipm_loop(W, y, h, lam, lo, hi, use_tv, has_lo, has_hi, s, c, pi, u, alpha, beta, gam, dlt,
              tol, max_iter, reg):
    """Mehrotra predictor-corrector iterations, all in place; returns (iterations, converged)."""
    n = h.size
    K = n + 1
    m = n - 1 if use_tv else 0
    N = 2 * n
    Rc = np.empty(K)
    Rs = np.empty(n)
    Rp = np.empty(n)
    Ru = np.empty(m)
    w1 = np.empty(m)
    w2 = np.empty(m)
    w3 = np.empty(n)
    w4 = np.empty(n)
    A1 = np.empty(m)
    B1 = np.empty(m)
    Sg = np.empty(m)
    rho = np.empty(m)
    d0 = np.empty(N)
    d1 = np.zeros(max(N - 1, 0))
    d2 = np.zeros(max(N - 2, 0))
    D = np.empty(N)
    L1 = np.zeros(N)
    L2 = np.zeros(N)
    x = np.empty(N)
    ds = np.empty(n)
    dpi = np.empty(n)
    dc = np.empty(K)
    du = np.empty(m)
    da = np.empty(m)
    db = np.empty(m)
    dg = np.empty(n)
    dd = np.empty(n)
    ra = np.empty(m)
    rb = np.empty(m)
    rg = np.empty(n)
    rd = np.empty(n)
    # affine-step copies for the corrector
    da0 = np.empty(m)
    db0 = np.empty(m)
    dw10 = np.empty(m)
    dw20 = np.empty(m)
    dg0 = np.empty(n)
    dd0 = np.empty(n)
    ds0 = np.empty(n)
    iw1 = np.empty(m)
    iw2 = np.empty(m)
    iw3 = np.empty(n)
    iw4 = np.empty(n)
    iSg = np.empty(m)
    iD = np.empty(N)
    iW = 1.0 / W
    ymax = 0.0
    for k in range(K):
        ymax = max(ymax, abs(y[k]))
    npair = 2 * m + (n if has_hi else 0) + (n if has_lo else 0)
    for it in range(1, max_iter + 1):
        # slacks, complementarity, residuals
        comp = 0.0
        for j in range(m):
            dsj = s[j + 1] - s[j]
            w1[j] = u[j] - dsj
            w2[j] = u[j] + dsj
            iw1[j] = 1.0 / w1[j]
            iw2[j] = 1.0 / w2[j]
            comp += alpha[j] * w1[j] + beta[j] * w2[j]
            Ru[j] = lam - alpha[j] - beta[j]
        for k in range(n):
            if has_hi:
                w3[k] = hi - s[k]
                iw3[k] = 1.0 / w3[k]
                comp += gam[k] * w3[k]
            if has_lo:
                w4[k] = s[k] - lo
                iw4[k] = 1.0 / w4[k]
                comp += dlt[k] * w4[k]
        mu = comp / npair if npair > 0 else 0.0
        obj = 0.0
        res = 0.0
        for k in range(K):
            r = c[k] - y[k]
            obj += 0.5 * W[k] * r * r
            v = W[k] * r
            if k >= 1:
                v += pi[k - 1]
            if k < n:
                v -= pi[k]
            Rc[k] = v
            res = max(res, abs(v))
        for j in range(m):
            obj += lam * u[j]
        for k in range(n):
            v = -h[k] * pi[k]
            if use_tv:
                if k >= 1:
                    v += alpha[k - 1] - beta[k - 1]
                if k < m:
                    v -= alpha[k] - beta[k]
            if has_hi:
                v += gam[k]
            if has_lo:
                v -= dlt[k]
            Rs[k] = v
            res = max(res, abs(v))
            Rp[k] = c[k + 1] - c[k] - h[k] * s[k]
            res = max(res, abs(Rp[k]))
        if comp <= 0.01 * tol * (1.0 + abs(obj)) and res <= 1e-10 * (1.0 + ymax):
            return it, True
        # reduced Newton matrix, interleaved (pi_k, s_k): the definite coupling block is
        # eliminated first, which adds h_k^2 / |pivot| to every slope pivot and keeps the
        # factorisation stable even where the slope block is only semidefinite (no bounds)
        for k in range(n):
            g = reg
            if has_hi:
                g += gam[k] * iw3[k]
            if has_lo:
                g += dlt[k] * iw4[k]
            d0[2 * k + 1] = g
            d0[2 * k] = -(iW[k] + iW[k + 1]) - reg
            d1[2 * k] = -h[k]
        for j in range(m):
            A1[j] = alpha[j] * iw1[j]
            B1[j] = beta[j] * iw2[j]
            Sg[j] = A1[j] + B1[j]
            iSg[j] = 1.0 / Sg[j]
            th = 4.0 * A1[j] * B1[j] * iSg[j]
            d0[2 * j + 1] += th
            d0[2 * j + 3] += th
            d2[2 * j + 1] = -th
        for k in range(n - 1):
            d2[2 * k] = iW[k + 1]
        # LDL^T
        for i in range(N):
            L2[i] = 0.0
            L1[i] = 0.0
            if i >= 2:
                L2[i] = d2[i - 2] * iD[i - 2]
            if i >= 1:
                acc = d1[i - 1]
                if i >= 2:
                    acc -= L2[i] * D[i - 2] * L1[i - 1]
                L1[i] = acc * iD[i - 1]
            di = d0[i]
            if i >= 1:
                di -= L1[i] * L1[i] * D[i - 1]
            if i >= 2:
                di -= L2[i] * L2[i] * D[i - 2]
            D[i] = di
            iD[i] = 1.0 / di
        smu = 0.0
        for phase in range(2):
            if phase == 0:
                for j in range(m):
                    ra[j] = -alpha[j] * w1[j]
                    rb[j] = -beta[j] * w2[j]
                for k in range(n):
                    if has_hi:
                        rg[k] = -gam[k] * w3[k]
                    if has_lo:
                        rd[k] = -dlt[k] * w4[k]
            else:
                for j in range(m):
                    ra[j] = smu - alpha[j] * w1[j] - da0[j] * dw10[j]
                    rb[j] = smu - beta[j] * w2[j] - db0[j] * dw20[j]
                for k in range(n):
                    if has_hi:
                        rg[k] = smu - gam[k] * w3[k] + dg0[k] * ds0[k]
                    if has_lo:
                        rd[k] = smu - dlt[k] * w4[k] - dd0[k] * ds0[k]
            # right-hand side
            for k in range(n):
                b = -Rs[k]
                if has_hi:
                    b -= rg[k] * iw3[k]
                if has_lo:
                    b += rd[k] * iw4[k]
                x[2 * k + 1] = b
                x[2 * k] = -Rp[k] + Rc[k + 1] * iW[k + 1] - Rc[k] * iW[k]
            for j in range(m):
                p1 = ra[j] * iw1[j]
                p2 = rb[j] * iw2[j]
                rho[j] = p1 + p2 - Ru[j]
                zeta = p1 - p2 - (A1[j] - B1[j]) * rho[j] * iSg[j]
                x[2 * (j + 1) + 1] -= zeta
                x[2 * j + 1] += zeta
            # solve
            for i in range(N):
                if i >= 1:
                    x[i] -= L1[i] * x[i - 1]
                if i >= 2:
                    x[i] -= L2[i] * x[i - 2]
            for i in range(N):
                x[i] *= iD[i]
            for i in range(N - 1, -1, -1):
                if i + 1 < N:
                    x[i] -= L1[i + 1] * x[i + 1]
                if i + 2 < N:
                    x[i] -= L2[i + 2] * x[i + 2]
            for k in range(n):
                ds[k] = x[2 * k + 1]
                dpi[k] = x[2 * k]
            for k in range(K):
                t_ = 0.0
                if k >= 1:
                    t_ += dpi[k - 1]
                if k < n:
                    t_ -= dpi[k]
                dc[k] = (-Rc[k] - t_) * iW[k]
            step = 1.0
            for j in range(m):
                dD = ds[j + 1] - ds[j]
                du[j] = (rho[j] + (A1[j] - B1[j]) * dD) * iSg[j]
                e1 = du[j] - dD
                e2 = du[j] + dD
                da[j] = (ra[j] - alpha[j] * e1) * iw1[j]
                db[j] = (rb[j] - beta[j] * e2) * iw2[j]
                if da[j] < 0:
                    step = min(step, -alpha[j] / da[j])
                if db[j] < 0:
                    step = min(step, -beta[j] / db[j])
                if e1 < 0:
                    step = min(step, -w1[j] / e1)
                if e2 < 0:
                    step = min(step, -w2[j] / e2)
                if phase == 0:
                    dw10[j] = e1
                    dw20[j] = e2
            for k in range(n):
                if has_hi:
                    dg[k] = (rg[k] + gam[k] * ds[k]) * iw3[k]
                    if dg[k] < 0:
                        step = min(step, -gam[k] / dg[k])
                    if ds[k] > 0:
                        step = min(step, w3[k] / ds[k])
                if has_lo:
                    dd[k] = (rd[k] - dlt[k] * ds[k]) * iw4[k]
                    if dd[k] < 0:
                        step = min(step, -dlt[k] / dd[k])
                    if ds[k] < 0:
                        step = min(step, -w4[k] / ds[k])
            if phase == 0:
                comp_aff = 0.0
                for j in range(m):
                    comp_aff += (alpha[j] + step * da[j]) * (w1[j] + step * dw10[j])
                    comp_aff += (beta[j] + step * db[j]) * (w2[j] + step * dw20[j])
                    da0[j] = da[j]
                    db0[j] = db[j]
                for k in range(n):
                    ds0[k] = ds[k]
                    if has_hi:
                        comp_aff += (gam[k] + step * dg[k]) * (w3[k] - step * ds[k])
                        dg0[k] = dg[k]
                    if has_lo:
                        comp_aff += (dlt[k] + step * dd[k]) * (w4[k] + step * ds[k])
                        dd0[k] = dd[k]
                sigma = (comp_aff / comp) ** 3 if comp > 0 else 0.0
                smu = sigma * mu
        step = min(1.0, 0.995 * step)
        # At the limit of the arithmetic the directions can turn non-finite (seen at 1e6 sites
        # without bounds after complementarity had converged): stop on the last finite iterate.
        dsum = 0.0
        for k in range(n):
            dsum += abs(ds[k]) + abs(dpi[k])
        if not (math.isfinite(dsum) and math.isfinite(step)) or step < 1e-12:
            return it, comp <= 0.01 * tol * (1.0 + abs(obj))
        for k in range(n):
            s[k] += step * ds[k]
            pi[k] += step * dpi[k]
            if has_hi:
                gam[k] += step * dg[k]
            if has_lo:
                dlt[k] += step * dd[k]
        for k in range(K):
            c[k] += step * dc[k]
        for j in range(m):
            u[j] += step * du[j]
            alpha[j] += step * da[j]
            beta[j] += step * db[j]
    return max_iter, False


def solve_ipm(problem, tol: float = 1e-9, max_iter: int = 200) -> Candidate:
    """Solve the squared-loss problem by the interior-point method of the module docstring."""
    if problem.loss != "squared":
        raise SolverFailure("the interior-point solver handles the squared loss only")
    start = time.perf_counter()
    t, K = problem.t, problem.K
    span = t[-1] - t[0]
    h = np.diff(t) / span
    n, m = K - 1, K - 2
    ymid = float(np.median(problem.site_y))
    yscale = float(np.max(np.abs(problem.site_y - ymid)))
    if not yscale > 0:
        yscale = 1.0
    wscale = float(np.mean(problem.site_w))
    W = problem.site_w / wscale
    y = (problem.site_y - ymid) / yscale
    lam = problem.lam / (yscale * span * wscale)
    lo = problem.bounds.lo * span / yscale
    hi = problem.bounds.hi * span / yscale
    has_lo, has_hi = math.isfinite(lo), math.isfinite(hi)
    if lo == hi:
        raise SolverFailure("equal bounds: the fit is affine (handled by fit directly)")
    use_tv = m > 0 and lam > 0

    # ---- starting point (interior for the inequalities)
    if has_lo and has_hi:
        s0 = 0.5 * (lo + hi) if not (lo < 0 < hi) else 0.0
    elif has_lo:
        s0 = max(lo + 1.0, 0.0)
    elif has_hi:
        s0 = min(hi - 1.0, 0.0)
    else:
        s0 = 0.0
    s = np.full(n, s0)
    c = y.copy()
    pi = np.zeros(n)
    m_eff = m if use_tv else 0
    u = np.abs(np.diff(s))[:m_eff] + 1.0
    alpha = np.full(m_eff, 0.5 * lam)
    beta = np.full(m_eff, 0.5 * lam)
    gam = np.ones(n)
    dlt = np.ones(n)
    it, converged = _ipm_loop(
        W, y, h, float(lam), float(lo), float(hi), use_tv, has_lo, has_hi, s, c, pi, u, alpha, beta,
        gam, dlt, float(tol), int(max_iter),
        _REGULARISATION["bounded" if (has_lo or has_hi) else "unbounded"],
    )
    status = "optimal" if converged else "max_iter"
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(c))):
        raise SolverFailure("interior-point iterations diverged (non-finite iterate)")
    factor = yscale * yscale * wscale
    slopes = np.clip(s, lo, hi) * yscale / span
    v = pi * np.diff(t) * (factor / yscale)
    return Candidate(
        slopes=slopes,
        value0=ymid + yscale * float(c[0]),
        dual_estimates=[v, -v],
        status=status,
        n_iter=it,
        info={"name": "ipm", "solve_time": time.perf_counter() - start, "iterations": it, "status": status},
    )
