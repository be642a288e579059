r"""A dedicated primal-dual interior-point method for the squared loss, O(M) per iteration.

Written with explicit slopes and the scaled coupling (``docs/math.md``), on coordinates
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

Two kernels run these iterations: ``_ipm_loop_reference``, the original fused single-thread one,
and the default :func:`tvspline.solvers._ipm_kernels.ipm_loop_twisted`, which factors the same
matrix in 2x2 blocks from both ends at once (two threads at large sizes) with vectorised
element-wise passes; the ``kernel`` argument of :func:`solve_ipm` selects one.
"""

from __future__ import annotations

import math
import time

import numba
import numpy as np

from ._ipm_kernels import ipm_loop_twisted
from .base import Candidate, SolverFailure
from .settings import IPM_MAX_ITER

__all__ = ["solve_ipm", "KERNELS"]

#: Primal-dual regularisation of the reduced Newton matrix (normalised units). With a finite slope
#: bound the slope block is definite and 1e-12 suffices; without any bound it is only
#: semidefinite and 1e-9 keeps the pivots of the unpivoted LDL^T away from 0 (1e-12 diverged on
#: 3e5 random sites; 1e-9 everywhere stalled at 1e6 with bounds). Residuals are always those of
#: the true KKT system, so the limit is the exact solution.
_REGULARISATION = {"bounded": 1e-12, "unbounded": 1e-9}


