"""SplineNetwork: certification, monotone training, exact steps, inverse, save / load, W1 critics."""

import math

import numpy as np
import pytest

from tvspline import invertible, lipschitz
from tvspline.datasets import lipschitz_regression
from tvspline.nn import SplineNetwork
from tvspline.wasserstein import empirical_w1, estimate_w1


def _data(N=150, seed=0):
    d = lipschitz_regression("f1", n_train=N, n_test=500, random_state=seed)
    return d.x_train[:, None], d.y_train


@pytest.fixture(scope="module")
def trained():
    X, y = _data()
    net = SplineNetwork([1, 4, 4, 1], lam=1e-3, random_state=0)
    net.fit(X, y, start="current", max_iter=4, weight_steps=10, progress=False)  # the loop from random weights
    return net, X, y


def test_objective_never_increases(trained):
    net, _, _ = trained
    h = net.history["objective"]
    assert len(h) >= 2
    assert all(b <= a * (1 + 1e-12) for a, b in zip(h, h[1:]))
    assert h[-1] < h[0]


def test_history_matches_the_recomputed_objective(trained):
    net, X, y = trained
    out = net.predict(X)
    data = 0.5 * np.sum((out - y) ** 2)
    tv2 = sum(f.tv2() for layer in net.activations for f in layer)
    assert net.history["data"][-1] == pytest.approx(data, rel=1e-12)
    assert net.history["tv2"][-1] == pytest.approx(tv2, rel=1e-12)
    assert net.history["objective"][-1] == pytest.approx(data + net.lam * tv2, rel=1e-12)


def test_lipschitz_bound_certified_and_checked_by_finite_differences(trained):
    net, _, _ = trained
    bound = net.lipschitz_bound()
    assert bound <= 1 + 1e-9
    x = np.linspace(-1.5, 1.5, 20001)[:, None]
    f = net.predict(x)
    ratios = np.abs(np.diff(f)) / np.diff(x[:, 0])
    assert ratios.max() <= bound * (1 + 1e-9)
    # the bound is a product of per-layer norms and slopes, recomputed here independently
    expected = np.prod([np.linalg.norm(W, 2) for W in net.weights])
    expected *= np.prod([max(np.max(np.abs(g.slopes)) if g.slopes.size else 0.0 for g in layer)
                         for layer in net.activations])
    assert bound == pytest.approx(expected, rel=1e-12)


def test_slopes_within_bounds_and_knots_at_preactivations(trained):
    net, X, _ = trained
    _, zs, _, _ = net._forward(X)
    for layer, z in zip(net.activations, zs):
        for j, f in enumerate(layer):
            s = np.diff(f.values) / np.diff(f.knots)
            assert np.all(np.abs(s) <= 1.0)
            # representer theorem: every knot is a pre-activation value of the training data
            assert np.all(np.isin(f.knots, z[:, j]))


def test_exact_last_layer_step_is_certified(trained):
    net, _, _ = trained
    gaps = [g for g in net.history["gap"] if not math.isnan(g)]
    assert gaps, "no exact activation step was accepted"
    assert max(gaps) <= 1e-7 * max(1.0, max(net.history["objective"]))


@pytest.mark.parametrize("weights", ["orthonormal", "spectral"])
def test_weight_constraints_hold(weights):
    X, y = _data(80)
    net = SplineNetwork([1, 4, 2, 1], lam=1e-3, weights=weights, activation="absval", random_state=1)
    net.fit(X, y, max_iter=3, progress=False)
    for W in net.weights:
        sv = np.linalg.svd(W, compute_uv=False)
        if weights == "orthonormal":
            assert np.allclose(sv, 1.0, atol=1e-12)
        else:
            assert sv.max() <= 1 + 1e-12


