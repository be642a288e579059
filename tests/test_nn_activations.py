"""Tests of tvspline.nn.activations.

References: central finite differences of a random linear functional of the output (inputs and
angles, float64, points kept away from the kinks), explicit formulas (sorting, reflections), and
the defining inequalities: 1-Lipschitz per sample, norm preservation, gradient-norm preservation.
"""

from __future__ import annotations

import numpy as np
import pytest

from tvspline.nn.activations import AbsVal, GroupSort, HouseHolder, ReLU, make_activation

NAMES = ["relu", "absval", "groupsort", "householder"]
WIDTH = 6
H = 1e-6
MARGIN = 1e-3  # distance from the kinks, so that a step of H never crosses one


def kink_distance(act, Z):
    """Per-sample distance (in the relevant coordinate) from the nearest non-smooth set."""
    if act.name in ("relu", "absval"):
        return np.abs(Z).min(axis=1)
    if act.name == "groupsort":
        return np.abs(Z[:, 0::2] - Z[:, 1::2]).min(axis=1)
    theta = act.params["theta"]
    return np.abs(np.cos(theta) * Z[:, 0::2] + np.sin(theta) * Z[:, 1::2]).min(axis=1)


def smooth_batch(act, n, seed):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((4 * n, act.width))
    Z = Z[kink_distance(act, Z) > MARGIN][:n]
    assert Z.shape[0] == n
    return Z


@pytest.mark.parametrize("name", NAMES)
def test_backward_matches_finite_differences_in_z(name):
    act = make_activation(name, WIDTH, random_state=0)
    Z = smooth_batch(act, 8, seed=1)
    G = np.random.default_rng(2).standard_normal(Z.shape)
    out, cache = act.forward(Z)
    d_Z, d_params = act.backward(G, cache)
    assert set(d_params) == set(act.params)
    numeric = np.empty_like(Z)
    for idx in np.ndindex(*Z.shape):
        E = np.zeros_like(Z)
        E[idx] = H
        numeric[idx] = (np.sum(G * act(Z + E)) - np.sum(G * act(Z - E))) / (2 * H)
    np.testing.assert_allclose(d_Z, numeric, rtol=1e-7, atol=1e-8)


def test_householder_theta_gradient_matches_finite_differences():
    act = HouseHolder(WIDTH, random_state=3)
    Z = smooth_batch(act, 40, seed=4)
    G = np.random.default_rng(5).standard_normal(Z.shape)
    _, cache = act.forward(Z)
    d_theta = act.backward(G, cache)[1]["theta"]
    theta0 = act.params["theta"].copy()
    numeric = np.empty_like(theta0)
    for j in range(theta0.size):
        values = []
        for step in (H, -H):
            theta = theta0.copy()
            theta[j] += step
            # a step H in theta moves v . z by at most H |z| << MARGIN: no pair changes piece
            values.append(np.sum(G * HouseHolder(WIDTH, theta=theta)(Z)))
        numeric[j] = (values[0] - values[1]) / (2 * H)
    assert np.abs(d_theta).max() > 1e-3  # some pairs are reflected, the gradient is not trivially 0
    np.testing.assert_allclose(d_theta, numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_one_lipschitz_per_sample(name):
    act = make_activation(name, WIDTH, random_state=7)
    rng = np.random.default_rng(8)
    A = rng.standard_normal((5000, WIDTH))
    B = A + rng.standard_normal((5000, WIDTH)) * rng.choice([1e-3, 0.1, 1.0, 10.0], size=(5000, 1))
    lhs = np.linalg.norm(act(A) - act(B), axis=1)
    rhs = np.linalg.norm(A - B, axis=1)
    assert np.all(lhs <= rhs * (1 + 1e-12))
    assert act.lipschitz_constant() == 1.0
    # the constant is attained: on one smooth piece away from the kinks (positive inputs for
    # relu/absval), the map is an isometry, so nearby points keep their distance
    C = np.abs(A) + 1.0
    C = C[kink_distance(act, C) > 0.01]  # a shift of 1e-3 per coordinate stays on one piece
    assert C.shape[0] > 1000
    dist = np.linalg.norm(act(C) - act(C + 1e-3), axis=1)
    np.testing.assert_allclose(dist, 1e-3 * np.sqrt(WIDTH), rtol=1e-9)


@pytest.mark.parametrize("name", ["groupsort", "householder"])
def test_norm_and_gradient_norm_preserving(name):
    act = make_activation(name, WIDTH, random_state=9)
    rng = np.random.default_rng(10)
    Z = rng.standard_normal((1000, WIDTH)) * rng.uniform(0.01, 100, size=(1000, 1))
    out, cache = act.forward(Z)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), np.linalg.norm(Z, axis=1), rtol=1e-13)
    G = rng.standard_normal(Z.shape)
    d_Z = act.backward(G, cache)[0]
    np.testing.assert_allclose(np.linalg.norm(d_Z, axis=1), np.linalg.norm(G, axis=1), rtol=1e-13)


