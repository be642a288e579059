"""Tests of LinearSpline.inverse.

References: the identity g(f(x)) = x (and f(g(y)) = y) on dense points inside and far outside the
knot range, with a tolerance derived from first-order rounding analysis of both evaluations; the
exact value g(f(t_k)) = t_k at knots; and the closed-form inverse of an affine function.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tvspline.spline import LinearSpline

FAST = settings(max_examples=60, deadline=None)
REL = 1e-12
# the round trip loses a few ulps of its scale (measured: <= 2 eps); 32 eps leaves a margin
ROUNDTRIP_REL = 32 * np.finfo(float).eps


def roundtrip_tolerance(f: LinearSpline, x: np.ndarray) -> np.ndarray:
    """ROUNDTRIP_REL times the scale of the round trip: rounding of f(x) (a few ulps of max|c|) is
    divided by the smallest |slope| on the way back; the rest is rounding of x and of the knots."""
    scale = 1.0 + np.abs(x) + np.abs(f.knots).max() + np.abs(f.values).max() / np.abs(f.slopes).min()
    return ROUNDTRIP_REL * scale


@st.composite
def monotone_splines(draw, sign=None):
    k = draw(st.integers(2, 12))
    knots = draw(
        st.lists(st.floats(-10, 10, allow_nan=False), min_size=k, max_size=k, unique=True).map(sorted)
    )
    assume(np.diff(knots).min() > 1e-3)
    magnitudes = draw(st.lists(st.floats(0.05, 20.0), min_size=k - 1, max_size=k - 1))
    if sign is None:
        sign = draw(st.sampled_from([-1.0, 1.0]))
    value0 = draw(st.floats(-5, 5))
    return LinearSpline.from_slopes(knots, value0, sign * np.asarray(magnitudes))


def dense_points(f: LinearSpline, seed: int = 0) -> np.ndarray:
    lo, hi = f.knots[0], f.knots[-1]
    rng = np.random.default_rng(seed)
    grid = np.linspace(lo - 100.0, hi + 100.0, 4001)
    return np.concatenate([grid, rng.uniform(lo - 3.0, hi + 3.0, 2000), f.knots])


@FAST
@given(monotone_splines())
def test_inverse_undoes_f_everywhere(f):
    g = f.inverse()
    x = dense_points(f)
    err = np.abs(g(f(x)) - x)
    assert (err <= roundtrip_tolerance(f, x)).all(), err.max()


@FAST
@given(monotone_splines())
def test_f_undoes_inverse(f):
    g = f.inverse()
    y = dense_points(g, seed=1)
    err = np.abs(f(g(y)) - y)
    assert (err <= roundtrip_tolerance(g, y)).all(), err.max()


@FAST
@given(monotone_splines())
def test_inverse_exact_at_knots_and_reciprocal_slopes(f):
    g = f.inverse()
    # the knots of f are hit bit for bit: at a knot of g the evaluation is a convex
    # combination with theta = 0 or 1
    np.testing.assert_array_equal(g(f.values), f.knots)
    increasing = f.slopes[0] > 0
    expected = 1.0 / (f.slopes if increasing else f.slopes[::-1])
    np.testing.assert_allclose(g.slopes, expected, rtol=4 * np.finfo(float).eps)
    assert g.inverse() == f


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_inverse_random_splines_seeded(sign):
    rng = np.random.default_rng(7)
    for _ in range(20):
        k = int(rng.integers(2, 30))
        knots = np.sort(rng.uniform(-3, 3, k))
        slopes = sign * rng.uniform(0.1, 10.0, k - 1)
        f = LinearSpline.from_slopes(knots, rng.normal(), slopes)
        g = f.inverse()
        assert np.all(np.diff(g.knots) > 0)
        # g is increasing iff f is
        assert np.sign(g.slopes).tolist() == [sign] * (k - 1)
        x = np.concatenate([rng.uniform(-1e3, 1e3, 3000), rng.uniform(-4, 4, 3000)])
        assert (np.abs(g(f(x)) - x) <= roundtrip_tolerance(f, x)).all()


@pytest.mark.parametrize("slope, intercept", [(2.0, 1.0), (-0.25, 3.0), (1.0, 0.0), (-7.0, -2.0)])
def test_affine_inverse_matches_closed_form(slope, intercept):
    f = LinearSpline.affine(slope, intercept, -1.0, 1.0)
    g = f.inverse()
    assert g.knots.size == 2
    y = np.linspace(-1e3, 1e3, 2001)
    np.testing.assert_allclose(g(y), (y - intercept) / slope, rtol=REL, atol=REL * 1e3)
    assert g.lipschitz_constant() == pytest.approx(1.0 / abs(slope), rel=REL)


@pytest.mark.parametrize(
    "knots, values, match",
    [
        ([0.0, 1.0, 2.0], [0.0, 1.0, 1.0], "slope 1 .* is 0"),  # flat end segment (flat extension)
        ([0.0, 1.0, 2.0, 3.0], [0.0, 0.0, 1.0, 2.0], "slope 0 .* is 0"),
        ([0.0, 1.0], [2.0, 2.0], "is 0"),  # constant
        ([-1.0, 0.0, 1.0], [1.0, 0.0, 1.0], "change sign"),  # |x|
        ([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 1.5], "change sign"),
    ],
)
def test_non_monotone_raises(knots, values, match):
    with pytest.raises(ValueError, match="not invertible") as info:
        LinearSpline(knots, values).inverse()
    assert info.match(match)


def test_inverse_leaves_original_unchanged():
    f = LinearSpline([0.0, 1.0, 3.0], [1.0, -1.0, -2.0])
    knots, values = f.knots.copy(), f.values.copy()
    g = f.inverse()
    np.testing.assert_array_equal(f.knots, knots)
    np.testing.assert_array_equal(f.values, values)
    np.testing.assert_array_equal(g.knots, values[::-1])
    np.testing.assert_array_equal(g.values, knots[::-1])
