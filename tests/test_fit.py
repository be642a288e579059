"""Correctness of ``tvspline.fit`` against an independent reference and closed forms.

Every check recomputes what it needs from the returned spline's knots and values with the
independent helpers of ``reference.py`` (objective, slope-bound violation); the optimum comes from
an independent CVXPY + Clarabel solve (``reference.reference_fit``) which keeps every original
data point (ties are not merged).
"""

from __future__ import annotations

import math
import os
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tvspline
from tvspline import InaccurateSolutionWarning, Status
from reference import (
    affine_objective,
    bound_tol,
    clipped_ls_line,
    data_term,
    evaluate_spline,
    max_bound_violation,
    objective,
    reference_fit,
    rel_scale,
    weighted_median,
)

INF = math.inf
BOUNDS = [(-1.0, 1.0), (0.0, INF), (0.0, 1.0), (0.1, 10.0), (-INF, INF)]
BOUND_IDS = ["lip1", "monotone", "fne", "inv0.1", "free"]
LAMS = [1e-4, 1e-2, 1.0, "lmax"]
MS = [5, 30, 300]
KINDS = ["uniform", "ties", "near_ties"]
HUBER_DELTA = 0.5
#: Relative rounding error allowed in a recomputed objective (sums of a few hundred terms).
ROUNDING = 1e-13


def _seed(*parts) -> int:
    return zlib.crc32("-".join(map(str, parts)).encode())


