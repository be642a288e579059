"""Tests of tvspline.spline.LinearSpline.

Evaluation is checked against an exact rational (fractions.Fraction) evaluation of the defining
formula and against the truncated-power (ReLU) form, whose coefficients give TV2 in closed form.
"""

from __future__ import annotations

import json
import math
import pickle
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tvspline.spline import LinearSpline

EPS = np.finfo(np.float64).eps
FAST = settings(max_examples=50, deadline=None)


# --------------------------------------------------------------------------- references
def exact_eval(t, c, x):
    """f(x) in exact rational arithmetic: the segment of x (clipped to the end segments), then
    c_k + (c_{k+1} - c_k) (x - t_k) / (t_{k+1} - t_k). Returns (value, theta) as Fractions."""
    T = [Fraction(v) for v in t]
    C = [Fraction(v) for v in c]
    X = Fraction(x)
    k = 0
    for j in range(len(T) - 1):  # linear scan: independent of any binary search
        if T[j] <= X:
            k = j
    theta = (X - T[k]) / (T[k + 1] - T[k])
    return C[k] + (C[k + 1] - C[k]) * theta, theta


def relu_spline(a, tau, b, d, lo, hi):
    """f(x) = d + b x + sum_j a_j max(x - tau_j, 0) stored on the knots {lo, tau, hi}."""
    tau = np.asarray(tau, dtype=float)
    knots = np.concatenate([[lo], tau, [hi]])

    def f(x):
        x = np.asarray(x, dtype=float)
        return d + b * x + (np.asarray(a)[:, None] * np.maximum(x[None, :] - tau[:, None], 0.0)).sum(axis=0)

    return LinearSpline(knots, f(knots)), f


@st.composite
def splines(draw, max_knots=20):
    n = draw(st.integers(2, max_knots))
    t0 = draw(st.floats(-1e3, 1e3))
    exponents = np.array(draw(st.lists(st.floats(-9.0, 1.0), min_size=n - 1, max_size=n - 1)))
    t = t0 + np.concatenate([[0.0], np.cumsum(10.0**exponents)])
    assume(np.all(np.diff(t) > 0))
    c = draw(arrays(np.float64, n, elements=st.floats(-1e6, 1e6)))
    return t, c


