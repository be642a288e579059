r"""The exact fit of one slope-constrained TV2-regularised linear spline.

.. math::

    \min_{f}\ \sum_{m=1}^M w_m E\big(f(x_m) - y_m\big) + \lambda\, \mathrm{TV}^{(2)}(f)
    \quad\text{s.t.}\quad s_{\min} \le f' \le s_{\max}

By the representer theorem (Unser, Goujon & Ducotterd, ACHA 2025; ``docs/math.md``) a
minimiser is a linear spline with knots at the distinct data sites, so the problem is a finite QP
(squared loss, Huber) or LP (absolute loss) in the values at the sites.

Every answer is rebuilt and checked here, whatever the solver said: the spline is integrated from
bounded slopes (so its slopes are in the bounds to rounding), its objective is recomputed from the
spline on the original data, and a dual-feasible point built by :mod:`tvspline.certificate` gives
a lower bound, hence a certified gap.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

from . import _problem
from ._enforce import enforce_slope_bounds
from ._sorted_eval import values_at_sorted
from ._validate import check_choice, check_positive
from .certificate import absolute_dual_estimate, dual_bound, gradient_dual_estimate, slope_states
from .exceptions import InaccurateSolutionWarning
from .losses import data_term
from .result import FitResult, Status
from .solvers.activeset import (
    _jump_signs,
    _run_slopes,
    _smooth_tiny_segments,
    merge_wrong_signs,
    polish,
    runs_from_slopes,
    solve_reduced,
)
from .solvers.base import SolverFailure
from .solvers.generic import GENERIC_SOLVERS, load_backends, solve_generic
from .solvers.ipm import solve_ipm
from .spline import LinearSpline

__all__ = ["fit", "lambda_max", "SOLVERS"]

SOLVERS = ("auto", "ipm") + GENERIC_SOLVERS
#: Above this many distinct sites ``solver="auto"`` does not fall back to the generic solvers
#: (they take minutes or fail there); the result then says so in its status and message.
_GENERIC_MAX_SITES = 200_000
#: Relative objective difference under which two candidate splines count as equally good (the
#: one with fewer knots is kept).
_TIE_RTOL = 1e-11
#: Relative tolerance used to read a run structure (equal slopes, slopes at a bound) off an
#: approximate solution before exact polishing.
_STRUCTURE_TOLS = ((1e-7, 1e-6), (1e-6, 1e-5), (1e-5, 1e-4), (1e-9, 1e-7), (1e-4, 1e-3))
#: Variants of the active-set refinement tried in turn until one is certified: structure
#: tolerances, whether nearly tied segments take a neighbour's slope, whether dual violations next
#: to a knot move it (instead of adding one).
_POLISH_VARIANTS = (
    [(tols, True, False) for tols in _STRUCTURE_TOLS]
    + [(tols, True, True) for tols in _STRUCTURE_TOLS[:3]]
    + [(tols, False, False) for tols in _STRUCTURE_TOLS[:2]]
)


#: Slopes recomputed from a spline's knots and values may leave the bounds by rounding: by at most
#: this much relative to the bound's magnitude is accepted (``lo == hi`` cannot be met exactly).
_BOUND_RTOL = 1e-12


def _bound_scale(bounds) -> float:
    finite = [abs(b) for b in (bounds.lo, bounds.hi) if math.isfinite(b)]
    return max([1.0] + finite)


def _bound_violation(spline, bounds) -> float:
    """How far the spline's slopes (recomputed from knots and values) leave the bounds."""
    s = spline.slopes
    return float(max(np.max(s - bounds.hi), np.max(bounds.lo - s), 0.0))


def _evaluate(spline, x, y, w, lam, loss, delta):
    """Objective, data term and TV2 of ``spline`` on the data points."""
    data = data_term(spline(x) - y, w, loss, delta)
    tv2 = spline.tv2()
    return data + lam * tv2, data, tv2