def test_groupsort_sorts_pairs():
    Z = np.random.default_rng(11).standard_normal((200, 8))
    out = GroupSort(8)(Z)
    expected = np.sort(Z.reshape(200, 4, 2), axis=2).reshape(200, 8)
    np.testing.assert_array_equal(out, expected)


def test_householder_formula_and_groupsort_special_case():
    rng = np.random.default_rng(12)
    Z = rng.standard_normal((500, 4))
    theta = rng.uniform(0, 2 * np.pi, 2)
    out = HouseHolder(4, theta=theta)(Z)
    for j in range(2):
        v = np.array([np.cos(theta[j]), np.sin(theta[j])])
        z = Z[:, 2 * j : 2 * j + 2]
        reflector = np.eye(2) - 2 * np.outer(v, v)
        expected = np.where((z @ v > 0)[:, None], z, z @ reflector)
        np.testing.assert_allclose(out[:, 2 * j : 2 * j + 2], expected, atol=1e-15)
    # v = (-1, 1)/sqrt(2) reflects exactly the unsorted pairs by swapping them: GroupSort
    hh = HouseHolder(4, theta=[0.75 * np.pi] * 2)
    np.testing.assert_allclose(hh(Z), GroupSort(4)(Z), atol=1e-15)


def test_relu_absval_values():
    Z = np.array([[-2.0, -0.0, 0.5, 3.0]])
    np.testing.assert_array_equal(ReLU(4)(Z), [[0.0, 0.0, 0.5, 3.0]])
    np.testing.assert_array_equal(AbsVal(4)(Z), [[2.0, 0.0, 0.5, 3.0]])


