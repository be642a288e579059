"""Refinement: from a back end's approximate answer to exact, feasible candidate splines.

A solver's slopes are right to its tolerance only: runs of equal slopes come back nearly equal,
slopes at a bound nearly there, and slopes over nearly tied sites are determined only to
``tolerance / h``. The strategies below turn them into candidates for the
:class:`tvspline._candidates.CandidatePool`, in this order, stopping as soon as the pool is
certified:

1. ``exact structure`` (squared loss): the slopes snapped into runs (relative tolerances
   :data:`STRUCTURE_SNAP_RTOLS`), and each run structure solved exactly
   (:func:`tvspline.solvers.activeset.solve_structure`); certified from the lowest objective up.
2. ``polish`` (squared loss): primal-dual active-set steps from the raw slopes
   (:func:`tvspline.solvers.activeset.polish`) with the first of :data:`POLISH_VARIANTS`.
3. ``rebuild``: the raw slopes integrated as they are; for the absolute and Huber losses also
   snapped (:data:`REBUILD_SNAP_RTOLS`); the slopes with tiny segments smoothed.
4. ``restricted re-solve`` (absolute and Huber losses): the same solver again with knots only at
   the best candidate's knots, which removes nearly tied segments (:data:`RESTRICTED_SNAP_RTOLS`).
5. ``other polish variants`` (squared loss): the rest of :data:`POLISH_VARIANTS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ._candidates import BOUND_RTOL, bound_scale, finish, spline_from_slopes
from .result import FitResult
from .solvers.activeset import _smooth_tiny_segments, polish, runs_from_slopes, solve_structure
from .solvers.base import SolverFailure
from .solvers.generic import solve_generic
from .solvers.ipm import solve_ipm

__all__ = ["SolveLog", "refine", "run_backend", "snap_slopes", "use_warm_start"]

#: Strategy 1: relative tolerances (of the largest slope) under which slopes are snapped into runs.
STRUCTURE_SNAP_RTOLS = (1e-7, 1e-9)
#: Strategy 3 (absolute, Huber): snapping tolerances of the rebuilt slopes.
REBUILD_SNAP_RTOLS = (1e-9, 1e-7)
#: Strategy 4: snapping tolerances of the restricted re-solve's slopes (0: as they are).
RESTRICTED_SNAP_RTOLS = (0.0, 1e-9)
#: Tolerances ``(jump, bound)`` at which the active-set step reads a run structure (equal slopes,
#: slopes at a bound) off an approximate solution.
STRUCTURE_TOLS = ((1e-7, 1e-6), (1e-6, 1e-5), (1e-5, 1e-4), (1e-9, 1e-7), (1e-4, 1e-3))
#: Tolerance of the structure read off a warm start (an exact previous solution).
WARM_START_TOL = 1e-12


class PolishVariant(NamedTuple):
    """One way of running :func:`tvspline.solvers.activeset.polish`."""

    jump_tol: float
    bound_tol: float
    smooth_tiny: bool  # nearly tied segments take a neighbour's slope
    move_knots: bool  # dual violations next to a knot move it (instead of adding one)


#: Strategies 2 and 5, tried in turn until one is certified.
POLISH_VARIANTS = (
    [PolishVariant(*tols, True, False) for tols in STRUCTURE_TOLS]
    + [PolishVariant(*tols, True, True) for tols in STRUCTURE_TOLS[:3]]
    + [PolishVariant(*tols, False, False) for tols in STRUCTURE_TOLS[:2]]
)


@dataclass
class SolveLog:
    """What the back ends did in one fit: their info, failures, stops at a limit, iterations."""

    infos: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    limits: list = field(default_factory=list)
    n_iter: int = 0
    answered: bool = False  # some back end returned an answer


def snap_slopes(problem, slopes, rtol):
    """Merge nearly equal consecutive slopes (and nearly bound ones) into exact runs."""
    s = np.asarray(slopes, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(s))))
    starts, fixed = runs_from_slopes(s, problem.bounds.lo, problem.bounds.hi, rtol * scale, rtol * scale)
    h = problem.h
    mean = np.add.reduceat(s * h, starts) / np.add.reduceat(h, starts)
    run_slope = np.where(np.isnan(fixed), mean, fixed)
    lengths = np.diff(np.append(starts, s.size))
    return np.repeat(run_slope, lengths)


def exact_structure(problem, run_slopes):
    """The spline solving the run structure of ``run_slopes`` exactly, or ``None``."""
    solved = solve_structure(problem, run_slopes, slack=BOUND_RTOL * bound_scale(problem.bounds))
    return None if solved is None else finish(problem, problem.t[solved[0]], solved[1])


def run_backend(problem, backend, tol, options):
    """One back end's answer; any error inside it becomes a :class:`SolverFailure`."""
    opts = dict(options.get(backend, {}))
    try:
        if backend == "ipm":
            return solve_ipm(problem, tol, **opts)
        limit = opts.pop("time_limit", None)
        return solve_generic(problem, backend, tol, settings=opts, time_limit=limit)
    except SolverFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - reported in the result's message, never raised
        raise SolverFailure(f"{backend} failed: {type(exc).__name__}: {exc}") from exc


