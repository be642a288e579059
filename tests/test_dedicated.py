"""The dedicated squared-loss solver against the generic path and independent references.

``tvspline.fit(..., solver="ipm")`` (the dedicated interior-point method, then exact active-set
polishing) and ``solver="auto"`` are compared on random problems with

- the generic path ``solver="clarabel"`` (same polishing, different back end), and
- independent CVXPY + Clarabel references at tolerances 1e-11..1e-12, every original point kept
  (ties not merged): ``reference.reference_fit`` (slope formulation), :func:`relu_reference`
  (truncated-power basis, robust to nearly tied sites) and, for ``lam = 0``,
  :func:`interpolation_reference` (values only). Each returns the objective of a feasible spline
  rebuilt from its solution, i.e. an upper bound on the optimum; the lowest one is used.

The degenerate cases: all sites tied but two (three distinct sites, one of them carrying most
of the points) and only two distinct sites; ``lam = 0`` (interpolation under the bounds, exact
when the merged data are compatible with them); ``lam >= lambda_max`` (the clipped least-squares
line); ``lo == hi`` (the line of that slope with the best offset); sites whose spacings span 12
orders of magnitude (cumulative sums of spacings log-uniform in [1e-12, 1]).

For every fit: status OPTIMAL; slopes recomputed from the returned knots and values within the
bounds to 1e-12 relative; objective (recomputed independently) within 1e-7 relative (absolute
floor 1e-9) of the reference; objective minus reference within the reported gap; certified lower
bound not above the reference beyond rounding; dedicated and generic objectives within 1e-7
relative of each other; fitted values at the distinct sites within what the strong convexity of
the squared loss allows given the gaps. Only for sites closer than 1e-9 times their span is
status INACCURATE accepted (generic: also SOLVER_FAILED), and then every other check still
applies; the cases found are pinned by the strict xfail tests at the end of the file.

Invariants: permuting the data, and rescaling ``x -> a x`` with ``bounds -> bounds / a`` and
``lam -> a lam`` (``f_a(u) = f(u / a)`` has slopes ``f' / a`` and ``TV2(f_a) = TV2(f) / a``, the
data term is unchanged), leave the objective unchanged to 1e-9 * max(1, objective).

``TVSPLINE_HYPOTHESIS_SCALE=k`` multiplies the number of examples (as in test_fit.py).
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

import tvspline
from tvspline import InaccurateSolutionWarning, Status
from test_regressions import CLUSTERED
from reference import (
    RefSolution,
    affine_objective,
    clipped_ls_line,
    data_term,
    evaluate_spline,
    max_bound_violation,
    objective,
    reference_fit,
    rel_scale,
)

INF = math.inf
DEDICATED = ("ipm", "auto")
GENERIC = "clarabel"
SOLVERS = DEDICATED + (GENERIC,)
BOUNDS = [
    (-1.0, 1.0),
    (0.0, INF),
    (0.0, 1.0),
    (0.1, 10.0),
    (-INF, INF),
    (-0.5, 0.5),
    (-2.0, 0.3),
    (-INF, -0.2),
    (1.5, 1.5),
]
LAMS = [0.0, 1e-6, 1e-3, 0.05, 0.5, 3.0]

#: Generic path at lam = 0 with bounds (0, inf): Clarabel fails (see the xfail test at the end).
GENERIC_LAMBDA_ZERO = [
    # 1e-12 spacing
    (np.array([0.0, 6.000000000001, 1.000000000001, 2.000000000001, 3.000000000001,
               4.000000000001, 5.000000000001, 7.000000000001, 1e-12]),
     np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0, -3.0]),
     np.array([2.0, 4.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 0.109375])),
    # ordinary spacing (min 6.5e-5, span 4.4); fine with lam = 1e-9 or with bounds (0, 1e3)
    (np.array([6.5e-05, 0.001236, -2.999999, 0.0, 0.0, 0.000504, 0.002118, 1.343943, 0.0, 0.0, 1.411638]),
     np.array([2.0, 1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 1.0, 0.0, 2.0]),
     np.array([2.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 1.0, 0.5, 0.5])),
]


#: Slope bounds must hold to this, relative to max(1, |finite bounds|).
BOUND_RTOL = 1e-12
#: Objective vs reference (and dedicated vs generic): relative, with an absolute floor.
OBJ_RTOL, OBJ_ATOL = 1e-7, 1e-9
#: Rounding allowed in a recomputed objective or a lower bound, relative to max(1, |value|).
ROUNDING = 1e-12
#: Invariants: both results are certified to tol = 1e-9 * max(1, objective) (the fit's contract).
INV_RTOL = 1e-9

NX = max(1, int(os.environ.get("TVSPLINE_HYPOTHESIS_SCALE", "1")))
HYP = dict(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# --------------------------------------------------------------------------- helpers
def quiet_fit(x, y, lam, bounds, w, solver):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InaccurateSolutionWarning)
        return tvspline.fit(x, y, lam, bounds, weights=w, solver=solver)


def describe(res):
    return (
        f"status={res.status.name} obj={res.objective!r} lb={res.lower_bound!r} gap={res.gap:.3e} "
        f"solver={res.solver} knots={res.n_knots}"
    )


def problem_repr(x, y, w, lam, bounds):
    return f"x={x.tolist()!r}, y={y.tolist()!r}, w={w.tolist()!r}, lam={lam!r}, bounds={bounds!r}"


def bound_atol(bounds) -> float:
    finite = [abs(float(b)) for b in bounds if math.isfinite(b)]
    return BOUND_RTOL * max([1.0] + finite)


def obj_tol(value) -> float:
    return max(OBJ_RTOL * abs(value), OBJ_ATOL)


def merged(x, y, w):
    """Distinct sites, summed weights, weighted-mean targets (the squared-loss merge of ties)."""
    t, inv = np.unique(x, return_inverse=True)
    inv = inv.reshape(-1)
    W = np.bincount(inv, weights=w, minlength=t.size)
    Y = np.bincount(inv, weights=w * y, minlength=t.size) / W
    return t, W, Y


#: Relative rounding of an objective evaluated in float64 (a few dozen terms), as in test_fit.py.
OBJ_ROUNDING = 1e-13


def value_tol(excess1, excess2, W, yscale, objective):
    """Squared loss: F(c) - F* >= 1/2 sum_k W_k (c_k - c*_k)^2 in the values c at the sites, so
    two candidates whose objectives exceed the optimum by at most ``excess1``/``excess2`` have
    values within sqrt(2 e1 / W_k) + sqrt(2 e2 / W_k) of each other. Each excess is only known up
    to the rounding of the objectives (values are determined to ~sqrt(eps |F| / W) at best)."""
    r = 2.0 * OBJ_ROUNDING * rel_scale(objective)
    e1, e2 = max(excess1, 0.0) + r, max(excess2, 0.0) + r
    return 1e-9 * yscale + np.sqrt(2.0 * e1 / W) + np.sqrt(2.0 * e2 / W)


def rebuild(t, idx, x, y, w, lam, bounds, slopes, value0, status, raw):
    """A feasible spline from candidate slopes: clipped into the bounds, integrated from
    ``value0``, shifted by the best constant; its objective recomputed in original coordinates."""
    slopes = np.clip(np.asarray(slopes, dtype=np.float64), bounds[0], bounds[1])
    v = value0 + np.concatenate([[0.0], np.cumsum(np.diff(t) * slopes)])
    v = v + math.fsum(w * (y - v[idx])) / math.fsum(w)
    value = data_term(v[idx] - y, w) + lam * math.fsum(np.abs(np.diff(slopes)))
    return RefSolution(objective=value, sites=t, values=v, slopes=slopes, status=status, raw_objective=raw)


def interpolation_reference(x, y, w, bounds) -> RefSolution | None:
    """Independent CVXPY + Clarabel solution for lam = 0, in the values only.

    Without TV2 the slopes need not be variables: the bounds are ``lo h_k <= c_{k+1} - c_k <=
    hi h_k``, which stays well scaled when some ``h_k`` are tiny. (The slope formulation of
    ``reference_fit`` then needs slopes of order 1/h_k when a bound is infinite, which Clarabel
    does not reach: e.g. x = [0, 1e-12, 1], y = [0, 1, 0], monotone, where it returns 1/3 for the
    optimum 1/4.) The objective is recomputed from a spline rebuilt from clipped slopes, so it is
    that of a feasible spline, as for ``reference_fit``. ``None`` when Clarabel fails.
    """
    import cvxpy as cp

    lo, hi = (float(b) for b in bounds)
    t = np.unique(x)
    idx = np.searchsorted(t, x)
    h = np.diff(t)
    c = cp.Variable(t.size)
    d = c[1:] - c[:-1]
    cons = []
    if math.isfinite(lo):
        cons.append(d >= lo * h)
    if math.isfinite(hi):
        cons.append(d <= hi * h)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum(cp.multiply(w, cp.square(c[idx] - y)))), cons)
    for tol in (1e-12, 1e-10):  # Clarabel sometimes stalls short of 1e-12 ("insufficient progress")
        try:
            prob.solve(solver=cp.CLARABEL, tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol,
                       tol_ktratio=1e-10, max_iter=400)
        except cp.error.SolverError:
            continue
        if c.value is not None:
            break
    else:
        return None
    cv = np.asarray(c.value, dtype=np.float64)
    return rebuild(t, idx, x, y, w, 0.0, bounds, np.diff(cv) / h, cv[0], str(prob.status), float(prob.value))


def relu_reference(x, y, w, lam, bounds) -> RefSolution | None:
    """Independent CVXPY + Clarabel solution in the truncated-power (ReLU) basis.

    f(u) = c0 + s0 u + sum_j a_j (u - u_j)_+ over the interior sites u_j (x mapped affinely to
    [0, 1]): TV2 = ||a||_1, the slopes are s0 + cumsum(a) (bounds with 0/1 coefficients) and the
    design matrix has entries in [0, 1], whatever the spacing of the sites. Near-tied sites give
    nearly equal columns, which the L1 term resolves, so this stays accurate where the slope
    formulation of ``reference_fit`` (coupling c_{k+1} - c_k = h_k s_k) loses digits.

    Clarabel's default static regularisation (1e-8) perturbs the answer when the optimal a are
    large (huge slopes between nearly tied sites at small lam: measured 4e-4 relative); the solve
    is therefore repeated with a 1e-12 regularisation and with a scaled by 1e3. Every variant is
    rebuilt into a feasible spline twice (from its slopes and from its values at the sites), with
    the objective recomputed in original coordinates; the best one is returned. ``None`` when
    every solve fails.
    """
    import cvxpy as cp

    t = np.unique(x)
    idx = np.searchsorted(t, x)
    K = t.size
    x0, span = float(t[0]), float(t[-1] - t[0])
    u = (t - x0) / span
    u[-1] = 1.0
    B = np.maximum(u[:, None] - u[None, 1:-1], 0.0)  # (u_k - u_j)_+, j interior
    tight = dict(tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12, tol_ktratio=1e-10, max_iter=400)
    cands = []
    for scale, extra in ((1.0, {}), (1.0, {"static_regularization_constant": 1e-12}), (1e3, {})):
        c0, s0 = cp.Variable(), cp.Variable()
        a = cp.Variable(K - 2) if K > 2 else None
        vals = c0 + s0 * u + (scale * (B @ a) if a is not None else 0.0)
        obj = 0.5 * cp.sum(cp.multiply(w, cp.square(vals[idx] - y)))
        if a is not None:
            slopes_u = cp.hstack([s0, s0 + scale * cp.cumsum(a)])
            obj = obj + (lam / span) * scale * cp.norm1(a)
        else:
            slopes_u = s0
        cons = []
        if math.isfinite(bounds[0]):
            cons.append(slopes_u >= bounds[0] * span)
        if math.isfinite(bounds[1]):
            cons.append(slopes_u <= bounds[1] * span)
        prob = cp.Problem(cp.Minimize(obj), cons)
        try:
            prob.solve(solver=cp.CLARABEL, **tight, **extra)
        except cp.error.SolverError:
            continue
        if s0.value is None:
            continue
        su = np.full(K - 1, float(s0.value))
        if a is not None:
            su[1:] += scale * np.cumsum(np.asarray(a.value, dtype=np.float64))
        cv = np.asarray(vals.value, dtype=np.float64).reshape(-1)
        status, raw = str(prob.status), float(prob.value)
        cands.append(rebuild(t, idx, x, y, w, lam, bounds, su / span, cv[0], status, raw))
        cands.append(rebuild(t, idx, x, y, w, lam, bounds, np.diff(cv) / np.diff(t), cv[0], status, raw))
    return min(cands, key=lambda r: r.objective) if cands else None


def best_reference(x, y, w, lam, bounds) -> RefSolution:
    """The reference with the lowest objective. Every candidate's objective is that of a feasible
    spline, so the lowest one is the tightest upper bound on the optimum.

    ``reference_fit`` at its tight default tolerance, retried at 1e-9 if Clarabel gives up there
    (a looser tolerance only makes the upper bound less tight, never invalid);
    :func:`relu_reference`; for ``lam = 0`` also :func:`interpolation_reference`.
    """
    import cvxpy as cp

    refs = []
    for tol in (1e-11, 1e-9):
        try:
            refs.append(reference_fit(x, y, lam, bounds, w, tol=tol))
            break
        except (cp.error.SolverError, RuntimeError):
            continue
    alt = relu_reference(x, y, w, lam, bounds)
    if alt is not None:
        refs.append(alt)
    if lam == 0.0:
        alt = interpolation_reference(x, y, w, bounds)
        if alt is not None:
            refs.append(alt)
    assert refs, "every reference solve failed: " + problem_repr(x, y, w, lam, bounds)
    return min(refs, key=lambda r: r.objective)


def extreme_spacing(x) -> bool:
    """Some distinct sites closer than 1e-9 times the span (cf. docs/math.md#numerical-traps)."""
    t = np.unique(x)
    return bool(np.min(np.diff(t)) < 1e-9 * (t[-1] - t[0]))


def accepted_statuses(x, lam, bounds, solver):
    """OPTIMAL, plus the known shortfalls pinned by the strict xfail tests at the end of the file
    (and only where they occur, so that everything else stays strict):

    - sites closer than 1e-9 times their span: INACCURATE (certificate too loose near ties), or
      ITERATION_LIMIT when a solver also stopped at its cap; for the generic path also
      SOLVER_FAILED;
    - generic path, lam = 0 with exactly one infinite bound: Clarabel fails (SOLVER_FAILED).

    An accepted INACCURATE or SOLVER_FAILED result is still held to feasibility and an honest gap.
    """
    ok = [Status.OPTIMAL]
    if extreme_spacing(x):
        ok.extend([Status.INACCURATE, Status.ITERATION_LIMIT])
        if solver == GENERIC:
            ok.append(Status.SOLVER_FAILED)
    one_sided = math.isinf(bounds[0]) != math.isinf(bounds[1])
    if solver == GENERIC and lam == 0.0 and one_sided:
        ok.append(Status.SOLVER_FAILED)
    return tuple(ok)


def check_problem(x, y, w, lam, bounds, *, solvers=SOLVERS):
    """Fit with every solver and run all the per-problem checks; returns ({solver: result}, ref).

    A result accepted with a status other than OPTIMAL (see :func:`accepted_statuses`) gets every
    check except the 1e-7 comparisons if it comes from the generic path; a dedicated one gets all.
    """
    x, y, w = (np.asarray(a, dtype=np.float64) for a in (x, y, w))
    info = problem_repr(x, y, w, lam, bounds)
    results = {s: quiet_fit(x, y, lam, bounds, w, s) for s in solvers}
    rsol = best_reference(x, y, w, lam, bounds)
    ropt = rsol.objective
    t, W, Y = merged(x, y, w)
    yscale = max(1.0, float(np.max(np.abs(y))))
    indeps = {}
    for name, res in results.items():
        tag = f"[{name}] {describe(res)} | {info}"
        assert res.status in accepted_statuses(x, lam, bounds, name), tag
        if res.status != Status.OPTIMAL:
            event(f"{name}: accepted status {res.status.name}")
        viol = max_bound_violation(res.spline, bounds)
        assert viol <= bound_atol(bounds), f"slopes leave the bounds by {viol:.3e}: {tag}"
        indep = objective(res.spline, x, y, lam, w)
        assert abs(indep - res.objective) <= 1e-10 * rel_scale(indep), (indep, tag)
        assert res.lower_bound <= res.objective + ROUNDING * rel_scale(res.objective), tag
        assert indep - ropt <= res.gap + ROUNDING * rel_scale(ropt), (
            f"gap dishonest: objective - reference = {indep - ropt:.3e} > gap: {tag}")
        assert res.lower_bound <= ropt + ROUNDING * rel_scale(ropt), (
            f"lower bound above the reference optimum by {res.lower_bound - ropt:.3e}: {tag}")
        # fitted values at the distinct sites are unique (squared loss): compare with the reference
        tol = value_tol(res.gap, ropt - res.lower_bound, W, yscale, ropt)
        diff = np.abs(evaluate_spline(res.spline, t) - rsol.values)
        assert np.all(diff <= tol), (f"site values differ by {diff.max():.3e} from the reference "
                                     f"(allowed {tol[np.argmax(diff - tol)]:.3e}): {tag}")
        if name == GENERIC and res.status != Status.OPTIMAL:
            continue  # accepted shortfall: honest, but not an answer to compare
        indeps[name] = indep
        assert abs(indep - ropt) <= obj_tol(ropt), (
            f"objective {indep!r} vs reference {ropt!r} (diff {indep - ropt:.3e}): {tag}")
    if GENERIC in indeps:
        g = indeps[GENERIC]
        for name in DEDICATED:
            if name in indeps:
                assert abs(indeps[name] - g) <= obj_tol(g), (
                    f"dedicated {name} {indeps[name]!r} vs generic {g!r}: {info}")
    return results, rsol


# --------------------------------------------------------------------------- strategies
floats_y = st.floats(-5.0, 5.0, allow_nan=False, allow_infinity=False)
floats_w = st.floats(0.1, 5.0)


@st.composite
def sites_grid(draw, M):
    """M sites on a grid of step 1/8 in [-3, 3] (exact ties are likely)."""
    ints = draw(st.lists(st.integers(-24, 24), min_size=M, max_size=M))
    return np.asarray(ints, dtype=np.float64) / 8.0


@st.composite
def sites_uniform(draw, M):
    """M sites in [-3, 3] at resolution 1e-6 (extreme spacing is the "log" kind's job)."""
    ints = draw(st.lists(st.integers(-3_000_000, 3_000_000), min_size=M, max_size=M))
    return np.asarray(ints, dtype=np.float64) * 1e-6


@st.composite
def sites_log_spacing(draw, M):
    """Cumulative sums of spacings drawn log-uniformly in [1e-12, 1] (12 decades of spacing)."""
    expo = draw(st.lists(st.floats(-12.0, 0.0), min_size=M - 1, max_size=M - 1))
    # make sure both ends of the range occur
    expo[0], expo[-1] = -12.0, 0.0
    spacing = 10.0 ** np.asarray(expo)
    x0 = draw(st.floats(-3.0, 3.0))
    x = x0 + np.concatenate([[0.0], np.cumsum(spacing)])
    order = draw(st.permutations(range(M)))
    return x[np.asarray(order)]


@st.composite
def general_problems(draw, max_m=20, site_kinds=("grid", "uniform")):
    M = draw(st.integers(3, max_m))
    kind = draw(st.sampled_from(site_kinds))
    x = {"grid": sites_grid, "uniform": sites_uniform, "log": sites_log_spacing}[kind](M)
    x = draw(x)
    assume(np.unique(x).size >= 2)
    shape = draw(st.sampled_from(["random", "smooth"]))
    if shape == "random":
        y = np.asarray(draw(st.lists(floats_y, min_size=M, max_size=M)))
    else:
        # a kinked trend plus noise: knots are worth their TV2 cost
        amp = draw(st.floats(0.1, 3.0))
        noise = np.asarray(draw(st.lists(st.floats(-0.3, 0.3), min_size=M, max_size=M)))
        xm = x - np.mean(x)
        y = amp * np.abs(xm) + np.sin(3.0 * xm / max(1e-12, np.ptp(x))) + noise
    w = np.asarray(draw(st.lists(floats_w, min_size=M, max_size=M)))
    lam = draw(st.sampled_from(LAMS))
    bounds = draw(st.sampled_from(BOUNDS))
    return x, y, w, lam, bounds


# --------------------------------------------------------------------------- general problems
@settings(max_examples=50 * NX, **HYP)
@given(general_problems())
@example((*GENERIC_LAMBDA_ZERO[1], 0.0, (0.0, INF)))
def test_dedicated_matches_generic_and_reference(p):
    check_problem(*p)


# --------------------------------------------------------------------------- 1. all tied but two
@st.composite
def tied_but_two(draw):
    """Many points at one site plus one or a few points at two other distinct sites."""
    n_tied = draw(st.integers(2, 30))
    sites = draw(st.lists(st.integers(-24, 24), min_size=3, max_size=3, unique=True))
    s = np.asarray(sites, dtype=np.float64) / 8.0
    n_others = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    x = np.concatenate([np.full(n_tied, s[0]), np.full(n_others[0], s[1]), np.full(n_others[1], s[2])])
    M = x.size
    x = x[np.asarray(draw(st.permutations(range(M))))]
    y = np.asarray(draw(st.lists(floats_y, min_size=M, max_size=M)))
    w = np.asarray(draw(st.lists(floats_w, min_size=M, max_size=M)))
    return x, y, w, draw(st.sampled_from(LAMS)), draw(st.sampled_from(BOUNDS))


@st.composite
def two_sites(draw):
    """Only two distinct sites (all points tied at one of them), at least 1e-12 apart relative to
    their magnitude (the range of case 5; closer sites are the xfail tests at the end)."""
    a, b = draw(st.lists(st.floats(-3.0, 3.0), min_size=2, max_size=2, unique=True))
    assume(abs(a - b) >= 1e-12 * max(1.0, abs(a), abs(b)))
    n_a, n_b = draw(st.integers(1, 20)), draw(st.integers(1, 20))
    x = np.concatenate([np.full(n_a, a), np.full(n_b, b)])
    M = x.size
    x = x[np.asarray(draw(st.permutations(range(M))))]
    y = np.asarray(draw(st.lists(floats_y, min_size=M, max_size=M)))
    w = np.asarray(draw(st.lists(floats_w, min_size=M, max_size=M)))
    return x, y, w, draw(st.sampled_from(LAMS)), draw(st.sampled_from(BOUNDS))


def best_line_two_sites(x, y, w, bounds):
    """Two distinct sites: the best line has the chord slope of the merged targets clipped into
    the bounds (the profile objective in the slope is a convex quadratic minimised at the chord
    slope) and the offset that zeroes the weighted mean residual."""
    t, _, Y = merged(x, y, w)
    slope = float(np.clip((Y[1] - Y[0]) / (t[1] - t[0]), bounds[0], bounds[1]))
    return slope, math.fsum(w * (y - slope * x)) / math.fsum(w)


@settings(max_examples=30 * NX, **HYP)
@given(tied_but_two())
def test_all_sites_tied_but_two(p):
    check_problem(*p)


@settings(max_examples=30 * NX, **HYP)
@given(two_sites())
def test_only_two_distinct_sites(p):
    """Every feasible function is compared on two sites only: the optimum is the best line with a
    slope in the bounds, i.e. the weighted least-squares line with its slope clipped (the profile
    objective in the slope is a convex quadratic), whatever lam."""
    x, y, w, lam, bounds = p
    results, _ = check_problem(x, y, w, lam, bounds)
    slope, intercept = best_line_two_sites(x, y, w, bounds)
    expected = affine_objective(x, y, slope, intercept, w)
    for name, res in results.items():
        assert res.n_knots == 0, (name, describe(res))
        indep = objective(res.spline, x, y, lam, w)
        assert abs(indep - expected) <= obj_tol(expected), (name, indep, expected, describe(res))
        assert res.lower_bound <= expected + ROUNDING * rel_scale(expected), (name, describe(res))


# --------------------------------------------------------------------------- 2. lam = 0
@st.composite
def interpolation_problems(draw):
    """lam = 0 with data compatible with the bounds (after merging ties) or not.

    Compatible data: site values integrated from slopes strictly inside the bounds; the points
    tied at a site scatter around that value with zero weighted mean, so the merged targets are
    the site values (to rounding) and the chord slopes stay inside the bounds.
    """
    bounds = draw(st.sampled_from(BOUNDS[:-1]))  # lo == hi is covered by its own test
    compatible = draw(st.booleans())
    K = draw(st.integers(2, 15))
    ints = draw(st.lists(st.integers(-24, 24), min_size=K, max_size=K, unique=True))
    t = np.sort(np.asarray(ints, dtype=np.float64) / 8.0)
    counts = np.asarray(draw(st.lists(st.integers(1, 3), min_size=K, max_size=K)))
    x = np.repeat(t, counts)
    M = x.size
    w = np.asarray(draw(st.lists(floats_w, min_size=M, max_size=M)))
    if compatible:
        lo, hi = bounds
        a = lo if math.isfinite(lo) else (min(hi, 0.0) - 3.0)
        b = hi if math.isfinite(hi) else (max(lo, 0.0) + 3.0)
        frac = np.asarray(draw(st.lists(st.floats(0.01, 0.99), min_size=K - 1, max_size=K - 1)))
        slopes = a + frac * (b - a)
        v = draw(floats_y) + np.concatenate([[0.0], np.cumsum(np.diff(t) * slopes)])
        site = np.repeat(np.arange(K), counts)
        e = np.asarray(draw(st.lists(st.floats(-1.0, 1.0), min_size=M, max_size=M)))
        emean = np.bincount(site, weights=w * e, minlength=K) / np.bincount(site, weights=w, minlength=K)
        y = v[site] + (e - emean[site])
    else:
        y = np.asarray(draw(st.lists(floats_y, min_size=M, max_size=M)))
    perm = np.asarray(draw(st.permutations(range(M))))
    return x[perm], y[perm], w[perm], bounds, compatible


def _compatible(t, Y, bounds):
    s = np.diff(Y) / np.diff(t)
    return bool(np.all(s >= bounds[0]) and np.all(s <= bounds[1]))


@settings(max_examples=40 * NX, **HYP)
@given(interpolation_problems())
def test_lambda_zero_is_bounded_interpolation(p):
    x, y, w, bounds, compatible = p
    results, ref = check_problem(x, y, w, 0.0, bounds)
    t, W, Y = merged(x, y, w)
    if compatible:
        assert _compatible(t, Y, bounds)
    if not _compatible(t, Y, bounds):
        return  # the bounded projection: the reference comparison above is the check
    # the merged data are feasible: the optimum interpolates them, its objective is the scatter of
    # the tied points around their means
    scatter = 0.5 * math.fsum(w * (y - Y[np.searchsorted(t, x)]) ** 2)
    yscale = max(1.0, float(np.max(np.abs(Y))))
    for name, res in results.items():
        fitted = evaluate_spline(res.spline, t)
        err = np.abs(fitted - Y)
        assert np.all(err <= 1e-12 * yscale), (
            f"[{name}] does not interpolate the merged data: max error {err.max():.3e}, {describe(res)}, "
            + problem_repr(x, y, w, 0.0, bounds))
        indep = objective(res.spline, x, y, 0.0, w)
        assert abs(indep - scatter) <= ROUNDING * rel_scale(scatter), (name, indep, scatter)


# --------------------------------------------------------------------------- 3. lam >= lambda_max
@settings(max_examples=40 * NX, **HYP)
@given(general_problems(site_kinds=("grid", "uniform", "log")),
       st.sampled_from([1.0, 1.0 + 1e-9, 1.001, 1.5, 10.0, 1e4]))
def test_above_lambda_max_the_fit_is_the_clipped_ls_line(p, factor):
    x, y, w, _, bounds = p
    lmax = tvspline.lambda_max(x, y, bounds, weights=w)
    assert lmax >= 0.0 and math.isfinite(lmax)
    lam = factor * lmax
    results, _ = check_problem(x, y, w, lam, bounds)
    slope, intercept = clipped_ls_line(x, y, w, bounds)
    line = affine_objective(x, y, slope, intercept, w)
    t, W, _ = merged(x, y, w)
    yscale = max(1.0, float(np.max(np.abs(y))))
    for name, res in results.items():
        tag = f"[{name}] lambda_max={lmax!r} factor={factor} {describe(res)} | " + problem_repr(x, y, w, lam, bounds)
        assert res.n_knots == 0, tag
        indep = objective(res.spline, x, y, lam, w)
        assert abs(indep - line) <= obj_tol(line), (indep, line, tag)
        # the line is the optimum: values at the sites agree within what the gaps allow
        tol = value_tol(res.gap, line - res.lower_bound, W, yscale, line)
        diff = np.abs(evaluate_spline(res.spline, t) - (slope * t + intercept))
        assert np.all(diff <= tol), (diff.max(), tag)


# --------------------------------------------------------------------------- 4. lo == hi
@settings(max_examples=30 * NX, **HYP)
@given(general_problems(site_kinds=("grid", "uniform", "log")), st.sampled_from([-2.5, -1.0, 0.0, 0.3, 1.0, 7.0]))
def test_equal_bounds_force_the_line_with_best_offset(p, s):
    x, y, w, lam, _ = p
    bounds = (s, s)
    results, _ = check_problem(x, y, w, lam, bounds)
    b = math.fsum(w * (y - s * x)) / math.fsum(w)
    expected = affine_objective(x, y, s, b, w)
    t = np.unique(x)
    scale = max(1.0, float(np.max(np.abs(y))), abs(s) * float(np.max(np.abs(x))))
    for name, res in results.items():
        tag = f"[{name}] {describe(res)} | " + problem_repr(x, y, w, lam, bounds)
        assert res.n_knots == 0, tag
        diff = np.abs(evaluate_spline(res.spline, t) - (s * t + b))
        assert np.all(diff <= 1e-12 * scale), (diff.max(), tag)
        indep = objective(res.spline, x, y, lam, w)
        assert abs(indep - expected) <= 1e-10 * rel_scale(expected), (indep, expected, tag)


# --------------------------------------------------------------------------- 5. 12 decades of spacing
_LOG_EXAMPLES = [
    # lam = 0, monotone: the slope formulation of the reference returns 1/3 (optimum 1/4)
    (np.array([0.0, 1e-12, 1.000000000001]), np.array([0.0, 1.0, 0.0]), np.ones(3), 0.0, (0.0, INF)),
    # lam > lambda_max with a 1e-12 tie: solver="ipm" ends INACCURATE (gap 2.7e-9), honest
    (np.array([0.0, 1e-12, 1.000000000001, 2.000000000001, 3.000000000001]),
     np.array([0.0, 0.0, 0.0, 1.0, 1.0]), np.array([1.0, 1.0, 0.5, 1.0, 1.0]), 0.5, (0.0, INF)),
    # lam = 1e-6, huge slopes between sites 6.6e-6 apart: reference_fit is 1e-4 too high and
    # Clarabel's default regularisation spoils the ReLU reference (see relu_reference)
    (np.array([0.0, 1.000006593817316, 2.000006593817316, 3.000006593817316, 4.000006593817316,
               5.000006593817316, 6.000006593817316, 7.000006593817316, 8.000006593817316,
               9.000006593817316, 10.000006593817316, 11.000006593817316, 12.000006593817316,
               13.000006593817316, 14.000006593817316, 1.0000064938173159, 1e-12, 1.000000000001]),
     np.concatenate([np.zeros(17), [1.0]]),
     np.array([1.0, 1.0, 1.0, 1.0, 1.0, 2.5, 2.5, 2.0, 1.0, 4.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]),
     1e-6, (-INF, INF)),
    # lam = 1e-6: reference_fit fails outright (Clarabel error)
    (np.array([0.0, 1e-12, 1.000000000001, 2.000000000001, 3.000000000001, 4.000000000001,
               5.000000000001, 6.000000000001, 6.000010000001, 6.100010000000999, 7.100010000000999,
               8.100010000001, 9.100010000001, 10.100010000001, 11.100010000001, 12.100010000001,
               13.100010000001, 14.100010000001, 15.100010000001]),
     np.concatenate([np.zeros(8), [2.0], np.zeros(10)]),
     np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]),
     1e-6, (-INF, INF)),
    # lam = 0, monotone: the generic path ends SOLVER_FAILED (see the xfail test below)
    (np.array([0.0, 6.000000000001, 1.000000000001, 2.000000000001, 3.000000000001,
               4.000000000001, 5.000000000001, 7.000000000001, 1e-12]),
     np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0, -3.0]),
     np.array([2.0, 4.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 0.109375]), 0.0, (0.0, INF)),
]


