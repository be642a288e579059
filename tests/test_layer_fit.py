"""The joint activation step (tvspline.nn.layer_fit) against independent references."""

import math

import numpy as np
import pytest
import scipy.stats

from tvspline.nn.layer_fit import fit_layer

BOUNDS = [(-1.0, 1.0), (0.0, math.inf), (-math.inf, math.inf), (0.5, 0.5), (0.1, 10.0)]


def _problem(seed, N=120, n=3, d=1):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (N, 2))
    W1 = rng.standard_normal((n, 2))
    Z = x @ W1.T + 0.1 * rng.standard_normal(n)
    V = rng.standard_normal((d, n))
    y = np.column_stack([np.abs(x[:, 0]) - x[:, 1] ** 2 + 0.05 * rng.standard_normal(N) for _ in range(d)])
    return Z, V, y


def _reference(Z, V, y, lam, bounds, loss, knots=None, weights=None):
    """CVXPY + Clarabel, tight tolerances, scaled coupling, written independently on site values.

    Returns the objective *recomputed* from the reference values with the same formula, and the
    largest slope violation of those values.
    """
    import cvxpy as cp

    N, n = Z.shape
    d = V.shape[0]
    w = np.ones(N) if weights is None else weights
    cs, ts, sites, cons, tv = [], [], [], [], 0
    out = [0] * d
    for j in range(n):
        if knots is None:
            t, site = np.unique(Z[:, j], return_inverse=True)
            Bj = None
        else:
            from tvspline import design_matrix

            t = np.asarray(knots, float)
            Bj = design_matrix(Z[:, j], t)
        c = cp.Variable(t.size)
        s = cp.Variable(t.size - 1)
        cons.append(cp.diff(c) == cp.multiply(np.diff(t), s))
        if bounds[0] == bounds[1]:
            cons.append(s == bounds[0])
        else:
            if math.isfinite(bounds[0]):
                cons.append(s >= bounds[0])
            if math.isfinite(bounds[1]):
                cons.append(s <= bounds[1])
        if t.size > 2:
            tv = tv + cp.norm1(cp.diff(s))
        vals = c[site] if Bj is None else Bj @ c
        for o in range(d):
            out[o] = out[o] + V[o, j] * vals
        cs.append(c)
        ts.append(t)
    b = cp.Variable(d)
    terms = []
    for o in range(d):
        r = out[o] + b[o] - y[:, o]
        terms.append(0.5 * cp.sum(cp.multiply(w, cp.square(r))) if loss == "squared"
                     else cp.sum(cp.multiply(w, cp.abs(r))))
    prob = cp.Problem(cp.Minimize(sum(terms) + lam * tv), cons)
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12, max_iter=500)
    # recompute from values
    o_val = np.tile(b.value, (N, 1))
    tv_val, viol = 0.0, 0.0
    for j in range(n):
        t, c = ts[j], cs[j].value
        slopes = np.diff(c) / np.diff(t)
        viol = max(viol, float(np.max(np.maximum(bounds[0] - slopes, slopes - bounds[1]), initial=0)))
        tv_val += float(np.sum(np.abs(np.diff(slopes))))
        vals = np.interp(Z[:, j], t, c) if knots is None else (design_matrix(Z[:, j], t) @ c)
        o_val += vals[:, None] * V[:, j][None, :]
    r = o_val - y
    data = 0.5 * float(np.sum(w[:, None] * r * r)) if loss == "squared" else float(np.sum(w[:, None] * np.abs(r)))
    return data + lam * tv_val, viol


def _check_bounds(res, bounds):
    lo, hi = bounds
    for f in res.splines:
        s = np.diff(f.values) / np.diff(f.knots)
        assert np.all(s >= lo) and np.all(s <= hi), (s.min(), s.max())


@pytest.mark.parametrize("bounds", BOUNDS)
@pytest.mark.parametrize("loss", ["squared", "absolute"])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_tight_reference(bounds, loss, seed):
    Z, V, y = _problem(seed)
    lam = 0.05
    res = fit_layer(Z, V, y, lam, bounds, loss=loss)
    assert res.success, res.message
    _check_bounds(res, bounds)
    ref, viol = _reference(Z, V, y, lam, bounds, loss)
    # the reference may break its bounds slightly (then it can score below the optimum)
    assert res.objective <= ref + 1e-7 * max(1.0, abs(ref)) or viol > 1e-9
    if viol <= 1e-9:
        assert res.objective == pytest.approx(ref, rel=1e-7, abs=1e-9)
        assert res.lower_bound <= ref + 1e-9 * max(1.0, abs(ref))
    assert res.lower_bound <= res.objective
    assert res.gap <= 1e-7 * max(1.0, res.objective)