def test_seeding():
    a = make_activation("householder", 8, random_state=1).params["theta"]
    b = make_activation("householder", 8, random_state=1).params["theta"]
    c = make_activation("householder", 8, random_state=2).params["theta"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (4,) and np.all((0 <= a) & (a < 2 * np.pi))


@pytest.mark.parametrize("name", ["groupsort", "householder"])
@pytest.mark.parametrize("width", [1, 3, 7])
def test_odd_width_rejected(name, width):
    with pytest.raises(ValueError, match=f"width must be even .*got {width}"):
        make_activation(name, width)


@pytest.mark.parametrize(
    "name, width, kwargs, exc, match",
    [
        ("swish", 4, {}, ValueError, "name 'swish'"),
        ("relu", 0, {}, ValueError, "width must be >= 1, got 0"),
        ("relu", 2.0, {}, TypeError, "width"),
        ("relu", 2, {"random_state": "x"}, TypeError, "random_state"),
        ("householder", 2, {"random_state": -3}, ValueError, "random_state .* -3"),
    ],
)
def test_factory_validation(name, width, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        make_activation(name, width, **kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_forward_backward_validation(name):
    act = make_activation(name, 4)
    with pytest.raises(ValueError, match=r"Z must have shape \(n_samples, 4\), got shape \(3, 5\)"):
        act.forward(np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"got shape \(4,\)"):
        act.forward(np.zeros(4))
    with pytest.raises(ValueError, match="Z must be finite, got nan at index \\(1, 2\\)"):
        bad = np.zeros((2, 4))
        bad[1, 2] = np.nan
        act.forward(bad)
    _, cache = act.forward(np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"d_out must have shape \(3, 4\)"):
        act.backward(np.ones((2, 4)), cache)
    with pytest.raises(ValueError, match="d_out must be finite"):
        act.backward(np.full((3, 4), np.inf), cache)


def test_householder_theta_validation():
    with pytest.raises(ValueError, match="theta must be finite with shape \\(2,\\)"):
        HouseHolder(4, theta=[0.0])
    with pytest.raises(ValueError, match="theta must be finite"):
        HouseHolder(4, theta=[0.0, np.nan])


# ------------------------------------------------------------------------------ PReLU, GroupSort(5)
def test_prelu_gradients_match_finite_differences():
    from tvspline.nn.activations import PReLU

    act = PReLU(WIDTH, slope=[-1.0, -0.3, 0.0, 0.4, 1.0, 2.5])  # the last one is clipped to 1
    rng = np.random.default_rng(11)
    Z = rng.standard_normal((40, WIDTH))
    Z = Z[np.abs(Z).min(axis=1) > MARGIN][:12]
    G = rng.standard_normal(Z.shape)
    out, cache = act.forward(Z)
    d_Z, d_params = act.backward(G, cache)
    num_Z = np.empty_like(Z)
    for idx in np.ndindex(*Z.shape):
        E = np.zeros_like(Z)
        E[idx] = H
        num_Z[idx] = (np.sum(G * act(Z + E)) - np.sum(G * act(Z - E))) / (2 * H)
    np.testing.assert_allclose(d_Z, num_Z, rtol=1e-7, atol=1e-8)
    a0 = act.params["slope"].copy()
    num_a = np.empty(WIDTH)
    for j in range(WIDTH):
        for sign in (1, -1):
            act.params["slope"] = a0.copy()
            act.params["slope"][j] += sign * H
            val = np.sum(G * act(Z))
            num_a[j] = val if sign == 1 else (num_a[j] - val) / (2 * H)
    act.params["slope"] = a0
    # interior parameters: the derivative; the clipped one (2.5): zero
    np.testing.assert_allclose(d_params["slope"][1:4], num_a[1:4], rtol=1e-7, atol=1e-8)
    assert d_params["slope"][5] == 0.0 and num_a[5] == 0.0


@pytest.mark.parametrize("slope", [-1.0, -0.5, 0.3, 1.0, 7.0, -7.0])
def test_prelu_lipschitz_bound_against_finite_differences(slope):
    from tvspline.nn.activations import PReLU

    act = PReLU(3, slope=slope)
    rng = np.random.default_rng(5)
    A = rng.uniform(-2, 2, (20_000, 3))
    B = A + rng.normal(0, 1e-2, A.shape) * rng.uniform(0, 50, (A.shape[0], 1))
    ratios = np.linalg.norm(act(A) - act(B), axis=1) / np.linalg.norm(A - B, axis=1)
    bound = act.lipschitz_constant()
    assert bound == 1.0
    assert ratios.max() <= bound * (1 + 1e-12)
    assert ratios.max() >= 0.999 * bound  # the bound is attained (slope 1 on z > 0)
    # one-dimensional slopes on the negative side are the clipped parameter
    z = np.array([[-2.0, -2.0, -2.0], [-1.0, -1.0, -1.0]])
    np.testing.assert_allclose(np.diff(act(z), axis=0)[0], np.clip(slope, -1, 1))


def test_groupsort_group_size_5():
    rng = np.random.default_rng(8)
    Z = rng.standard_normal((30, 10))
    act = GroupSort(10, group_size=5)
    out, cache = act.forward(Z)
    np.testing.assert_array_equal(out[:, :5], np.sort(Z[:, :5], axis=1))
    np.testing.assert_array_equal(out[:, 5:], np.sort(Z[:, 5:], axis=1))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), np.linalg.norm(Z, axis=1), rtol=1e-15)
    G = rng.standard_normal(Z.shape)
    d_Z = act.backward(G, cache)[0]
    num = np.empty_like(Z)
    for idx in np.ndindex(*Z.shape):
        E = np.zeros_like(Z)
        E[idx] = H
        num[idx] = (np.sum(G * act(Z + E)) - np.sum(G * act(Z - E))) / (2 * H)
    np.testing.assert_allclose(d_Z, num, rtol=1e-7, atol=1e-8)
    with pytest.raises(ValueError, match="multiple of group_size=5, got 12"):
        GroupSort(12, group_size=5)
    with pytest.raises(ValueError, match="group_size must be an integer >= 1, got 0"):
        GroupSort(4, group_size=0)