def make_data(kind: str, M: int, seed_tag="data"):
    """Random held-out-style data: sites in [-3, 3], a trend with wiggles, positive weights."""
    rng = np.random.default_rng(_seed(seed_tag, kind, M))
    if kind == "uniform":
        x = rng.uniform(-3.0, 3.0, M)
    elif kind == "ties":
        grid = np.linspace(-3.0, 3.0, max(3, (M + 1) // 2))
        x = rng.choice(grid, M)
        x[0], x[1], x[2] = grid[0], grid[-1], grid[1]  # at least 3 distinct sites
        x[3] = x[2]  # and at least one exact tie
    elif kind == "near_ties":
        x = rng.uniform(-3.0, 3.0, M)
        # about a third of the points sit 1e-9 (a few 1e-9) away from another point
        for j in range(1, M, 3):
            x[j] = x[j - 1] + rng.choice([-2.0, -1.0, 1.0, 2.0]) * 1e-9
    else:  # pragma: no cover
        raise AssertionError(kind)
    y = 0.6 * x + np.sin(1.7 * x) + 0.3 * rng.standard_normal(M)
    w = rng.uniform(0.2, 3.0, M)
    assert np.unique(x).size >= 2
    return x, y, w


def quiet_fit(*args, **kwargs):
    if kwargs.get("loss", "squared") != "huber":
        kwargs.pop("delta", None)  # fit refuses a delta for the losses that do not use it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InaccurateSolutionWarning)
        return tvspline.fit(*args, **kwargs)


def describe(res):
    return (
        f"status={res.status.name} obj={res.objective!r} lb={res.lower_bound!r} gap={res.gap:.3e} "
        f"solver={res.solver} knots={res.n_knots}"
    )


def check_against_reference(x, y, w, lam, bounds, loss, delta=1.0, *, require_optimal):
    """All the per-problem checks; returns a list of failure messages (empty when fine)."""
    res = quiet_fit(x, y, lam, bounds, weights=w, loss=loss, delta=delta)
    ref = reference_fit(x, y, lam, bounds, w, loss, delta)
    fails = []
    scale = rel_scale(ref.objective)
    viol = max_bound_violation(res.spline, bounds)
    if viol > bound_tol(bounds):
        fails.append(f"slope bounds violated by {viol:.3e}")
    indep = objective(res.spline, x, y, lam, w, loss, delta)
    if abs(indep - res.objective) > 1e-10 * rel_scale(indep):
        fails.append(f"independent objective {indep!r} != result.objective {res.objective!r}")
    if indep - ref.objective > 1e-7 * scale:
        fails.append(
            f"objective {indep!r} above reference optimum {ref.objective!r} "
            f"(rel {(indep - ref.objective) / scale:.3e} > 1e-7)"
        )
    if indep - ref.objective > res.gap + 1e-9 * scale:
        fails.append(
            f"gap dishonest: objective - ref = {indep - ref.objective:.3e} > reported gap {res.gap:.3e}"
        )
    if res.lower_bound > ref.objective + 1e-9 * scale:
        fails.append(
            f"lower bound {res.lower_bound!r} exceeds the optimum {ref.objective!r} "
            f"by {res.lower_bound - ref.objective:.3e}"
        )
    if not res.objective >= res.lower_bound - ROUNDING * rel_scale(res.objective):
        fails.append("objective < lower_bound")
    if require_optimal and res.status != Status.OPTIMAL:
        fails.append(f"status {res.status.name}, expected OPTIMAL ({res.message})")
    if fails:
        fails.append(f"[{describe(res)}; ref={ref.objective!r} ({ref.status})]")
    return fails


# --------------------------------------------------------------------------- held-out-style grid
@pytest.mark.parametrize("M", MS)
@pytest.mark.parametrize("lam", LAMS, ids=["1e-4", "1e-2", "1", "lmax"])
@pytest.mark.parametrize("bounds", BOUNDS, ids=BOUND_IDS)
@pytest.mark.parametrize("loss", ["squared", "absolute"])
@pytest.mark.parametrize("kind", KINDS)
def test_fit_matches_reference(kind, loss, bounds, lam, M):
    x, y, w = make_data(kind, M)
    if lam == "lmax":
        lam = tvspline.lambda_max(x, y, bounds, weights=w)
    fails = check_against_reference(x, y, w, lam, bounds, loss, require_optimal=(loss == "squared"))
    assert not fails, "\n".join(fails)


HUBER_CASES = [
    pytest.param(kind, bounds, lam, M, id=f"{kind}-{bid}-{lam}-{M}")
    for kind in KINDS
    for bounds, bid in zip(BOUNDS, BOUND_IDS)
    for lam in (1e-2, 1.0)
    for M in (5, 30, 300)
    # full grid at M = 30, a few cases at M = 5 and 300
    if M == 30 or (lam == 1.0 and bid in ("lip1", "free"))
]


@pytest.mark.parametrize("kind, bounds, lam, M", HUBER_CASES)
def test_fit_huber_matches_reference(kind, bounds, lam, M):
    x, y, w = make_data(kind, M)
    fails = check_against_reference(x, y, w, lam, bounds, "huber", HUBER_DELTA, require_optimal=False)
    assert not fails, "\n".join(fails)


# --------------------------------------------------------------------------- closed forms
def _random_feasible_function(rng, bounds, n_knots=6):
    """A random linear spline (knots not at the data sites) with slopes inside ``bounds``."""
    lo, hi = bounds
    if math.isfinite(lo) and math.isfinite(hi):
        s = rng.uniform(lo, hi, n_knots + 1)
    elif math.isfinite(lo):
        s = lo + rng.exponential(1.5, n_knots + 1)
    elif math.isfinite(hi):
        s = hi - rng.exponential(1.5, n_knots + 1)
    else:
        s = 2.0 * rng.standard_normal(n_knots + 1)
    t = np.sort(rng.uniform(-3.5, 3.5, n_knots + 2))
    return tvspline.LinearSpline.from_slopes(t, rng.standard_normal(), s[: t.size - 1])


@pytest.mark.parametrize("loss", ["squared", "absolute", "huber"])
@pytest.mark.parametrize("bounds", BOUNDS, ids=BOUND_IDS)
@pytest.mark.parametrize("M", [5, 40])
def test_lambda_zero_interpolates_feasible_data(M, bounds, loss):
    rng = np.random.default_rng(_seed("interp", M, bounds, loss))
    g = _random_feasible_function(rng, bounds)
    x = rng.uniform(-3.0, 3.0, M)
    y = evaluate_spline(g, x)
    w = rng.uniform(0.2, 3.0, M)
    res = quiet_fit(x, y, 0.0, bounds, weights=w, loss=loss, delta=HUBER_DELTA)
    yscale = max(1.0, float(np.max(np.abs(y))))
    assert max_bound_violation(res.spline, bounds) <= bound_tol(bounds)
    resid = np.abs(evaluate_spline(res.spline, x) - y)
    indep = objective(res.spline, x, y, 0.0, w, loss, HUBER_DELTA)
    # the optimum is 0; the contract (gap <= tol * max(1, objective), tol = 1e-9) allows 1e-9
    assert 0.0 <= res.objective <= 1e-9 and indep <= 1e-9, describe(res)
    assert res.lower_bound <= 1e-12, describe(res)
    if loss == "huber":
        # no exact polishing for Huber: the residuals are what an objective <= 1e-9 allows
        # (all in the quadratic zone: 1/2 w r^2 <= objective)
        assert np.all(resid <= np.sqrt(2 * indep / w) + 1e-12 * yscale), describe(res)
    else:
        # squared (active-set polished) and absolute (simplex vertex) interpolate to rounding
        assert np.max(resid) <= 1e-9 * yscale, describe(res)


@pytest.mark.parametrize("bounds", BOUNDS + [(2.0, 3.0), (-5.0, -4.0)],
                         ids=BOUND_IDS + ["steep", "negative"])
@pytest.mark.parametrize("factor", [1.01, 10.0, "huge"])
@pytest.mark.parametrize("kind", ["uniform", "ties"])
def test_large_lambda_gives_clipped_least_squares_line(kind, factor, bounds):
    x, y, w = make_data(kind, 30, "affine")
    if factor == "huge":
        lam = 1e6
    else:
        lm = tvspline.lambda_max(x, y, bounds, weights=w)
        lam = factor * lm  # lm may be 0 (slope pinned at a bound): then lam = 0 must give the line
    slope, intercept = clipped_ls_line(x, y, w, bounds)
    res = quiet_fit(x, y, lam, bounds, weights=w)
    aff = affine_objective(x, y, slope, intercept, w)
    assert res.n_knots == 0, describe(res)
    assert res.status == Status.OPTIMAL, describe(res)
    assert abs(res.objective - aff) <= 1e-10 * rel_scale(aff), (res.objective, aff)
    t = np.unique(x)
    site_w = np.bincount(np.searchsorted(t, x), weights=w)
    # unique optimum: F(c) - F(c*) >= 1/2 sum W_k (c_k - c*_k)^2, and F(c) - F(c*) <= gap + rounding
    atol = 1e-9 * max(1.0, float(np.max(np.abs(y)))) + math.sqrt(
        2 * (res.gap + ROUNDING * rel_scale(aff)) / site_w.min())
    np.testing.assert_allclose(evaluate_spline(res.spline, t), slope * t + intercept, rtol=0, atol=atol)
    assert max_bound_violation(res.spline, bounds) <= bound_tol(bounds)


def _best_intercept(r, w, loss, delta):
    """argmin_b sum w E(b - r) for a 1-D convex loss (closed forms, Huber by bisection)."""
    if loss == "squared":
        return float(np.sum(w * r) / np.sum(w))
    if loss == "absolute":
        return weighted_median(r, w)
    lo, hi = float(r.min()), float(r.max())
    for _ in range(200):  # derivative sum w clip(b - r, -delta, delta) is nondecreasing
        mid = 0.5 * (lo + hi)
        if np.sum(w * np.clip(mid - r, -delta, delta)) > 0:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 4 * np.finfo(float).eps * max(1.0, abs(mid)):
            break
    return 0.5 * (lo + hi)


@pytest.mark.parametrize("loss", ["squared", "absolute", "huber"])
@pytest.mark.parametrize("slope", [0.7, -2.0, 0.0])
@pytest.mark.parametrize("lam", [1e-3, 1.0])
@pytest.mark.parametrize("kind", ["uniform", "ties"])
def test_equal_bounds_give_affine_fit_with_that_slope(kind, lam, slope, loss):
    x, y, w = make_data(kind, 25, "pinned")
    bounds = (slope, slope)
    res = quiet_fit(x, y, lam, bounds, weights=w, loss=loss, delta=HUBER_DELTA)
    assert max_bound_violation(res.spline, bounds) <= bound_tol(bounds), describe(res)
    b = _best_intercept(y - slope * x, w, loss, HUBER_DELTA)
    expected = affine_objective(x, y, slope, b, w, loss, HUBER_DELTA)
    indep = objective(res.spline, x, y, lam, w, loss, HUBER_DELTA)
    assert abs(indep - expected) <= 1e-10 * rel_scale(expected), (indep, expected, describe(res))
    assert abs(res.objective - expected) <= 1e-10 * rel_scale(expected), (res.objective, expected)
    assert res.lower_bound <= expected + 1e-10 * rel_scale(expected)


def _best_affine_objective(x, y, w, bounds, loss, delta):
    """min over lines with slope in bounds: golden-section search on the (convex) profile."""
    lo = max(bounds[0], -1e3)
    hi = min(bounds[1], 1e3)

    def g(slope):
        b = _best_intercept(y - slope * x, w, loss, delta)
        return affine_objective(x, y, slope, b, w, loss, delta)

    if lo == hi:
        return g(lo)
    gr = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c, d = b - gr * (b - a), a + gr * (b - a)
    gc, gd = g(c), g(d)
    for _ in range(200):
        if gc <= gd:
            b, d, gd = d, c, gc
            c = b - gr * (b - a)
            gc = g(c)
        else:
            a, c, gc = c, d, gd
            d = a + gr * (b - a)
            gd = g(d)
    return min(gc, gd, g(lo), g(hi))


@pytest.mark.parametrize("loss", ["squared", "absolute", "huber"])
@pytest.mark.parametrize("bounds", BOUNDS + [(2.0, 3.0)], ids=BOUND_IDS + ["steep"])
def test_two_distinct_sites_with_ties(bounds, loss):
    """K = 2 distinct sites: every feasible spline is a line; the optimum is the best line."""
    rng = np.random.default_rng(_seed("two-sites", bounds, loss))
    x = np.array([-1.0, 2.0, -1.0, 2.0, -1.0])
    y = rng.standard_normal(x.size) + np.array([0.0, 0.4, 0.0, 0.4, 0.0])
    w = rng.uniform(0.5, 2.0, x.size)
    res = quiet_fit(x, y, 0.3, bounds, weights=w, loss=loss, delta=HUBER_DELTA)
    expected = _best_affine_objective(x, y, w, bounds, loss, HUBER_DELTA)
    scale = rel_scale(expected)
    assert max_bound_violation(res.spline, bounds) <= bound_tol(bounds)
    indep = objective(res.spline, x, y, 0.3, w, loss, HUBER_DELTA)
    assert abs(indep - res.objective) <= 1e-10 * scale
    assert indep - expected <= 1e-9 * scale, (indep, expected, describe(res))
    assert expected - indep <= 1e-12 * scale, (indep, expected, "below the best line?")
    assert res.lower_bound <= expected + 1e-12 * scale, (expected, describe(res))
    if loss == "squared":
        assert res.status == Status.OPTIMAL, describe(res)


@pytest.mark.parametrize("lam", [1e-4, 1e-2, 1.0])
def test_two_distinct_sites_regression_certificate(lam):
    """Two distinct sites (ties at both), slope inside the bounds: the answer is the LS line.

    The objective is only the within-site scatter (0.0407...), so the contract asks for a gap
    below 1e-9 absolute.
    """
    x = np.array([-3.0, 3.0, 3.0, 3.0, -3.0])
    y = np.array([-1.1170520643183195, 0.9247504307148159, 0.9861120123133235, 1.1761939682196247,
                  -0.8839134774627379])
    w = np.array([1.554136420631219, 0.6097800560071716, 0.552341970935916, 2.0872365828859483,
                  1.6438609287309454])
    bounds = (-1.0, 1.0)
    res = quiet_fit(x, y, lam, bounds, weights=w)
    slope, intercept = clipped_ls_line(x, y, w, bounds)
    expected = affine_objective(x, y, slope, intercept, w)
    assert abs(res.objective - expected) <= 1e-12, (res.objective, expected)
    assert res.lower_bound <= expected + 1e-12
    assert res.status == Status.OPTIMAL, describe(res)


@pytest.mark.parametrize("bounds", [(-1.0, 1.0), (-INF, INF)], ids=["lip1", "free"])
@pytest.mark.parametrize("tiny", [1e-100, 1e-160])
@pytest.mark.parametrize("lam", [0.1, 1.0])
def test_tiny_targets_with_moderate_lambda(lam, tiny, bounds):
    """Targets of size 1e-100 with lam = 0.1: lam >> lambda_max, the answer is the LS line.

    Everything is representable (objective ~ 1e-201); the fit must not fail.
    """
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.5])
    y = tiny * np.array([0.0, 0.3, 1.0, -0.2, 0.5])
    assert tvspline.lambda_max(x, y, bounds) < lam
    res = quiet_fit(x, y, lam, bounds)
    slope, intercept = clipped_ls_line(x, y, None, bounds)
    expected = affine_objective(x, y, slope, intercept)
    assert max_bound_violation(res.spline, bounds) <= bound_tol(bounds)
    assert 0.0 <= res.objective <= expected + 1e-9, describe(res)
    assert res.lower_bound <= expected + 1e-300, describe(res)
    assert res.status == Status.OPTIMAL, describe(res)