# --------------------------------------------------------------------------- evaluation
def test_docstring_example_abs():
    f = LinearSpline([-1.0, 0.0, 1.0], [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(f([-2.0, -0.5, 0.25, 3.0]), [2.0, 0.5, 0.25, 3.0])
    assert f.tv2() == 2.0 and f.n_knots == 1


def test_scalar_in_scalar_out():
    f = LinearSpline([0.0, 1.0, 3.0], [0.0, 2.0, 1.0])
    for x in (-1.0, 0.5, 1.0, 2.0, 10.0):
        y = f(x)
        assert isinstance(y, float)
        assert y == pytest.approx(float(exact_eval(f.knots, f.values, x)[0]), rel=1e-15, abs=1e-15)
    assert isinstance(f.derivative(0.5), float)


def test_shape_is_preserved():
    f = LinearSpline([0.0, 1.0, 3.0], [0.0, 2.0, 1.0])
    x = np.linspace(-1.0, 4.0, 12).reshape(3, 4)
    assert f(x).shape == (3, 4)
    np.testing.assert_array_equal(f(x).ravel(), f(x.ravel()))


@FAST
@given(data=st.data())
def test_evaluation_matches_exact_formula(data):
    t, c = data.draw(splines())
    span = t[-1] - t[0]
    u = np.array(data.draw(st.lists(st.floats(-2.0, 3.0), min_size=1, max_size=15)))
    x = np.concatenate([t[0] + u * span, t, [t[0] - 1e3, t[-1] + 1e3]])
    f = LinearSpline(t, c)
    got = f(x)
    for xi, yi in zip(x, got):
        want, theta = exact_eval(t, c, xi)
        k = max([0] + [j for j in range(t.size - 1) if t[j] <= xi])
        scale = (1.0 + abs(float(theta))) * (abs(c[k]) + abs(c[k + 1]))
        assert abs(Fraction(float(yi)) - want) <= 16 * EPS * scale + 1e-300, (xi, yi, float(want))


@FAST
@given(data=st.data())
def test_values_at_sorted_is_bitwise_the_general_evaluation(data):
    """The one-pass evaluation at increasing abscissae (used on a fit's sites) is bitwise __call__,
    inside, at the knots (ties included), beyond both ends, and with zero end slopes."""
    from tvspline._sorted_eval import values_at_sorted

    t, c = data.draw(splines())
    if data.draw(st.booleans()):
        c = c.copy()
        c[1] = c[0]  # zero slope on the left end segment
        c[-2] = c[-1]
    span = t[-1] - t[0]
    u = np.array(data.draw(st.lists(st.floats(-2.0, 3.0), min_size=1, max_size=15)))
    x = np.sort(np.concatenate([t[0] + u * span, t, t, [t[0] - 1e3, t[-1] + 1e3]]))
    f = LinearSpline(t, c)
    np.testing.assert_array_equal(values_at_sorted(f, x), f(x))


def test_matches_relu_form():
    rng = np.random.default_rng(0)
    tau = np.sort(rng.uniform(-2.0, 2.0, 9))
    a = rng.standard_normal(9)
    f, ref = relu_spline(a, tau, b=0.3, d=-1.2, lo=-3.0, hi=3.0)
    x = np.linspace(-10.0, 10.0, 2001)
    np.testing.assert_allclose(f(x), ref(x), rtol=1e-12, atol=1e-12)


def test_linear_extension_beyond_both_ends():
    f = LinearSpline([-1.0, 0.0, 2.0, 5.0], [3.0, 1.0, 2.0, -4.0])
    s = f.slopes
    for d in (1e-12, 0.5, 3.0, 1e6):
        assert f(-1.0 - d) == pytest.approx(3.0 - s[0] * d, rel=1e-14)
        assert f(5.0 + d) == pytest.approx(-4.0 + s[-1] * d, rel=1e-14)
        assert f.derivative(-1.0 - d) == s[0]
        assert f.derivative(5.0 + d) == s[-1]
    # Far away the extension stays exactly linear (no cancellation from the convex-combination form).
    assert f(1e15) - f(1e15 - 1e14) == pytest.approx(s[-1] * 1e14, rel=1e-12)


def test_values_at_knots_are_exact():
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(-5.0, 5.0, 50))
    c = rng.standard_normal(50)
    np.testing.assert_array_equal(LinearSpline(t, c)(t), c)


# --------------------------------------------------------------------------- slopes, derivative, tv2
def test_slopes_and_slope_changes():
    f = LinearSpline([0.0, 1.0, 3.0, 4.0], [0.0, 2.0, 1.0, 1.0])
    np.testing.assert_array_equal(f.slopes, [2.0, -0.5, 0.0])
    np.testing.assert_array_equal(f.slope_changes, [-2.5, 0.5])
    assert f.slope_range() == (-0.5, 2.0)
    assert f.lipschitz_constant() == 2.0


def test_derivative_is_right_derivative():
    f = LinearSpline([0.0, 1.0, 3.0, 4.0], [0.0, 2.0, 1.0, 1.0])
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 3.5, 4.0, 9.0])
    np.testing.assert_array_equal(f.derivative(x), [2.0, 2.0, 2.0, -0.5, -0.5, 0.0, 0.0, 0.0, 0.0])


def test_derivative_matches_finite_differences():
    rng = np.random.default_rng(2)
    t = np.sort(rng.uniform(-3.0, 3.0, 30))
    f = LinearSpline(t, rng.standard_normal(30))
    x = rng.uniform(-4.0, 4.0, 500)
    x = x[np.min(np.abs(x[:, None] - t[None, :]), axis=1) > 1e-4]  # stay off the knots
    h = 1e-7
    np.testing.assert_allclose(f.derivative(x), (f(x + h) - f(x - h)) / (2 * h), rtol=1e-5, atol=1e-5)


