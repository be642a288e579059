"""SplineNetwork.fit's start: the exact 1-D solution carried along one path of a scalar network."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tvspline
from tvspline.datasets import lipschitz_regression
from tvspline.nn import SplineNetwork

WIDTHS = [1, 5, 5, 1]


def _data(kind="f1", n=200, seed=0):
    d = lipschitz_regression(kind, n_train=n, n_test=2000, random_state=seed)
    return d


@pytest.mark.parametrize("kind", ["f1", "f3", "sawtooth"])
def test_embedded_start_is_the_certified_1d_optimum(kind):
    d = _data(kind)
    net = SplineNetwork(WIDTHS, tvspline.lipschitz(1), lam=1e-3, random_state=1)
    net.fit(d.x_train, d.y_train, start="embed", max_iter=0, progress=False)
    ref = tvspline.fit(d.x_train, d.y_train, 1e-3, tvspline.lipschitz(1))  # an independent solve of the 1-D problem
    assert ref.success
    assert net.start_["mode"] == "embed"
    assert net.start_["status"] == tvspline.Status.OPTIMAL
    assert net.history["objective"][0] == pytest.approx(ref.objective, rel=1e-10, abs=1e-14)
    assert net.start_["objective_before"] > net.start_["objective"]
    # the network computes the 1-D solution itself
    x = np.linspace(-1.2, 1.2, 3001)
    assert np.max(np.abs(net.predict(x) - ref.spline(x))) <= 1e-12


def test_training_from_the_embedded_start_ends_no_higher_and_stays_certified():
    d = _data("f2", n=300, seed=2)
    net = SplineNetwork([1, 6, 6, 6, 1], tvspline.lipschitz(1), lam=1e-4, random_state=0)
    net.fit(d.x_train, d.y_train, max_iter=3, weight_steps=10, progress=False)  # start="auto"
    assert net.start_["mode"] == "embed"
    h = net.history["objective"]
    slack = 1e-12 * max(1.0, abs(h[0]))
    assert all(b <= a + slack for a, b in zip(h, h[1:]))
    bound = net.lipschitz_bound()
    assert bound <= 1.0
    f = net.predict(d.x_test)
    assert np.max(np.abs(np.diff(f)) / np.diff(d.x_test)) <= bound * (1 + 1e-9)


def test_embedded_start_matches_the_absolute_loss_1d_solution():
    d = _data("threshold", n=150, seed=1)
    net = SplineNetwork(WIDTHS, tvspline.lipschitz(1), lam=1e-3, loss="absolute", random_state=0)
    net.fit(d.x_train, d.y_train, start="embed", max_iter=0, progress=False)
    ref = tvspline.fit(d.x_train, d.y_train, 1e-3, tvspline.lipschitz(1), loss="absolute")
    assert net.history["objective"][0] == pytest.approx(ref.objective, rel=1e-7, abs=1e-12)


def test_auto_falls_back_where_the_embedding_does_not_apply():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (60, 2))
    y = np.abs(X[:, 0]) - X[:, 1]
    net = SplineNetwork([2, 4, 1], lam=1e-3, random_state=0).fit(X, y, max_iter=1, progress=False)
    assert net.start_["mode"] == "current"
    d = _data()
    net = SplineNetwork(WIDTHS, (-1.0, 0.5), lam=1e-3, random_state=0)  # no identity within the bounds
    net.fit(d.x_train, d.y_train, max_iter=1, progress=False)
    assert net.start_["mode"] == "current"
    net = SplineNetwork(WIDTHS, activation="relu", random_state=0)
    net.fit(d.x_train, d.y_train, max_iter=1, progress=False)
    assert net.start_["mode"] == "current"


def test_start_current_keeps_the_constructed_network():
    d = _data()
    a = SplineNetwork(WIDTHS, lam=1e-3, random_state=3)
    before = a.predict(d.x_train)
    a.fit(d.x_train, d.y_train, start="current", max_iter=0, progress=False)
    assert a.start_["mode"] == "current"
    np.testing.assert_array_equal(a.predict(d.x_train), before)


def test_bad_start_is_refused_with_its_name():
    d = _data()
    net = SplineNetwork(WIDTHS, random_state=0)
    with pytest.raises(ValueError, match="start must be one of"):
        net.fit(d.x_train, d.y_train, start="random", progress=False)
    with pytest.raises(ValueError, match="start='embed' needs widths"):
        SplineNetwork([2, 3, 1]).fit(np.zeros((5, 2)), np.zeros(5), start="embed", progress=False)
    with pytest.raises(ValueError, match=r"slope 1 within the bounds \(got \[-1.0, 0.5\]\)"):
        SplineNetwork(WIDTHS, (-1.0, 0.5)).fit(d.x_train, d.y_train, start="embed", progress=False)


@given(seed=st.integers(0, 2**16), scale=st.sampled_from([1e-3, 1.0, 1e3]))
def test_embedded_start_is_unchanged_by_permuting_the_data(seed, scale):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, 40) * scale
    y = np.abs(x) * 0.5 + 0.1 * rng.standard_normal(40) * scale
    perm = rng.permutation(40)
    objs = []
    for idx in (np.arange(40), perm):
        net = SplineNetwork([1, 3, 1], lam=1e-2, random_state=0)
        net.fit(x[idx], y[idx], start="embed", max_iter=0, progress=False)
        objs.append(net.history["objective"][0])
        assert net.lipschitz_bound() <= 1.0
    assert objs[1] == pytest.approx(objs[0], rel=1e-9, abs=1e-12 * scale ** 2)