@numba.njit(cache=True, error_model="numpy")
def _ipm_loop_reference(W, y, h, lam, lo, hi, use_tv, has_lo, has_hi, s, c, pi, u, alpha, beta,
                        gam, dlt, tol, max_iter, reg):
    """Mehrotra predictor-corrector iterations, all in place; returns (iterations, converged).

    The original fused single-thread kernel, kept as the reference of the faster
    :func:`tvspline.solvers._ipm_kernels.ipm_loop_twisted` (``tests/test_ipm_kernel.py`` compares
    them) and selected by ``solve_ipm(..., kernel="reference")``.

    Each iteration makes few passes over memory (the method is memory-bound at large sizes):
    one forward pass computes slacks, residuals, the reduced matrix and its LDL^T factor; each
    of the predictor and corrector steps is one forward pass (right-hand side and forward
    substitution) and one backward pass (back substitution, recovery of every direction and the
    step length); a last pass applies the step.
    """
    n = h.size
    K = n + 1
    m = n - 1 if use_tv else 0
    N = 2 * n
    iW = 1.0 / W
    # per jump (m), per slope (n), per site (K) and per row of the reduced system (N)
    w1 = np.empty(m)
    w2 = np.empty(m)
    iw1 = np.empty(m)
    iw2 = np.empty(m)
    iSg = np.empty(m)
    p1a = np.empty(m)
    p2a = np.empty(m)
    rhoa = np.empty(m)
    Pa = np.zeros(m)
    Pb = np.zeros(m)
    w3 = np.empty(n if has_hi else 0)
    iw3 = np.empty(n if has_hi else 0)
    w4 = np.empty(n if has_lo else 0)
    iw4 = np.empty(n if has_lo else 0)
    Pg = np.zeros(n if has_hi else 0)
    Pd = np.zeros(n if has_lo else 0)
    Rc = np.empty(K)
    bpi = np.empty(n)
    bs = np.empty(n)
    L1 = np.zeros(N)
    L2 = np.zeros(N)
    iD = np.empty(N)
    x = np.empty(N)
    ds = np.empty(n)
    dpi = np.empty(n)
    dc = np.empty(K)
    du = np.empty(m)
    da = np.empty(m)
    db = np.empty(m)
    dg = np.empty(n if has_hi else 0)
    dd = np.empty(n if has_lo else 0)
    ymax = 0.0
    for k in range(K):
        ymax = max(ymax, abs(y[k]))
    npair = 2 * m + (n if has_hi else 0) + (n if has_lo else 0)
    for it in range(1, max_iter + 1):
        # ---- forward pass: slacks, residuals, matrix, factor
        comp = 0.0
        obj = 0.0
        res = 0.0
        r0 = c[0] - y[0]
        obj += 0.5 * W[0] * r0 * r0
        rc_next = W[0] * r0 - (pi[0] if n > 0 else 0.0)
        Rc[0] = rc_next
        res = abs(rc_next)
        th_prev = 0.0
        Dm1 = 1.0  # D of the previous two rows
        Dm2 = 1.0
        iDm1 = 0.0
        iDm2 = 0.0
        L1m1 = 0.0
        for k in range(n):
            # jump k (between slopes k and k+1)
            th = 0.0
            if k < m:
                dsj = s[k + 1] - s[k]
                a1 = u[k] - dsj
                a2 = u[k] + dsj
                w1[k] = a1
                w2[k] = a2
                i1 = 1.0 / a1
                i2 = 1.0 / a2
                iw1[k] = i1
                iw2[k] = i2
                comp += alpha[k] * a1 + beta[k] * a2
                A1 = alpha[k] * i1
                B1 = beta[k] * i2
                isg = 1.0 / (A1 + B1)
                iSg[k] = isg
                th = 4.0 * A1 * B1 * isg
                obj += lam * u[k]
            # slope k
            g = reg
            if has_hi:
                a3 = hi - s[k]
                w3[k] = a3
                i3 = 1.0 / a3
                iw3[k] = i3
                comp += gam[k] * a3
                g += gam[k] * i3
            if has_lo:
                a4 = s[k] - lo
                w4[k] = a4
                i4 = 1.0 / a4
                iw4[k] = i4
                comp += dlt[k] * a4
                g += dlt[k] * i4
            # residuals at site k + 1, slope k, coupling k
            rk1 = c[k + 1] - y[k + 1]
            obj += 0.5 * W[k + 1] * rk1 * rk1
            v = W[k + 1] * rk1 + pi[k]
            if k + 1 < n:
                v -= pi[k + 1]
            Rc[k + 1] = v
            res = max(res, abs(v))
            rs = -h[k] * pi[k]
            if use_tv:
                if k >= 1:
                    rs += alpha[k - 1] - beta[k - 1]
                if k < m:
                    rs -= alpha[k] - beta[k]
            if has_hi:
                rs += gam[k]
            if has_lo:
                rs -= dlt[k]
            res = max(res, abs(rs))
            bs[k] = -rs
            rp = c[k + 1] - c[k] - h[k] * s[k]
            res = max(res, abs(rp))
            bpi[k] = -rp + v * iW[k + 1] - Rc[k] * iW[k]
            # row 2k (pi_k): d0 = -(iW_k + iW_{k+1}) - reg, d1[2k-1] = 0, d2[2k-2] = iW_k
            i = 2 * k
            l2 = 0.0
            l1 = 0.0
            if k >= 1:
                l2 = iW[k] * iDm2
                l1 = -l2 * Dm2 * L1m1 * iDm1
            Dk = -(iW[k] + iW[k + 1]) - reg - l1 * l1 * Dm1 - l2 * l2 * Dm2
            L1[i] = l1
            L2[i] = l2
            iDk = 1.0 / Dk
            iD[i] = iDk
            # shift: rows (i-1, i) become (i-2, i-1)
            Dm2, iDm2 = Dm1, iDm1
            Dm1, iDm1 = Dk, iDk
            L1m1 = l1
            # row 2k+1 (s_k): d0 = g + th_{k-1} + th_k, d1[2k] = -h_k, d2[2k-1] = -th_{k-1}
            i += 1
            l2 = 0.0
            if k >= 1:
                l2 = -th_prev * iDm2
            l1 = (-h[k] - l2 * Dm2 * L1m1) * iDm1
            Dk = g + th_prev + th - l1 * l1 * Dm1 - l2 * l2 * Dm2
            L1[i] = l1
            L2[i] = l2
            iDk = 1.0 / Dk
            iD[i] = iDk
            Dm2, iDm2 = Dm1, iDm1
            Dm1, iDm1 = Dk, iDk
            L1m1 = l1
            th_prev = th
        mu = comp / npair if npair > 0 else 0.0
        if comp <= 0.01 * tol * (1.0 + abs(obj)) and res <= 1e-10 * (1.0 + ymax):
            return it, True
        smu = 0.0
        step = 1.0
        for phase in range(2):
            # ---- forward pass: right-hand side and forward substitution
            xm1 = 0.0
            xm2 = 0.0
            zeta_prev = 0.0
            for k in range(n):
                zeta = 0.0
                if k < m:
                    A1 = alpha[k] * iw1[k]
                    B1 = beta[k] * iw2[k]
                    if phase == 0:
                        p1 = -alpha[k]
                        p2 = -beta[k]
                    else:
                        p1 = (smu - Pa[k]) * iw1[k] - alpha[k]
                        p2 = (smu - Pb[k]) * iw2[k] - beta[k]
                    rho = p1 + p2 - (lam - alpha[k] - beta[k])
                    zeta = p1 - p2 - (A1 - B1) * rho * iSg[k]
                    p1a[k] = p1
                    p2a[k] = p2
                    rhoa[k] = rho
                b = bs[k] + zeta - zeta_prev
                if has_hi:
                    if phase == 0:
                        b += gam[k]
                    else:
                        b += gam[k] - (smu + Pg[k]) * iw3[k]
                if has_lo:
                    if phase == 0:
                        b -= dlt[k]
                    else:
                        b += (smu - Pd[k]) * iw4[k] - dlt[k]
                i = 2 * k
                xi = bpi[k] - L1[i] * xm1 - L2[i] * xm2
                x[i] = xi
                xm2, xm1 = xm1, xi
                xi = b - L1[i + 1] * xm1 - L2[i + 1] * xm2
                x[i + 1] = xi
                xm2, xm1 = xm1, xi
                zeta_prev = zeta
            # ---- backward pass: back substitution, directions, step length
            xp1 = 0.0  # x[i+1], x[i+2]
            xp2 = 0.0
            L1p1 = 0.0  # L1[i+1], L2[i+2]
            L2p2 = 0.0
            L2p1 = 0.0  # L2[i+1] (becomes L2[i+2] of the next row)
            ds_next = 0.0
            dpi_next = 0.0
            step = 1.0
            S1 = 0.0
            S2 = 0.0
            for k in range(n - 1, -1, -1):
                i = 2 * k + 1
                xi = x[i] * iD[i] - L1p1 * xp1 - L2p2 * xp2
                L2p2 = L2p1
                L2p1 = L2[i]
                L1p1 = L1[i]
                xp2, xp1 = xp1, xi
                dsk = xi
                i -= 1
                xi = x[i] * iD[i] - L1p1 * xp1 - L2p2 * xp2
                L2p2 = L2p1
                L2p1 = L2[i]
                L1p1 = L1[i]
                xp2, xp1 = xp1, xi
                dpik = xi
                dck1 = (-Rc[k + 1] - (dpik - dpi_next)) * iW[k + 1]
                if k < m:
                    A1 = alpha[k] * iw1[k]
                    B1 = beta[k] * iw2[k]
                    dD = ds_next - dsk
                    duk = (rhoa[k] + (A1 - B1) * dD) * iSg[k]
                    e1 = duk - dD
                    e2 = duk + dD
                    dak = p1a[k] - A1 * e1
                    dbk = p2a[k] - B1 * e2
                    if dak < 0:
                        step = min(step, -alpha[k] / dak)
                    if dbk < 0:
                        step = min(step, -beta[k] / dbk)
                    if e1 < 0:
                        step = min(step, -w1[k] / e1)
                    if e2 < 0:
                        step = min(step, -w2[k] / e2)
                    if phase == 0:
                        S1 += alpha[k] * e1 + dak * w1[k] + beta[k] * e2 + dbk * w2[k]
                        S2 += dak * e1 + dbk * e2
                        Pa[k] = dak * e1
                        Pb[k] = dbk * e2
                    else:
                        du[k] = duk
                        da[k] = dak
                        db[k] = dbk
                if has_hi:
                    if phase == 0:
                        dgk = -gam[k] + gam[k] * iw3[k] * dsk
                    else:
                        dgk = (smu + Pg[k]) * iw3[k] - gam[k] + gam[k] * iw3[k] * dsk
                    if dgk < 0:
                        step = min(step, -gam[k] / dgk)
                    if dsk > 0:
                        step = min(step, w3[k] / dsk)
                    if phase == 0:
                        S1 += dgk * w3[k] - gam[k] * dsk
                        S2 -= dgk * dsk
                        Pg[k] = dgk * dsk
                    else:
                        dg[k] = dgk
                if has_lo:
                    if phase == 0:
                        ddk = -dlt[k] - dlt[k] * iw4[k] * dsk
                    else:
                        ddk = (smu - Pd[k]) * iw4[k] - dlt[k] - dlt[k] * iw4[k] * dsk
                    if ddk < 0:
                        step = min(step, -dlt[k] / ddk)
                    if dsk < 0:
                        step = min(step, -w4[k] / dsk)
                    if phase == 0:
                        S1 += ddk * w4[k] + dlt[k] * dsk
                        S2 += ddk * dsk
                        Pd[k] = ddk * dsk
                    else:
                        dd[k] = ddk
                if phase == 1:
                    ds[k] = dsk
                    dpi[k] = dpik
                    dc[k + 1] = dck1
                ds_next = dsk
                dpi_next = dpik
            if phase == 0:
                comp_aff = comp + step * S1 + step * step * S2
                sigma = (comp_aff / comp) ** 3 if comp > 0 else 0.0
                smu = sigma * mu
            else:
                dc[0] = (-Rc[0] + dpi_next) * iW[0]
        step = min(1.0, 0.995 * step)
        # At the limit of the arithmetic the directions can turn non-finite (seen at 1e6 sites
        # without bounds after complementarity had converged): stop on the last finite iterate.
        if not math.isfinite(step) or step < 1e-12 or not math.isfinite(dc[0]):
            return it, comp <= 0.01 * tol * (1.0 + abs(obj))
        # ---- apply the step
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