def test_objective_is_recomputed_from_the_splines():
    Z, V, y = _problem(3, d=2)
    V = np.vstack([V[0], -0.5 * V[0]])
    res = fit_layer(Z, V, y, 0.02, (-1, 1))
    o = res.bias[None, :] + sum(f(Z[:, j])[:, None] * V[:, j][None, :] for j, f in enumerate(res.splines))
    data = 0.5 * np.sum((o - y) ** 2)
    tv2 = sum(f.tv2() for f in res.splines)
    assert res.objective == pytest.approx(data + 0.02 * tv2, rel=1e-12)
    assert res.tv2 == pytest.approx(tv2, rel=1e-12)


def test_knots_lie_at_preactivation_values():
    """Representer theorem: every knot of sigma_j is one of neuron j's pre-activation values."""
    Z, V, y = _problem(4, N=80, n=4)
    res = fit_layer(Z, V, y, 0.01, (-1, 1))
    for j, f in enumerate(res.splines):
        assert np.all(np.isin(f.knots, Z[:, j]))


def test_grid_knots_match_reference_on_the_grid():
    Z, V, y = _problem(5)
    grid = np.linspace(Z.min() - 0.1, Z.max() + 0.1, 15)
    res = fit_layer(Z, V, y, 0.05, (-1, 1), knots=grid)
    assert res.success, res.message
    ref, viol = _reference(Z, V, y, 0.05, (-1, 1), "squared", knots=grid)
    assert viol <= 1e-9
    assert res.objective == pytest.approx(ref, rel=1e-7)
    for f in res.splines:
        assert np.all(np.isin(f.knots, grid))


@pytest.mark.parametrize("seed", range(4))
def test_linear_loss_gives_w1_in_one_dimension(seed):
    """One neuron z = x, G = 1, lam = 0, 1-Lipschitz: max E_P f - E_Q f is the exact W1."""
    rng = np.random.default_rng(seed)
    p = rng.normal(0, 1, 40)
    q = rng.normal(0.7, 1.5, 55)
    Z = np.concatenate([p, q])[:, None]
    qw = np.concatenate([-np.ones(p.size) / p.size, np.ones(q.size) / q.size])
    res = fit_layer(Z, np.ones((1, 1)), qw, 0.0, (-1, 1), loss="linear", bias=False)
    assert res.success, res.message
    w1 = scipy.stats.wasserstein_distance(p, q)
    assert -res.objective == pytest.approx(w1, rel=1e-9, abs=1e-12)
    assert -res.lower_bound >= w1 - 1e-12  # an upper bound on the critic's value


def test_sample_dependent_G_equals_shared_G():
    Z, V, y = _problem(6)
    res_shared = fit_layer(Z, V, y, 0.05, (-1, 1))
    G3 = np.broadcast_to(V.T[None, :, :], (Z.shape[0], Z.shape[1], V.shape[0]))
    res_3d = fit_layer(Z, G3, y, 0.05, (-1, 1))
    assert res_3d.objective == pytest.approx(res_shared.objective, rel=1e-9)


def test_invariant_under_sample_and_neuron_permutation():
    Z, V, y = _problem(7)
    res = fit_layer(Z, V, y, 0.05, (-1, 1))
    rng = np.random.default_rng(1)
    perm = rng.permutation(Z.shape[0])
    res_p = fit_layer(Z[perm], V, y[perm], 0.05, (-1, 1))
    assert res_p.objective == pytest.approx(res.objective, rel=1e-9)
    nperm = np.array([2, 0, 1])
    res_n = fit_layer(Z[:, nperm], V[:, nperm], y, 0.05, (-1, 1))
    assert res_n.objective == pytest.approx(res.objective, rel=1e-9)


