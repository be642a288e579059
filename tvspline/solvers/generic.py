r"""Generic convex solvers through CVXPY (Clarabel, OSQP, HiGHS).

The problem is written with explicit slope variables and the *scaled* coupling
:math:`c_{k+1} - c_k = h_k s_k` (``docs/math.md``: dividing by :math:`h_k` instead puts
:math:`1/\min h` into the constraint matrix and breaks the solvers), on coordinates normalised so
that the sites span :math:`[0, 1]` and the targets have unit spread:

.. math:: \min_{c, s}\ \sum_m w_m E(c_{k(m)} - y_m) + \lambda \sum_k |s_{k+1} - s_k|
          \quad\text{s.t.}\quad c_{k+1} - c_k = h_k s_k,\ \ s_{\min} \le s_k \le s_{\max}.

The squared loss is a QP, the absolute loss an LP (HiGHS gives an exact vertex), Huber a QP.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
import warnings

import numpy as np

from .base import Candidate, SolverFailure
from .settings import GENERIC_SOLVERS, solver_settings, time_limit as default_time_limit

__all__ = ["solve_generic", "GENERIC_SOLVERS"]


@contextlib.contextmanager
def _quiet_stdout(active: bool):
    """Silence C-level writes to stdout (HiGHS prints a banner from C even with output off)."""
    if not active:
        yield
        return
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)

def solve_generic(problem, solver: str = "clarabel", tol: float = 1e-9, settings: dict | None = None,
                  knot_index=None, time_limit: float | None = None) -> Candidate:
    """Solve the prepared problem with CVXPY and the named solver; see the module docstring.

    With ``knot_index`` (increasing site indices including the first and last site) the spline is
    restricted to knots at those sites: a smaller, better-conditioned problem whose optimum is the
    full optimum whenever the true knots are among them. ``time_limit`` (seconds) defaults to
    :func:`tvspline.solvers.settings.time_limit` of the problem's size.

    Raises
    ------
    SolverFailure
        Whatever went wrong inside CVXPY or the solver (the message names the exception), or no
        solution returned.
    """
    import cvxpy as cp

    t, K = problem.t, problem.K
    span = t[-1] - t[0]
    tk = t if knot_index is None else t[np.asarray(knot_index)]
    hu = np.diff(tk) / span
    lo, hi = problem.bounds.lo, problem.bounds.hi

    if problem.loss == "squared":
        ytarget = problem.site_y
    else:
        ytarget = problem.y
    ymid = float(np.median(ytarget))
    yscale = float(np.max(np.abs(ytarget - ymid)))
    if not yscale > 0:
        yscale = 1.0
    # objective = factor * scaled objective
    factor = yscale if problem.loss == "absolute" else yscale * yscale
    lam_s = problem.lam * yscale / (factor * span)
    lo_s, hi_s = lo * span / yscale, hi * span / yscale
    wscale = float(np.mean(problem.w))
    lam_s /= wscale

    c = cp.Variable(tk.size)
    s = cp.Variable(tk.size - 1)
    coupling = c[1:] - c[:-1] - cp.multiply(hu, s) == 0
    if knot_index is None:
        csite = c
    else:
        from ..basis import design_matrix

        csite = design_matrix(t, tk) @ c
    cons = [coupling]
    if lo == hi:
        cons.append(s == lo_s)
    else:
        if math.isfinite(lo):
            cons.append(s >= lo_s)
        if math.isfinite(hi):
            cons.append(s <= hi_s)
    if problem.loss == "squared":
        ys = (problem.site_y - ymid) / yscale
        ws = problem.site_w / wscale
        data = 0.5 * cp.sum(cp.multiply(ws, cp.square(csite - ys)))
    else:
        ys = (problem.y - ymid) / yscale
        ws = problem.w / wscale
        one_point_per_site = problem.x.size == K and np.array_equal(problem.site_of, np.arange(K))
        ck = csite if one_point_per_site else csite[problem.site_of]
        if problem.loss == "absolute":
            data = cp.sum(cp.multiply(ws, cp.abs(ck - ys)))
        else:
            dl = problem.delta / yscale
            data = 0.5 * cp.sum(cp.multiply(ws, cp.huber(ck - ys, dl)))
    objective = data
    if tk.size > 2 and lam_s > 0:
        objective = objective + lam_s * cp.norm1(cp.diff(s))
    prob = cp.Problem(cp.Minimize(objective), cons)
    limit = default_time_limit(K) if time_limit is None else float(time_limit)
    opts = solver_settings(solver, tol, time_limit=limit)
    if settings:
        opts.update(settings)
    start = time.perf_counter()
    try:
        # CVXPY's own "may be inaccurate" warning is not for our users: the answer is rebuilt and
        # certified by tvspline.fit, whose status and warning report the outcome.
        with _quiet_stdout(solver == "highs"), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            prob.solve(solver=solver.upper(), **opts)
    except Exception as exc:  # noqa: BLE001 - any back-end error is a failed solve, reported
        raise SolverFailure(f"{solver} failed: {type(exc).__name__}: {exc}") from exc
    elapsed = time.perf_counter() - start
    if s.value is None or c.value is None:
        raise SolverFailure(f"{solver} returned no solution (status {prob.status!r})")
    if not (np.all(np.isfinite(s.value)) and np.all(np.isfinite(c.value))):
        raise SolverFailure(f"{solver} returned a non-finite solution (status {prob.status!r})")

    slopes = np.asarray(s.value, dtype=np.float64) * yscale / span
    value0 = ymid + yscale * float(c.value[0])
    duals = []
    if knot_index is not None:
        slopes = np.repeat(slopes, np.diff(np.asarray(knot_index)))
    elif coupling.dual_value is not None:
        pi = np.asarray(coupling.dual_value, dtype=np.float64)
        v = pi * np.diff(t) * (factor * wscale / yscale)
        duals.extend([v, -v])
    stats = prob.solver_stats
    n_iter = int(stats.num_iters or 0) if stats is not None else 0
    limit_reason = ""
    if elapsed >= limit:
        limit_reason = f"{solver} stopped at its time limit of {limit:g} s"
    elif prob.status == cp.USER_LIMIT:
        cap = opts.get("max_iter", "its default")
        limit_reason = f"{solver} stopped at its iteration cap ({cap} iterations) after {elapsed:.3g} s"
    info = {
        "name": solver,
        "via": "cvxpy",
        "cvxpy": cp.__version__,
        "settings": opts,
        "solve_time": elapsed,
    }
    return Candidate(
        slopes=slopes,
        value0=value0,
        dual_estimates=duals,
        status=str(prob.status),
        n_iter=n_iter,
        info=info,
        limit_reason=limit_reason,
    )