#: The interior-point kernels: "twisted" (two halves, two threads at large sizes:
#: ``_ipm_kernels.ipm_loop_twisted``), the default, and "reference" (``_ipm_loop_reference``).
KERNELS = ("twisted", "reference")


def _ipm_loop(W, y, h, lam, lo, hi, use_tv, has_lo, has_hi, s, c, pi, u, alpha, beta, gam, dlt, tol,
              max_iter, reg, kernel="twisted", par_min=None):
    """Run the selected kernel on the arrays (updated in place); returns (iterations, converged)."""
    if kernel == "reference":
        return _ipm_loop_reference(W, y, h, lam, lo, hi, use_tv, has_lo, has_hi, s, c, pi, u, alpha,
                                   beta, gam, dlt, tol, max_iter, reg)
    if kernel != "twisted":
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    return ipm_loop_twisted(W, y, h, lam, lo, hi, use_tv, has_lo, has_hi, s, c, pi, u, alpha, beta,
                            gam, dlt, tol, max_iter, reg, par_min)


def _setup(problem):
    """Normalised data and starting point of the iterations (see the module docstring)."""
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
    args = (W, y, h, float(lam), float(lo), float(hi), use_tv, has_lo, has_hi, s, c, pi, u, alpha,
            beta, gam, dlt)
    reg = _REGULARISATION["bounded" if (has_lo or has_hi) else "unbounded"]
    scale = dict(span=span, ymid=ymid, yscale=yscale, wscale=wscale, lo=lo, hi=hi)
    return args, reg, scale