def test_prox_term_pulls_towards_centre():
    Z, V, y = _problem(8)
    base = fit_layer(Z, V, y, 0.05, (-1, 1))
    from tvspline import LinearSpline

    centre = [LinearSpline.affine(0.3, 0.0, -5, 5) for _ in range(Z.shape[1])]
    near = fit_layer(Z, V, y, 0.05, (-1, 1), prox=(1e6, centre))
    # a very stiff prox term is ill-conditioned: the status may be INACCURATE, the gap is honest
    assert near.splines is not None and 0 <= near.gap and near.lower_bound <= near.objective
    for j, f in enumerate(near.splines):
        assert np.max(np.abs(f(Z[:, j]) - centre[j](Z[:, j]))) < 1e-3
    mid = fit_layer(Z, V, y, 0.05, (-1, 1), prox=(1.0, base.splines))
    assert mid.success, mid.message
    # centred on the unregularised optimum, the prox term is zero at the optimum
    assert mid.objective == pytest.approx(base.objective, rel=1e-7)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(Z=np.full((5, 2), np.nan)), "Z contains NaN"),
        (dict(G=np.ones((1, 3))), "G must have shape"),
        (dict(y=np.ones(4)), "y must have 5 rows"),
        (dict(lam=-1.0), "lam must be finite and >= 0"),
        (dict(weights=-np.ones(5)), "weights must be finite and non-negative"),
        (dict(loss="hinge"), "loss must be one of"),
        (dict(bounds=(1.0, -1.0)), "s_min <= s_max"),
        (dict(Z=np.ones((1, 2)), y=np.ones(1)), "at least 2 samples"),
    ],
)
def test_bad_input_is_named(kwargs, match):
    args = dict(Z=np.random.default_rng(0).normal(size=(5, 2)), G=np.ones((1, 2)), y=np.zeros(5), lam=0.1,
                bounds=(-1, 1))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        fit_layer(args.pop("Z"), args.pop("G"), args.pop("y"), args.pop("lam"), args.pop("bounds"), **args)


def test_linear_loss_rejects_unbounded_problems():
    Z = np.random.default_rng(0).normal(size=(6, 1))
    q = np.array([1, 1, 1, -1, -1, -1]) / 3
    with pytest.raises(ValueError, match="finite slope bounds"):
        fit_layer(Z, np.ones((1, 1)), q, 0.0, (0, math.inf), loss="linear", bias=False)
    with pytest.raises(ValueError, match="sum to 0"):
        fit_layer(Z, np.ones((1, 1)), np.ones(6), 0.0, (-1, 1), loss="linear", bias=True)


# ------------------------------------------------------------------------- property-based tests

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


FINITE_OR_FREE = [b for b in BOUNDS if not (math.isinf(b[1]) and math.isfinite(b[0]))]


@settings(max_examples=25, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 3), N=st.integers(3, 40),
       bounds=st.sampled_from(BOUNDS), lam=st.sampled_from([0.0, 1e-3, 0.1, 10.0]),
       loss=st.sampled_from(["squared", "absolute"]))
def test_property_feasible_and_certified(seed, n, N, bounds, lam, loss):
    """Random small layers: bounds hold exactly, the lower bound is below the objective and below
    an independent tight reference, the objective is the reference's, and the gap meets the
    tolerance except for one-sided infinite bounds (see the next test)."""
    Z, V, y = _problem(seed, N=N, n=n)
    res = fit_layer(Z, V, y, lam, bounds, loss=loss)
    _check_bounds(res, bounds)
    assert res.lower_bound <= res.objective
    ref, viol = _reference(Z, V, y, lam, bounds, loss)
    if viol <= 1e-9:
        assert res.lower_bound <= ref + 1e-9 * max(1.0, abs(ref))
        assert res.objective <= ref + 1e-7 * max(1.0, abs(ref))
    if bounds in FINITE_OR_FREE:
        assert res.success, res.message


@pytest.mark.xfail(strict=True, reason="one-sided infinite bounds (monotone): the dual path may need a "
                   "multiplier of the forbidden sign, so an optimal answer can be left INACCURATE with the "
                   "trivial lower bound 0 (measured: gap 1.2e-3 on an objective of the same size)")
def test_monotone_bounds_are_not_always_certified():
    Z, V, y = _problem(1, N=3, n=2)
    res = fit_layer(Z, V, y, 0.001, (0.0, math.inf))
    ref, _ = _reference(Z, V, y, 0.001, (0.0, math.inf), "squared")
    assert res.objective <= ref + 1e-7 * max(1.0, abs(ref))  # the answer itself is right
    assert res.success, res.message
