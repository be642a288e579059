"""Tests of tvspline.datasets: the Lipschitz paper's 1-D targets and regression data.

References: the targets written out again here from their definitions (sums of ReLUs with the
authors' seeding, the triangle sum, the three-piece threshold, the cosine), finite differences for
the Lipschitz constant, a midpoint rule for the zero mean, and the seeding contract.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from tvspline.datasets import KINDS, CosineTarget, RegressionData, lipschitz_regression, lipschitz_target
from tvspline.spline import LinearSpline

SEEDS = range(20)
GRID = np.linspace(-1.0, 1.0, 20_001)


def relu(x):
    return np.maximum(x, 0.0)


def f1_reference(x, seed):
    """The authors' f1: slope +1 from -1, -2 / +2 slope changes at the sorted knots, zero mean."""
    knots = np.sort(2.0 * np.random.RandomState(seed).rand(9) - 1.0)
    value = relu(x + 1.0)
    integral = 2.0
    for i, t in enumerate(knots):
        value = value + 2.0 * (-1) ** (i + 1) * relu(x - t)
        integral += (-1) ** (i + 1) * (1.0 - t) ** 2  # int_{-1}^{1} 2 (x - t)_+ dx = (1 - t)^2
    return value - integral / 2.0, knots


def f2_reference(x, seed):
    """The authors' f2: slope changes of -1/-2, -1/+1 or +1/+2 from the states 1, 0, -1."""
    rs = np.random.RandomState(seed)
    knots = np.sort(2.0 * rs.rand(18)[9:] - 1.0)
    value = relu(x + 1.0)
    integral = 2.0
    state = 1
    slopes = [1]
    for t in knots:
        b = rs.randint(2)
        change = {1: -b - 1, 0: 2 * b - 1, -1: b + 1}[state]
        value = value + change * relu(x - t)
        integral += change * (1.0 - t) ** 2 / 2.0
        state += change
        slopes.append(state)
    return value - integral / 2.0, knots, np.array(slopes, dtype=float)


def sawtooth_reference(x):
    def tri(u):
        return np.maximum(1.0 - np.abs(u), 0.0)

    return (tri(4 * (x + 0.75)) + tri(4 * (x + 0.25)) + tri(4 * (x - 0.25)) + tri(4 * (x - 0.75))) / 4 - 0.125


def threshold_reference(x):
    tau = 0.05
    return np.where(x <= -tau, x + 2 * tau, np.where(x <= tau, -x, x - 2 * tau))


@pytest.mark.parametrize("seed", SEEDS)
def test_f1_is_the_authors_target(seed):
    f = lipschitz_target("f1", random_state=seed)
    ref, knots = f1_reference(GRID, seed)
    assert isinstance(f, LinearSpline)
    np.testing.assert_array_equal(f.knots, np.concatenate([[-1.0], knots, [1.0]]))
    # the slope alternates +1, -1, +1, ... changing sign at each of the 9 knots
    np.testing.assert_allclose(f.slopes, [(-1.0) ** k for k in range(10)], rtol=0, atol=1e-12)
    np.testing.assert_allclose(f(GRID), ref, rtol=0, atol=1e-13)


@pytest.mark.parametrize("seed", SEEDS)
def test_f2_is_the_authors_target(seed):
    f = lipschitz_target("f2", random_state=seed)
    ref, knots, slopes = f2_reference(GRID, seed)
    np.testing.assert_array_equal(f.knots, np.concatenate([[-1.0], knots, [1.0]]))
    np.testing.assert_allclose(f.slopes, slopes, rtol=0, atol=1e-12)
    rounded = np.round(f.slopes)
    assert set(rounded.tolist()) <= {-1.0, 0.0, 1.0}
    assert rounded[0] == 1.0
    assert np.all(np.diff(rounded) != 0)  # every one of the 9 knots is a kink
    np.testing.assert_allclose(f(GRID), ref, rtol=0, atol=1e-13)


def test_f2_visits_every_slope_value():
    seen = set().union(*(np.round(lipschitz_target("f2", s).slopes).tolist() for s in SEEDS))
    assert seen == {-1.0, 0.0, 1.0}


def test_f3_sawtooth_threshold_closed_forms():
    w = 7 * math.pi
    np.testing.assert_allclose(lipschitz_target("f3")(GRID), np.cos(w * GRID) / w, rtol=0, atol=1e-15)
    np.testing.assert_allclose(lipschitz_target("sawtooth")(GRID), sawtooth_reference(GRID), rtol=0, atol=1e-15)
    np.testing.assert_allclose(lipschitz_target("threshold")(GRID), threshold_reference(GRID), rtol=0,
                               atol=1e-15)
    assert lipschitz_target("f3", 1) == lipschitz_target("f3", 2)


@pytest.mark.parametrize("kind", KINDS)
def test_targets_are_1_lipschitz_by_finite_differences(kind):
    for seed in range(5):
        f = lipschitz_target(kind, random_state=seed)
        x = np.sort(np.random.default_rng(seed).uniform(-1.5, 1.5, 200_001))
        dy, dx = np.abs(np.diff(f(x))), np.diff(x)
        # |f(b) - f(a)| <= |b - a|, up to the rounding of the two evaluations and their difference
        assert np.all(dy <= dx * (1 + 1e-12) + 4 * np.finfo(float).eps)
        assert np.max(dy / dx) >= 1.0 - 1e-3  # the constant 1 is attained (up to the sampling)
        assert f.lipschitz_constant() <= 1.0
        if isinstance(f, LinearSpline):
            assert np.all(np.abs(np.diff(f.values) / np.diff(f.knots)) <= 1.0)  # exactly, in floating point