@pytest.mark.parametrize("loss", ["squared", "absolute"])
@pytest.mark.parametrize("alpha", [1e-100, 1e-8, 1e8, 1e100])
def test_extreme_target_scaling(alpha, loss):
    """Scaling y, lam and the bounds consistently (see the hypothesis test) at extreme scales."""
    x, y, w = make_data("uniform", 30, "scale")
    bounds, lam = (-1.0, 1.0), 0.05
    res1 = quiet_fit(x, y, lam, bounds, weights=w, loss=loss)
    lam2, k = (alpha * lam, alpha * alpha) if loss == "squared" else (lam, alpha)
    res2 = quiet_fit(x, alpha * y, lam2, (-alpha, alpha), weights=w, loss=loss)
    assert res1.success and res2.success, (describe(res1), describe(res2))
    # both optima are equal after scaling; each objective is within its certified gap of it
    assert abs(k * res1.objective - res2.objective) <= max(k * res1.gap, res2.gap) + 1e-9 * k * rel_scale(
        res1.objective), (k * res1.objective, describe(res2))
    assert max_bound_violation(res2.spline, (-alpha, alpha)) <= bound_tol((-alpha, alpha))


@pytest.mark.parametrize("loss", ["squared", "absolute", "huber"])
@pytest.mark.parametrize("bounds", [(-1.0, 1.0), (0.0, INF), (-INF, INF)], ids=["lip1", "monotone", "free"])
@pytest.mark.parametrize("lam", [1e-3, 0.1])
def test_exact_ties_match_unmerged_reference(lam, bounds, loss):
    """Ties with different targets: the library merges them, the reference keeps every point."""
    rng = np.random.default_rng(_seed("ties", lam, bounds, loss))
    base = np.linspace(-2.0, 2.0, 9)
    x = np.concatenate([base, base[::2], base[1::3], [base[4]] * 3])
    rng.shuffle(x)
    y = np.cos(1.3 * x) + 0.5 * rng.standard_normal(x.size)
    w = rng.uniform(0.2, 3.0, x.size)
    res = quiet_fit(x, y, lam, bounds, weights=w, loss=loss, delta=HUBER_DELTA)
    ref = reference_fit(x, y, lam, bounds, w, loss, HUBER_DELTA)
    scale = rel_scale(ref.objective)
    indep = objective(res.spline, x, y, lam, w, loss, HUBER_DELTA)
    assert abs(indep - res.objective) <= 1e-10 * rel_scale(indep)
    assert abs(indep - ref.objective) <= 1e-9 * scale, (indep, ref.objective, describe(res))
    assert res.lower_bound <= ref.objective + 1e-9 * scale
    assert res.status == Status.OPTIMAL, describe(res)
    assert max_bound_violation(res.spline, bounds) <= bound_tol(bounds)
    if loss == "squared":  # unique fitted values: the spline passes through the merged sites' optimum
        t = np.unique(x)
        site_w = np.bincount(np.searchsorted(t, x), weights=w)
        atol = 1e-7 + math.sqrt(2 * (res.gap + ROUNDING * scale) / site_w.min())
        np.testing.assert_allclose(evaluate_spline(res.spline, t), ref.values, rtol=0, atol=atol)
    # duplicating every point with half its weight changes nothing
    res2 = quiet_fit(np.tile(x, 2), np.tile(y, 2), lam, bounds, weights=np.tile(w / 2, 2), loss=loss,
                     delta=HUBER_DELTA)
    assert abs(res2.objective - res.objective) <= max(res.gap, res2.gap) + 1e-10 * scale