def test_tv2_closed_form_relu():
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 40):
        tau = np.sort(rng.uniform(-2.0, 2.0, n))
        a = rng.standard_normal(n)
        f, _ = relu_spline(a, tau, b=rng.standard_normal(), d=1.0, lo=-3.0, hi=3.0)
        # Slopes are recomputed from values: rounding of order eps |c| / min(h) is expected.
        assert f.tv2() == pytest.approx(np.abs(a).sum(), rel=1e-9)
        np.testing.assert_allclose(f.slope_changes, a, rtol=1e-9, atol=1e-9)
        assert f.n_knots == n


def test_tv2_of_affine_and_abs():
    assert LinearSpline.affine(2.5, -1.0, -3.0, 3.0).tv2() == 0.0
    assert LinearSpline.affine(2.5, -1.0).n_knots == 0
    # |x - 1| scaled: slopes -3, 3 -> TV2 = 6, independent of the knot spacing.
    f = LinearSpline([-10.0, 1.0, 1.5], [33.0, 0.0, 1.5])
    assert f.tv2() == 6.0


def test_n_knots_ignores_collinear_knots():
    f = LinearSpline([0.0, 1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 2.0, 2.0, 2.0])
    assert f.n_knots == 1
    np.testing.assert_array_equal(f.active_knots, [2.0])


# --------------------------------------------------------------------------- from_slopes, affine
def test_from_slopes_round_trip():
    rng = np.random.default_rng(4)
    t = np.sort(rng.uniform(-3.0, 3.0, 25))
    s = rng.uniform(-1.0, 1.0, 24)
    f = LinearSpline.from_slopes(t, 0.7, s)
    assert f.values[0] == 0.7
    np.testing.assert_allclose(f.slopes, s, rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="slopes"):
        LinearSpline.from_slopes(t, 0.0, s[:-1])


def test_affine():
    f = LinearSpline.affine(-2.0, 0.5, lo=-1.0, hi=4.0)
    np.testing.assert_array_equal(f.knots, [-1.0, 4.0])
    assert f(10.0) == pytest.approx(-19.5)
    assert f.derivative(0.0) == -2.0


# --------------------------------------------------------------------------- prune
def test_prune_tol_zero_keeps_the_function():
    rng = np.random.default_rng(5)
    t = np.linspace(-3.0, 3.0, 61)
    f0, _ = relu_spline(rng.standard_normal(4), np.array([-1.5, -0.3, 0.6, 2.1]), b=0.4, d=1.0, lo=-3.0, hi=3.0)
    f = f0.with_knots(t)  # many collinear knots (up to rounding)
    g = f.prune()
    assert g.knots.size <= f.knots.size
    x = np.linspace(-6.0, 6.0, 5001)
    scale = np.abs(f(x)).max()
    np.testing.assert_allclose(g(x), f(x), rtol=0, atol=1e-12 * scale)
    np.testing.assert_array_equal(g(g.knots), f(g.knots))  # kept knots keep their values