def _evaluate_problem(spline, problem):
    """:func:`_evaluate` on a prepared problem: the spline is evaluated once per distinct site.

    For the squared loss the data term is summed per site, ``1/2 sum_k W_k (f(t_k) - ybar_k)^2``
    plus the constant ``problem.const`` of the merged ties: the same sum, regrouped.
    """
    f = values_at_sorted(spline, problem.t)
    if problem.loss == "squared":
        r = f - problem.site_y
        data = 0.5 * float(np.dot(problem.site_w, r * r)) + problem.const
    else:
        data = data_term(f[problem.site_of] - problem.y, problem.w, problem.loss, problem.delta)
    tv2 = spline.tv2()
    return data + problem.lam * tv2, data, tv2


def _best_offset(fx, y, w, loss, delta):
    """The constant b minimising sum w E(fx + b - y) (exact for squared and absolute)."""
    r = y - fx
    if loss == "squared":
        return float(np.dot(w, r) / w.sum())
    if loss == "absolute":
        order = np.argsort(r, kind="stable")
        cw = np.cumsum(w[order])
        j = int(np.searchsorted(cw, 0.5 * cw[-1]))
        return float(r[order][min(j, r.size - 1)])
    from scipy.optimize import minimize_scalar

    lo, hi = float(r.min()), float(r.max())
    if lo == hi:
        return lo
    res = minimize_scalar(
        lambda b: data_term(fx + b - y, w, loss, delta), bounds=(lo, hi), method="bounded",
        options={"xatol": 1e-14 * max(1.0, abs(lo), abs(hi))},
    )
    return float(res.x)


def _finish(problem, t, c):
    """Spline on knots ``t`` with values ``c`` made bound-exact and pruned of exact zeros."""
    lo, hi = problem.bounds.lo, problem.bounds.hi
    c = enforce_slope_bounds(t, c, lo, hi)
    return LinearSpline(t, c).prune()


def _site_offset(problem, site_values):
    """The best constant offset of a function known by its values at the distinct sites."""
    if problem.loss == "squared":  # exact at site level: site_y is the weighted mean of its points
        W = problem.site_w
        return float(np.dot(W, problem.site_y - site_values) / W.sum())
    return _best_offset(site_values[problem.site_of], problem.y, problem.w, problem.loss, problem.delta)


def _spline_from_slopes(problem, slopes, value0):
    """Integrate clipped slopes from the first site, then re-fit the offset exactly."""
    s = np.clip(slopes, problem.bounds.lo, problem.bounds.hi)
    base = LinearSpline.from_slopes(problem.t, 0.0, s)
    b = _site_offset(problem, base.values)
    # Store only the sites where the slope changes: re-deriving a slope from values across a
    # nearly tied pair of sites would turn rounding into spurious knots.
    keep = np.ones(problem.K, dtype=bool)
    keep[1:-1] = s[1:] != s[:-1]
    return _finish(problem, problem.t[keep], base.values[keep] + b)


def _snap_slopes(problem, slopes, rtol):
    """Merge nearly equal consecutive slopes (and nearly bound ones) into exact runs."""
    s = np.asarray(slopes, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(s))))
    starts, fixed = runs_from_slopes(s, problem.bounds.lo, problem.bounds.hi, rtol * scale, rtol * scale)
    h = problem.h
    mean = np.add.reduceat(s * h, starts) / np.add.reduceat(h, starts)
    run_slope = np.where(np.isnan(fixed), mean, fixed)
    lengths = np.diff(np.append(starts, s.size))
    return np.repeat(run_slope, lengths)


def _solve_structure(problem, run_slopes, max_merges=8):
    """The exact solution for the run structure of piecewise-constant slopes, if consistent.

    ``run_slopes`` must be exactly equal within runs and exactly at a bound on runs there (as
    :func:`_snap_slopes` returns them). Returns ``None`` when the exact solution of that structure
    leaves the bounds or changes the sign of a slope jump (then the structure is not optimal).
    """
    lo, hi = problem.bounds.lo, problem.bounds.hi
    starts, fixed = runs_from_slopes(run_slopes, lo, hi, 0.0, 0.0)
    signs = _jump_signs(run_slopes[starts])
    slack = _BOUND_RTOL * _bound_scale(problem.bounds)
    for _ in range(max_merges + 1):
        bk, u = solve_reduced(problem.t, problem.site_w, problem.site_y, problem.lam, starts, fixed, signs)
        if not np.all(np.isfinite(u)):
            return None
        sig = _run_slopes(problem.t, bk, u)
        d = np.diff(sig)
        wrong = (np.sign(d) != signs) & (d != 0)
        beyond = np.isnan(fixed) & ((sig > hi + slack) | (sig < lo - slack))
        if not wrong.any() and not beyond.any():
            return _finish(problem, problem.t[bk], u)
        starts, fixed, signs, merged = merge_wrong_signs(sig, starts, fixed, signs)
        if not merged:
            return None
    return None


