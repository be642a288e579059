"""The representer-theorem figures of ``paper_figures`` (1-4): the numbers behind them, checked.

Each figure's ``make(quick=True)`` is run once per module; its ``table`` is then checked against
values recomputed here independently (the CVXPY + Clarabel reference solver of
``tests/reference.py``, an independent grid-restricted QP, the objective recomputed from knots and
values), not only through the figure's own ``checks``.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import tvspline  # noqa: E402
from reference import objective, reference_fit  # noqa: E402

from paper_figures import constraints, grid_convergence, regularisation_path, sparsest  # noqa: E402
from paper_figures._common import FigureOutput  # noqa: E402


def _make(module):
    import matplotlib.pyplot as plt

    out = module.make(quick=True)
    plt.close(out.figure)
    return out


@pytest.fixture(scope="module")
def grid_out():
    return _make(grid_convergence)


@pytest.fixture(scope="module")
def constraints_out():
    return _make(constraints)


@pytest.fixture(scope="module")
def path_out():
    return _make(regularisation_path)


@pytest.fixture(scope="module")
def sparsest_out():
    return _make(sparsest)


def _common_contract(out, module):
    assert isinstance(out, FigureOutput)
    assert module.NAME == module.__name__.rsplit(".", 1)[-1]
    assert isinstance(module.TITLE, str) and module.TITLE
    assert out.table, "empty table"
    keys = list(out.table[0])
    assert all(list(row) == keys for row in out.table)
    assert out.caption and len(out.caption) > 80
    assert out.checks and all(isinstance(v, bool) for v in out.checks.values())
    failed = [k for k, v in out.checks.items() if not v]
    assert not failed, failed
    fig = out.figure
    for ax in fig.axes:
        if ax.axison and ax.has_data():
            assert ax.get_xlabel() and ax.get_ylabel(), f"unlabelled axes {ax.get_title()!r}"


def _grid_qp(x, y, lam, lo, hi, n):
    """Independent grid-restricted optimum: hat basis on n uniform knots, CVXPY + Clarabel."""
    import cvxpy as cp

    t = np.linspace(x.min(), x.max(), n)
    h = np.diff(t)
    k = np.clip(np.searchsorted(t, x, side="right") - 1, 0, n - 2)
    theta = (x - t[k]) / h[k]
    B = np.zeros((x.size, n))
    B[np.arange(x.size), k] = 1 - theta
    B[np.arange(x.size), k + 1] += theta
    c = cp.Variable(n)
    s = cp.multiply(cp.diff(c), 1 / h)
    cons = []
    if not math.isinf(lo):
        cons.append(s >= lo)
    if not math.isinf(hi):
        cons.append(s <= hi)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(B @ c - y) + lam * cp.norm1(cp.diff(s))), cons)
    prob.solve(solver="CLARABEL")
    return prob.value


# --------------------------------------------------------------------------------------- figure 1
def test_grid_convergence_contract(grid_out):
    _common_contract(grid_out, grid_convergence)


def test_grid_values_never_below_exact(grid_out):
    x, y = grid_convergence.dataset()
    rows = grid_out.table
    bounds = sorted({(r["lo"], r["hi"]) for r in rows})
    assert len(bounds) >= 3
    for lo, hi in bounds:
        sub = sorted((r for r in rows if (r["lo"], r["hi"]) == (lo, hi)), key=lambda r: r["N"])
        exact = sub[0]["exact_value"]
        # the exact value recomputed by an independent solver
        ref = reference_fit(x, y, grid_convergence.LAM, (lo, hi))
        assert exact <= ref.objective + 1e-7 * max(1.0, ref.objective)
        assert exact >= ref.objective - 1e-6 * max(1.0, ref.objective)
        for r in sub:
            assert r["grid_value"] >= exact - r["exact_gap"] - 1e-9 * max(1.0, exact)
            assert r["exact_gap"] >= 0 and r["exact_status"] == "OPTIMAL"
        # nested grids (N = 2^k + 1): non-increasing to the certified gaps
        ns = [r["N"] for r in sub]
        assert all(b - 1 == 2 * (a - 1) for a, b in zip(ns, ns[1:]))
        vals = [r["grid_value"] for r in sub]
        gaps = [r["grid_gap"] for r in sub]
        for i in range(len(vals) - 1):
            assert vals[i + 1] <= vals[i] + gaps[i] + gaps[i + 1] + 1e-9 * max(1.0, vals[i])
        # converging: the finest grid is much closer than the coarsest
        assert vals[-1] - exact <= 0.2 * (vals[0] - exact) + 1e-12


def test_grid_values_match_independent_qp(grid_out):
    x, y = grid_convergence.dataset()
    for r in grid_out.table:
        if r["N"] != 9:
            continue
        ref = _grid_qp(x, y, grid_convergence.LAM, r["lo"], r["hi"], 9)
        assert r["grid_value"] == pytest.approx(ref, rel=1e-6, abs=1e-9)


def test_grid_bounds_active(grid_out):
    # the data are chosen so that the slope bounds matter: the constrained optima differ
    vals = {(r["lo"], r["hi"]): r["exact_value"] for r in grid_out.table}
    free = vals[(-math.inf, math.inf)]
    assert all(v > free * (1 + 1e-3) for k, v in vals.items() if k != (-math.inf, math.inf))


# --------------------------------------------------------------------------------------- figure 2
def test_constraints_contract(constraints_out):
    _common_contract(constraints_out, constraints)


def test_constraints_numbers(constraints_out):
    x, y = grid_convergence.dataset()
    m = x.size
    rows = constraints_out.table
    names = {r["constraint"] for r in rows}
    assert len(names) == 5
    assert {(r["lo"], r["hi"]) for r in rows} == {
        (-math.inf, math.inf), (-1.0, 1.0), (0.0, math.inf), (0.0, 1.0),
        (constraints.EPS, 1 / constraints.EPS)}
    for r in rows:
        assert r["M"] == m
        assert r["n_knots"] <= m - 2
        assert r["status"] == "OPTIMAL"
        lo, hi = r["lo"], r["hi"]
        tol = 1e-12 * max(1.0, abs(lo) if math.isfinite(lo) else 1.0, abs(hi) if math.isfinite(hi) else 1.0)
        assert r["min_slope"] >= lo - tol and r["max_slope"] <= hi + tol
        assert r["objective"] == pytest.approx(r["data_fit"] + r["lam"] * r["tv2"], rel=1e-12)
        # knots listed are data sites and their number is n_knots
        ks = np.array([float(v) for v in r["knots"].split()]) if r["knots"] else np.zeros(0)
        assert ks.size == r["n_knots"]
        assert np.all(np.min(np.abs(ks[:, None] - x[None, :]), axis=1) <= 1e-5 * (1 + np.abs(ks)))


def test_constraints_objective_recomputed(constraints_out):
    x, y = grid_convergence.dataset()
    for r in constraints_out.table:
        if r["lam"] != constraints.LAM:
            continue
        res = tvspline.fit(x, y, r["lam"], bounds=(r["lo"], r["hi"]))
        assert objective(res.spline, x, y, r["lam"]) == pytest.approx(r["objective"], rel=1e-10)
        ref = reference_fit(x, y, r["lam"], (r["lo"], r["hi"]))
        assert r["objective"] <= ref.objective + 1e-7 * max(1.0, ref.objective)
        # the bounds are active for the constrained cases
        if math.isfinite(r["lo"]):
            assert r["min_slope"] == pytest.approx(r["lo"], abs=1e-9)


# --------------------------------------------------------------------------------------- figure 3
def test_path_contract(path_out):
    _common_contract(path_out, regularisation_path)


def test_path_numbers(path_out):
    x, y = regularisation_path.dataset()
    rows = sorted(path_out.table, key=lambda r: r["lam"])
    lmax = path_out.numbers["lambda_max"]
    assert lmax == pytest.approx(tvspline.lambda_max(x, y, regularisation_path.BOUNDS), rel=1e-12)
    lams = np.array([r["lam"] for r in rows])
    assert lams[0] <= 1.01e-4 * lmax and lams[-1] > lmax
    for a, b in zip(rows, rows[1:]):
        dl = b["lam"] - a["lam"]
        eps = a["gap"] + b["gap"]
        assert a["data_fit"] <= b["data_fit"] + (b["lam"] * a["gap"] + a["lam"] * b["gap"]) / dl + 1e-9
        assert a["tv2"] >= b["tv2"] - eps / dl - 1e-9
        assert a["objective"] <= b["objective"] + eps + 1e-9
    for r in rows:
        assert r["status"] == "OPTIMAL"
        assert r["n_knots"] <= x.size - 2
        assert -1.0 - 1e-12 <= r["min_slope"] <= r["max_slope"] <= 1.0 + 1e-12
        assert r["lam_tv2"] == pytest.approx(r["lam"] * r["tv2"], rel=1e-12, abs=1e-300)
        if r["lam"] >= lmax:
            assert r["n_knots"] == 0 and r["tv2"] == 0.0
    assert max(r["n_knots"] for r in rows) > 0
    # one value on the path recomputed independently
    mid = rows[len(rows) // 2]
    ref = reference_fit(x, y, mid["lam"], regularisation_path.BOUNDS)
    assert mid["objective"] <= ref.objective + 1e-7 * max(1.0, ref.objective)
    assert mid["objective"] >= ref.objective - 1e-6 * max(1.0, ref.objective)


# --------------------------------------------------------------------------------------- figure 4
def test_sparsest_contract(sparsest_out):
    _common_contract(sparsest_out, sparsest)


def test_sparsest_numbers(sparsest_out):
    x, y = sparsest.dataset()
    rows = {r["solution"]: r for r in sparsest_out.table}
    canon, sparse = rows["canonical"], rows["sparsest"]
    assert sparse["objective"] == pytest.approx(canon["objective"], rel=1e-9)
    assert sparse["n_knots"] < canon["n_knots"]
    # rebuild both splines from the listed knots: the canonical one from the fit's values at them
    kc = np.array([float(v) for v in canon["knots"].split()])
    ks = np.array([float(v) for v in sparse["knots"].split()])
    assert kc.size == canon["n_knots"] and ks.size == sparse["n_knots"]
    assert np.all(np.isin(kc, x))  # canonical knots at data sites
    res = tvspline.fit(x, y, sparsest.LAM)
    sp = res.sparsest()
    np.testing.assert_array_equal(sp.spline.active_knots, ks)
    # independent objective of both splines, and the same values at the data sites
    oc = objective(res.spline, x, y, sparsest.LAM)
    osp = objective(sp.spline, x, y, sparsest.LAM)
    assert oc == pytest.approx(canon["objective"], rel=1e-10)
    assert osp == pytest.approx(oc, rel=1e-9)
    np.testing.assert_allclose(sp.spline(x), res.spline(x), rtol=0, atol=1e-10)
    ref = reference_fit(x, y, sparsest.LAM)
    assert canon["objective"] <= ref.objective + 1e-7 * max(1.0, ref.objective)
    # the expected sparsest count from zones computed here: same-sign slope changes at consecutive sites
    sites = np.unique(x)
    s = res.spline
    jumps = np.diff(np.diff(s.values) / np.diff(s.knots))
    idx = np.searchsorted(sites, s.knots[1:-1])
    active = [(int(i), np.sign(a)) for i, a in zip(idx, jumps) if a != 0]
    zones, prev = [], None
    for i, sg in active:
        if prev is not None and i == prev[0] + 1 and sg == prev[1]:
            zones[-1] += 1
        else:
            zones.append(1)
        prev = (i, sg)
    assert sparse["n_knots"] == sum(math.ceil(z / 2) for z in zones)
    assert sparsest_out.numbers["max_solution_set_width"] > 1e-3  # a non-singleton solution set


def test_solution_range_contains_both_and_is_tight():
    # the solution-set range: both minimisers inside; at a data site it is the shared value
    x, y = sparsest.dataset()
    res = tvspline.fit(x, y, sparsest.LAM)
    sp = res.sparsest()
    sites = np.unique(x)
    vals = res.spline(sites)
    tmax = res.tv2 * (1 + 1e-9)
    for t in np.linspace(x.min(), x.max(), 15):
        lo, hi = sparsest.solution_range(sites, vals, tmax, tvspline.unbounded(), t)
        for f in (res.spline, sp.spline):
            assert lo - 1e-8 <= float(f(t)) <= hi + 1e-8
    lo, hi = sparsest.solution_range(sites, vals, tmax, tvspline.unbounded(), sites[3])
    assert lo == hi == vals[3]
    # outside the data range the minimiser is unique
    lo, hi = sparsest.solution_range(sites, vals, tmax, tvspline.unbounded(), sites[-1] + 0.5)
    assert hi - lo <= 1e-6
