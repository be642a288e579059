r"""Twisted, two-thread kernel of the interior-point method of :mod:`tvspline.solvers.ipm`.

Same Mehrotra predictor-corrector iterations as ``_ipm_loop_reference`` in ``ipm.py`` (same
starting point, same regularisation, same residuals of the true KKT system, same step rule and
stopping tests), organised for speed:

* **Block form of the reduced matrix.** In the interleaved order the reduced matrix is block
  tridiagonal with 2x2 blocks, diagonal ``B_k = [[-(1/W_k + 1/W_{k+1}) - reg, -h_k],
  [-h_k, g_k + th_{k-1} + th_k]]`` and *diagonal* coupling ``C_k = diag(1/W_{k+1}, -th_k)``
  between pairs ``k`` and ``k + 1``. The factor keeps the inverse of each 2x2 Schur block,
  ``S_k = B_k - C_{k-1} S_{k-1}^{-1} C_{k-1}``, computed from its determinant
  ``p r - q^2``: with ``p < 0 < r`` (quasi-definite) both terms are negative, so there is no
  cancellation, and the recursion has one division on its critical path per pair (the
  scalar LDL^T with pivot order pi, s has two). The pivot order inside a pair is unchanged.
* **Twisted ("burn at both ends") elimination.** Pairs ``0..p-1`` are eliminated top-down,
  pairs ``n-1..p+1`` bottom-up (the same recursion with the coupling taken from ``k + 1``), and the
  middle pair ``p = n // 2`` last, from a 2x2 system. Every pass over the pairs (matrix and
  factor, right-hand side and forward substitution, back substitution and direction recovery,
  update) is split into the two halves. From :data:`PARALLEL_MIN_PAIRS` slopes on, a Python
  driver runs the bottom half of each pass on a worker thread (``nogil`` kernels, one
  ``ThreadPoolExecutor`` worker created once) while the calling thread runs the top half; if the
  worker has not started when the top half is done (busy machine, another fit in the pool), the
  calling thread runs the bottom half too. Below that size a Numba driver runs the halves one
  after the other. The split point, the order of every partial reduction and the way partials
  are combined (by Numba functions shared by both drivers) are fixed, so the result depends
  neither on the path nor on scheduling: both give bitwise identical iterates.
* **Unfused, cache-blocked passes.** Element-wise work without loop-carried dependency (slacks,
  reciprocals, Theta, right-hand sides, direction recovery, step-length ratios) is in loops of
  its own that LLVM vectorises (slices indexed from 0: with ``range(k0, k1)`` Numba keeps a
  wrap-around select that blocks vectorisation); step-length minima are selects, not branches.
  The recursions are tight scalar loops. Each pass goes block by block (:data:`_BLOCK` pairs),
  a block's element-wise loops and its recursion together, so that the block's data stay in L2.
  The jump and bound reciprocals are recomputed in each pass (bitwise the same) rather than
  streamed from memory.

Reductions (complementarity, objective, residual, affine complementarity) are summed per block
and per half, and the reduced matrix is factored in another order, so the iterates differ from
the reference kernel's by rounding only (``tests/test_ipm_kernel.py``).
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

__all__ = ["ipm_loop_twisted", "PARALLEL_MIN_PAIRS"]

#: From this many slopes on, the two halves of each pass run on two threads; below, one after the
#: other in the Numba driver (the threaded driver costs ~0.25 ms per iteration in dispatch, about
#: a serial iteration at n = 2.5e3; threads gained 1.9x at n = 1e5 on a lightly loaded machine).
#: The iterates are the same either way.
PARALLEL_MIN_PAIRS = 50000

_OPTS = dict(cache=True, error_model="numpy", nogil=True)


# ----------------------------------------------------------------------------- element-wise
# Element-wise loops index slices from 0: with ``range(k0, k1)`` Numba cannot prove the index
# non-negative, keeps its wrap-around select and LLVM does not vectorise the loop.
@numba.njit(**_OPTS)
def _jump_inv(j0, j1, s, u, alpha, beta, q1, q2, qg):
    """1/w1, 1/w2 and 1/Sigma of jumps [j0, j1) into q1, q2, qg[0 : j1 - j0].

    Recomputed in every pass from s, u, alpha, beta (bitwise the same each time): cheaper than
    streaming three more arrays through memory at large sizes.
    """
    N = j1 - j0
    if N <= 0:
        return
    s0 = s[j0:j1]
    s1 = s[j0 + 1:j1 + 1]
    uu = u[j0:j1]
    al = alpha[j0:j1]
    be = beta[j0:j1]
    for i in range(N):
        dsj = s1[i] - s0[i]
        i1 = 1.0 / (uu[i] - dsj)
        i2 = 1.0 / (uu[i] + dsj)
        q1[i] = i1
        q2[i] = i2
        qg[i] = 1.0 / (al[i] * i1 + be[i] * i2)


@numba.njit(**_OPTS)
def _prep_jumps(j0, j1, s, u, alpha, beta, th):
    """Theta of the TV constraints of jumps [j0, j1)."""
    if j1 <= j0:
        return
    s0 = s[j0:j1]
    s1 = s[j0 + 1:j1 + 1]
    uu = u[j0:j1]
    al = alpha[j0:j1]
    be = beta[j0:j1]
    ot = th[j0:j1]
    for i in range(uu.size):
        dsj = s1[i] - s0[i]
        a1 = uu[i] - dsj
        a2 = uu[i] + dsj
        i1 = 1.0 / a1
        i2 = 1.0 / a2
        A1 = al[i] * i1
        B1 = be[i] * i2
        isg = 1.0 / (A1 + B1)
        ot[i] = 4.0 * A1 * B1 * isg


@numba.njit(**_OPTS)
def _rd_at(k, reg, lo, hi, has_lo, has_hi, s, gam, dlt, th):
    """The s-diagonal ``g_k + th_{k-1} + th_k`` of pair k (same operation order as the loops)."""
    g = reg
    if has_hi:
        g += gam[k] * (1.0 / (hi - s[k]))
    if has_lo:
        g += dlt[k] * (1.0 / (s[k] - lo))
    if k == 0:
        return g + 0.0 + th[0]
    return g + th[k - 1] + th[k]


@numba.njit(**_OPTS)
def _prep_slopes(r0, k1, s, lo, hi, has_lo, has_hi, gam, dlt, reg, th, Rd):
    """The s-diagonal ``g + th_{k-1} + th_k`` of the matrix for pairs [r0, k1)."""
    if k1 <= r0:
        return
    if r0 == 0:
        Rd[0] = _rd_at(0, reg, lo, hi, has_lo, has_hi, s, gam, dlt, th)
        r0 = 1
    if k1 <= r0:
        return
    sk = s[r0:k1]
    ga = gam[r0:k1]
    de = dlt[r0:k1]
    thm = th[r0 - 1:k1 - 1]
    th0 = th[r0:k1]
    out = Rd[r0:k1]
    N = out.size
    if has_hi and has_lo:
        for i in range(N):
            out[i] = (reg + ga[i] * (1.0 / (hi - sk[i])) + de[i] * (1.0 / (sk[i] - lo)) + thm[i]
                      + th0[i])
    elif has_hi:
        for i in range(N):
            out[i] = reg + ga[i] * (1.0 / (hi - sk[i])) + thm[i] + th0[i]
    elif has_lo:
        for i in range(N):
            out[i] = reg + de[i] * (1.0 / (sk[i] - lo)) + thm[i] + th0[i]
    else:
        for i in range(N):
            out[i] = reg + thm[i] + th0[i]


@numba.njit(**_OPTS)
def _rc(i, n, W, c, y, pi):
    """Residual of the stationarity condition in c at site i."""
    if i == 0:
        return W[0] * (c[0] - y[0]) - pi[0]
    if i == n:
        return W[n] * (c[n] - y[n]) + pi[n - 1]
    return W[i] * (c[i] - y[i]) + pi[i - 1] - pi[i]


@numba.njit(**_OPTS)
def _residuals(k0, k1, n, m, use_tv, has_lo, has_hi, W, iW, y, h, c, s, pi, alpha, beta, gam, dlt,
               Rc, bs, bpi):
    """Residuals of slopes [k0, k1) and of sites k0+1..k1 (site 0 too when k0 == 0): Rc, bs, bpi."""
    if k1 <= k0:
        return
    if k0 == 0:
        Rc[0] = _rc(0, n, W, c, y, pi)
    # sites k + 1 for k in [k0, kb): interior ones
    kb = min(k1, n - 1)
    if kb > k0:
        W1 = W[k0 + 1:kb + 1]
        c1 = c[k0 + 1:kb + 1]
        y1 = y[k0 + 1:kb + 1]
        p0 = pi[k0:kb]
        p1 = pi[k0 + 1:kb + 1]
        o = Rc[k0 + 1:kb + 1]
        for i in range(o.size):
            o[i] = W1[i] * (c1[i] - y1[i]) + p0[i] - p1[i]
    if k1 == n:
        Rc[n] = _rc(n, n, W, c, y, pi)
    # bs = -(stationarity residual in s)
    hk = h[k0:k1]
    pk = pi[k0:k1]
    ob = bs[k0:k1]
    N = ob.size
    for i in range(N):
        ob[i] = -hk[i] * pk[i]
    if use_tv:
        # + (alpha - beta) of jump k - 1, - (alpha - beta) of jump k
        a0 = max(k0, 1)
        if k1 > a0:
            al = alpha[a0 - 1:k1 - 1]
            be = beta[a0 - 1:k1 - 1]
            o = bs[a0:k1]
            for i in range(o.size):
                o[i] += al[i] - be[i]
        jb = min(k1, m)
        if jb > k0:
            al = alpha[k0:jb]
            be = beta[k0:jb]
            o = bs[k0:jb]
            for i in range(o.size):
                o[i] -= al[i] - be[i]
    if has_hi:
        ga = gam[k0:k1]
        for i in range(N):
            ob[i] += ga[i]
    if has_lo:
        de = dlt[k0:k1]
        for i in range(N):
            ob[i] -= de[i]
    for i in range(N):
        ob[i] = -ob[i]
    # bpi = -(coupling residual) + eliminated c terms; Rc[k0] recomputed at the range start
    rck = Rc[k0] if k0 == 0 else _rc(k0, n, W, c, y, pi)
    bpi[k0] = -(c[k0 + 1] - c[k0] - h[k0] * s[k0]) + Rc[k0 + 1] * iW[k0 + 1] - rck * iW[k0]
    if k1 > k0 + 1:
        a = k0 + 1
        c0 = c[a:k1]
        c1 = c[a + 1:k1 + 1]
        hh = h[a:k1]
        ss = s[a:k1]
        r0 = Rc[a:k1]
        r1 = Rc[a + 1:k1 + 1]
        w0 = iW[a:k1]
        w1 = iW[a + 1:k1 + 1]
        o = bpi[a:k1]
        for i in range(o.size):
            o[i] = -(c1[i] - c0[i] - hh[i] * ss[i]) + r1[i] * w1[i] - r0[i] * w0[i]


@numba.njit(**_OPTS)
def _sum4(x):
    """Sum in a fixed order: four interleaved partial sums (vectorisable), then the tail."""
    N = x.size
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    N4 = N - N % 4
    for i in range(0, N4, 4):
        a0 += x[i]
        a1 += x[i + 1]
        a2 += x[i + 2]
        a3 += x[i + 3]
    for i in range(N4, N):
        a0 += x[i]
    return (a0 + a1) + (a2 + a3)


@numba.njit(**_OPTS)
def _max4(x, r):
    """max(r, max x) ignoring NaN (the semantics of the reference's ``max(r, v)``)."""
    N = x.size
    a0 = r
    a1 = r
    a2 = r
    a3 = r
    N4 = N - N % 4
    for i in range(0, N4, 4):
        v = x[i]
        a0 = v if v > a0 else a0
        v = x[i + 1]
        a1 = v if v > a1 else a1
        v = x[i + 2]
        a2 = v if v > a2 else a2
        v = x[i + 3]
        a3 = v if v > a3 else a3
    for i in range(N4, N):
        v = x[i]
        a0 = v if v > a0 else a0
    a0 = a1 if a1 > a0 else a0
    a0 = a2 if a2 > a0 else a0
    a0 = a3 if a3 > a0 else a0
    return a0


@numba.njit(**_OPTS)
def _min4(x, r):
    """min(r, min x) ignoring NaN (the semantics of the reference's ``min(step, v)``)."""
    N = x.size
    a0 = r
    a1 = r
    a2 = r
    a3 = r
    N4 = N - N % 4
    for i in range(0, N4, 4):
        v = x[i]
        a0 = v if v < a0 else a0
        v = x[i + 1]
        a1 = v if v < a1 else a1
        v = x[i + 2]
        a2 = v if v < a2 else a2
        v = x[i + 3]
        a3 = v if v < a3 else a3
    for i in range(N4, N):
        v = x[i]
        a0 = v if v < a0 else a0
    a0 = a1 if a1 < a0 else a0
    a0 = a2 if a2 < a0 else a0
    a0 = a3 if a3 < a0 else a0
    return a0


@numba.njit(**_OPTS)
def _reductions(k0, k1, n, m, lam, lo, hi, has_lo, has_hi, W, y, h, c, s, u, alpha, beta, gam,
                dlt, Rc, bs, bpi, sc, out):
    """comp, obj and max residual over slopes [k0, k1), jumps [k0, min(k1, m)), sites k0+1..k1.

    Each term goes to the scratch ``sc`` in chunks and is summed by :func:`_sum4`.
    """
    CH = sc.size
    comp = 0.0
    obj = 0.0
    res = 0.0
    if k0 == 0 and k1 > k0:
        r0 = c[0] - y[0]
        obj += 0.5 * W[0] * r0 * r0
        a = abs(Rc[0])
        res = a if a > res else res
    jb = min(k1, m)
    for a in range(k0, jb, CH):
        b = min(a + CH, jb)
        s0 = s[a:b]
        s1 = s[a + 1:b + 1]
        uu = u[a:b]
        al = alpha[a:b]
        be = beta[a:b]
        o = sc[:b - a]
        for i in range(o.size):
            dsj = s1[i] - s0[i]
            o[i] = al[i] * (uu[i] - dsj) + be[i] * (uu[i] + dsj)
        comp += _sum4(o)
        for i in range(o.size):
            o[i] = lam * uu[i]
        obj += _sum4(o)
    for a in range(k0, k1, CH):
        b = min(a + CH, k1)
        o = sc[:b - a]
        N = o.size
        sk = s[a:b]
        if has_hi or has_lo:
            if has_hi and has_lo:
                ga = gam[a:b]
                de = dlt[a:b]
                for i in range(N):
                    o[i] = ga[i] * (hi - sk[i]) + de[i] * (sk[i] - lo)
            elif has_hi:
                ga = gam[a:b]
                for i in range(N):
                    o[i] = ga[i] * (hi - sk[i])
            else:
                de = dlt[a:b]
                for i in range(N):
                    o[i] = de[i] * (sk[i] - lo)
            comp += _sum4(o)
        W1 = W[a + 1:b + 1]
        c1 = c[a + 1:b + 1]
        y1 = y[a + 1:b + 1]
        for i in range(N):
            rk1 = c1[i] - y1[i]
            o[i] = 0.5 * W1[i] * rk1 * rk1
        obj += _sum4(o)
        r1 = Rc[a + 1:b + 1]
        for i in range(N):
            o[i] = abs(r1[i])
        res = _max4(o, res)
        bb = bs[a:b]
        for i in range(N):
            o[i] = abs(bb[i])
        res = _max4(o, res)
        c0 = c[a:b]
        hh = h[a:b]
        for i in range(N):
            o[i] = abs(c1[i] - c0[i] - hh[i] * sk[i])
        res = _max4(o, res)
    out[0] += comp
    out[1] += obj
    r = out[2]
    out[2] = res if res > r else r


# ----------------------------------------------------------------------------- recursions
@numba.njit(**_OPTS)
def _factor(k_first, count, dirn, iW, h, th, Rd, reg, X, Z, V):
    """Block LDL^T of ``count`` pairs from k_first in direction dirn (+1 top-down, -1 bottom-up).

    Keeps S_k^{-1} = [[X, Z], [Z, V]] of each Schur block; the first pair has no predecessor.
    """
    xp = 0.0
    zp = 0.0
    vp = 0.0
    kp = k_first - dirn
    first = 1
    if 0 <= kp < X.size:  # continue from the previously processed pair
        xp = X[kp]
        zp = Z[kp]
        vp = V[kp]
        first = 0
    k = k_first
    for i in range(count):
        P = -(iW[k] + iW[k + 1]) - reg
        Q = -h[k]
        R = Rd[k]
        if i >= first:
            j = k if dirn < 0 else k - 1  # coupling between pairs j and j + 1
            E = iW[j + 1]
            F = -th[j]
            P -= E * E * xp
            Q -= E * F * zp
            R -= F * F * vp
        idet = 1.0 / (P * R - Q * Q)
        xp = R * idet
        zp = -Q * idet
        vp = P * idet
        X[k] = xp
        Z[k] = zp
        V[k] = vp
        k += dirn


@numba.njit(**_OPTS)
def _forward(k_first, count, dirn, iW, th, bpi, Bs, X, Z, V, Y1, Y2):
    """Forward substitution: z_k = b_k - C (S^{-1} z)_{previous}; stores y_k = S_k^{-1} z_k."""
    y1 = 0.0
    y2 = 0.0
    kp = k_first - dirn
    first = 1
    if 0 <= kp < X.size:
        y1 = Y1[kp]
        y2 = Y2[kp]
        first = 0
    k = k_first
    for i in range(count):
        z1 = bpi[k]
        z2 = Bs[k]
        if i >= first:
            j = k if dirn < 0 else k - 1
            z1 -= iW[j + 1] * y1
            z2 += th[j] * y2
        y1 = X[k] * z1 + Z[k] * z2
        y2 = Z[k] * z1 + V[k] * z2
        Y1[k] = y1
        Y2[k] = y2
        k += dirn


@numba.njit(**_OPTS)
def _backward(k_first, count, dirn, iW, th, X, Z, V, Y1, Y2, dpi, ds):
    """Back substitution x_k = y_k - S_k^{-1} C x_{previous}, from the pair before k_first."""
    k = k_first
    x1 = dpi[k - dirn]
    x2 = ds[k - dirn]
    for i in range(count):
        j = k - 1 if dirn > 0 else k  # coupling between pairs k and k - dirn
        t1 = iW[j + 1] * x1
        t2 = -th[j] * x2
        x1 = Y1[k] - (X[k] * t1 + Z[k] * t2)
        x2 = Y2[k] - (Z[k] * t1 + V[k] * t2)
        dpi[k] = x1
        ds[k] = x2
        k += dirn


# ----------------------------------------------------------------------------- per phase
@numba.njit(**_OPTS)
def _zeta(j, phase, smu, lam, s, u, alpha, beta, Pa, Pb):
    dsj = s[j + 1] - s[j]
    i1 = 1.0 / (u[j] - dsj)
    i2 = 1.0 / (u[j] + dsj)
    isg = 1.0 / (alpha[j] * i1 + beta[j] * i2)
    A1 = alpha[j] * i1
    B1 = beta[j] * i2
    if phase == 0:
        p1 = -alpha[j]
        p2 = -beta[j]
    else:
        p1 = (smu - Pa[j]) * i1 - alpha[j]
        p2 = (smu - Pb[j]) * i2 - beta[j]
    rho = p1 + p2 - (lam - alpha[j] - beta[j])
    return p1 - p2 - (A1 - B1) * rho * isg


@numba.njit(**_OPTS)
def _rhs(k0, k1, m, phase, smu, lam, lo, hi, has_lo, has_hi, s, u, alpha, beta, Pa, Pb, gam, dlt,
         Pg, Pd, bs, zt, Bs, js):
    """Right-hand side Bs of the s rows for slopes [k0, k1) (zt: zeta of jumps [k0, min(k1, m)))."""
    if k1 <= k0:
        return
    jb = min(k1, m)
    if jb > k0:
        al = alpha[k0:jb]
        be = beta[k0:jb]
        _jump_inv(k0, jb, s, u, alpha, beta, js[0], js[1], js[2])
        i1 = js[0, :jb - k0]
        i2 = js[1, :jb - k0]
        ig = js[2, :jb - k0]
        o = zt[k0:jb]
        if phase == 0:
            for i in range(o.size):
                A1 = al[i] * i1[i]
                B1 = be[i] * i2[i]
                p1 = -al[i]
                p2 = -be[i]
                rho = p1 + p2 - (lam - al[i] - be[i])
                o[i] = p1 - p2 - (A1 - B1) * rho * ig[i]
        else:
            qa = Pa[k0:jb]
            qb = Pb[k0:jb]
            for i in range(o.size):
                A1 = al[i] * i1[i]
                B1 = be[i] * i2[i]
                p1 = (smu - qa[i]) * i1[i] - al[i]
                p2 = (smu - qb[i]) * i2[i] - be[i]
                rho = p1 + p2 - (lam - al[i] - be[i])
                o[i] = p1 - p2 - (A1 - B1) * rho * ig[i]
    # zeta of jump k0 - 1 (owned by the other half): recomputed, bitwise the same
    zprev = 0.0
    if k0 >= 1 and k0 - 1 < m:
        zprev = _zeta(k0 - 1, phase, smu, lam, s, u, alpha, beta, Pa, Pb)
    Bs[k0] = bs[k0] + zt[k0] - zprev
    if k1 > k0 + 1:
        a = k0 + 1
        b0 = bs[a:k1]
        z0 = zt[a:k1]
        zm = zt[a - 1:k1 - 1]
        o = Bs[a:k1]
        for i in range(o.size):
            o[i] = b0[i] + z0[i] - zm[i]
    o = Bs[k0:k1]
    N = o.size
    if has_hi:
        ga = gam[k0:k1]
        if phase == 0:
            for i in range(N):
                o[i] += ga[i]
        else:
            qg = Pg[k0:k1]
            sk = s[k0:k1]
            for i in range(N):
                o[i] += ga[i] - (smu + qg[i]) * (1.0 / (hi - sk[i]))
    if has_lo:
        de = dlt[k0:k1]
        if phase == 0:
            for i in range(N):
                o[i] -= de[i]
        else:
            qd = Pd[k0:k1]
            sk = s[k0:k1]
            for i in range(N):
                o[i] += (smu - qd[i]) * (1.0 / (sk[i] - lo)) - de[i]


@numba.njit(**_OPTS)
def _jump_ratio(al, be, w1, w2, dak, dbk, e1, e2):
    """Largest step (at most 1) keeping the multipliers and slacks of one jump positive.

    Selects rather than branches (vectorisable); a NaN ratio is ignored like by ``min(step, r)``.
    """
    cand = 1.0
    r = -al / dak
    r = r if dak < 0 else 1.0
    cand = r if r < cand else cand
    r = -be / dbk
    r = r if dbk < 0 else 1.0
    cand = r if r < cand else cand
    r = -w1 / e1
    r = r if e1 < 0 else 1.0
    cand = r if r < cand else cand
    r = -w2 / e2
    r = r if e2 < 0 else 1.0
    cand = r if r < cand else cand
    return cand


@numba.njit(**_OPTS)
def _pair_ratio(cand, mneg, dm, w, dw):
    """min(cand, mneg / dm if dm < 0, w / dw if dw < 0): a bound's multiplier and slack ratios."""
    r = mneg / dm
    r = r if dm < 0 else 1.0
    cand = r if r < cand else cand
    r = w / dw
    r = r if dw < 0 else 1.0
    cand = r if r < cand else cand
    return cand


@numba.njit(**_OPTS)
def _recover(j0, j1, k0, k1, i0, i1, n, m, phase, smu, lam, lo, hi, has_lo, has_hi, s, u, alpha,
             beta, gam, dlt, Pa, Pb, Pg, Pd, Rc, iW, ds, dpi, du, da, db, dg, dd, dc, js, sc1, sc2,
             sc3, out):
    """Directions of jumps [j0, j1), slopes [k0, k1) and sites [i0, i1) from ds and dpi.

    Folds into ``out`` the step-length bound (at most 1) and, in the predictor, the sums S1,
    S2 of the affine complementarity; phase 0 stores the products Pa, Pb, Pg, Pd, phase 1 the
    directions. Step-length ratios are selects, not branches: a candidate that does not apply is
    1, the start of the minimum, and NaN candidates are ignored as by the reference's ``min``.
    """
    CH = sc1.size
    step = 1.0
    S1 = 0.0
    S2 = 0.0
    for a in range(j0, j1, CH):
        b = min(a + CH, j1)
        al = alpha[a:b]
        be = beta[a:b]
        _jump_inv(a, b, s, u, alpha, beta, js[0], js[1], js[2])
        q1 = js[0, :b - a]
        q2 = js[1, :b - a]
        ig = js[2, :b - a]
        d0 = ds[a:b]
        d1 = ds[a + 1:b + 1]
        s0 = s[a:b]
        s1 = s[a + 1:b + 1]
        uu = u[a:b]
        qa = Pa[a:b]
        qb = Pb[a:b]
        oa = du[a:b]
        ob = da[a:b]
        oc = db[a:b]
        N = b - a
        if phase == 0:
            for i in range(N):
                A1 = al[i] * q1[i]
                B1 = be[i] * q2[i]
                p1 = -al[i]
                p2 = -be[i]
                rho = p1 + p2 - (lam - al[i] - be[i])
                dD = d1[i] - d0[i]
                duk = (rho + (A1 - B1) * dD) * ig[i]
                e1 = duk - dD
                e2 = duk + dD
                dak = p1 - A1 * e1
                dbk = p2 - B1 * e2
                dsj = s1[i] - s0[i]
                w1 = uu[i] - dsj
                w2 = uu[i] + dsj
                sc1[i] = _jump_ratio(al[i], be[i], w1, w2, dak, dbk, e1, e2)
                sc2[i] = al[i] * e1 + dak * w1 + be[i] * e2 + dbk * w2
                sc3[i] = dak * e1 + dbk * e2
                qa[i] = dak * e1
                qb[i] = dbk * e2
        else:
            for i in range(N):
                A1 = al[i] * q1[i]
                B1 = be[i] * q2[i]
                p1 = (smu - qa[i]) * q1[i] - al[i]
                p2 = (smu - qb[i]) * q2[i] - be[i]
                rho = p1 + p2 - (lam - al[i] - be[i])
                dD = d1[i] - d0[i]
                duk = (rho + (A1 - B1) * dD) * ig[i]
                e1 = duk - dD
                e2 = duk + dD
                dak = p1 - A1 * e1
                dbk = p2 - B1 * e2
                dsj = s1[i] - s0[i]
                w1 = uu[i] - dsj
                w2 = uu[i] + dsj
                sc1[i] = _jump_ratio(al[i], be[i], w1, w2, dak, dbk, e1, e2)
                oa[i] = duk
                ob[i] = dak
                oc[i] = dbk
        step = _min4(sc1[:N], step)
        if phase == 0:
            S1 += _sum4(sc2[:N])
            S2 += _sum4(sc3[:N])
    if has_hi or has_lo:
        for a in range(k0, k1, CH):
            b = min(a + CH, k1)
            N = b - a
            dk = ds[a:b]
            sk = s[a:b]
            ga = gam[a:b]
            de = dlt[a:b]
            qg = Pg[a:b] if has_hi else Pg[:0]
            qd = Pd[a:b] if has_lo else Pd[:0]
            og = dg[a:b] if has_hi else dg[:0]
            od = dd[a:b] if has_lo else dd[:0]
            for i in range(N):
                sc1[i] = 1.0
                sc2[i] = 0.0
                sc3[i] = 0.0
            if has_hi:
                if phase == 0:
                    for i in range(N):
                        dsk = dk[i]
                        dgk = -ga[i] + ga[i] * (1.0 / (hi - sk[i])) * dsk
                        w3 = hi - sk[i]
                        sc1[i] = _pair_ratio(sc1[i], -ga[i], dgk, -w3, -dsk)
                        sc2[i] = dgk * w3 - ga[i] * dsk
                        sc3[i] = -(dgk * dsk)
                        qg[i] = dgk * dsk
                else:
                    for i in range(N):
                        dsk = dk[i]
                        i3 = 1.0 / (hi - sk[i])
                        dgk = (smu + qg[i]) * i3 - ga[i] + ga[i] * i3 * dsk
                        w3 = hi - sk[i]
                        sc1[i] = _pair_ratio(sc1[i], -ga[i], dgk, -w3, -dsk)
                        og[i] = dgk
            if has_lo:
                if phase == 0:
                    for i in range(N):
                        dsk = dk[i]
                        ddk = -de[i] - de[i] * (1.0 / (sk[i] - lo)) * dsk
                        w4 = sk[i] - lo
                        sc1[i] = _pair_ratio(sc1[i], -de[i], ddk, -w4, dsk)
                        sc2[i] += ddk * w4 + de[i] * dsk
                        sc3[i] += ddk * dsk
                        qd[i] = ddk * dsk
                else:
                    for i in range(N):
                        dsk = dk[i]
                        i4 = 1.0 / (sk[i] - lo)
                        ddk = (smu - qd[i]) * i4 - de[i] - de[i] * i4 * dsk
                        w4 = sk[i] - lo
                        sc1[i] = _pair_ratio(sc1[i], -de[i], ddk, -w4, dsk)
                        od[i] = ddk
            step = _min4(sc1[:N], step)
            if phase == 0:
                S1 += _sum4(sc2[:N])
                S2 += _sum4(sc3[:N])
    if phase == 1:
        a = max(i0, 1)
        ib = min(i1, n)
        if ib > a:
            rr = Rc[a:ib]
            pm = dpi[a - 1:ib - 1]
            p0 = dpi[a:ib]
            ww = iW[a:ib]
            o = dc[a:ib]
            for i in range(o.size):
                o[i] = (-rr[i] - (pm[i] - p0[i])) * ww[i]
        if i1 == n + 1 and i0 <= n:
            dc[n] = (-Rc[n] - (dpi[n - 1] - 0.0)) * iW[n]
        if i0 == 0:
            dc[0] = (-Rc[0] + dpi[0]) * iW[0]
    r = out[0]
    out[0] = step if step < r else r
    out[1] += S1
    out[2] += S2


@numba.njit(**_OPTS)
def _axpy(step, x, d):
    for i in range(x.size):
        x[i] += step * d[i]


@numba.njit(**_OPTS)
def _update(k0, k1, i0, i1, m, step, has_lo, has_hi, s, pi, gam, dlt, c, u, alpha, beta, ds, dpi,
            dg, dd, dc, du, da, db):
    if k1 > k0:
        _axpy(step, s[k0:k1], ds[k0:k1])
        _axpy(step, pi[k0:k1], dpi[k0:k1])
        if has_hi:
            _axpy(step, gam[k0:k1], dg[k0:k1])
        if has_lo:
            _axpy(step, dlt[k0:k1], dd[k0:k1])
    if i1 > i0:
        _axpy(step, c[i0:i1], dc[i0:i1])
    jb = min(k1, m)
    if jb > k0:
        _axpy(step, u[k0:jb], du[k0:jb])
        _axpy(step, alpha[k0:jb], da[k0:jb])
        _axpy(step, beta[k0:jb], db[k0:jb])


# ----------------------------------------------------------------------------- halves
#: Pairs per block: every pass over a half goes block by block, the element-wise loops of a block
#: and its recursion together, so that the block's data stay in the L2 cache.
_BLOCK = 512


@numba.njit(**_OPTS)
def _half_factor(t, p, n, m, lam, lo, hi, use_tv, has_lo, has_hi, reg, W, iW, y, h, s, c, pi, u,
                 alpha, beta, gam, dlt, th, Rc, bs, bpi, Rd, X, Z, V, sc, out):
    """Slacks, residuals, matrix and factor of one half (t = 0: pairs [0, p), t = 1: [p, n)).

    The bottom half runs downwards; its block [a, b) sets the s-diagonal and factors pairs
    (a, b] (pair a needs th of jump a - 1, set by the next block; Rd[p] is set at the interface).
    """
    out[0] = 0.0
    out[1] = 0.0
    out[2] = 0.0
    B = _BLOCK
    if t == 0:
        for a in range(0, p, B):
            b = min(a + B, p)
            _prep_jumps(a, min(b, m), s, u, alpha, beta, th)
            _prep_slopes(a, b, s, lo, hi, has_lo, has_hi, gam, dlt, reg, th, Rd)
            _residuals(a, b, n, m, use_tv, has_lo, has_hi, W, iW, y, h, c, s, pi, alpha, beta, gam,
                       dlt, Rc, bs, bpi)
            _reductions(a, b, n, m, lam, lo, hi, has_lo, has_hi, W, y, h, c, s, u, alpha, beta, gam,
                        dlt, Rc, bs, bpi, sc, out)
            _factor(a, b - a, 1, iW, h, th, Rd, reg, X, Z, V)
    else:
        b = n
        while b > p:
            a = max(b - B, p)
            r0 = max(a + 1, p + 1)
            r1 = min(b + 1, n)
            _prep_jumps(a, min(b, m), s, u, alpha, beta, th)
            _prep_slopes(r0, r1, s, lo, hi, has_lo, has_hi, gam, dlt, reg, th, Rd)
            _residuals(a, b, n, m, use_tv, has_lo, has_hi, W, iW, y, h, c, s, pi, alpha, beta, gam,
                       dlt, Rc, bs, bpi)
            _reductions(a, b, n, m, lam, lo, hi, has_lo, has_hi, W, y, h, c, s, u, alpha, beta, gam,
                        dlt, Rc, bs, bpi, sc, out)
            if r1 > r0:
                _factor(r1 - 1, r1 - r0, -1, iW, h, th, Rd, reg, X, Z, V)
            b = a


@numba.njit(**_OPTS)
def _half_forward(t, p, n, m, phase, smu, lam, lo, hi, has_lo, has_hi, s, u, alpha, beta, Pa, Pb,
                  gam, dlt, Pg, Pd, bs, zt, Bs, iW, th, bpi, X, Z, V, Y1, Y2, js):
    """Right-hand side and forward substitution of one half (the bottom one upwards from n - 1)."""
    B = _BLOCK
    if t == 0:
        for a in range(0, p, B):
            b = min(a + B, p)
            _rhs(a, b, m, phase, smu, lam, lo, hi, has_lo, has_hi, s, u, alpha, beta, Pa, Pb, gam,
                 dlt, Pg, Pd, bs, zt, Bs, js)
            _forward(a, b - a, 1, iW, th, bpi, Bs, X, Z, V, Y1, Y2)
    else:
        b = n
        while b > p:
            a = max(b - B, p)
            _rhs(a, b, m, phase, smu, lam, lo, hi, has_lo, has_hi, s, u, alpha, beta, Pa, Pb, gam,
                 dlt, Pg, Pd, bs, zt, Bs, js)
            k0 = max(a, p + 1)
            if b > k0:
                _forward(b - 1, b - k0, -1, iW, th, bpi, Bs, X, Z, V, Y1, Y2)
            b = a


@numba.njit(**_OPTS)
def _half_backward(t, p, n, m, phase, smu, lam, lo, hi, has_lo, has_hi, s, u, alpha, beta, gam, dlt,
                   Pa, Pb, Pg, Pd, Rc, iW, th, X, Z, V, Y1, Y2, ds, dpi, du, da, db, dg, dd, dc, js,
                   sc1, sc2, sc3, out):
    """Back substitution from the middle pair outwards, then each block's directions and step.

    Top half, block [a, b) (downwards): jumps [a, b), sites a+1..b (and 0). Bottom half, block
    [a, b) (upwards): jumps [a - 1, b - 1) (jump b - 1 needs ds[b] of the next block), sites
    [a, b) (and n).
    """
    out[0] = 1.0
    out[1] = 0.0
    out[2] = 0.0
    B = _BLOCK
    if t == 0:
        b = p
        while b > 0:
            a = max(b - B, 0)
            _backward(b - 1, b - a, -1, iW, th, X, Z, V, Y1, Y2, dpi, ds)
            i0 = a + 1 if a > 0 else 0
            _recover(a, min(b, m), a, b, i0, b + 1, n, m, phase, smu, lam, lo, hi, has_lo, has_hi,
                     s, u, alpha, beta, gam, dlt, Pa, Pb, Pg, Pd, Rc, iW, ds, dpi, du, da, db, dg,
                     dd, dc, js, sc1, sc2, sc3, out)
            b = a
    else:
        a = p
        while a < n:
            b = min(a + B, n)
            k0 = max(a, p + 1)
            if b > k0:
                _backward(k0, b - k0, 1, iW, th, X, Z, V, Y1, Y2, dpi, ds)
            i1 = b + 1 if b == n else b
            _recover(max(a - 1, p), min(b - 1, m), a, b, k0, i1, n, m, phase, smu, lam, lo, hi,
                     has_lo, has_hi, s, u, alpha, beta, gam, dlt, Pa, Pb, Pg, Pd, Rc, iW, ds, dpi,
                     du, da, db, dg, dd, dc, js, sc1, sc2, sc3, out)
            a = b


@numba.njit(**_OPTS)
def _half_update(t, p, n, m, step, has_lo, has_hi, s, pi, gam, dlt, c, u, alpha, beta, ds, dpi, dg,
                 dd, dc, du, da, db):
    if t == 0:
        _update(0, p, 0, p, m, step, has_lo, has_hi, s, pi, gam, dlt, c, u, alpha, beta, ds, dpi,
                dg, dd, dc, du, da, db)
    else:
        _update(p, n, p, n + 1, m, step, has_lo, has_hi, s, pi, gam, dlt, c, u, alpha, beta, ds,
                dpi, dg, dd, dc, du, da, db)


@numba.njit(**_OPTS)
def _interface_factor(p, n, reg, lo, hi, has_lo, has_hi, s, gam, dlt, th, iW, h, Rd, X, Z, V):
    """Middle pair p: its Schur block after both halves are eliminated, and its inverse."""
    Rd[p] = _rd_at(p, reg, lo, hi, has_lo, has_hi, s, gam, dlt, th)
    P = -(iW[p] + iW[p + 1]) - reg
    Q = -h[p]
    R = Rd[p]
    if p >= 1:
        E = iW[p]
        F = -th[p - 1]
        P -= E * E * X[p - 1]
        Q -= E * F * Z[p - 1]
        R -= F * F * V[p - 1]
    if p + 1 < n:
        E = iW[p + 1]
        F = -th[p]
        P -= E * E * X[p + 1]
        Q -= E * F * Z[p + 1]
        R -= F * F * V[p + 1]
    idet = 1.0 / (P * R - Q * Q)
    X[p] = R * idet
    Z[p] = -Q * idet
    V[p] = P * idet


@numba.njit(**_OPTS)
def _interface_solve(p, n, iW, th, bpi, Bs, X, Z, V, Y1, Y2, dpi, ds):
    """Middle pair p: its right-hand side after both forward substitutions, and its solution."""
    z1 = bpi[p]
    z2 = Bs[p]
    if p >= 1:
        z1 -= iW[p] * Y1[p - 1]
        z2 += th[p - 1] * Y2[p - 1]
    if p + 1 < n:
        z1 -= iW[p + 1] * Y1[p + 1]
        z2 += th[p] * Y2[p + 1]
    dpi[p] = X[p] * z1 + Z[p] * z2
    ds[p] = Z[p] * z1 + V[p] * z2


# ----------------------------------------------------------------------------- drivers
# The scalar steps between passes are Numba functions shared by both drivers, so that the serial
# (Numba) and the threaded (Python) driver compute bitwise the same iterates.
@numba.njit(**_OPTS)
def _after_factor(part, npair, tol, ymax):
    """Complementarity, objective and residual from the partials; returns (comp, obj, mu, done)."""
    comp = part[0, 0] + part[1, 0]
    obj = part[0, 1] + part[1, 1]
    res = part[0, 2]
    r = part[1, 2]
    res = r if r > res else res
    mu = comp / npair if npair > 0 else 0.0
    done = comp <= 0.01 * tol * (1.0 + abs(obj)) and res <= 1e-10 * (1.0 + ymax)
    return comp, obj, mu, done


@numba.njit(**_OPTS)
def _after_phase(part, phase, comp, mu, smu):
    """Step bound from the partials; after the predictor, Mehrotra's centring target sigma*mu."""
    step = part[0, 0]
    r = part[1, 0]
    step = r if r < step else step
    if phase == 0:
        S1 = part[0, 1] + part[1, 1]
        S2 = part[0, 2] + part[1, 2]
        comp_aff = comp + step * S1 + step * step * S2
        sigma = (comp_aff / comp) ** 3 if comp > 0 else 0.0
        smu = sigma * mu
    return step, smu


@numba.njit(**_OPTS)
def _final_step(step, dc, n, comp, obj, tol):
    """Damped step; stop (returning converged or not) when it or the directions are unusable.

    At the limit of the arithmetic the directions can turn non-finite (seen at 1e6 sites without
    bounds after complementarity had converged): stop on the last finite iterate. dc[0] depends on
    the whole forward sweep and the top half's back substitution, dc[n] on the bottom half's.
    """
    step = min(1.0, 0.995 * step)
    stop = (not math.isfinite(step) or step < 1e-12 or not math.isfinite(dc[0])
            or not math.isfinite(dc[n]))
    return step, stop, comp <= 0.01 * tol * (1.0 + abs(obj))


@numba.njit(**_OPTS)
def _ymax(y):
    ymax = 0.0
    for k in range(y.size):
        ymax = max(ymax, abs(y[k]))
    return ymax


def _workspace(n, m, has_lo, has_hi):
    """Arrays of the iterations (the same in both drivers)."""
    nb_hi = n if has_hi else 0
    nb_lo = n if has_lo else 0
    K = n + 1
    e = np.empty
    ws = dict(
        th=np.zeros(n), zt=np.zeros(n), Pa=np.zeros(m), Pb=np.zeros(m), Pg=np.zeros(nb_hi),
        Pd=np.zeros(nb_lo), Rc=e(K), bs=e(n), bpi=e(n), Bs=e(n), Rd=e(n), X=e(n), Z=e(n), V=e(n),
        Y1=e(n), Y2=e(n), ds=e(n), dpi=e(n), dc=e(K), du=e(m), da=e(m), db=e(m), dg=e(nb_hi),
        dd=e(nb_lo), scr=e((2, 6, _BLOCK)), part=np.zeros((2, 3)),
    )
    return ws, 2 * m + nb_hi + nb_lo


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _loop_serial(W, iW, y, h, lam, lo, hi, use_tv, has_lo, has_hi, s, c, pi, u, alpha, beta, gam,
                 dlt, tol, max_iter, reg, th, zt, Pa, Pb, Pg, Pd, Rc, bs, bpi, Bs, Rd, X, Z, V, Y1,
                 Y2, ds, dpi, dc, du, da, db, dg, dd, scr, part, npair):
    """The iterations with the two halves one after the other on the calling thread."""
    n = h.size
    m = n - 1 if use_tv else 0
    p = n // 2
    ymax = _ymax(y)
    for it in range(1, max_iter + 1):
        # ---- slacks, residuals, matrix, factor (two halves, then the middle pair)
        for t in range(2):
            _half_factor(t, p, n, m, lam, lo, hi, use_tv, has_lo, has_hi, reg, W, iW, y, h, s, c,
                         pi, u, alpha, beta, gam, dlt, th, Rc, bs, bpi, Rd, X, Z, V, scr[t, 0],
                         part[t])
        _interface_factor(p, n, reg, lo, hi, has_lo, has_hi, s, gam, dlt, th, iW, h, Rd, X, Z, V)
        comp, obj, mu, done = _after_factor(part, npair, tol, ymax)
        if done:
            return it, True
        smu = 0.0
        step = 1.0
        for phase in range(2):
            # ---- right-hand side and forward substitution, middle pair, back substitution
            for t in range(2):
                _half_forward(t, p, n, m, phase, smu, lam, lo, hi, has_lo, has_hi, s, u, alpha,
                              beta, Pa, Pb, gam, dlt, Pg, Pd, bs, zt, Bs, iW, th, bpi, X, Z, V, Y1,
                              Y2, scr[t, 3:6])
            _interface_solve(p, n, iW, th, bpi, Bs, X, Z, V, Y1, Y2, dpi, ds)
            for t in range(2):
                _half_backward(t, p, n, m, phase, smu, lam, lo, hi, has_lo, has_hi, s, u, alpha,
                               beta, gam, dlt, Pa, Pb, Pg, Pd, Rc, iW, th, X, Z, V, Y1, Y2, ds, dpi,
                               du, da, db, dg, dd, dc, scr[t, 3:6], scr[t, 0], scr[t, 1],
                               scr[t, 2], part[t])
            step, smu = _after_phase(part, phase, comp, mu, smu)
        step, stop, conv = _final_step(step, dc, n, comp, obj, tol)
        if stop:
            return it, conv
        # ---- apply the step
        for t in range(2):
            _half_update(t, p, n, m, step, has_lo, has_hi, s, pi, gam, dlt, c, u, alpha, beta, ds,
                         dpi, dg, dd, dc, du, da, db)
    return max_iter, False


_POOL = None
_POOL_LOCK = threading.Lock()


def _pool():
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tvspline-ipm")
        return _POOL


def _both(f, args0, args1):
    """f(*args0) here and f(*args1) on the worker thread; if the worker has not started it by the
    time the first half is done (busy machine, or another fit using the pool), run it here too."""
    fut = _pool().submit(f, *args1)
    f(*args0)
    if fut.cancel():
        f(*args1)
    else:
        fut.result()


def _loop_threaded(W, iW, y, h, lam, lo, hi, use_tv, has_lo, has_hi, s, c, pi, u, alpha, beta, gam,
                   dlt, tol, max_iter, reg, th, zt, Pa, Pb, Pg, Pd, Rc, bs, bpi, Bs, Rd, X, Z, V,
                   Y1, Y2, ds, dpi, dc, du, da, db, dg, dd, scr, part, npair):
    """The same iterations as :func:`_loop_serial`, the two halves of each pass on two threads."""
    n = h.size
    m = n - 1 if use_tv else 0
    p = n // 2
    ymax = _ymax(y)
    for it in range(1, max_iter + 1):
        _both(_half_factor, *[
            (t, p, n, m, lam, lo, hi, use_tv, has_lo, has_hi, reg, W, iW, y, h, s, c, pi, u, alpha,
             beta, gam, dlt, th, Rc, bs, bpi, Rd, X, Z, V, scr[t, 0], part[t]) for t in (0, 1)])
        _interface_factor(p, n, reg, lo, hi, has_lo, has_hi, s, gam, dlt, th, iW, h, Rd, X, Z, V)
        comp, obj, mu, done = _after_factor(part, npair, tol, ymax)
        if done:
            return it, True
        smu = 0.0
        step = 1.0
        for phase in (0, 1):
            _both(_half_forward, *[
                (t, p, n, m, phase, smu, lam, lo, hi, has_lo, has_hi, s, u, alpha, beta, Pa, Pb,
                 gam, dlt, Pg, Pd, bs, zt, Bs, iW, th, bpi, X, Z, V, Y1, Y2, scr[t, 3:6])
                for t in (0, 1)])
            _interface_solve(p, n, iW, th, bpi, Bs, X, Z, V, Y1, Y2, dpi, ds)
            _both(_half_backward, *[
                (t, p, n, m, phase, smu, lam, lo, hi, has_lo, has_hi, s, u, alpha, beta, gam, dlt,
                 Pa, Pb, Pg, Pd, Rc, iW, th, X, Z, V, Y1, Y2, ds, dpi, du, da, db, dg, dd, dc,
                 scr[t, 3:6], scr[t, 0], scr[t, 1], scr[t, 2], part[t]) for t in (0, 1)])
            step, smu = _after_phase(part, phase, comp, mu, smu)
        step, stop, conv = _final_step(step, dc, n, comp, obj, tol)
        if stop:
            return it, conv
        _both(_half_update, *[
            (t, p, n, m, step, has_lo, has_hi, s, pi, gam, dlt, c, u, alpha, beta, ds, dpi, dg, dd,
             dc, du, da, db) for t in (0, 1)])
    return max_iter, False


def ipm_loop_twisted(W, y, h, lam, lo, hi, use_tv, has_lo, has_hi, s, c, pi, u, alpha, beta, gam,
                     dlt, tol, max_iter, reg, par_min=None):
    """Drop-in replacement of ``_ipm_loop_reference`` (arrays updated in place); returns
    (iterations, converged).

    The two halves of every pass run on two threads when there are at least ``par_min`` slopes
    (default :data:`PARALLEL_MIN_PAIRS`), else one after the other. The iterates are the same
    either way, bitwise.
    """
    n = h.size
    m = n - 1 if use_tv else 0
    if par_min is None:
        par_min = PARALLEL_MIN_PAIRS
    ws, npair = _workspace(n, m, has_lo, has_hi)
    iW = 1.0 / W
    threaded = n >= par_min
    loop = _loop_threaded if threaded else _loop_serial
    scalars = (float(lam), float(lo), float(hi), bool(use_tv), bool(has_lo), bool(has_hi))
    if not threaded and not _THREADED_LOADED:
        _load_threaded(W, iW, y, h, scalars, s, c, pi, u, alpha, beta, gam, dlt, reg, ws, npair)
    it, conv = loop(W, iW, y, h, *scalars, s, c, pi, u, alpha, beta, gam, dlt, float(tol),
                    int(max_iter), float(reg), **ws, npair=int(npair))
    return int(it), bool(conv)


_THREADED_LOADED = False


def _load_threaded(W, iW, y, h, scalars, s, c, pi, u, alpha, beta, gam, dlt, reg, ws, npair):
    """Load the threaded driver's kernels (from Numba's cache, ~0.1 s) during a process's first
    small fit, on copies of its arrays, one iteration; so that the first large fit does not pay
    for it. The threaded kernels are separate dispatchers from the serial driver's inlined ones.
    """
    global _THREADED_LOADED
    _THREADED_LOADED = True
    state = [a.copy() for a in (s, c, pi, u, alpha, beta, gam, dlt)]
    work = {k: v.copy() for k, v in ws.items()}
    _loop_threaded(W, iW, y, h, *scalars, *state, 0.0, 1, float(reg), **work, npair=int(npair))