class _CandidatePool:
    """Candidate splines: keeps the best feasible one and the best certified lower bound."""

    def __init__(self, problem, tol):
        self.problem = problem
        self.tol = tol
        self.lower = -math.inf
        self.z = None
        self.best = None  # (objective, data, tv2, name, spline)
        self.deferred = []  # (spline, duals): candidates whose certificate is computed on demand

    def evaluate(self, spline):
        """``(objective, data, tv2)`` of a feasible spline, or ``None`` (bounds broken, not finite)."""
        problem = self.problem
        if _bound_violation(spline, problem.bounds) > _BOUND_RTOL * _bound_scale(problem.bounds):
            return None  # never present a spline that breaks its bounds (nor certify with it)
        evaluated = _evaluate_problem(spline, problem)
        return evaluated if math.isfinite(evaluated[0]) else None

    def consider(self, spline, duals, name, evaluated=None, certify=True):
        """Add a candidate (``evaluated``: its :meth:`evaluate` result, when already known).

        The candidate is certified unless the lower bound already certifies its objective (any
        dual-feasible point bounds the optimum, whichever candidate it was built from). With
        ``certify=False`` its certificate is deferred: :meth:`certify_deferred` computes it when
        nothing else is certified.
        """
        if evaluated is None:
            evaluated = self.evaluate(spline)
        if evaluated is None:
            return
        obj, data, tv2 = evaluated
        target = obj - self.tol * max(1.0, abs(obj))
        if not certify:
            self.deferred.append((spline, duals))
        elif self.lower < target:
            bound, z = _certify(self.problem, spline, duals, target=target)
            if bound > self.lower:
                self.lower, self.z = bound, z
        best = self.best
        slack = _TIE_RTOL * abs(obj)
        # among equal objectives prefer fewer knots, then an exactly polished structure
        rank = (spline.n_knots, 0 if name.endswith("active-set") else 1)
        if best is None or obj < best[0] - slack or (
            obj <= best[0] + slack and rank < (best[4].n_knots, 0 if best[3].endswith("active-set") else 1)
        ):
            self.best = (obj, data, tv2, name, spline)

    def certified(self) -> bool:
        return self.best is not None and self.best[0] - self.lower <= self.tol * max(1.0, abs(self.best[0]))

    def certify_deferred(self) -> None:
        """Certificates of the deferred candidates (each can only raise the lower bound)."""
        if self.best is None:
            return
        target = self.best[0] - self.tol * max(1.0, abs(self.best[0]))
        while self.deferred and self.lower < target:
            spline, duals = self.deferred.pop(0)
            bound, z = _certify(self.problem, spline, duals, target=target)
            if bound > self.lower:
                self.lower, self.z = bound, z
        self.deferred.clear()

    @property
    def best_spline(self):
        return self.best[4]

    @property
    def best_name(self):
        return self.best[3]


def _affine_spline(problem) -> LinearSpline:
    """The weighted least-squares line, slope clipped into the bounds, offset refitted for the loss."""
    _, s = _affine_fit(problem, return_slope=True)
    t0, t1 = problem.t[0], problem.t[-1]
    base = LinearSpline.affine(s, 0.0, t0, t1)
    b = _site_offset(problem, values_at_sorted(base, problem.t))
    line = _finish(problem, base.knots, base.values + b)
    if _bound_violation(line, problem.bounds) > _BOUND_RTOL * _bound_scale(problem.bounds):
        # Sites so close that no pair of floats on them has a slope within the bounds (e.g.
        # 1e-17 apart with lo == hi): the same line on knots a unit apart is exact.
        wide = t0 + max(1.0, abs(t0))
        line = _finish(problem, np.array([t0, wide]), np.array([s * t0 + b, s * wide + b]))
    return line