def solve_ipm(problem, tol: float = 1e-9, max_iter: int = IPM_MAX_ITER, kernel: str = "twisted") -> Candidate:
    """Solve the squared-loss problem by the interior-point method of the module docstring.

    ``kernel`` is one of :data:`KERNELS`; both compute the same iterates. An answer stopped at
    ``max_iter`` iterations is returned with its ``limit_reason`` set.
    """
    if problem.loss != "squared":
        raise SolverFailure("the interior-point solver handles the squared loss only")
    start = time.perf_counter()
    t = problem.t
    args, reg, sc = _setup(problem)
    s, c, pi = args[9], args[10], args[11]
    it, converged = _ipm_loop(*args, float(tol), int(max_iter), reg, kernel=kernel)
    status = "optimal" if converged else "max_iter"
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(c))):
        raise SolverFailure("interior-point iterations diverged (non-finite iterate)")
    span, ymid, yscale, wscale = sc["span"], sc["ymid"], sc["yscale"], sc["wscale"]
    lo, hi = sc["lo"], sc["hi"]
    factor = yscale * yscale * wscale
    slopes = np.clip(s, lo, hi) * yscale / span
    v = pi * np.diff(t) * (factor / yscale)
    return Candidate(
        slopes=slopes,
        value0=ymid + yscale * float(c[0]),
        dual_estimates=[v, -v],
        status=status,
        n_iter=it,
        info={"name": "ipm", "kernel": kernel, "solve_time": time.perf_counter() - start, "iterations": it,
              "status": status},
        limit_reason="" if converged else f"ipm stopped at its iteration cap ({max_iter} iterations)",
    )