# --------------------------------------------------------------------------- hypothesis properties
HYP_BOUNDS = BOUNDS + [(-0.5, 0.5), (-2.0, 0.3), (1.5, 1.5)]


@st.composite
def problems(draw, losses=("squared", "absolute", "huber"), max_m=14):
    M = draw(st.integers(3, max_m))
    ints = draw(st.lists(st.integers(-24, 24), min_size=M, max_size=M))
    x = np.asarray(ints, dtype=np.float64) / 8.0
    assume(np.unique(x).size >= 2)
    y = np.asarray(draw(st.lists(st.floats(-5.0, 5.0), min_size=M, max_size=M)))
    w = np.asarray(draw(st.lists(st.floats(0.1, 5.0), min_size=M, max_size=M)))
    return dict(
        x=x,
        y=y,
        w=w,
        lam=draw(st.sampled_from([0.0, 1e-3, 0.05, 0.5, 3.0])),
        bounds=draw(st.sampled_from(HYP_BOUNDS)),
        loss=draw(st.sampled_from(losses)),
        delta=draw(st.sampled_from([0.3, 1.0])),
    )


#: Multiply the number of hypothesis examples (e.g. TVSPLINE_HYPOTHESIS_SCALE=20 for a long hunt).
NX = max(1, int(os.environ.get("TVSPLINE_HYPOTHESIS_SCALE", "1")))
HYP = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _fit(p, **over):
    q = dict(p, **over)
    return quiet_fit(q["x"], q["y"], q["lam"], q["bounds"], weights=q["w"], loss=q["loss"], delta=q["delta"])


