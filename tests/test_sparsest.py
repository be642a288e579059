"""``FitResult.sparsest()``: the minimiser with the fewest knots (Debarre et al. 2022).

The expected knot count is computed here independently from the canonical spline: zones are
maximal runs of knots at consecutive distinct data sites whose slope changes have the same sign,
and a zone of n knots needs ceil(n / 2) knots.
"""

from __future__ import annotations

import math
import warnings
import zlib

import numpy as np
import pytest

import tvspline
from tvspline import InaccurateSolutionWarning
from reference import bound_tol, evaluate_spline, max_bound_violation, objective, rel_scale

INF = math.inf
BOUNDS = [(-1.0, 1.0), (0.0, INF), (0.0, 1.0), (0.1, 10.0), (-INF, INF)]
BOUND_IDS = ["lip1", "monotone", "fne", "inv0.1", "free"]
DELTA = 0.5


def _fit(x, y, lam, bounds, w=None, loss="squared"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InaccurateSolutionWarning)
        # fit refuses a delta for the losses that do not use it
        return tvspline.fit(x, y, lam, bounds, weights=w, loss=loss, **({"delta": DELTA} if loss == "huber" else {}))


def zone_sizes(knots, values, sites):
    """Sizes of the same-sign zones of a spline whose knots are data sites (independent code)."""
    t = np.asarray(knots, dtype=float)
    c = np.asarray(values, dtype=float)
    s = np.diff(c) / np.diff(t)
    jumps = np.diff(s)  # at t[1:-1]
    idx = np.searchsorted(sites, t)
    assert np.all(idx < sites.size) and np.array_equal(sites[idx], t), "knots must be data sites"
    sizes = []
    prev_site, prev_sign, run = None, 0, 0
    for k in range(1, t.size - 1):
        a = jumps[k - 1]
        if a == 0:
            if run:
                sizes.append(run)
            prev_site, prev_sign, run = None, 0, 0
            continue
        sign = 1 if a > 0 else -1
        if run and idx[k] == prev_site + 1 and sign == prev_sign:
            run += 1
        else:
            if run:
                sizes.append(run)
            run = 1
        prev_site, prev_sign = idx[k], sign
    if run:
        sizes.append(run)
    return sizes


def expected_sparsest_count(spline, x):
    return sum(math.ceil(n / 2) for n in zone_sizes(spline.knots, spline.values, np.unique(x)))


