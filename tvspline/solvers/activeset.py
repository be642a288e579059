r"""Exact solution of the squared-loss problem once its structure is known.

At a solution the slope sequence :math:`s_1, \dots, s_{K-1}` is piecewise constant: *runs* of
equal slopes separated by knots, each run either *free* (slope strictly inside the bounds) or
*fixed* at a bound. Given the runs and the signs :math:`\zeta_r` of the slope jumps between them,
TV2 is the linear function :math:`\sum_r \zeta_r(\sigma_{r+1} - \sigma_r)` and the problem becomes
an unconstrained least-squares problem. Its unknowns are the values at the run boundaries, with
the boundaries joined by fixed runs merged into one *group* (their values differ by known
amounts), so that the fitted values are :math:`c = B\omega + e` with at most two nonzeros per row
of :math:`B` in adjacent columns: the normal equations are tridiagonal and solved in
:math:`O(K)` (:func:`scipy.linalg.solveh_banded`).

:func:`polish` guesses the structure from an approximate solution, solves the reduced problem
exactly and repairs the guess (primal-dual active-set steps) until the dual certificate closes the
gap. Its answers have knots only where the slope really changes, and slopes exactly at a bound.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from scipy.linalg import solveh_banded

__all__ = ["polish", "runs_from_slopes", "solve_reduced", "solve_structure"]


def runs_from_slopes(slopes, lo, hi, jump_tol, bound_tol):
    """Group slopes into runs.

    Returns
    -------
    starts : ndarray of int
        First slope index of each run (the run ends before the next start).
    fixed : ndarray of float
        The bound value of each fixed run, NaN for a free run.
    """
    s = np.asarray(slopes, dtype=np.float64)
    n = s.size
    kind = np.zeros(n)  # 0 free, +1 hi, -1 lo
    if lo == hi:
        kind[:] = 1.0
    else:
        if math.isfinite(hi):
            kind[s >= hi - bound_tol] = 1.0
        if math.isfinite(lo):
            kind[s <= lo + bound_tol] = -1.0
    new = np.ones(n, dtype=bool)
    same_kind = kind[1:] == kind[:-1]
    free = kind[1:] == 0
    close = np.abs(np.diff(s)) <= jump_tol
    new[1:] = ~(same_kind & (~free | close))
    starts = np.flatnonzero(new)
    k = kind[starts]
    fixed = np.where(k > 0, hi, np.where(k < 0, lo, np.nan))
    return starts, fixed


def solve_reduced(t, site_w, site_y, lam, starts, fixed, signs):
    """Solve the squared-loss problem restricted to a run structure.

    Parameters
    ----------
    t : ndarray, shape (K,)
        Distinct sites.
    site_w, site_y : ndarray, shape (K,)
        Merged weights and targets.
    lam : float
        Regularisation weight.
    starts, fixed : ndarray
        Runs as returned by :func:`runs_from_slopes`.
    signs : ndarray, shape (P-1,)
        Sign of the slope jump between consecutive runs (+1, -1).

    Returns
    -------
    bk : ndarray of int, shape (P+1,)
        Site indices of the run boundaries.
    u : ndarray, shape (P+1,)
        Values at the run boundaries: the spline is ``LinearSpline(t[bk], u)``.
    """
    K = t.size
    P = starts.size
    bk = np.append(starts, K - 1)  # boundary sites
    L = t[bk[1:]] - t[bk[:-1]]
    is_fixed = ~np.isnan(fixed)
    # groups of boundaries linked by fixed runs; kappa = known offset of a boundary in its group
    grp = np.zeros(P + 1, dtype=np.int64)
    kappa = np.zeros(P + 1)
    grp[1:] = np.cumsum(~is_fixed)
    fixed_value = np.where(is_fixed, fixed, 0.0)
    step = fixed_value * L
    # kappa accumulates within a group and restarts at 0 after a free run
    for r in range(P):
        kappa[r + 1] = kappa[r] + step[r] if is_fixed[r] else 0.0
    G = int(grp[-1]) + 1

    # normal equations (tridiagonal, upper form for solveh_banded), one pass over the sites
    diag, off, rhs = _normal_equations(t, site_w, site_y, bk, grp, kappa, fixed_value, is_fixed, L, G)
    # TV2 with known signs: lam * sum_r sigma_r (zeta_{r-1} - zeta_r), sigma_r = (u_{r+1}-u_r)/L_r
    zeta = np.concatenate([[0.0], np.asarray(signs, dtype=np.float64), [0.0]])
    gamma = lam * (zeta[:-1] - zeta[1:])  # coefficient of sigma_r
    free_runs = np.flatnonzero(~is_fixed)
    coef = gamma[free_runs] / L[free_runs]
    gl = grp[free_runs]
    np.subtract.at(rhs, gl + 1, coef)
    np.add.at(rhs, gl, coef)
    if G == 1:
        omega = rhs / diag
    else:
        ab = np.zeros((2, G))
        ab[0, 1:] = off
        ab[1] = diag
        omega = solveh_banded(ab, rhs, check_finite=False)
    u = omega[grp] + kappa
    return bk, u


@numba.njit(cache=True)
def _normal_equations(t, w, y, bk, grp, kappa, fixed_value, is_fixed, L, G):
    """Tridiagonal normal equations of the run-structured least-squares problem.

    The value at site ``k`` of run ``r`` is ``a_k omega[g] + b_k omega[g + 1] + e_k`` with ``g``
    the group of the run's left boundary: on a free run ``a = 1 - theta``, ``b = theta``,
    ``e = (1 - theta) kappa_r``; on a fixed run ``a = 1``, ``b = 0``, ``e = kappa_r + s (t - t_r)``.
    """
    diag = np.zeros(G + 1)
    off = np.zeros(G + 1)
    rhs = np.zeros(G + 1)
    P = bk.size - 1
    K = t.size
    for r in range(P):
        k0 = bk[r]
        k1 = bk[r + 1] if r < P - 1 else K  # the last site belongs to the last run
        g = grp[r]
        t0 = t[k0]
        Lr = L[r]
        kap = kappa[r]
        if is_fixed[r]:
            sv = fixed_value[r]
            dg = 0.0
            rh = 0.0
            for k in range(k0, k1):
                e = kap + sv * (t[k] - t0)
                dg += w[k]
                rh += w[k] * (y[k] - e)
            diag[g] += dg
            rhs[g] += rh
        else:
            d0 = 0.0
            d1 = 0.0
            o = 0.0
            r0_ = 0.0
            r1_ = 0.0
            for k in range(k0, k1):
                th = (t[k] - t0) / Lr
                a = 1.0 - th
                e = a * kap
                res = w[k] * (y[k] - e)
                d0 += w[k] * a * a
                d1 += w[k] * th * th
                o += w[k] * a * th
                r0_ += res * a
                r1_ += res * th
            diag[g] += d0
            diag[g + 1] += d1
            off[g] += o
            rhs[g] += r0_
            rhs[g + 1] += r1_
    return diag[:G], off[: G - 1], rhs[:G]


def merge_wrong_signs(sig, starts, fixed, signs):
    """Merge free runs whose solved slopes jump with the wrong sign.

    Nearly equal neighbouring slopes read as two runs come back from :func:`solve_reduced` with a
    jump of the sign opposite to the assumed one: they are one run. Returns the merged
    ``(starts, fixed, signs)`` and whether anything was merged.
    """
    d = np.diff(sig)
    wrong = (np.sign(d) != signs) & (d != 0) & np.isnan(fixed[:-1]) & np.isnan(fixed[1:])
    if not wrong.any():
        return starts, fixed, signs, False
    # removing run r+1's start merges runs r and r+1
    drop = np.flatnonzero(wrong)
    return np.delete(starts, drop + 1), np.delete(fixed, drop + 1), np.delete(signs, drop), True


def solve_structure(problem, run_slopes, slack=0.0, max_merges=8):
    """The exact solution for the run structure of piecewise-constant slopes, if consistent.

    ``run_slopes`` must be exactly equal within runs and exactly at a bound on runs there (as
    ``tvspline._refine.snap_slopes`` returns them). Returns ``(bk, u)``, the run boundaries (site
    indices) and the values there, or ``None`` when the exact solution of that structure leaves
    the bounds by more than ``slack`` or changes the sign of a slope jump (then the structure is
    not optimal); a free run whose jump has the wrong sign is merged with its neighbour and the
    structure solved again, at most ``max_merges`` times.
    """
    lo, hi = problem.bounds.lo, problem.bounds.hi
    starts, fixed = runs_from_slopes(run_slopes, lo, hi, 0.0, 0.0)
    signs = _jump_signs(run_slopes[starts])
    for _ in range(max_merges + 1):
        bk, u = solve_reduced(problem.t, problem.site_w, problem.site_y, problem.lam, starts, fixed, signs)
        if not np.all(np.isfinite(u)):
            return None
        sig = _run_slopes(problem.t, bk, u)
        d = np.diff(sig)
        wrong = (np.sign(d) != signs) & (d != 0)
        beyond = np.isnan(fixed) & ((sig > hi + slack) | (sig < lo - slack))
        if not wrong.any() and not beyond.any():
            return bk, u
        starts, fixed, signs, merged = merge_wrong_signs(sig, starts, fixed, signs)
        if not merged:
            return None
    return None


def _run_slopes(t, bk, u):
    return np.diff(u) / (t[bk[1:]] - t[bk[:-1]])


def _jump_signs(sig):
    d = np.sign(np.diff(sig))
    d[d == 0] = 1.0
    return d


def _structure_dual(t, site_w, site_y, bk, u):
    """The dual estimate ``v_k = h_k sum_{j<=k} W_j (c_j - y_j)`` of the reduced solution.

    The active-set checks read it in free runs (:func:`_dual_splits`) and in runs at a bound
    (:func:`_fixed_run_violations`); it is computed once per iteration and shared.
    """
    c = np.interp(t, t[bk], u)  # exact: every boundary bk is a site, the spline is linear between
    return np.diff(t) * np.cumsum(site_w * (c - site_y))[:-1]


def _dual_splits(v, lam, bk, fixed, signs, move_knots=True):
    """Sites inside free runs where the dual path leaves [-lam, lam]: (site, sign) to split at.

    Inside a free run the dual variable follows ``z_k = z_{k-1} - v_k`` exactly, starting from the
    jump sign of the left boundary times lam (0 at the first site).
    """
    out = []
    P = bk.size - 1
    zeta = np.concatenate([[0.0], signs, [0.0]])
    for r in range(P):
        if not np.isnan(fixed[r]):
            continue
        a, b = bk[r], bk[r + 1]  # slopes a..b-1, interior sites a+1..b-1
        if b - a < 2:
            continue
        csum = np.cumsum(v[a : b - 1])
        z = zeta[r] * lam - csum
        viol = np.abs(z) - lam
        i = int(np.argmax(viol))
        # a violation must exceed what rounding in the partial sums can produce
        noise = 1e-12 * lam + 64 * np.finfo(float).eps * float(np.sum(np.abs(v[a:b])))
        if viol[i] > noise:
            site, sgn = a + 1 + i, np.sign(z[i])
            # next to a boundary with a knot of the same sign: the knot belongs here instead
            if move_knots and site == a + 1 and r > 0 and sgn == zeta[r]:
                out.append(("move", r, site, sgn))
            elif move_knots and site == b - 1 and r < P - 1 and sgn == zeta[r + 1]:
                out.append(("move", r + 1, site, sgn))
            else:
                out.append(("split", r, site, sgn))
    return out


@numba.njit(cache=True)
def _fixed_run_scan(v, a, b, za, zb, lam, noise):
    """Greedy dual path along a run at the upper bound (nu >= 0 may only push z up).

    Returns ``(code, site)``: 0 feasible; 1 the path exceeds +lam at ``site`` even without any
    push (the slope must leave the bound there); 2 the path, pushed up only where it would leave
    the box, ends above ``zb`` (the total multiplier would be negative: leave the bound).
    """
    z = za
    for k in range(a, b):
        z -= v[k]
        if k < b - 1:
            if z < -lam:
                z = -lam
            elif z > lam + noise:
                return 1, k + 1
    if z > zb + noise:
        return 2, b
    return 0, b


def _fixed_run_violations(v, lam, bk, fixed, signs, lo, hi):
    """Runs at a bound that the dual certificate says should (partly) leave it.

    Along a run at the upper bound the dual path is ``z_k = z_{k-1} - v_k + nu_k`` with
    ``nu >= 0``; at the lower bound ``nu <= 0`` (mirror image). Returns a list of
    ``("release", r)`` (the whole run becomes free) and ``("split", r, site)``: the path exceeds
    ``+lam`` at ``site`` even without any push, and ``z = +lam`` marks a rising slope, so the jump
    onto the bound belongs there: the run is free before ``site`` and at the bound after it.
    """
    if lo == hi:
        return []
    zeta = np.concatenate([[0.0], signs, [0.0]])
    out = []
    for r in range(bk.size - 1):
        if np.isnan(fixed[r]):
            continue
        a, b = int(bk[r]), int(bk[r + 1])
        sgn = 1.0 if fixed[r] == hi else -1.0  # mirror the lower bound onto the upper one
        seg = sgn * v[a:b]
        noise = 1e-12 * lam + 64 * np.finfo(float).eps * float(np.sum(np.abs(seg)))
        code, site = _fixed_run_scan(seg, 0, b - a, sgn * zeta[r] * lam, sgn * zeta[r + 1] * lam, lam, noise)
        if code == 1 and a < a + site < b:
            out.append(("split", r, a + site))
        elif code:
            out.append(("release", r))
    return out


def _smooth_tiny_segments(t, s, rel=1e-6):
    """Give segments much shorter than the span the slope of their longer neighbour.

    A solver determines the slope over a nearly tied pair of sites only to its tolerance divided
    by the spacing, so a structure read from it would invent knots there; the active-set steps
    put back any knot the data really need. The neighbours are the nearest segments (by index)
    on each side that are not tiny themselves.
    """
    h = np.diff(t)
    tiny = h < rel * (t[-1] - t[0])
    if not tiny.any() or tiny.all():
        return s
    good = np.flatnonzero(~tiny)
    k = np.flatnonzero(tiny)
    left = np.searchsorted(good, k, side="right") - 1
    right = np.searchsorted(good, k, side="left")
    left_seg = good[np.clip(left, 0, good.size - 1)]
    right_seg = good[np.clip(right, 0, good.size - 1)]
    has_left = left >= 0
    has_right = right < good.size
    # the longer of the two neighbours (ties go left); a missing side loses
    use_left = has_left & (~has_right | (h[left_seg] >= h[right_seg]))
    out = s.copy()
    out[k] = np.where(use_left, s[left_seg], s[right_seg])
    return out


def polish(problem, slopes0, *, max_iter: int = 50, jump_tol: float = 1e-7, bound_tol: float = 1e-7,
           smooth_tiny: bool = True, move_knots: bool = True):
    """Primal-dual active-set refinement for the squared loss, from approximate slopes.

    Returns ``(bk, u, n_iter, converged)``: the spline ``LinearSpline(t[bk], u)`` solves the
    reduced problem of the final structure exactly; ``converged`` says whether no primal or dual
    violation remained (the certificate in :func:`tvspline.fit` is the judge).
    """
    t, W, Y, lam = problem.t, problem.site_w, problem.site_y, problem.lam
    lo, hi = problem.bounds.lo, problem.bounds.hi
    s0 = np.asarray(slopes0, dtype=np.float64)
    if smooth_tiny:
        s0 = _smooth_tiny_segments(t, s0)
    scale = max(1.0, float(np.max(np.abs(s0))))
    starts, fixed = runs_from_slopes(s0, lo, hi, jump_tol * scale, bound_tol * scale)
    # jump signs from the mean slope of each run
    h = np.diff(t)
    mean = np.add.reduceat(s0 * h, starts) / np.add.reduceat(h, starts)
    sig0 = np.where(np.isnan(fixed), mean, fixed)
    signs = _jump_signs(sig0)
    converged = False
    it = 0
    best = None  # (objective, bk, u) of the best primal-feasible structure visited
    seen = set()
    for it in range(1, max_iter + 1):
        key = (starts.tobytes(), np.nan_to_num(fixed, nan=7.0).tobytes(), signs.tobytes())
        if key in seen:  # the active-set steps cycle: stop with the best feasible point
            break
        seen.add(key)
        bk, u = solve_reduced(t, W, Y, lam, starts, fixed, signs)
        sig = _run_slopes(t, bk, u)
        if np.all(np.isfinite(u)) and np.all((sig >= lo) & (sig <= hi)):
            c = np.interp(t, t[bk], u)
            obj = 0.5 * float(np.dot(W, (c - Y) ** 2)) + lam * float(np.sum(np.abs(np.diff(sig))))
            if best is None or obj < best[0]:
                best = (obj, bk, u)
        changed = False
        v = None  # dual estimate of this iteration's solution, computed on first need
        # 1. free runs beyond a bound become fixed there
        free = np.isnan(fixed)
        over = free & (sig > hi)
        under = free & (sig < lo)
        if over.any() or under.any():
            fixed = fixed.copy()
            fixed[over] = hi
            fixed[under] = lo
            # the jumps next to a newly fixed run take the sign the fixed slope gives them
            sig_now = np.where(np.isnan(fixed), sig, fixed)
            touched = np.flatnonzero(over | under)
            fresh = _jump_signs(sig_now)
            for r in touched:
                if r > 0:
                    signs[r - 1] = fresh[r - 1]
                if r < signs.size:
                    signs[r] = fresh[r]
            changed = True
        # 2. a jump of the wrong sign between two free runs: merge them
        if not changed and sig.size > 1:
            starts, fixed, signs, changed = merge_wrong_signs(sig, starts, fixed, signs)
        # 3. runs at a bound whose multiplier has the wrong sign leave it (wholly or in part)
        if not changed and not np.isnan(fixed).all():
            v = _structure_dual(t, W, Y, bk, u)
            actions = _fixed_run_violations(v, lam, bk, fixed, signs, lo, hi)
            if actions:
                starts, fixed, signs = starts.copy(), fixed.copy(), signs.copy()
                for act in sorted(actions, key=lambda a: -a[1]):
                    r = act[1]
                    if act[0] == "release":
                        fixed[r] = np.nan
                    else:  # free before the site, then a jump onto the bound (up to s_max)
                        bound = fixed[r]
                        jump = 1.0 if bound == hi else -1.0
                        starts = np.insert(starts, r + 1, act[2])
                        fixed = np.insert(fixed, r + 1, bound)
                        fixed[r] = np.nan
                        signs = np.insert(signs, r, jump)
                changed = True
        # 4. dual violations inside free runs: split there
        if not changed:
            if v is None:
                v = _structure_dual(t, W, Y, bk, u)
            splits = _dual_splits(v, lam, bk, fixed, signs, move_knots)
            if splits:
                starts = starts.copy()
                for action, r, site, sgn in sorted(splits, key=lambda a: -a[2]):
                    if action == "move":
                        starts[r] = site  # boundary r (start of run r) moves to the site
                    else:
                        starts = np.insert(starts, r + 1, site)
                        fixed = np.insert(fixed, r + 1, np.nan)
                        signs = np.insert(signs, r, sgn)
                changed = True
        # adjacent fixed runs at the same bound are one run
        if changed:
            same = np.zeros(starts.size, dtype=bool)
            same[1:] = (fixed[1:] == fixed[:-1])
            if same.any():
                keep = ~same
                signs = signs[keep[1:]]
                starts, fixed = starts[keep], fixed[keep]
            continue
        converged = True
        break
    if converged or best is None:
        return bk, u, it, converged
    return best[1], best[2], it, False