@pytest.mark.parametrize("kind", KINDS)
def test_targets_have_zero_mean_on_the_interval(kind):
    for seed in range(3):
        f = lipschitz_target(kind, random_state=seed)
        n = 400_000
        mid = -1.0 + (np.arange(n) + 0.5) * (2.0 / n)
        # midpoint rule: error <= Lip * h / 4 per unit length for a 1-Lipschitz function
        assert abs(np.mean(f(mid))) <= 2.0 / n


def test_cosine_derivative():
    f = lipschitz_target("f3")
    assert isinstance(f, CosineTarget)
    xs = np.random.default_rng(0).uniform(-1, 1, 500)
    h = 1e-6
    np.testing.assert_allclose(f.derivative(xs), (f(xs + h) - f(xs - h)) / (2 * h), atol=1e-8)
    assert f.lipschitz_constant() == 1.0


@pytest.mark.parametrize("kind", ["f1", "f2"])
def test_target_seeding(kind):
    a = lipschitz_target(kind, random_state=3)
    assert a == lipschitz_target(kind, random_state=3)
    assert a != lipschitz_target(kind, random_state=4)
    rng = np.random.default_rng(3)
    b = lipschitz_target(kind, rng)  # a Generator draws from its own stream
    assert b != lipschitz_target(kind, rng)  # and it advances
    assert pickle.loads(pickle.dumps(a)) == a


def test_global_random_state_untouched():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    lipschitz_target("f2", random_state=7)
    lipschitz_regression("f1", n_train=10, random_state=7)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


@pytest.mark.parametrize("kind", KINDS)
def test_regression_shapes_and_values(kind):
    data = lipschitz_regression(kind, n_train=300, n_test=101, random_state=5)
    assert isinstance(data, RegressionData)
    x, y, xt, yt, f = data
    assert x.shape == y.shape == (300,)
    assert xt.shape == yt.shape == (101,)
    assert x.min() >= -1 and x.max() <= 1
    np.testing.assert_array_equal(xt, np.linspace(-1, 1, 101))
    np.testing.assert_array_equal(y, f(x))
    np.testing.assert_array_equal(yt, f(xt))
    assert f == lipschitz_target(kind, random_state=5)
    np.testing.assert_array_equal(x, np.random.default_rng(5).uniform(-1, 1, 300))


def test_regression_defaults_and_uniformity():
    x, y, xt, yt, f = lipschitz_regression("f1", random_state=0)
    assert x.shape == (1000,) and xt.shape == (10_000,)
    from scipy import stats

    assert stats.kstest(x, stats.uniform(loc=-1, scale=2).cdf).pvalue > 1e-3


def test_regression_noise():
    clean = lipschitz_regression("f2", n_train=20_000, random_state=9)
    noisy = lipschitz_regression("f2", n_train=20_000, noise=0.1, random_state=9)
    np.testing.assert_array_equal(clean.x_train, noisy.x_train)  # noise is drawn after the inputs
    np.testing.assert_array_equal(clean.y_test, noisy.y_test)  # the test set is noise-free
    resid = noisy.y_train - clean.y_train
    assert abs(resid.std() - 0.1) < 0.005 and abs(resid.mean()) < 0.005


@pytest.mark.parametrize("kind", ["f1", "f3"])
def test_regression_seeding(kind):
    a = lipschitz_regression(kind, n_train=50, random_state=11)
    b = lipschitz_regression(kind, n_train=50, random_state=11)
    c = lipschitz_regression(kind, n_train=50, random_state=12)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.x_train, c.x_train)
    g = lipschitz_regression(kind, n_train=50, random_state=np.random.default_rng(11))
    assert g.x_train.shape == (50,)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(kind="f4"), ValueError, "kind 'f4'"),
        (dict(kind="f1", n_train=0), ValueError, "n_train must be >= 1, got 0"),
        (dict(kind="f1", n_test=1), ValueError, "n_test must be >= 2, got 1"),
        (dict(kind="f1", n_train=2.5), TypeError, "n_train"),
        (dict(kind="f1", n_train=True), TypeError, "n_train"),
        (dict(kind="f1", noise=-0.1), ValueError, "noise must be finite and >= 0, got -0.1"),
        (dict(kind="f1", noise=float("nan")), ValueError, "noise .* nan"),
        (dict(kind="f1", noise=float("inf")), ValueError, "noise .* inf"),
        (dict(kind="f1", random_state=-1), ValueError, "random_state .* -1"),
        (dict(kind="f1", random_state=1.5), TypeError, "random_state"),
    ],
)
def test_regression_validation(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        lipschitz_regression(**kwargs)


def test_target_validation():
    with pytest.raises(ValueError, match="kind 'F1'"):
        lipschitz_target("F1")
    with pytest.raises(ValueError, match="random_state .* -2"):
        lipschitz_target("f1", random_state=-2)
    with pytest.raises(ValueError, match="frequency"):
        CosineTarget(0.0)
    with pytest.raises(ValueError, match="frequency"):
        CosineTarget(float("nan"))
