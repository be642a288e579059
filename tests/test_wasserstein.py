"""Tests of tvspline.wasserstein.empirical_w1.

References: the sorted-samples closed form in 1-D (equal sizes), the assignment against the
transport LP (equal sizes directly; unequal sizes through replicated samples, which represent the
same uniform measures with equal counts), the translation theorem W1(P, P + t) = ||t||, metric
properties, and Kantorovich-Rubinstein: E_P f - E_Q f <= W1 for every 1-Lipschitz f.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tvspline.wasserstein import empirical_w1

REL = 1e-12


@pytest.mark.parametrize("n", [1, 2, 7, 100, 1000])
def test_1d_sorted_closed_form(n):
    rng = np.random.default_rng(n)
    p, q = rng.normal(size=n), rng.exponential(size=n) + 0.3
    expected = np.mean(np.abs(np.sort(p) - np.sort(q)))
    assert empirical_w1(p, q) == pytest.approx(expected, rel=REL)
    # the (n, 1) layout is the same measure
    assert empirical_w1(p[:, None], q[:, None]) == pytest.approx(expected, rel=REL)
    assert empirical_w1(p, q, method="assignment") == pytest.approx(expected, rel=1e-10)
    assert empirical_w1(p[:50], q[:50], method="lp") == pytest.approx(
        np.mean(np.abs(np.sort(p[:50]) - np.sort(q[:50]))), rel=1e-10
    )


@pytest.mark.parametrize("n_p, n_q", [(3, 5), (8, 6), (10, 15), (1, 4)])
def test_1d_unequal_sizes_lp_matches_scipy(n_p, n_q):
    rng = np.random.default_rng(n_p * 100 + n_q)
    p, q = rng.normal(size=n_p), rng.normal(1.0, 2.0, size=n_q)
    assert empirical_w1(p, q, method="lp") == pytest.approx(empirical_w1(p, q), rel=1e-10)


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("n", [1, 5, 20])
def test_assignment_equals_lp_equal_sizes(d, n):
    rng = np.random.default_rng(10 * d + n)
    p, q = rng.normal(size=(n, d)), rng.uniform(-1, 2, size=(n, d))
    w_auto = empirical_w1(p, q)
    assert w_auto == empirical_w1(p, q, method="assignment")
    assert w_auto == pytest.approx(empirical_w1(p, q, method="lp"), rel=1e-10)


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("n_p, n_q", [(4, 6), (9, 6), (1, 5), (12, 8)])
def test_lp_unequal_sizes_equals_assignment_on_replicas(d, n_p, n_q):
    rng = np.random.default_rng(7 * n_p + n_q + d)
    p, q = rng.normal(size=(n_p, d)), rng.normal(0.5, 1.5, size=(n_q, d))
    m = math.lcm(n_p, n_q)
    # the uniform measure on p equals the uniform measure on p repeated m / n_p times
    p_rep, q_rep = np.repeat(p, m // n_p, axis=0), np.repeat(q, m // n_q, axis=0)
    replicated = empirical_w1(p_rep, q_rep, method="assignment")
    assert empirical_w1(p, q) == pytest.approx(replicated, rel=1e-10)


@pytest.mark.parametrize("d", [1, 2, 5])
@pytest.mark.parametrize("n_p, n_q", [(30, 30), (12, 20)])
def test_translation_theorem(d, n_p, n_q):
    # W1(P, P + t) = ||t||: the shift coupling costs ||t|| and f(x) = t.x / ||t|| attains it
    rng = np.random.default_rng(d + n_p)
    p = rng.normal(size=(n_p, d))
    t = rng.normal(size=d)
    assert empirical_w1(p, p + t) == pytest.approx(np.linalg.norm(t), rel=1e-12)
    # with unequal counts: the same measure written with duplicated samples
    pp = np.repeat(p, 2, axis=0)[: 2 * n_p]
    assert empirical_w1(p, pp + t, method="lp") == pytest.approx(np.linalg.norm(t), rel=1e-10)


@pytest.mark.parametrize(
    "shape_p, shape_q", [((15,), (15,)), ((10,), (17,)), ((9, 2), (9, 2)), ((8, 3), (11, 3))]
)
def test_symmetry_and_identity(shape_p, shape_q):
    rng = np.random.default_rng(len(shape_p) + shape_q[0])
    p, q = rng.normal(size=shape_p), rng.normal(size=shape_q)
    assert empirical_w1(p, q) == pytest.approx(empirical_w1(q, p), rel=1e-10)
    assert empirical_w1(p, q) > 0
    assert empirical_w1(p, p) == 0.0
    # a permutation of the samples is the same measure
    assert empirical_w1(p, rng.permutation(p)) == 0.0


def test_triangle_inequality():
    rng = np.random.default_rng(3)
    a, b, c = (rng.normal(loc, 1.0, size=(n, 2)) for loc, n in [(0, 6), (1, 9), (-1, 4)])
    assert empirical_w1(a, c) <= empirical_w1(a, b) + empirical_w1(b, c) + 1e-12


@pytest.mark.parametrize("d", [1, 2, 4])
@pytest.mark.parametrize("n_p, n_q", [(25, 25), (13, 21)])
def test_kantorovich_rubinstein_lower_bounds(d, n_p, n_q):
    rng = np.random.default_rng(d * n_q)
    p, q = rng.normal(size=(n_p, d)), rng.normal(0.3, 1.2, size=(n_q, d))
    w1 = empirical_w1(p, q)
    for _ in range(200):
        a = rng.normal(size=d)
        a *= rng.uniform(0, 1) / np.linalg.norm(a)  # ||a|| <= 1: f(x) = a.x is 1-Lipschitz
        assert p.mean(axis=0) @ a - q.mean(axis=0) @ a <= w1 + 1e-12
    # a nonlinear 1-Lipschitz critic: distance to a random point
    for _ in range(50):
        z = rng.normal(size=d)
        f = lambda x: np.linalg.norm(x - z, axis=1)  # noqa: E731
        assert f(p).mean() - f(q).mean() <= w1 + 1e-12


def test_1d_kr_attained_by_a_spline_critic():
    # in 1-D, f' = sign(F_Q - F_P) (a 1-Lipschitz linear spline) attains W1 exactly
    rng = np.random.default_rng(5)
    p, q = rng.normal(size=40), rng.normal(0.5, 1.0, size=40)
    z = np.sort(np.concatenate([p, q]))
    fp = np.searchsorted(np.sort(p), z, side="right") / p.size
    fq = np.searchsorted(np.sort(q), z, side="right") / q.size
    slopes = np.sign(fq - fp)[:-1]
    values = np.concatenate([[0.0], np.cumsum(slopes * np.diff(z))])
    f = lambda x: np.interp(x, z, values)  # noqa: E731
    assert f(p).mean() - f(q).mean() == pytest.approx(empirical_w1(p, q), rel=1e-12)


@pytest.mark.parametrize(
    "p, q, kwargs, exc, match",
    [
        ([0.0, np.nan], [1.0], {}, ValueError, "samples_p must be finite, got nan"),
        ([0.0], [[1.0, np.inf]], {}, ValueError, "samples_q must be finite, got inf"),
        (np.zeros((3, 2)), np.zeros((3, 3)), {}, ValueError, "same dimension, got d=2 and d=3"),
        ([], [1.0], {}, ValueError, "samples_p must contain at least one sample"),
        (np.zeros((0, 2)), np.zeros((3, 2)), {}, ValueError, "samples_p"),
        (np.zeros((2, 2, 2)), np.zeros((3, 2)), {}, ValueError, r"samples_p must have shape .*\(2, 2, 2\)"),
        ([0.0, 1.0], [1.0], {"method": "assignment"}, ValueError, "n_p=2 and n_q=1"),
        ([0.0, 1.0], [1.0], {"method": "exact"}, ValueError, "method 'exact'"),
        (["a"], [1.0], {}, TypeError, "samples_p"),
    ],
)
def test_validation(p, q, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        empirical_w1(p, q, **kwargs)