def _site_value_tol(res1, res2, w, yscale):
    """Squared loss: F(c) - F(c*) >= 1/2 sum W_k (c_k - c*_k)^2, so gaps bound value differences."""
    r1 = res1.gap + ROUNDING * rel_scale(res1.objective)
    r2 = res2.gap + ROUNDING * rel_scale(res2.objective)
    return 1e-9 * yscale + math.sqrt(2 * r1 / w.min()) + math.sqrt(2 * r2 / w.min())


@settings(max_examples=60 * NX, **HYP)
@given(problems())
def test_property_bounds_objective_certificate(p):
    res = _fit(p)
    assert max_bound_violation(res.spline, p["bounds"]) <= bound_tol(p["bounds"]), describe(res)
    # the bound may equal the optimum; allow the objective's own rounding below it
    assert res.objective >= res.lower_bound - ROUNDING * rel_scale(res.objective), describe(res)
    indep = objective(res.spline, p["x"], p["y"], p["lam"], p["w"], p["loss"], p["delta"])
    assert abs(indep - res.objective) <= 1e-10 * rel_scale(indep), (indep, describe(res))
    if p["loss"] == "squared":
        assert res.status == Status.OPTIMAL, describe(res)


@settings(max_examples=25 * NX, **HYP)
@given(problems(max_m=10))
def test_property_never_below_reference(p):
    res = _fit(p)
    ref = reference_fit(p["x"], p["y"], p["lam"], p["bounds"], p["w"], p["loss"], p["delta"])
    scale = rel_scale(ref.objective)
    assert res.objective >= ref.objective - 1e-9 * scale, (res.objective, ref.objective, describe(res))
    assert res.objective <= ref.objective + 1e-7 * scale, (res.objective, ref.objective, describe(res))
    assert res.lower_bound <= ref.objective + 1e-9 * scale, (ref.objective, describe(res))