def _data(kind, M):
    rng = np.random.default_rng(zlib.crc32(f"sparsest-{kind}-{M}".encode()))
    if kind == "uniform":
        x = rng.uniform(-3.0, 3.0, M)
    elif kind == "ties":
        x = rng.choice(np.linspace(-3.0, 3.0, M // 2), M)
    else:  # near ties: pairs of sites 1e-9 apart
        x = rng.uniform(-3.0, 3.0, M)
        x[1::3] = x[0::3][: x[1::3].size] + 1e-9
    # a convex-ish profile with wiggles: long same-sign zones at small lambda
    y = 0.3 * x**2 + 0.2 * np.sin(3.0 * x) + 0.05 * rng.standard_normal(M)
    w = rng.uniform(0.3, 3.0, M)
    return x, y, w


def check_sparsest(res, x, y, w, lam, bounds, loss):
    sp = res.sparsest()
    fails = []
    if sp.n_knots > res.n_knots:
        fails.append(f"sparsest has {sp.n_knots} knots > {res.n_knots}")
    o_res = objective(res.spline, x, y, lam, w, loss, DELTA)
    o_sp = objective(sp.spline, x, y, lam, w, loss, DELTA)
    if abs(o_sp - o_res) > 1e-9 * rel_scale(o_res):
        fails.append(f"objective changed: {o_res!r} -> {o_sp!r}")
    if abs(sp.objective - o_sp) > 1e-10 * rel_scale(o_sp):
        fails.append(f"sparsest().objective {sp.objective!r} != independent {o_sp!r}")
    sites = np.unique(x)
    yscale = max(1.0, float(np.max(np.abs(y))))
    dv = np.max(np.abs(evaluate_spline(sp.spline, sites) - evaluate_spline(res.spline, sites)))
    if dv > 1e-9 * yscale:
        fails.append(f"values at the sites moved by {dv:.3e}")
    viol = max_bound_violation(sp.spline, bounds)
    if viol > bound_tol(bounds):
        fails.append(f"sparsest spline violates the slope bounds by {viol:.3e}")
    expected = expected_sparsest_count(res.spline, x)
    if sp.n_knots != expected:
        fails.append(f"sparsest has {sp.n_knots} knots, sum ceil(n_z/2) = {expected} "
                     f"(zones {zone_sizes(res.spline.knots, res.spline.values, sites)})")
    if sp.lower_bound != res.lower_bound or not sp.objective >= sp.lower_bound - 1e-13 * rel_scale(o_sp):
        fails.append("lower bound changed or exceeds the objective")
    return fails, sp


@pytest.mark.parametrize("lam", [1e-3, 1e-1])
@pytest.mark.parametrize("bounds", BOUNDS, ids=BOUND_IDS)
@pytest.mark.parametrize("loss", ["squared", "absolute", "huber"])
@pytest.mark.parametrize("M", [40, 300])
@pytest.mark.parametrize("kind", ["uniform", "ties", "near_ties"])
def test_sparsest_keeps_the_solution(kind, M, loss, bounds, lam):
    x, y, w = _data(kind, M)
    res = _fit(x, y, lam, bounds, w, loss)
    fails, _ = check_sparsest(res, x, y, w, lam, bounds, loss)
    assert not fails, "\n".join(fails)


# --------------------------------------------------------------------------- classical example
# Slopes of the data polyline between consecutive sites. Slope changes at the interior sites:
#   +1 +2 +1 | -2 -3 -1 | +2 +3      -> zones of 3, 3, 2 knots -> 2 + 2 + 1 = 5 knots (of 8)
SLOPES_A = np.array([0.0, 1.0, 3.0, 4.0, 2.0, -1.0, -2.0, 0.0, 3.0])
# With collinear sites (zero slope change) splitting runs (lam = 0 only, where they stay exact):
#   +1 +1 +1 0 -2 -2 0 +1 +2 0       -> zones of 3, 2, 2 -> 2 + 1 + 1 = 4 knots (of 7)
SLOPES_B = np.array([0.0, 1.0, 2.0, 3.0, 3.0, 1.0, -1.0, -1.0, 0.0, 2.0, 2.0])


def _polyline(slopes, spacing):
    rng = np.random.default_rng(7)
    if spacing == "uniform":
        h = np.ones(slopes.size)
    else:
        h = rng.choice([0.5, 1.0, 1.5, 2.0], slopes.size)  # exact binary fractions
    x = np.concatenate([[0.0], np.cumsum(h)])
    y = np.concatenate([[0.0], np.cumsum(h * slopes)])
    return x, y


def _count_from_slopes(slopes):
    jumps = np.diff(slopes)
    sizes, run, sign = [], 0, 0
    for a in jumps:
        sg = int(np.sign(a))
        if sg != 0 and sg == sign:
            run += 1
        else:
            if run:
                sizes.append(run)
            run = 1 if sg != 0 else 0
        sign = sg
    if run:
        sizes.append(run)
    return sum(math.ceil(n / 2) for n in sizes), int(np.count_nonzero(jumps))


def test_count_helper_on_the_classical_slopes():
    assert _count_from_slopes(SLOPES_A) == (5, 8)
    assert _count_from_slopes(SLOPES_B) == (4, 7)


@pytest.mark.parametrize("loss", ["squared", "absolute"])
@pytest.mark.parametrize("bounds", [(-INF, INF), (-2.0, 4.0), (-5.0, 5.0)], ids=["free", "tight", "loose"])
@pytest.mark.parametrize("lam", [0.0, 1e-4])
@pytest.mark.parametrize("spacing", ["uniform", "nonuniform"])
def test_classical_example_zone_count(spacing, lam, bounds, loss):
    x, y = _polyline(SLOPES_A, spacing)
    expected, canonical = _count_from_slopes(SLOPES_A)
    res = _fit(x, y, lam, bounds, None, loss)
    assert res.n_knots == canonical, (res.n_knots, res.spline.slopes)
    sp = res.sparsest()
    assert sp.n_knots == expected, (sp.n_knots, sp.spline.knots)
    fails, _ = check_sparsest(res, x, y, None, lam, bounds, loss)
    assert not fails, "\n".join(fails)
    # every merged knot lies strictly between two consecutive sites
    sites = np.unique(x)
    new = np.setdiff1d(sp.spline.active_knots, sites)
    assert np.all((new > sites[0]) & (new < sites[-1]))


@pytest.mark.parametrize("loss", ["squared", "absolute"])
@pytest.mark.parametrize("spacing", ["uniform", "nonuniform"])
def test_classical_example_with_collinear_sites_interpolation(spacing, loss):
    x, y = _polyline(SLOPES_B, spacing)
    expected, canonical = _count_from_slopes(SLOPES_B)
    res = _fit(x, y, 0.0, (-INF, INF), None, loss)
    assert res.n_knots == canonical, (res.n_knots, res.spline.slopes)
    assert res.sparsest().n_knots == expected


def test_sparsest_of_affine_result_is_affine():
    x = np.linspace(0.0, 1.0, 12)
    y = 2.0 * x + 0.1 * np.cos(9 * x)
    res = _fit(x, y, 1e3, (-INF, INF))
    assert res.n_knots == 0
    sp = res.sparsest()
    assert sp.n_knots == 0
    assert abs(sp.objective - res.objective) <= 1e-12 * rel_scale(res.objective)


def test_sparsest_is_idempotent():
    x, y = _polyline(SLOPES_A, "nonuniform")
    res = _fit(x, y, 1e-4, (-INF, INF))
    sp = res.sparsest()
    sp2 = sp.sparsest()
    assert sp2.n_knots == sp.n_knots
    assert abs(sp2.objective - sp.objective) <= 1e-12 * rel_scale(sp.objective)