def _with_examples(examples):
    def deco(f):
        for p in reversed(examples):
            f = example(p)(f)
        return f
    return deco


@settings(max_examples=50 * NX, **HYP)
@given(general_problems(site_kinds=("log",), max_m=25))
@_with_examples(_LOG_EXAMPLES)
def test_sites_spanning_twelve_orders_of_magnitude(p):
    x = p[0]
    h = np.diff(np.unique(x))
    assert h.min() < 1e-10 and h.max() > 0.1
    check_problem(*p)


# --------------------------------------------------------------------------- invariants
def _objectives_agree(r1, r2, what):
    scale = rel_scale(r1.objective)
    assert abs(r1.objective - r2.objective) <= INV_RTOL * scale, (what, describe(r1), describe(r2))


@settings(max_examples=30 * NX, **HYP)
@given(general_problems(site_kinds=("grid", "uniform", "log")), st.randoms(use_true_random=False))
def test_permutation_invariance(p, rnd):
    x, y, w, lam, bounds = p
    perm = list(range(x.size))
    rnd.shuffle(perm)
    perm = np.asarray(perm)
    for solver in DEDICATED:
        ok = accepted_statuses(x, lam, bounds, solver)
        r1 = quiet_fit(x, y, lam, bounds, w, solver)
        r2 = quiet_fit(x[perm], y[perm], lam, bounds, w[perm], solver)
        assert r1.status in ok and r2.status in ok, (solver, describe(r1), describe(r2))
        _objectives_agree(r1, r2, f"{solver} permuted: " + problem_repr(x, y, w, lam, bounds))


