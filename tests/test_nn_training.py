"""Training of Lipschitz networks: exact training, the paper's mini-batch Adam, coordinate descent.

References: the objective recorded after every outer iteration (monotonicity), finite-difference
slopes of the trained networks against their certified Lipschitz bounds, finite differences of the
Björck map, the NumPy activation classes against the compiled kernels, and Clarabel's joint QP
against the block coordinate descent.
"""

from __future__ import annotations

import numpy as np
import pytest

import tvspline
from tvspline.datasets import lipschitz_regression
from tvspline.nn import SplineNetwork, make_activation
from tvspline.nn import _adam
from tvspline.nn.layer_fit import fit_layer

BASELINES = ["relu", "absval", "prelu", "groupsort", "householder"]


def _data(n=300, kind="f1", seed=0):
    d = lipschitz_regression(kind, n_train=n, n_test=2001, random_state=seed)
    return d.x_train[:, None], d.y_train, d.x_test


def _largest_slope(net, x):
    f = net.predict(x[:, None])
    return float(np.max(np.abs(np.diff(f)) / np.diff(x)))


def test_exact_training_never_increases_the_objective():
    X, y, _ = _data()
    net = SplineNetwork([1, 6, 6, 1], (-1, 1), lam=1e-4, random_state=1)
    net.fit(X, y, start="current", max_iter=4, weight_steps=20, progress=False)  # the loop from random weights
    h = np.array(net.history["objective"])
    assert h.size == 5
    assert np.all(np.diff(h) <= 1e-12 * np.maximum(1.0, h[1:]))
    assert h[-1] < 0.05 * h[0]
    # the exact steps report certified gaps
    gaps = np.array(net.history["gap"][1:])
    assert np.all(np.isfinite(gaps)) and np.all(gaps >= 0)


def test_exact_training_certified_bound_agrees_with_finite_differences():
    X, y, xt = _data(kind="f2", seed=3)
    net = SplineNetwork([1, 6, 6, 1], (-1, 1), lam=1e-4, random_state=2).fit(X, y, max_iter=3, weight_steps=20,
                                                                            progress=False)
    bound = net.lipschitz_bound()
    slope = _largest_slope(net, np.linspace(-1.5, 1.5, 30_001))
    assert bound <= 1.0
    assert slope <= bound * (1 + 1e-9)
    assert slope >= 0.5  # a fitted 1-Lipschitz target with slopes +-1: the bound is nearly attained
    for layer in net.activations:
        for f in layer:
            assert np.all(np.abs(np.diff(f.values) / np.diff(f.knots)) <= 1.0)


@pytest.mark.parametrize("activation", BASELINES)
def test_fit_adam_certified_bound_and_decrease(activation):
    X, y, xt = _data(n=200, seed=4)
    net = SplineNetwork([1, 10, 10, 1], (-1, 1), activation=activation, group_size=5, random_state=0)
    net.fit_adam(X, y, epochs=15, batch_size=10, lr=2e-3, random_state=0)
    mse = np.array(net.history["train_mse"])
    assert mse.size == 16 and mse[-1] < mse[0]
    # the recorded training MSE is that of the stored network (Björck weights, learned parameters)
    np.testing.assert_allclose(np.mean((net.predict(X) - y) ** 2), mse[-1], rtol=1e-9)
    bound = net.lipschitz_bound()
    assert bound <= 1.0
    assert _largest_slope(net, np.linspace(-2, 2, 40_001)) <= bound * (1 + 1e-9)
    # deterministic for a seed
    again = SplineNetwork([1, 10, 10, 1], (-1, 1), activation=activation, group_size=5, random_state=0)
    again.fit_adam(X, y, epochs=15, random_state=0)
    np.testing.assert_array_equal(again.history["train_mse"], net.history["train_mse"])


def test_fit_adam_2d_inputs_lipschitz_on_random_pairs():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (200, 2))
    y = np.abs(X[:, 0]) - 0.5 * np.abs(X[:, 1])
    net = SplineNetwork([2, 10, 10, 1], (-1, 1), activation="groupsort", group_size=5, random_state=1)
    net.fit_adam(X, y, epochs=10, random_state=1)
    A, B = rng.uniform(-2, 2, (20_000, 2)), rng.uniform(-2, 2, (20_000, 2))
    ratios = np.abs(net.predict(A) - net.predict(B)) / np.linalg.norm(A - B, axis=1)
    assert ratios.max() <= net.lipschitz_bound() * (1 + 1e-9) <= 1.0 + 1e-9


def test_fit_adam_validation():
    X, y, _ = _data(n=50)
    with pytest.raises(ValueError, match="spline networks train with fit"):
        SplineNetwork([1, 4, 1]).fit_adam(X, y)
    net = SplineNetwork([1, 4, 1], activation="relu")
    with pytest.raises(ValueError, match="batch_size must be <= the number of samples 50, got 60"):
        net.fit_adam(X, y, batch_size=60)
    with pytest.raises(ValueError, match="epochs must be an integer >= 0, got -1"):
        net.fit_adam(X, y, epochs=-1)
    with pytest.raises(ValueError, match="lr must be finite and > 0"):
        net.fit_adam(X, y, lr=float("nan"))
    with pytest.raises(ValueError, match="weights='free'"):
        SplineNetwork([1, 4, 1], activation="relu", weights="free").fit_adam(X, y)