#: From this many distinct sites on, the certificate of a far-from-optimal affine fit is deferred.
_DEFER_AFFINE_MIN_SITES = 10_000


def _affine_worth_certifying(problem, line) -> bool:
    """False when the affine fit cannot be the optimum: squared loss, a slope strictly inside the
    bounds, and free dual path partial sums (:func:`lambda_max`) above ``2 lam``.

    Its certificate (a full dual bound, about 0.2 s at a million sites) is then deferred to the
    end of :func:`fit`, where it is needed only if no solver's answer is certified. The test is a
    shortcut only: deferring never changes which spline is returned.
    """
    if problem.loss != "squared" or problem.K < _DEFER_AFFINE_MIN_SITES or problem.lam <= 0:
        return True
    slope = float(line.slopes[0])
    lo, hi = problem.bounds.lo, problem.bounds.hi
    if not (lo < slope < hi):
        return True
    v = gradient_dual_estimate(problem, values_at_sorted(line, problem.t))
    return float(np.max(np.abs(np.cumsum(v)))) <= 2.0 * problem.lam


def _certify(problem, spline, extra_duals=(), target=math.inf):
    """Best lower bound over the dual estimates tried; returns (bound, z).

    The estimates are tried from the most to the least promising; the search stops as soon as a
    bound reaches ``target`` (the objective minus the tolerated gap).
    """
    t = problem.t
    mids = 0.5 * (t[:-1] + t[1:])
    seg = spline.derivative(mids)
    lo, hi = problem.bounds.lo, problem.bounds.hi
    atol = 1e-9 * max(1.0, abs(lo) if math.isfinite(lo) else 1.0, abs(hi) if math.isfinite(hi) else 1.0)
    states = slope_states(seg, lo, hi, atol)
    estimates = list(extra_duals)
    if problem.loss != "absolute":
        estimates.insert(0, gradient_dual_estimate(problem, values_at_sorted(spline, t)))
    anchors = None
    if problem.lam > 0 and spline.knots.size > 2:
        idx = np.searchsorted(t, spline.knots[1:-1])
        if np.array_equal(t[np.clip(idx, 0, t.size - 1)], spline.knots[1:-1]):
            anchors = np.zeros(problem.K)
            anchors[idx] = np.sign(spline.slope_changes)
    if problem.loss == "absolute":
        for rtol in (1e-9, 1e-7):
            estimates.append(absolute_dual_estimate(problem, spline, anchors, states, rtol))
    best, best_z = -math.inf, None
    for v in estimates:
        if v is None or v.shape != (problem.K - 1,):
            continue
        # anchored at the primal knots first: at an exact solution that path closes the gap
        for anchor_sign in (anchors, None) if anchors is not None else (None,):
            bound, z = dual_bound(problem, v, states, anchor_sign)
            if bound > best:
                best, best_z = bound, z
            if best >= target:
                return best, best_z
    return best, best_z


def _use_warm_start(pool, problem, warm_start) -> None:
    """Candidates from a previous result: its structure, polished exactly (squared loss)."""
    if not isinstance(warm_start, FitResult):
        raise TypeError(f"warm_start must be a FitResult, got {type(warm_start).__name__}")
    prev = warm_start.spline
    t = problem.t
    slopes = np.clip(prev.derivative(0.5 * (t[:-1] + t[1:])), problem.bounds.lo, problem.bounds.hi)
    if problem.loss == "squared" and problem.K > 2:
        bk, u, _, _ = polish(problem, slopes, jump_tol=1e-12, bound_tol=1e-12, move_knots=True)
        pool.consider(_finish(problem, t[bk], u), [], "warm-start+active-set")
    else:
        pool.consider(_spline_from_slopes(problem, slopes, float(prev(t[0]))), [], "warm-start")