def _scaled(bounds, a):
    return (bounds[0] / a, bounds[1] / a)


@settings(max_examples=30 * NX, **HYP)
@given(general_problems(site_kinds=("grid", "uniform", "log")), st.floats(-6.0, 6.0))
@example((*CLUSTERED, 0.001, (0.1, 10.0)), 0.0)  # found by this property with random seeds
def test_rescaling_x_with_bounds_and_lambda(p, log_a):
    # f_a(u) = f(u / a) fits (a x, y) with the same residuals; f_a' = f' / a and
    # TV2(f_a) = TV2(f) / a, so bounds / a and lam * a give the same objective.
    x, y, w, lam, bounds = p
    a = 10.0 ** log_a
    for solver in DEDICATED:
        ok = accepted_statuses(x, lam, bounds, solver)
        r1 = quiet_fit(x, y, lam, bounds, w, solver)
        r2 = quiet_fit(a * x, y, lam * a, _scaled(bounds, a), w, solver)
        assert r1.status in ok and r2.status in ok, (solver, a, describe(r1), describe(r2))
        assert max_bound_violation(r2.spline, _scaled(bounds, a)) <= bound_atol(_scaled(bounds, a))
        _objectives_agree(r1, r2, f"{solver} a={a!r}: " + problem_repr(x, y, w, lam, bounds))


