"""Tests of tvspline.datasets: the Lipschitz paper's 1-D targets and regression data.

References: exact slope sets (the construction is exact in binary64), finite differences on a fine
grid for the cosine, the closed-form derivative of the cosine, an independent Riemann-sum check of
the zero mean, and the seeding contract.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from tvspline.datasets import CosineTarget, RegressionData, lipschitz_regression, lipschitz_target
from tvspline.spline import LinearSpline

SEEDS = range(25)


@pytest.mark.parametrize("kind, allowed", [("f1", {-1.0, 1.0}), ("f2", {-1.0, 0.0, 1.0})])
@pytest.mark.parametrize("seed", SEEDS)
def test_piecewise_targets_have_exact_slopes(kind, allowed, seed):
    f = lipschitz_target(kind, random_state=seed)
    assert isinstance(f, LinearSpline)
    assert f.knots.size == 11 and f.knots[0] == -1.0 and f.knots[-1] == 1.0
    assert np.all(np.diff(f.knots) > 0)
    assert set(f.slopes.tolist()) <= allowed  # exact equality, no tolerance
    assert f.lipschitz_constant() <= 1.0
    # and the evaluated function is 1-Lipschitz on dense inputs, also beyond [-1, 1]
    x = np.sort(np.random.default_rng(seed).uniform(-1.5, 1.5, 20_000))
    assert np.all(np.abs(np.diff(f(x))) <= np.diff(x) * (1 + 1e-12) + 1e-15)


def test_slope_sets_are_used():
    # over many seeds, f1 uses both signs and f2 all three values (not a degenerate generator)
    seen1 = set().union(*(lipschitz_target("f1", s).slopes.tolist() for s in SEEDS))
    seen2 = set().union(*(lipschitz_target("f2", s).slopes.tolist() for s in SEEDS))
    assert seen1 == {-1.0, 1.0}
    assert seen2 == {-1.0, 0.0, 1.0}


@pytest.mark.parametrize("kind", ["f1", "f2", "f3"])
def test_targets_have_zero_mean_on_the_interval(kind):
    for seed in range(5):
        f = lipschitz_target(kind, random_state=seed)
        # midpoint rule on a fine grid: error <= Lip * h / 4 for a 1-Lipschitz function (per unit length)
        n = 400_000
        mid = -1.0 + (np.arange(n) + 0.5) * (2.0 / n)
        assert abs(np.mean(f(mid))) <= 2.0 / n


def test_f3_formula_and_lipschitz():
    f = lipschitz_target("f3")
    assert isinstance(f, CosineTarget)
    x = np.linspace(-1, 1, 200_001)
    w = 7 * math.pi
    np.testing.assert_allclose(f(x), np.cos(w * x) / w, rtol=0, atol=1e-15)
    slopes = np.diff(f(x)) / np.diff(x)
    assert np.abs(slopes).max() <= 1.0
    assert np.abs(slopes).max() >= 1.0 - 1e-6  # the bound is attained (f3 is not loosely Lipschitz)
    # derivative agrees with central differences
    xs = np.random.default_rng(0).uniform(-1, 1, 500)
    h = 1e-6
    np.testing.assert_allclose(f.derivative(xs), (f(xs + h) - f(xs - h)) / (2 * h), atol=1e-8)
    assert f.lipschitz_constant() == 1.0
    assert lipschitz_target("f3", 1) == lipschitz_target("f3", 2)


@pytest.mark.parametrize("kind", ["f1", "f2"])
def test_target_seeding(kind):
    a = lipschitz_target(kind, random_state=3)
    b = lipschitz_target(kind, random_state=3)
    c = lipschitz_target(kind, random_state=4)
    assert a == b
    assert a != c
    rng = np.random.default_rng(3)
    assert lipschitz_target(kind, rng) == a  # a Generator is used as given
    assert lipschitz_target(kind, rng) != a  # and its stream advances
    assert pickle.loads(pickle.dumps(a)) == a


@pytest.mark.parametrize("kind", ["f1", "f2", "f3"])
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
    if kind != "f3":
        assert f == lipschitz_target(kind, random_state=5)


def test_regression_defaults_and_uniformity():
    x, y, xt, yt, f = lipschitz_regression("f1", random_state=0)
    assert x.shape == (1000,) and xt.shape == (10_000,)
    # x_train is uniform on [-1, 1]: Kolmogorov-Smirnov against the uniform CDF
    from scipy import stats

    assert stats.kstest(x, stats.uniform(loc=-1, scale=2).cdf).pvalue > 1e-3


def test_regression_noise():
    clean = lipschitz_regression("f2", n_train=20_000, random_state=9)
    noisy = lipschitz_regression("f2", n_train=20_000, noise=0.1, random_state=9)
    np.testing.assert_array_equal(clean.x_train, noisy.x_train)  # noise is drawn after the inputs
    np.testing.assert_array_equal(clean.y_test, noisy.y_test)  # the test set is noise-free
    resid = noisy.y_train - clean.y_train
    assert abs(resid.std() - 0.1) < 0.005 and abs(resid.mean()) < 0.005


@pytest.mark.parametrize("kind", ["f1", "f2", "f3"])
def test_regression_seeding(kind):
    a = lipschitz_regression(kind, n_train=50, random_state=11)
    b = lipschitz_regression(kind, n_train=50, random_state=11)
    c = lipschitz_regression(kind, n_train=50, random_state=12)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.x_train, c.x_train)


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
    with pytest.raises(ValueError, match="frequency"):
        CosineTarget(0.0)
    with pytest.raises(ValueError, match="frequency"):
        CosineTarget(float("nan"))