@settings(max_examples=30 * NX, **HYP)
@given(problems(), st.randoms(use_true_random=False))
def test_property_permutation_invariance(p, rnd):
    perm = list(range(p["x"].size))
    rnd.shuffle(perm)
    perm = np.asarray(perm)
    res1 = _fit(p)
    res2 = _fit(p, x=p["x"][perm], y=p["y"][perm], w=p["w"][perm])
    scale = rel_scale(res1.objective)
    assert abs(res1.objective - res2.objective) <= max(res1.gap, res2.gap) + 1e-12 * scale, (
        describe(res1), describe(res2))
    if p["loss"] == "squared":
        assert res1.success and res2.success, (describe(res1), describe(res2))
        assert abs(res1.objective - res2.objective) <= 1e-9 * scale
        t = np.unique(p["x"])
        W = np.bincount(np.searchsorted(t, p["x"]), weights=p["w"])
        tol = _site_value_tol(res1, res2, W, max(1.0, float(np.max(np.abs(p["y"])))))
        np.testing.assert_allclose(evaluate_spline(res1.spline, t), evaluate_spline(res2.spline, t),
                                   rtol=0, atol=tol)


def _scaled_bounds(bounds, factor):
    """{factor * s : s in bounds} as an ordered pair (factor != 0)."""
    a, b = factor * bounds[0], factor * bounds[1]
    return (a, b) if a <= b else (b, a)