# --------------------------------------------------------------------------- failures found
# Inputs found by the properties above on which tvspline falls short of its contract. Each xfail
# is strict: it starts failing (XPASS) when the library is fixed, and should then be turned into
# a plain test. The hypothesis tests accept these behaviours only where noted (status INACCURATE
# with an honest gap, for sites with extreme spacing) and check everything else strictly.
NEAR_TIE_AFFINE = [
    # lam well above lambda_max (0.45 and 0.18): the optimum is the least-squares line
    (np.array([0.0, 1e-12, 1.0, 2.0, 3.0, 4.0]), np.array([0.0, 0.0, 0.0, 0.0, 0.0, 1.0]), 1.0),
    (np.array([0.0, 1e-13, 1.0, 2.0]), np.array([0.0, 0.0, 0.0, 1.0]), 1.0),
]


@pytest.mark.parametrize("solver", DEDICATED)
@pytest.mark.parametrize("case", range(len(NEAR_TIE_AFFINE)))
def test_near_tie_affine_optimum_is_exact_and_honest(case, solver):
    """What holds today on the xfail inputs below: the objective is the optimum (the LS line) and
    the reported gap is honest; only the certificate is loose."""
    x, y, lam = NEAR_TIE_AFFINE[case]
    w = np.ones_like(x)
    assert lam > tvspline.lambda_max(x, y)
    res = quiet_fit(x, y, lam, (-INF, INF), w, solver)
    slope, intercept = clipped_ls_line(x, y, w, (-INF, INF))
    line = affine_objective(x, y, slope, intercept, w)
    assert res.n_knots == 0 and abs(res.objective - line) <= ROUNDING * rel_scale(line), describe(res)
    assert res.lower_bound <= line + ROUNDING * rel_scale(line), describe(res)
    assert res.status in (Status.OPTIMAL, Status.INACCURATE, Status.ITERATION_LIMIT), describe(res)