@pytest.mark.parametrize("activation", ["relu", "absval", "groupsort", "householder", "spline"])
def test_gradients_match_finite_differences(activation):
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (30, 2))
    y = rng.normal(size=30)
    net = SplineNetwork([2, 4, 4, 1], weights="free", activation=activation, random_state=2)
    w = np.ones(30)
    grads = net._gradients(X, y[:, None], w)
    for key in net._params():
        P = net._get(key)
        flat = P.reshape(-1)
        for idx in range(min(flat.size, 3)):
            old = flat[idx]
            eps = 1e-6
            flat[idx] = old + eps
            fp = net._objective(X, y[:, None], w)[1]
            flat[idx] = old - eps
            fm = net._objective(X, y[:, None], w)[1]
            flat[idx] = old
            assert grads[key].reshape(-1)[idx] == pytest.approx((fp - fm) / (2 * eps), rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("activation", ["relu", "absval", "groupsort", "householder"])
def test_baselines_train_through_the_same_loop(activation):
    X, y = _data(100)
    net = SplineNetwork([1, 4, 4, 1], activation=activation, random_state=0)
    net.fit(X, y, max_iter=5, progress=False)
    h = net.history["objective"]
    assert h[-1] < h[0]
    assert all(b <= a for a, b in zip(h, h[1:]))
    assert net.lipschitz_bound() <= 1 + 1e-9


def test_save_load_is_lossless(tmp_path, trained):
    net, X, _ = trained
    path = tmp_path / "net.npz"
    net.save(path)
    back = SplineNetwork.load(path)
    assert np.array_equal(back.predict(X), net.predict(X))
    np.testing.assert_equal(back.history, net.history)  # NaN-aware
    assert back.lipschitz_bound() == net.lipschitz_bound()
    for la, lb in zip(net.activations, back.activations):
        for fa, fb in zip(la, lb):
            assert np.array_equal(fa.knots, fb.knots) and np.array_equal(fa.values, fb.values)


def test_householder_parameters_survive_save_load(tmp_path):
    X, y = _data(60)
    net = SplineNetwork([1, 4, 1], activation="householder", random_state=5).fit(X, y, max_iter=2, progress=False)
    net.save(tmp_path / "hh.npz")
    back = SplineNetwork.load(tmp_path / "hh.npz")
    assert np.array_equal(back.predict(X), net.predict(X))


def test_same_seed_same_network():
    X, y = _data(80)
    a = SplineNetwork([1, 3, 1], lam=1e-3, random_state=7).fit(X, y, max_iter=2, progress=False)
    b = SplineNetwork([1, 3, 1], lam=1e-3, random_state=7).fit(X, y, max_iter=2, progress=False)
    assert np.array_equal(a.predict(X), b.predict(X))


def test_exact_inverse_with_invertible_splines():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (120, 3))
    y = np.column_stack([np.tanh(X[:, 0] + X[:, 1]), X[:, 2] ** 3, np.sin(X[:, 1])])
    net = SplineNetwork([3, 3, 3, 3], invertible(0.5), lam=1e-3, init="identity", random_state=0)
    net.fit(X, y, max_iter=2, weight_steps=5, progress=False)
    Y = net.predict(X)
    back = net.inverse(Y)
    assert np.max(np.abs(back - X)) <= 1e-10
    for layer in net.activations:
        for f in layer:
            assert np.all(f.slopes >= 0.5) and np.all(f.slopes <= 2.0)


def test_inverse_needs_square_orthonormal_layers(trained):
    net, X, _ = trained
    with pytest.raises(ValueError, match="not square orthonormal"):
        net.inverse(net.predict(X))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(widths=[3]), "at least an input and an output"),
        (dict(widths=[1, 0, 1]), "positive integers"),
        (dict(weights="unitary"), "weights must be one of"),
        (dict(activation="tanh"), "activation must be one of"),
        (dict(lam=-1.0), "lam must be finite"),
        (dict(loss="hinge"), "loss must be one of"),
        (dict(init="sigmoid"), "init must be one of"),
        (dict(activation="groupsort", widths=[1, 3, 1]), "even"),
    ],
)
def test_bad_constructor_arguments(kwargs, match):
    args = dict(widths=[1, 4, 1])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        SplineNetwork(args.pop("widths"), **args)


