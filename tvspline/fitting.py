r"""The exact fit of one slope-constrained TV2-regularised linear spline.

.. math::

    \min_{f}\ \sum_{m=1}^M w_m E\big(f(x_m) - y_m\big) + \lambda\, \mathrm{TV}^{(2)}(f)
    \quad\text{s.t.}\quad s_{\min} \le f' \le s_{\max}

By the representer theorem (Unser, Goujon & Ducotterd, ACHA 2025; ``docs/math.md``) a minimiser is
a linear spline with knots at the distinct data sites, so the problem is a finite QP (squared
loss, Huber) or LP (absolute loss) in the values at the sites.

:func:`fit` is a short pipeline:

1. **prepare**: validate the data and merge ties (:mod:`tvspline._problem`); the best affine fit
   (:mod:`tvspline._affine`) is the first candidate: always feasible, optimal above
   :func:`lambda_max`;
2. **solve**: the back ends in turn (:mod:`tvspline.solvers`), each with its iteration cap and
   time limit (:mod:`tvspline.solvers.settings`);
3. **refine**: each answer turned into exact, bound-feasible candidate splines
   (:mod:`tvspline._refine`);
4. **certify**: a dual-feasible point per candidate gives a lower bound
   (:func:`tvspline.certificate.certify`); the pool keeps the best spline and the best bound
   (:mod:`tvspline._candidates`);
5. **report**: the status follows from the certified gap alone, whatever the solvers said.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

from . import _problem
from ._candidates import CandidatePool
from ._refine import SolveLog, refine, run_backend, use_warm_start
from ._sorted_eval import values_at_sorted
from ._validate import check_choice, check_positive
from .certificate import gradient_dual_estimate
from .exceptions import InaccurateSolutionWarning
from .result import FitResult, Status
from .solvers.base import SolverFailure
from .solvers.ipm import KERNELS
from .solvers.settings import GENERIC_SOLVERS
from .spline import LinearSpline

__all__ = ["fit", "lambda_max", "SOLVERS"]

SOLVERS = ("auto", "ipm") + GENERIC_SOLVERS
#: The back ends ``solver="auto"`` tries in turn, per loss.
AUTO_ORDER = {"squared": ("ipm", "clarabel", "osqp"), "absolute": ("highs", "clarabel"),
              "huber": ("clarabel", "osqp")}
#: Above this many distinct sites ``solver="auto"`` does not fall back to the generic solvers
#: (they take minutes or fail there); the result then says so in its status and message.
GENERIC_MAX_SITES = 200_000


def fit(
    x,
    y,
    lam,
    bounds=(-math.inf, math.inf),
    *,
    weights=None,
    loss: str = "squared",
    delta: float = 1.0,
    solver: str = "auto",
    tol: float = 1e-9,
    warm_start: FitResult | None = None,
    solver_options: dict | None = None,
) -> FitResult:
    r"""Fit the exact slope-constrained TV2-regularised linear spline to data.

    Solves

    .. math:: \min_f \sum_m w_m E(f(x_m) - y_m) + \lambda\,\mathrm{TV}^{(2)}(f)
              \quad\text{s.t.}\quad s_{\min} \le f' \le s_{\max}

    over all functions (not a grid): by the representer theorem a solution is a linear spline with
    knots at the distinct data sites.

    Parameters
    ----------
    x, y : array_like, shape (M,)
        Data sites and targets (finite). Ties in ``x`` are allowed; the spline passes through one
        value per distinct site.
    lam : float
        Regularisation weight ``lambda >= 0``. ``lam = 0`` is interpolation under the bounds.
    bounds : SlopeBounds or (lo, hi), default (-inf, inf)
        Slope bounds; see :mod:`tvspline.bounds` for presets.
    weights : array_like, shape (M,), optional
        Non-negative weights ``w_m`` (default 1). Points of weight 0 do not enter the objective.
    loss : {"squared", "absolute", "huber"}
        ``E(r) = r^2/2``, ``|r|`` or the Huber function (``r^2/2`` for ``|r| <= delta``, else
        ``delta |r| - delta^2/2``).
    delta : float
        Huber threshold (used only by ``loss="huber"``).
    solver : {"auto", "ipm", "clarabel", "osqp", "highs"}
        ``"auto"``: for the squared loss the dedicated interior-point method
        (:mod:`tvspline.solvers.ipm`, O(M) per iteration) then exact active-set polishing, falling
        back to Clarabel and OSQP if that is not certified; HiGHS (simplex, exact vertex) for the
        absolute loss; Clarabel for Huber. A named solver is used alone (the squared loss is still
        polished when the solver's answer allows it).
    tol : float
        Target relative gap: success means ``gap <= tol * max(1, objective)``.
    warm_start : FitResult, optional
        A previous result on the same sites (e.g. at a neighbouring λ). For the squared loss its
        slope structure seeds the exact active-set step, and the solvers are skipped when that is
        already certified; for the other losses its spline is one more candidate.
    solver_options : dict, optional
        Settings per back end, keyed by its name: ``{"ipm": {"kernel": "reference", "max_iter":
        100}, "highs": {"time_limit": 5.0}}``. The interior-point method takes ``kernel`` and
        ``max_iter``; the generic solvers take ``time_limit`` (seconds per call, default
        :func:`tvspline.solvers.settings.time_limit`) and their own options.

    Returns
    -------
    FitResult
        The spline, its recomputed objective, a certified lower bound and gap, and the status.

    Raises
    ------
    ValueError
        For NaN or infinite data, mismatched lengths, fewer than 2 distinct sites, ``lam < 0``,
        negative weights, ``lo > hi``, an unknown ``loss`` or ``solver``, ``delta <= 0``.
    tvspline.solvers.SolverFailure
        When no solver produced an answer.

    Warns
    -----
    InaccurateSolutionWarning
        When the certified gap is above the tolerance (the numbers are in the message).

    Notes
    -----
    The data term is :math:`\tfrac12\sum_m w_m r_m^2` for the squared loss, :math:`\sum_m w_m |r_m|`
    for the absolute loss and :math:`\sum_m w_m \mathrm{huber}_\delta(r_m)` for Huber, with
    :math:`r_m = f(x_m) - y_m`.

    References
    ----------
    M. Unser, A. Goujon, S. Ducotterd, "Controlled learning of pointwise nonlinearities in
    neural-network-like architectures", Appl. Comput. Harmon. Anal. 77 (2025) 101764.

    Examples
    --------
    >>> import numpy as np, tvspline
    >>> rng = np.random.default_rng(0)
    >>> x = np.sort(rng.uniform(-2, 2, 50)); y = np.abs(x) + 0.1 * rng.standard_normal(50)
    >>> res = tvspline.fit(x, y, lam=0.1, bounds=tvspline.lipschitz(1))
    >>> res.success, res.gap <= 1e-9 * max(1, res.objective)
    (True, True)
    >>> bool(np.all(np.abs(res.spline.slopes) <= 1 + 1e-12))
    True
    """
    start = time.perf_counter()
    problem = _problem.prepare(x, y, lam, bounds, weights, loss, delta)  # 1. prepare
    check_choice(solver, "solver", SOLVERS)
    tol = check_positive(tol, "tol")
    options = _check_solver_options(solver_options)
    pool = CandidatePool(problem, tol)
    pool.add_affine()
    if warm_start is not None:
        use_warm_start(pool, problem, warm_start)
    log = SolveLog()
    for backend in AUTO_ORDER[loss] if solver == "auto" else (solver,):  # 2. solve, 3. refine
        if pool.certified():  # e.g. lam >= lambda_max: the affine fit is certified optimal
            break
        if solver == "auto" and backend != AUTO_ORDER[loss][0] and problem.K > GENERIC_MAX_SITES:
            log.failures.append(f"{backend} skipped: {problem.K} sites exceed {GENERIC_MAX_SITES}, where "
                                "the generic solvers take minutes or fail (docs/math.md)")
            continue
        try:
            answer = run_backend(problem, backend, tol, options)
        except SolverFailure as exc:
            log.failures.append(str(exc))
            continue
        log.answered = True
        log.infos.append(answer.info)
        log.n_iter += answer.n_iter
        if answer.limit_reason:
            log.limits.append(answer.limit_reason)
        refine(pool, problem, answer, backend, tol, options, log)
    if not pool.certified():  # 4. certify what was deferred
        pool.certify_deferred()
    return _report(problem, pool, log, loss, time.perf_counter() - start)  # 5. report


def _report(problem, pool, log, loss, elapsed) -> FitResult:
    """The result of a fit: the best candidate, its certified gap and the status that follows."""
    best = pool.best
    if best is None:  # cannot happen: the affine fit is feasible to rounding by construction
        raise SolverFailure(f"no feasible candidate spline ({'; '.join(log.failures) or 'no failure reported'})")
    obj = best.objective
    lower = min(pool.lower, obj)  # a lower bound above the objective can only be rounding
    gap = obj - lower
    threshold = pool.threshold(obj)
    if gap <= threshold:
        status, message = Status.OPTIMAL, f"optimal: certified gap {gap:.3e} <= {threshold:.3e}"
        if threshold > pool.tol * max(1.0, abs(obj)):
            message += " (the rounding of the objective at these data magnitudes)"
        if log.failures:
            message += f" (after: {'; '.join(log.failures)})"
    elif not log.answered:
        status = Status.SOLVER_FAILED
        message = (
            f"no solver produced an answer ({'; '.join(log.failures)}); the returned spline is the "
            f"best affine fit, feasible, with certified gap {gap:.3e}"
        )
        warnings.warn(
            f"every solver failed; returning the best affine fit. Duality gap: {gap:.3e}, tolerance: "
            f"{threshold:.3e}. Try solver='osqp' or rescale the data.",
            InaccurateSolutionWarning,
            stacklevel=3,
        )
    else:
        status = Status.ITERATION_LIMIT if log.limits else Status.INACCURATE
        message = (
            f"certified gap {gap:.3e} exceeds tol * max(1, objective) = {threshold:.3e}; "
            "the spline is feasible but may be suboptimal by up to the gap"
        )
        if log.limits:
            message += f" ({'; '.join(log.limits)})"
        warnings.warn(
            f"fit did not reach the requested accuracy. Duality gap: {gap:.3e}, tolerance: "
            f"{threshold:.3e} (solver {best.source}). Try another solver or rescale the data.",
            InaccurateSolutionWarning,
            stacklevel=3,
        )
    return FitResult(
        spline=best.spline, objective=obj, data_fit=best.data, tv2=best.tv2, lower_bound=lower, gap=gap,
        status=status, message=message, solver=best.source, n_iter=log.n_iter, time=elapsed,
        lam=problem.lam, bounds=problem.bounds, loss=loss, delta=problem.delta,
        solver_info={"backends": log.infos, "failures": log.failures, "limits": log.limits},
        dual_certificate=pool.z if lower > -math.inf else None,
        x=problem.x, y=problem.y, weights=problem.w,
    )


def _check_solver_options(options) -> dict:
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise TypeError(f"solver_options must be a dict keyed by back end, got {type(options).__name__}")
    for key, value in options.items():
        if key not in SOLVERS[1:]:
            raise ValueError(f"solver_options keys must be among {SOLVERS[1:]}, got {key!r}")
        if not isinstance(value, dict):
            raise TypeError(f"solver_options[{key!r}] must be a dict, got {type(value).__name__}")
    ipm = options.get("ipm", {})
    unknown = set(ipm) - {"kernel", "max_iter"}
    if unknown:
        raise ValueError(f"solver_options['ipm'] takes 'kernel' and 'max_iter', got {sorted(unknown)}")
    if "kernel" in ipm:
        check_choice(ipm["kernel"], "solver_options['ipm']['kernel']", KERNELS)
    return options


def lambda_max(x, y, bounds=(-math.inf, math.inf), weights=None) -> float:
    r"""The smallest λ above which the squared-loss solution is affine.

    The affine solution is the weighted least-squares line with its slope clipped into the bounds
    (and the intercept refitted). It is optimal exactly when a dual certificate exists with
    :math:`|z_k| \le \lambda`: with :math:`V_k = \sum_{j \le k} v_j` the partial sums of the dual
    estimate built from its residuals, this needs :math:`\lambda \ge \max_k |V_k|` for a slope
    strictly inside the bounds; at a bound the slack :math:`\nu` of the bound (of one sign) may
    absorb part of it, and the smallest λ is an :math:`L^\infty` isotonic-regression distance.

    Parameters
    ----------
    x, y, bounds, weights
        As in :func:`fit`.

    Returns
    -------
    float
        ``lambda_max >= 0``; for every ``lam >= lambda_max``, ``fit(x, y, lam, bounds)`` is affine.

    Examples
    --------
    >>> import numpy as np, tvspline
    >>> x = np.linspace(0, 1, 20); y = np.sin(6 * x)
    >>> lm = tvspline.lambda_max(x, y)
    >>> tvspline.fit(x, y, 1.0001 * lm).n_knots, tvspline.fit(x, y, 0.9 * lm).n_knots > 0
    (0, True)
    """
    problem = _problem.prepare(x, y, 0.0, bounds, weights, "squared", 1.0)
    line, slope = _affine_fit(problem, return_slope=True)
    t = problem.t
    v = gradient_dual_estimate(problem, values_at_sorted(line, t))
    V = np.cumsum(v)  # z_k = -V_k when nu = 0
    lo, hi = problem.bounds.lo, problem.bounds.hi
    n = v.size
    if n < 2:
        return 0.0
    if lo == hi:
        return 0.0
    inner = V[:-1]  # constraints |z_k| <= lam for k = 1..K-2
    if lo < slope < hi:
        return float(np.max(np.abs(inner)))
    # at a bound: z_k = N_k - V_k with N monotone (nondecreasing at s_max since nu >= 0,
    # nonincreasing at s_min), N_0 = 0, N_{n} = V_{n}. Minimal sup |N - V| with fixed ends.
    Vs = V if slope >= hi else -V
    end = Vs[-1]
    inner = Vs[:-1]
    lam_pairs = 0.0
    run_max = -math.inf
    for val in inner:
        run_max = max(run_max, val)
        lam_pairs = max(lam_pairs, 0.5 * (run_max - val))
    lam_ends = max(0.0, float(np.max(-inner)), float(np.max(inner - end)))
    return float(max(lam_pairs, lam_ends))


def _affine_fit(problem, return_slope=False):
    """Weighted least-squares line with its slope clipped into the bounds (and that slope)."""
    t, W, Y = problem.t, problem.site_w, problem.site_y
    tm = np.dot(W, t) / W.sum()
    ym = np.dot(W, Y) / W.sum()
    dt = t - tm
    # scaled so that (t - tm)^2 cannot underflow for sites packed within ~1e-160
    dscale = float(np.max(np.abs(dt)))
    dts = dt / dscale if dscale > 0 else dt
    with np.errstate(over="ignore"):
        slope = np.dot(W, dts * (Y - ym)) / np.dot(W, dts * dts) / dscale
    slope = float(np.clip(slope, problem.bounds.lo, problem.bounds.hi))
    intercept = float(np.dot(W, Y - slope * dt) / W.sum())
    line = LinearSpline([t[0], t[-1]], [intercept + slope * (t[0] - tm), intercept + slope * (t[-1] - tm)])
    return (line, slope) if return_slope else line