def _run_backend(problem, backend, tol):
    if backend == "ipm":
        return solve_ipm(problem, tol)
    return solve_generic(problem, backend, tol)


def _add_candidates(pool, problem, cand, backend, tol, failures) -> int:
    """Splines built from one back end's answer (rebuilt, snapped, polished); returns iterations."""
    loss = problem.loss
    n_iter = 0
    squared = loss == "squared" and problem.K > 2
    smoothed = _smooth_tiny_segments(problem.t, cand.slopes)
    distinct = (smoothed, cand.slopes) if smoothed is not cand.slopes else (cand.slopes,)
    tried = set()  # active-set results already considered
    if squared:
        # Fast path: the solver's slopes snapped into runs, each replaced by the exact solution of
        # its run structure when that is consistent; for each snapping tolerance the candidates
        # are certified from the lowest objective up, stopping at the first certified one. The
        # other rebuilt splines below are only needed when none of these certifies.
        for rtol in (1e-7, 1e-9):
            ranked = []
            seen = []
            for slopes in distinct:
                snapped = _snap_slopes(problem, slopes, rtol)
                if any(np.array_equal(snapped, other) for other in seen):
                    continue  # the same runs as a variant already tried: the same candidate
                seen.append(snapped)
                exact = _solve_structure(problem, snapped)
                if exact is not None:
                    spline, name = exact, backend + "+active-set"
                else:
                    spline, name = _spline_from_slopes(problem, snapped, cand.value0), backend
                evaluated = pool.evaluate(spline)
                if evaluated is not None:
                    ranked.append((evaluated, spline, name))
            ranked.sort(key=lambda item: item[0][0])
            for evaluated, spline, name in ranked:
                pool.consider(spline, cand.dual_estimates, name, evaluated)
                if pool.certified():
                    return n_iter
        (jump_tol, bound_tol), smooth, move = _POLISH_VARIANTS[0]
        bk, u, it, _ = polish(problem, cand.slopes, jump_tol=jump_tol, bound_tol=bound_tol,
                              smooth_tiny=smooth, move_knots=move)
        n_iter += it
        tried.add((bk.tobytes(), u.tobytes()))
        pool.consider(_finish(problem, problem.t[bk], u), cand.dual_estimates, backend + "+active-set")
        if pool.certified():
            return n_iter
    pool.consider(_spline_from_slopes(problem, cand.slopes, cand.value0), cand.dual_estimates, backend)
    if not squared:  # the squared loss has tried these snapped slopes above
        for slopes in distinct[::-1]:
            for rtol in (1e-9, 1e-7):
                snapped = _spline_from_slopes(problem, _snap_slopes(problem, slopes, rtol), cand.value0)
                pool.consider(snapped, cand.dual_estimates, backend)
    if smoothed is not cand.slopes:
        pool.consider(_spline_from_slopes(problem, smoothed, cand.value0), cand.dual_estimates, backend)

    if loss != "squared" and problem.K > 2 and not pool.certified():
        # Re-solve with knots restricted to the best spline's: removes the nearly tied segments
        # whose slopes the full problem determines only to tolerance / h.
        knots = pool.best_spline.knots
        knot_sites = np.searchsorted(problem.t, knots)
        if np.array_equal(problem.t[np.clip(knot_sites, 0, problem.K - 1)], knots):
            try:
                sub = solve_generic(problem, backend, tol, knot_index=knot_sites)
            except SolverFailure as exc:
                failures.append(str(exc))
                sub = None
            if sub is not None:
                n_iter += sub.n_iter
                for rtol in (0.0, 1e-9):
                    slopes = _snap_slopes(problem, sub.slopes, rtol) if rtol else sub.slopes
                    pool.consider(_spline_from_slopes(problem, slopes, sub.value0), [], backend + "+restricted")

    if squared:  # the first variant was tried on the fast path
        for (jump_tol, bound_tol), smooth, move in _POLISH_VARIANTS[1:]:
            bk, u, it, converged = polish(
                problem, cand.slopes, jump_tol=jump_tol, bound_tol=bound_tol, smooth_tiny=smooth,
                move_knots=move,
            )
            n_iter += it
            key = (bk.tobytes(), u.tobytes())
            if key in tried:
                continue
            tried.add(key)
            pool.consider(_finish(problem, problem.t[bk], u), [], backend + "+active-set")
            if pool.certified():
                break
    return n_iter


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
    load_backends()
    start = time.perf_counter()
    problem = _problem.prepare(x, y, lam, bounds, weights, loss, delta)
    check_choice(solver, "solver", SOLVERS)
    tol = check_positive(tol, "tol")

    if solver == "auto":
        order = {"squared": ["ipm", "clarabel", "osqp"], "absolute": ["highs", "clarabel"],
                 "huber": ["clarabel", "osqp"]}[loss]
    else:
        order = [solver]
    pool = _CandidatePool(problem, tol)
    # The best affine function is always feasible: a safe answer, and the optimum for lam >= lambda_max.
    line = _affine_spline(problem)
    pool.consider(line, [], "affine", certify=_affine_worth_certifying(problem, line))
    if warm_start is not None:
        _use_warm_start(pool, problem, warm_start)
    infos, failures = [], []
    n_iter = 0
    cand = None
    for backend in order:
        if pool.certified():  # e.g. lam >= lambda_max: the affine fit is certified optimal
            break
        fallback = backend != order[0]
        if fallback and backend in GENERIC_SOLVERS and solver == "auto" and problem.K > _GENERIC_MAX_SITES:
            failures.append(
                f"{backend} skipped: {problem.K} sites exceed {_GENERIC_MAX_SITES}, where the generic "
                "solvers take minutes or fail (docs/math.md#numerical-traps)"
            )
            continue
        try:
            cand = _run_backend(problem, backend, tol)
        except SolverFailure as exc:
            failures.append(str(exc))
            continue
        infos.append(cand.info)
        n_iter += cand.n_iter
        n_iter += _add_candidates(pool, problem, cand, backend, tol, failures)
        if pool.certified():
            break
    if not pool.certified():
        pool.certify_deferred()
    best = pool.best
    lower, zbest = pool.lower, pool.z
    obj, data, tv2, name, spline = best
    # a lower bound above the objective can only be rounding: cap it there
    lower = min(lower, obj)
    gap = obj - lower
    threshold = tol * max(1.0, abs(obj))
    if gap <= threshold:
        status, message = Status.OPTIMAL, f"optimal: certified gap {gap:.3e} <= {threshold:.3e}"
        if failures:
            message += f" (after: {'; '.join(failures)})"
    elif cand is None:
        status = Status.SOLVER_FAILED
        message = (
            f"no solver produced an answer ({'; '.join(failures)}); the returned spline is the best "
            f"affine fit, feasible, with certified gap {gap:.3e}"
        )
        warnings.warn(
            f"every solver failed; returning the best affine fit. Duality gap: {gap:.3e}, tolerance: "
            f"{threshold:.3e}. Try solver='osqp' or rescale the data.",
            InaccurateSolutionWarning,
            stacklevel=2,
        )
    else:
        status = Status.INACCURATE
        message = (
            f"certified gap {gap:.3e} exceeds tol * max(1, objective) = {threshold:.3e}; "
            "the spline is feasible but may be suboptimal by up to the gap"
        )
        warnings.warn(
            f"fit did not reach the requested accuracy. Duality gap: {gap:.3e}, tolerance: "
            f"{threshold:.3e} (solver {name}). Try another solver or rescale the data.",
            InaccurateSolutionWarning,
            stacklevel=2,
        )
    return FitResult(
        spline=spline,
        objective=obj,
        data_fit=data,
        tv2=tv2,
        lower_bound=lower,
        gap=gap,
        status=status,
        message=message,
        solver=name,
        n_iter=n_iter,
        time=time.perf_counter() - start,
        lam=problem.lam,
        bounds=problem.bounds,
        loss=loss,
        delta=problem.delta,
        solver_info={"backends": infos, "failures": failures},
        dual_certificate=zbest if lower > -math.inf else None,
        x=problem.x,
        y=problem.y,
        weights=problem.w,
    )


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