@pytest.mark.parametrize("shape", [(10, 10), (10, 1), (1, 10), (4, 7)])
def test_bjorck_backward_matches_finite_differences(shape):
    rng = np.random.default_rng(3)
    V = rng.uniform(-0.8, 0.8, shape)
    G = rng.standard_normal(shape)
    iters = 15
    store = np.empty((iters + 1,) + shape)
    _adam._bjorck_forward(V, iters, store)
    grad = _adam._bjorck_backward(store, iters, G)
    h = 1e-6
    num = np.empty(shape)
    for idx in np.ndindex(*shape):
        E = np.zeros(shape)
        E[idx] = h
        num[idx] = (np.sum(G * _adam.bjorck_weights(V + E, iters)) - np.sum(G * _adam.bjorck_weights(V - E, iters))) / (2 * h)
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-8)
    # every singular value moves towards 1 without passing it (sigma -> 3/2 sigma - 1/2 sigma^3 on [0, sqrt 3])
    s0 = np.linalg.svd(V / np.sqrt(V.size), compute_uv=False)
    s = np.linalg.svd(store[iters], compute_uv=False)
    assert s.max() <= 1.0 + 1e-12
    assert np.all(s >= s0 - 1e-15)


@pytest.mark.parametrize("name", BASELINES)
def test_compiled_activations_match_the_classes(name):
    rng = np.random.default_rng(6)
    act = make_activation(name, 10, random_state=2, group_size=5)
    if name == "prelu":
        act.params["slope"] = rng.uniform(-1.5, 1.5, 10)
    Z = rng.standard_normal((12, 10))
    G = rng.standard_normal(Z.shape)
    params = np.concatenate([v.ravel() for v in act.params.values()]) if act.params else np.zeros(0)
    code = _adam.CODES[name]
    H = np.empty_like(Z)
    order = np.zeros(Z.shape, dtype=np.int64)
    _adam._act_forward(code, 5, Z, params, H, order)
    out, cache = act.forward(Z)
    np.testing.assert_allclose(H, out, rtol=0, atol=1e-15)
    dZ = np.empty_like(Z)
    dparams = np.empty(params.size)
    _adam._act_backward(code, 5, Z, params, order, G, dZ, dparams)
    ref_dZ, ref_dparams = act.backward(G, cache)
    np.testing.assert_allclose(dZ, ref_dZ, rtol=0, atol=1e-14)
    if params.size:
        np.testing.assert_allclose(dparams, next(iter(ref_dparams.values())), rtol=1e-12, atol=1e-12)


def _layer_problem(seed, N=150, n=4, d=1):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (N, 1))
    Z = np.tanh(x @ rng.standard_normal((1, n)) * 1.5 + 0.2 * rng.standard_normal(n))
    V = np.linalg.qr(rng.standard_normal((n, max(n, d))))[0][:, :d].T
    y = np.column_stack([np.abs(x[:, 0]) + 0.02 * rng.standard_normal(N) for _ in range(d)])
    return Z, V, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coordinate_descent_reaches_the_joint_optimum(seed):
    Z, V, y = _layer_problem(seed, d=2)
    cd = fit_layer(Z, V, y, 1e-3, (-1, 1), method="coordinate", max_sweeps=400)
    qp = fit_layer(Z, V, y, 1e-3, (-1, 1), method="clarabel")
    assert qp.success
    assert cd.success, cd.message
    np.testing.assert_allclose(cd.objective, qp.objective, rtol=1e-7)
    # each answer's certified lower bound holds for the other
    assert cd.lower_bound <= qp.objective and qp.lower_bound <= cd.objective


@pytest.mark.parametrize("seed", [0, 1])
def test_coordinate_descent_gap_is_honest(seed):
    """Stopped early, the descent reports a gap that covers its distance to the optimum."""
    Z, V, y = _layer_problem(seed, d=1)
    cd = fit_layer(Z, V, y, 1e-3, (-1, 1), method="coordinate", max_sweeps=3)
    qp = fit_layer(Z, V, y, 1e-3, (-1, 1), method="clarabel")
    assert cd.lower_bound <= qp.objective + 1e-12 and qp.lower_bound <= cd.objective + 1e-12
    assert cd.objective - qp.objective <= cd.gap + qp.gap
    assert cd.solver_info["sweeps"] <= 3


def test_coordinate_descent_linearised_with_prox_matches_clarabel():
    rng = np.random.default_rng(5)
    N, n = 120, 3
    Z = rng.uniform(-1, 1, (N, n))
    J = rng.uniform(0.2, 1.0, (N, n, 1))  # a sample-dependent linearisation
    y = np.sin(2 * Z[:, :1]) + 0.1
    centres = [tvspline.LinearSpline([-1.0, 1.0], [-0.5, 0.5])] * n
    cd = fit_layer(Z, J, y, 1e-3, (-1, 1), bias=False, prox=(0.5, centres), method="coordinate", max_sweeps=400)
    qp = fit_layer(Z, J, y, 1e-3, (-1, 1), bias=False, prox=(0.5, centres), method="clarabel")
    assert qp.success and cd.success, (qp.message, cd.message)
    np.testing.assert_allclose(cd.objective, qp.objective, rtol=1e-7)


def test_layer_fit_method_validation():
    Z, V, y = _layer_problem(0)
    with pytest.raises(ValueError, match="method must be one of"):
        fit_layer(Z, V, y, 1e-3, (-1, 1), method="newton")
    with pytest.raises(ValueError, match="method='coordinate' needs loss='squared'"):
        fit_layer(Z, V, y, 1e-3, (-1, 1), loss="absolute", method="coordinate")
    with pytest.raises(ValueError, match=r"init needs one spline per neuron \(4\), got 1"):
        fit_layer(Z, V, y, 1e-3, (-1, 1), method="coordinate", init=[tvspline.LinearSpline([0, 1], [0, 0])])