def test_bad_fit_arguments():
    net = SplineNetwork([2, 2, 1], random_state=0)
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match="X must have shape"):
        net.fit(np.zeros((5, 3)), np.zeros(5), progress=False)
    with pytest.raises(ValueError, match="y must have shape"):
        net.fit(X, np.zeros(4), progress=False)
    with pytest.raises(ValueError, match="NaN"):
        net.fit(X, np.full(5, np.nan), progress=False)
    with pytest.raises(ValueError, match="inner_grid"):
        net.fit(X, np.zeros(5), inner_grid=1, progress=False)


# ------------------------------------------------------------------------------- W1 critics


@pytest.mark.parametrize("dim", [1, 2])
def test_w1_critic_is_a_lower_bound_and_beats_relu(dim):
    rng = np.random.default_rng(dim)
    p = rng.normal(0, 1, (80, dim))
    q = rng.normal(0, 1, (80, dim)) * 1.5 + 0.7
    exact = empirical_w1(p, q)
    widths = [dim, 6, 6, 1]
    spline = estimate_w1(p, q, widths, lam=0.0, random_state=0, max_iter=8, progress=False)
    relu = estimate_w1(p, q, widths, activation="relu", random_state=0, max_iter=8, progress=False)
    assert spline.lipschitz_bound <= 1 + 1e-9
    assert spline.estimate <= exact + 1e-6
    assert relu.estimate <= exact + 1e-6
    assert exact - spline.estimate < exact - relu.estimate
    if dim == 1:  # the embedded start is the exact 1-D critic (Kantorovich-Rubinstein duality)
        assert spline.critic.start_["mode"] == "embed"
        assert spline.estimate == pytest.approx(exact, rel=1e-9)


def test_w1_one_hidden_neuron_in_1d_is_exact():
    """One neuron, lam = 0: the exact LP step recovers the empirical W1 (KR duality in 1-D)."""
    rng = np.random.default_rng(0)
    p, q = rng.normal(0, 1, 50), rng.normal(0.5, 2, 70)
    est = estimate_w1(p, q, [1, 1, 1], lam=0.0, random_state=0, max_iter=3, progress=False)
    assert est.estimate == pytest.approx(empirical_w1(p, q), rel=1e-9)


def test_w1_rejects_bad_widths():
    with pytest.raises(ValueError, match="widths must run"):
        estimate_w1(np.zeros((3, 2)), np.ones((3, 2)), [1, 4, 1], progress=False)
    with pytest.raises(ValueError, match="1-Lipschitz critic"):
        estimate_w1(np.zeros(3), np.ones(3), [1, 4, 1], weights="free", progress=False)


def test_interpolation_step_keeps_bounds_at_nearly_tied_preactivations():
    """Re-deriving slopes from values at sites 1e-12 apart must not break the bounds."""
    from tvspline import LinearSpline

    rng = np.random.default_rng(0)
    net = SplineNetwork([1, 2, 1], lam=1e-3, random_state=0)
    base = rng.uniform(-1, 1, 40)
    z = np.column_stack([np.sort(np.concatenate([base, base + 1e-12])), np.linspace(-1, 1, 80)])
    f = LinearSpline(np.array([-1.0, 0.3, 1.0]), np.array([1.3, 0.0, 0.7]))  # slopes -1, 1
    net._acts[0].splines = [f, f]
    X = np.zeros((80, 1))
    y = np.zeros(80)
    net._interpolate_at_data(0, z, X, y, np.ones(80), np.inf)
    for g in net._acts[0].splines:
        s = np.diff(g.values) / np.diff(g.knots)
        assert np.all(s >= -1.0) and np.all(s <= 1.0)