def use_warm_start(pool, problem, warm_start) -> None:
    """Candidates from a previous result: its structure, polished exactly (squared loss)."""
    if not isinstance(warm_start, FitResult):
        raise TypeError(f"warm_start must be a FitResult, got {type(warm_start).__name__}")
    prev = warm_start.spline
    t = problem.t
    slopes = np.clip(prev.derivative(0.5 * (t[:-1] + t[1:])), problem.bounds.lo, problem.bounds.hi)
    if problem.loss == "squared" and problem.K > 2:
        bk, u, _, _ = polish(problem, slopes, jump_tol=WARM_START_TOL, bound_tol=WARM_START_TOL, move_knots=True)
        pool.consider(finish(problem, t[bk], u), [], "warm-start+active-set", exact=True)
    else:
        pool.consider(spline_from_slopes(problem, slopes, float(prev(t[0]))), [], "warm-start")


def _polished(problem, slopes, variant, log):
    bk, u, it, _ = polish(problem, slopes, jump_tol=variant.jump_tol, bound_tol=variant.bound_tol,
                          smooth_tiny=variant.smooth_tiny, move_knots=variant.move_knots)
    log.n_iter += it
    return bk, u


def _exact_structures(pool, problem, answer, backend, variants) -> None:
    """Strategy 1, for each snapping tolerance: the candidates certified from the lowest up."""
    for rtol in STRUCTURE_SNAP_RTOLS:
        ranked, seen = [], []
        for slopes in variants:
            snapped = snap_slopes(problem, slopes, rtol)
            if any(np.array_equal(snapped, other) for other in seen):
                continue  # the same runs as a variant already tried: the same candidate
            seen.append(snapped)
            spline = exact_structure(problem, snapped)
            exact = spline is not None
            if not exact:
                spline = spline_from_slopes(problem, snapped, answer.value0)
            evaluated = pool.evaluate(spline)
            if evaluated is not None:
                ranked.append((evaluated, spline, exact))
        ranked.sort(key=lambda item: item[0][0])
        for evaluated, spline, exact in ranked:
            name = backend + "+active-set" if exact else backend
            pool.consider(spline, answer.dual_estimates, name, evaluated, exact=exact)
            if pool.certified():
                return


def _restricted_resolve(pool, problem, backend, tol, options, log) -> None:
    """Strategy 4: the solver again, knots only at the best candidate's knots."""
    knots = pool.best.spline.knots
    knot_sites = np.searchsorted(problem.t, knots)
    if not np.array_equal(problem.t[np.clip(knot_sites, 0, problem.K - 1)], knots):
        return
    opts = dict(options.get(backend, {}))
    limit = opts.pop("time_limit", None)
    try:
        sub = solve_generic(problem, backend, tol, settings=opts, knot_index=knot_sites, time_limit=limit)
    except SolverFailure as exc:
        log.failures.append(str(exc))
        return
    log.n_iter += sub.n_iter
    for rtol in RESTRICTED_SNAP_RTOLS:
        slopes = snap_slopes(problem, sub.slopes, rtol) if rtol else sub.slopes
        pool.consider(spline_from_slopes(problem, slopes, sub.value0), [], backend + "+restricted")


def refine(pool, problem, answer, backend, tol, options, log) -> None:
    """Add the candidates built from one back end's ``answer`` to ``pool`` (module docstring)."""
    squared = problem.loss == "squared" and problem.K > 2
    smoothed = _smooth_tiny_segments(problem.t, answer.slopes)
    variants = (smoothed, answer.slopes) if smoothed is not answer.slopes else (answer.slopes,)
    polished = []  # (bk, u) of the active-set results already considered
    if squared:
        _exact_structures(pool, problem, answer, backend, variants)
        if pool.certified():
            return
        bk, u = _polished(problem, answer.slopes, POLISH_VARIANTS[0], log)
        polished.append((bk, u))
        pool.consider(finish(problem, problem.t[bk], u), answer.dual_estimates, backend + "+active-set", exact=True)
        if pool.certified():
            return
    pool.consider(spline_from_slopes(problem, answer.slopes, answer.value0), answer.dual_estimates, backend)
    if not squared:  # the squared loss has tried these snapped slopes in strategy 1
        for slopes in variants[::-1]:
            for rtol in REBUILD_SNAP_RTOLS:
                snapped = spline_from_slopes(problem, snap_slopes(problem, slopes, rtol), answer.value0)
                pool.consider(snapped, answer.dual_estimates, backend)
    if smoothed is not answer.slopes:
        pool.consider(spline_from_slopes(problem, smoothed, answer.value0), answer.dual_estimates, backend)
    if problem.loss != "squared" and problem.K > 2 and not pool.certified() and not answer.limit_reason:
        _restricted_resolve(pool, problem, backend, tol, options, log)
    if squared:
        for variant in POLISH_VARIANTS[1:]:
            bk, u = _polished(problem, answer.slopes, variant, log)
            if any(np.array_equal(bk, b0) and np.array_equal(u, u0) for b0, u0 in polished):
                continue
            polished.append((bk, u))
            pool.consider(finish(problem, problem.t[bk], u), [], backend + "+active-set", exact=True)
            if pool.certified():
                break
