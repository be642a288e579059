"""Settings of the back ends, shared by every fit (:func:`tvspline.fit` and the layer fits).

The generic solvers are asked for a tighter accuracy than the requested relative gap ``tol``: the
answer is rebuilt into a spline whose slopes obey the bounds and certified from scratch, so the
solver's own stopping test must leave room for that. Every call gets a time limit, so that no fit
can hang on a solver that crawls (HiGHS' quadratic simplex on a badly scaled problem can take
minutes where the interior-point method takes a second); a solver stopped by its limit returns
its last iterate, which is rebuilt and certified like any other answer, and the fit reports the
limit in its status when that answer cannot be certified.
"""

from __future__ import annotations

import math

__all__ = [
    "GENERIC_SOLVERS",
    "IPM_MAX_ITER",
    "TIME_LIMIT_BASE",
    "TIME_LIMIT_PER_SITE",
    "clarabel_settings",
    "solver_settings",
    "time_limit",
]

#: The generic back ends, reached through CVXPY.
GENERIC_SOLVERS = ("clarabel", "osqp", "highs")
#: Iteration cap of the interior-point method (it converges in 20-60 iterations).
IPM_MAX_ITER = 200
#: Iteration caps of the generic solvers.
CLARABEL_MAX_ITER = 500
OSQP_MAX_ITER = 200_000
#: Time limit of one generic solver call, in seconds: ``TIME_LIMIT_BASE + TIME_LIMIT_PER_SITE * K``
#: for ``K`` distinct sites (20 s on small problems, 120 s at 1e5 sites).
TIME_LIMIT_BASE = 20.0
TIME_LIMIT_PER_SITE = 1e-3
#: The generic solvers' accuracy relative to the requested gap ``tol``, and its clamp.
_TIGHTEN = 0.01
_TIGHT_RANGE = (1e-12, 1e-8)
#: HiGHS' primal and dual feasibility tolerances.
HIGHS_FEASIBILITY_TOL = 1e-10


def time_limit(n_sites: int) -> float:
    """Seconds allowed to one generic solver call on ``n_sites`` distinct sites.

    Examples
    --------
    >>> time_limit(100)
    20.1
    """
    return TIME_LIMIT_BASE + TIME_LIMIT_PER_SITE * int(n_sites)


def _tight(tol: float) -> float:
    lo, hi = _TIGHT_RANGE
    return max(min(_TIGHTEN * tol, hi), lo)


def solver_settings(name: str, tol: float = 1e-9, *, time_limit: float = math.inf) -> dict:
    """Keyword settings of the generic solver ``name`` for a requested relative gap ``tol``.

    The names are those of the solvers' own options (CVXPY passes them through); Clarabel's are
    also the attributes of ``clarabel.DefaultSettings`` (see :func:`clarabel_settings`).

    Parameters
    ----------
    name : {"clarabel", "osqp", "highs"}
        The solver.
    tol : float
        The requested relative gap of the fit; the solver is asked for ``0.01 tol`` clamped to
        ``[1e-12, 1e-8]``.
    time_limit : float
        Seconds allowed to the call (``inf``: none).

    Returns
    -------
    dict

    Examples
    --------
    >>> s = solver_settings("clarabel", 1e-9, time_limit=30.0)
    >>> f"{s['tol_gap_rel']:.0e}", s["time_limit"], s["max_iter"]
    ('1e-11', 30.0, 500)
    """
    tight = _tight(tol)
    limited = math.isfinite(time_limit)
    if name == "clarabel":
        out = dict(tol_gap_abs=tight, tol_gap_rel=tight, tol_feas=tight, tol_ktratio=1e-8,
                   max_iter=CLARABEL_MAX_ITER)
        if limited:
            out["time_limit"] = float(time_limit)
        return out
    if name == "osqp":
        import osqp

        major = int(str(getattr(osqp, "__version__", "1")).split(".")[0] or 1)
        polish_key = "polishing" if major >= 1 else "polish"  # renamed in OSQP 1.0
        out = {"eps_abs": tight, "eps_rel": tight, "max_iter": OSQP_MAX_ITER, polish_key: True}
        if limited:
            out["time_limit"] = float(time_limit)
        return out
    if name == "highs":
        out = dict(primal_feasibility_tolerance=HIGHS_FEASIBILITY_TOL,
                   dual_feasibility_tolerance=HIGHS_FEASIBILITY_TOL, output_flag=False)
        if limited:
            out["time_limit"] = float(time_limit)
        return out
    raise ValueError(f"solver must be one of {GENERIC_SOLVERS}, got {name!r}")


def clarabel_settings(tol: float = 1e-9, *, time_limit: float = math.inf, **overrides):
    """A ``clarabel.DefaultSettings`` with :func:`solver_settings` applied (then ``overrides``).

    For callers of Clarabel's native API; the output is switched off.

    Examples
    --------
    >>> s = clarabel_settings(1e-9, time_limit=5.0, tol_ktratio=1e-9)
    >>> f"{s.tol_feas:.0e}", s.time_limit, s.tol_ktratio, s.verbose
    ('1e-11', 5.0, 1e-09, False)
    """
    import clarabel

    settings = clarabel.DefaultSettings()
    settings.verbose = False
    for key, value in {**solver_settings("clarabel", tol, time_limit=time_limit), **overrides}.items():
        setattr(settings, key, value)
    return settings