def test_prune_removes_exactly_collinear_knots():
    f = LinearSpline([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [0.0, 1.0, 2.0, 3.0, 2.0, 1.0])  # slopes 1,1,1,-1,-1
    g = f.prune()
    np.testing.assert_array_equal(g.knots, [0.0, 3.0, 5.0])
    np.testing.assert_array_equal(g.values, [0.0, 3.0, 1.0])
    assert g.tv2() == f.tv2() and g.n_knots == f.n_knots == 1
    x = np.linspace(-2.0, 7.0, 91)
    np.testing.assert_array_equal(g(x), f(x))


def test_prune_without_collinear_knots_returns_equal_spline():
    f = LinearSpline([0.0, 1.0, 3.0], [0.0, 1.0, 0.0])
    assert f.prune() == f


def test_prune_positive_tol_drops_small_changes_and_keeps_the_ends():
    f = LinearSpline([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.001, 0.0])  # slope changes 0.001, -3.002
    g = f.prune(tol=0.01)
    np.testing.assert_array_equal(g.knots, [0.0, 2.0, 3.0])
    np.testing.assert_array_equal(g.values, [0.0, 2.001, 0.0])
    assert f.prune(tol=10.0).knots.size == 2


@pytest.mark.parametrize("tol", [-1e-12, -1.0, np.nan, np.inf])
def test_prune_bad_tol_raises(tol):
    f = LinearSpline([0.0, 1.0, 2.0], [0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="tol"):
        f.prune(tol)


# --------------------------------------------------------------------------- serialisation
# Extreme and signed-zero values, ordered so that every slope stays finite.
SPECIAL = [0.1, 1e-300, -0.0, 5e-324, -2.2250738585072014e-308, 1 / 3, -7.0, 123456789.123456789, 1e300]


def special_spline():
    knots = np.array([-1e300, -1.0, -1e-300, 0.0, 1e-300, 0.1, 1 / 3, 1.0, 1e300])
    return LinearSpline(knots, np.array(SPECIAL))


def assert_bit_identical(f, g):
    assert f.knots.tobytes() == g.knots.tobytes()
    assert f.values.tobytes() == g.values.tobytes()


def test_dict_round_trip_is_bit_exact():
    f = special_spline()
    d = f.to_dict()
    assert d["format"] == "tvspline.LinearSpline" and d["version"] == 1
    assert all(type(v) is float for v in d["knots"] + d["values"])
    assert math.copysign(1.0, d["values"][2]) == -1.0  # -0.0 survives
    assert_bit_identical(f, LinearSpline.from_dict(d))


def test_json_round_trip_is_bit_exact():
    f = special_spline()
    text = f.to_json()
    json.loads(text)  # valid JSON (no NaN/Infinity tokens)
    assert_bit_identical(f, LinearSpline.from_json(text))


def test_pickle_round_trip_is_bit_exact():
    f = special_spline()
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        g = pickle.loads(pickle.dumps(f, protocol=protocol))
        assert_bit_identical(f, g)
        assert g == f
        assert not g.knots.flags.writeable


def test_from_dict_rejects_bad_data():
    with pytest.raises(TypeError, match="dict"):
        LinearSpline.from_dict([1, 2])
    with pytest.raises(ValueError, match="format"):
        LinearSpline.from_dict({"format": "other", "knots": [0, 1], "values": [0, 1]})
    with pytest.raises(ValueError, match="values"):
        LinearSpline.from_dict({"knots": [0.0, 1.0]})
    with pytest.raises(ValueError, match="knots"):
        LinearSpline.from_dict({"knots": [1.0, 0.0], "values": [0.0, 1.0]})


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_knots_raise(bad):
    with pytest.raises(ValueError, match="knots must be finite"):
        LinearSpline([0.0, bad, 2.0], [0.0, 1.0, 2.0])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_values_raise(bad):
    with pytest.raises(ValueError, match="values must be finite"):
        LinearSpline([0.0, 1.0, 2.0], [0.0, 1.0, bad])


@pytest.mark.parametrize("knots", [[0.0, 1.0, 1.0], [0.0, 2.0, 1.0], [1.0, 0.0], [0.0, -0.0]])
def test_non_increasing_knots_raise(knots):
    with pytest.raises(ValueError, match="knots must be strictly increasing"):
        LinearSpline(knots, np.zeros(len(knots)))


@pytest.mark.parametrize("n", [0, 1])
def test_fewer_than_two_knots_raise(n):
    with pytest.raises(ValueError, match="knots"):
        LinearSpline(np.arange(n, dtype=float), np.zeros(n))


def test_length_mismatch_raises():
    with pytest.raises(ValueError, match="knots and values must have the same length"):
        LinearSpline([0.0, 1.0, 2.0], [0.0, 1.0])


def test_two_dimensional_input_raises():
    with pytest.raises(ValueError, match="knots must be one-dimensional"):
        LinearSpline(np.zeros((2, 3)), np.zeros(6))


def test_non_numeric_input_raises_type_error():
    with pytest.raises(TypeError, match="values"):
        LinearSpline([0.0, 1.0], ["a", "b"])


# --------------------------------------------------------------------------- data model
def test_arrays_are_read_only():
    f = LinearSpline([0.0, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError):
        f.knots[0] = 5.0
    with pytest.raises(ValueError):
        f.values[0] = 5.0


def test_constructor_does_not_touch_callers_arrays():
    t = np.array([0.0, 1.0, 2.0])
    c = np.array([0.0, 1.0, 0.0])
    f = LinearSpline(t, c)
    assert t.flags.writeable and c.flags.writeable
    assert not np.shares_memory(f.knots, t)


def test_equality_and_hash():
    f = LinearSpline([0.0, 1.0], [0.0, 1.0])
    assert f == LinearSpline([0, 1], [0, 1])
    assert f != LinearSpline([0.0, 1.0], [0.0, 2.0])
    assert f != "spline"
    with pytest.raises(TypeError):
        hash(f)


def test_repr_is_informative():
    r = repr(LinearSpline([-1.0, 0.0, 1.0], [1.0, 0.0, 1.0]))
    assert r.startswith("LinearSpline(") and "n_knots=1" in r and "tv2=2" in r


@pytest.mark.parametrize("version", [0, 2, "1", 1.0, True, None])
def test_from_dict_refuses_other_versions(version):
    d = LinearSpline([0.0, 1.0], [0.0, 1.0]).to_dict()
    d["version"] = version
    with pytest.raises(ValueError, match=r"format version .* reads version 1"):
        LinearSpline.from_dict(d)


def test_from_dict_accepts_a_hand_written_dict():
    assert LinearSpline.from_dict({"knots": [0, 2], "values": [1, 3]}) == LinearSpline([0.0, 2.0], [1.0, 3.0])


@pytest.mark.parametrize(
    "knots, values, error, message",
    [
        (["0", "1"], [0.0, 1.0], TypeError, r"knots .*strings"),
        ([0.0, 1.0], ["0", "1"], TypeError, r"values .*strings"),
        ([False, True], [0.0, 1.0], TypeError, r"knots .*booleans"),
        ([0.0, 1.0], [True, False], TypeError, r"values .*booleans"),
        ([0.0, 1e-300], [0.0, 1e300], ValueError, r"slope between knots\[0\]=0.0 and knots\[1\]=1e-300 .*overflows"),
        ([0.0, 1.0, 2.0], [0.0, -1e308, 1e308], ValueError, r"slope between knots\[1\].*overflows"),
        ([0.0, 10**400], [0.0, 1.0], ValueError, r"knots holds a value too large"),
    ],
)
def test_from_dict_refuses_bad_knots_and_values(knots, values, error, message):
    with pytest.raises(error, match=message):
        LinearSpline.from_dict({"format": "tvspline.LinearSpline", "version": 1, "knots": knots, "values": values})
    with pytest.raises(error, match=message):
        LinearSpline(knots, values)


@pytest.mark.parametrize(
    "x, message",
    [
        (np.array([0.5 + 1j]), "complex"),
        (np.array([True, False]), "booleans"),
        (np.array(["0.5"]), "strings"),
        (np.array(["2024-01-01"], dtype="datetime64[D]"), "dates"),
        (np.ma.array([0.5, 1.0], mask=[0, 1]), "masked"),
    ],
)
def test_evaluation_refuses_non_real_points(x, message):
    f = LinearSpline([0.0, 1.0], [0.0, 2.0])
    with pytest.raises(TypeError, match=message):
        f(x)
    with pytest.raises(TypeError, match=message):
        f.derivative(x)


def test_evaluation_accepts_real_points_of_any_type():
    f = LinearSpline([0.0, 1.0], [0.0, 2.0])
    assert f(1) == 2.0 and f(np.float32(0.5)) == 1.0
    np.testing.assert_array_equal(f([[0, 1], [2, 3]]), [[0.0, 2.0], [4.0, 6.0]])
    assert np.isnan(f(np.nan))
