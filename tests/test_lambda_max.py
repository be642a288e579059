"""``tvspline.lambda_max``: the smallest lambda above which the squared-loss fit is affine.

Checked two ways: with the library's own fit just above and below lambda_max (across seeds), and
against an independent bisection on lambda with the reference solver (``reference.py``), which
decides "affine" from the knot count of its own solution.
"""

from __future__ import annotations

import math
import warnings
import zlib

import numpy as np
import pytest

import tvspline
from tvspline import InaccurateSolutionWarning
from reference import affine_objective, clipped_ls_line, reference_fit, rel_scale

INF = math.inf
BOUNDS = [(-1.0, 1.0), (0.0, INF), (0.0, 1.0), (0.1, 10.0), (-INF, INF)]
BOUND_IDS = ["lip1", "monotone", "fne", "inv0.1", "free"]


def _data(seed, kind, trend, M=25):
    rng = np.random.default_rng(zlib.crc32(f"lmax-{seed}-{kind}-{trend}-{M}".encode()))
    if kind == "ties":
        x = rng.choice(np.linspace(-2.0, 2.0, M // 2), M)
    else:
        x = rng.uniform(-2.0, 2.0, M)
    y = trend * x + np.sin(2.0 * x) + 0.3 * rng.standard_normal(M)
    w = rng.uniform(0.5, 2.0, M)
    return x, y, w


def _fit(x, y, lam, bounds, w):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InaccurateSolutionWarning)
        return tvspline.fit(x, y, lam, bounds, weights=w)


@pytest.mark.parametrize("trend", [0.5, 3.0], ids=["trend0.5", "trend3"])
@pytest.mark.parametrize("bounds", BOUNDS, ids=BOUND_IDS)
@pytest.mark.parametrize("kind", ["uniform", "ties"])
@pytest.mark.parametrize("seed", range(4))
def test_fit_is_affine_just_above_and_not_below_lambda_max(seed, kind, bounds, trend):
    x, y, w = _data(seed, kind, trend)
    lm = tvspline.lambda_max(x, y, bounds, weights=w)
    assert lm >= 0.0 and math.isfinite(lm)
    above = _fit(x, y, 1.001 * lm, bounds, w)
    assert above.n_knots == 0, f"lambda_max={lm!r}: fit at 1.001 lambda_max has {above.n_knots} knots"
    slope, intercept = clipped_ls_line(x, y, w, bounds)
    aff = affine_objective(x, y, slope, intercept, w)
    assert abs(above.objective - aff) <= 1e-9 * rel_scale(aff), (above.objective, aff)
    if lm <= 1e-6:
        return
    below = _fit(x, y, 0.9 * lm, bounds, w)
    ref = reference_fit(x, y, 0.9 * lm, bounds, w)
    assert below.n_knots > 0, (
        f"lambda_max={lm!r} but the fit at 0.9 lambda_max is affine "
        f"(library objective {below.objective!r}, reference {ref.objective!r}, best line {aff!r}, "
        f"reference knots {ref.n_knots()})"
    )
    # independent confirmation: the reference optimum at 0.9 lambda_max beats every line
    assert ref.objective < aff - 1e-10 * rel_scale(aff), (ref.objective, aff)


def _reference_is_affine(x, y, lam, bounds, w):
    return reference_fit(x, y, lam, bounds, w).n_knots(rtol=1e-6) == 0


def _bisect_lambda_max(x, y, bounds, w, steps=32):
    hi = 1.0
    while not _reference_is_affine(x, y, hi, bounds, w):
        hi *= 2.0
        assert hi < 1e6
    lo = 0.0
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        if _reference_is_affine(x, y, mid, bounds, w):
            hi = mid
        else:
            lo = mid
    return lo, hi


# Data on which the slope is clipped to a bound and the solution is affine for every lam >= 0
# (the least-squares slope is about 3, every chord slope is > 1): lambda_max must be 0.
CLIPPED_X = [-1.9338894578858836, -1.8361059042552212, -0.9208531449445188, 0.17449996586169148,
             0.42654310306871945, 0.5478467492858172, 0.9179862439359936, 1.2530809568010897,
             1.6510223091108869, 1.740289695151073]
CLIPPED_Y = [-5.440530936294662, -5.065002929711993, -3.773854719426907, 1.0277117722805218,
             2.0973407140549156, 2.6393977501911943, 3.5228564966705456, 4.313883016184926,
             5.0284951862083185, 5.336366766603009]
CLIPPED_W = [1.3572947460946414, 0.9828040866139132, 1.3914500452995453, 1.0068668382607,
             1.087428500792242, 1.8354115280071885, 0.8407363903000695, 1.4347807170290636,
             0.6260230153735773, 1.7489662214800967]


@pytest.mark.parametrize(
    "seed, trend, bounds, M",
    [
        (0, 0.5, (-INF, INF), 10),
        (0, 0.5, (-1.0, 1.0), 10),
        (1, 0.5, (0.0, INF), 10),
        (1, 0.5, (0.1, 10.0), 10),
        (0, 3.0, (-INF, INF), 10),
        (0, 3.0, (0.0, INF), 10),
        (2, 3.0, (0.1, 10.0), 10),
        (0, 3.0, (-1.0, 1.0), 10),  # least-squares slope (about 3) clipped to the bound 1
        (2, 3.0, (-1.0, 1.0), 25),
        ("clipped", None, (-1.0, 1.0), 10),
    ],
    ids=lambda v: str(v),
)
def test_lambda_max_matches_reference_bisection(seed, trend, bounds, M):
    if seed == "clipped":
        x, y, w = (np.array(v) for v in (CLIPPED_X, CLIPPED_Y, CLIPPED_W))
    else:
        x, y, w = _data(seed, "uniform", trend, M=M)
    lm = tvspline.lambda_max(x, y, bounds, weights=w)
    lo, hi = _bisect_lambda_max(x, y, bounds, w)
    # the reference's knot detection (slope changes > 1e-6) resolves lambda_max to ~1e-5 relative
    tol = 1e-4 * max(lm, hi) + 1e-9
    assert lo - tol <= lm <= hi + tol, f"lambda_max={lm!r}, reference bisection bracket [{lo!r}, {hi!r}]"


@pytest.mark.parametrize("slope", [0.0, 0.5, -2.0])
def test_lambda_max_zero_when_slope_is_pinned(slope):
    x, y, w = _data(0, "uniform", 0.5)
    assert tvspline.lambda_max(x, y, (slope, slope), weights=w) == 0.0


# ------------------------------------------------------------------ the deferred affine certificate
def _large_problem(M=20_000, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, M)
    return x, np.sin(2 * x) + 0.3 * rng.standard_normal(M)


def test_affine_certificate_is_deferred_only_when_the_line_cannot_be_optimal():
    from tvspline import _problem
    from tvspline._candidates import affine_spline, affine_worth_certifying

    x, y = _large_problem()
    lmax = tvspline.lambda_max(x, y, (-1, 1))
    for lam, expected in ((0.1, False), (lmax, True), (1.5 * lmax, True)):
        problem = _problem.prepare(x, y, lam, (-1, 1), None, "squared", 1.0)
        assert affine_worth_certifying(problem, affine_spline(problem)) is expected, lam
    # at or above lambda_max the line is certified before any solver runs
    res = tvspline.fit(x, y, 1.01 * lmax, (-1, 1))
    assert res.status == tvspline.Status.OPTIMAL and res.solver == "affine" and res.n_iter == 0


def test_deferred_affine_certificate_is_computed_when_every_solver_fails(monkeypatch):
    import tvspline.fitting as fitting
    from tvspline import _problem
    from tvspline._candidates import affine_spline, affine_worth_certifying
    from tvspline.certificate import certify
    from tvspline.solvers.base import SolverFailure

    x, y = _large_problem()
    problem = _problem.prepare(x, y, 0.1, (-1, 1), None, "squared", 1.0)
    line = affine_spline(problem)
    assert not affine_worth_certifying(problem, line)
    expected, _ = certify(problem, line)

    def failing(*args, **kwargs):
        raise SolverFailure("failing on purpose")

    monkeypatch.setattr(fitting, "run_backend", failing)
    with pytest.warns(InaccurateSolutionWarning):
        res = tvspline.fit(x, y, 0.1, (-1, 1))
    assert res.status == tvspline.Status.SOLVER_FAILED and res.solver == "affine"
    assert math.isfinite(res.lower_bound) and res.lower_bound == expected
    assert res.lower_bound <= res.objective