@pytest.mark.xfail(strict=True, reason="certificate of an affine optimum is loose when two sites are "
                   "1e-12..1e-13 apart: INACCURATE, gap 2.0e-9 / 2.2e-8 > tol 1e-9")
@pytest.mark.parametrize("solver", DEDICATED)
@pytest.mark.parametrize("case", range(len(NEAR_TIE_AFFINE)))
def test_near_tie_affine_optimum_is_certified(case, solver):
    x, y, lam = NEAR_TIE_AFFINE[case]
    res = quiet_fit(x, y, lam, (-INF, INF), np.ones_like(x), solver)
    assert res.status == Status.OPTIMAL, describe(res)


@pytest.mark.xfail(strict=True, reason="generic path (solver='clarabel'): at lam = 0 with bounds (0, inf) "
                   "Clarabel fails (SOLVER_FAILED, affine fallback): nothing bounds the slope variables")
@pytest.mark.parametrize("case", range(len(GENERIC_LAMBDA_ZERO)))
def test_generic_solver_lambda_zero_one_sided_bounds(case):
    x, y, w = GENERIC_LAMBDA_ZERO[case]
    # solver="ipm" and "auto" solve these; the generic path alone does not
    res = quiet_fit(x, y, 0.0, (0.0, INF), w, GENERIC)
    assert res.status == Status.OPTIMAL, describe(res)