@settings(max_examples=30 * NX, **HYP)
@given(problems(), st.floats(0.2, 5.0), st.booleans(), st.floats(-10.0, 10.0))
def test_property_affine_rescaling_of_x(p, a, flip, b):
    # g(u) = f((u - b) / a) fits (a x + b, y): g' = f' / a and TV2(g) = TV2(f) / |a|, so the same
    # objective needs lam' = |a| lam and bounds' = bounds / a.
    a = -a if flip else a
    res1 = _fit(p)
    res2 = _fit(p, x=a * p["x"] + b, lam=abs(a) * p["lam"], bounds=_scaled_bounds(p["bounds"], 1.0 / a))
    scale = rel_scale(res1.objective)
    assert abs(res1.objective - res2.objective) <= max(res1.gap, res2.gap) + 1e-9 * scale, (
        describe(res1), describe(res2))
    if p["loss"] == "squared":
        assert res1.success and res2.success, (describe(res1), describe(res2))


@settings(max_examples=30 * NX, **HYP)
@given(problems(), st.floats(0.2, 5.0), st.booleans(), st.floats(-10.0, 10.0))
def test_property_affine_rescaling_of_y(p, alpha, flip, beta):
    # h = alpha f + beta: residuals scale by alpha, h' = alpha f', TV2(h) = |alpha| TV2(f).
    # squared: data scales by alpha^2, so lam' = |alpha| lam gives objective' = alpha^2 objective;
    # absolute: data scales by |alpha|, lam' = lam, objective' = |alpha| objective;
    # huber: delta' = |alpha| delta, then as squared.
    alpha = -alpha if flip else alpha
    loss = p["loss"]
    if loss == "absolute":
        lam2, k, delta2 = p["lam"], abs(alpha), p["delta"]
    else:
        lam2, k, delta2 = abs(alpha) * p["lam"], alpha * alpha, abs(alpha) * p["delta"]
    res1 = _fit(p)
    res2 = _fit(p, y=alpha * p["y"] + beta, lam=lam2, delta=delta2, bounds=_scaled_bounds(p["bounds"], alpha))
    scale = rel_scale(res2.objective)
    assert abs(k * res1.objective - res2.objective) <= max(k * res1.gap, res2.gap) + 1e-9 * scale, (
        k, describe(res1), describe(res2))


@settings(max_examples=25 * NX, **HYP)
@given(problems(), st.floats(-3.0, 3.0))
def test_property_adding_a_line_to_y_shifts_the_bounds(p, gamma):
    # f + gamma x fits (x, y + gamma x) with the same residuals and TV2, slopes shifted by gamma.
    res1 = _fit(p)
    lo, hi = p["bounds"]
    res2 = _fit(p, y=p["y"] + gamma * p["x"], bounds=(lo + gamma, hi + gamma))
    scale = rel_scale(res1.objective)
    assert abs(res1.objective - res2.objective) <= max(res1.gap, res2.gap) + 1e-9 * scale, (
        describe(res1), describe(res2))