def _two_point_expectations(x, y, lam, bounds):
    res = quiet_fit(np.asarray(x, float), np.asarray(y, float), lam, bounds, np.ones(len(x)), "auto")
    assert max_bound_violation(res.spline, bounds) <= bound_atol(bounds), describe(res)
    return res


@pytest.mark.parametrize("x, bounds", [([0.0, 1e-17], (1.0, 1.0)), ([0.0, 1e-30], (0.1, 10.0))])
def test_sites_too_close_for_the_bounds_do_not_crash(x, bounds):
    # the best line has slope bounds[0] and value ~0.5 at both sites: objective 1/4 (a spline on
    # wider knots, e.g. [0, 1], represents it with bound-exact slopes)
    res = _two_point_expectations(x, [0.0, 1.0], 0.0, bounds)
    assert abs(res.objective - 0.25) <= 1e-12, describe(res)


@pytest.mark.parametrize("x, bounds, expected", [([0.0, 1e-170], (-INF, INF), 0.0),
                                                 ([0.0, 5e-324], (-1.0, 1.0), 0.25)])
def test_underflowing_spacing_does_not_crash(x, bounds, expected):
    res = _two_point_expectations(x, [0.0, 1.0], 0.0, bounds)
    assert abs(res.objective - expected) <= 1e-12, describe(res)


@pytest.mark.xfail(strict=True, reason="subnormal spacing: INACCURATE with gap 0.083 (objective 1/3 is "
                   "right, lower bound 1/4)")
def test_subnormal_spacing_is_certified():
    res = quiet_fit(np.array([0.0, 0.0, 5e-324]), np.array([0.0, 0.0, 1.0]), 0.0, (-1.0, 1.0),
                    np.ones(3), "auto")
    assert abs(res.objective - 1.0 / 3.0) <= 1e-12, describe(res)
    assert res.status == Status.OPTIMAL, describe(res)
