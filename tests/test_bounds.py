"""Tests of tvspline.bounds: SlopeBounds, its presets and as_bounds."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from tvspline.bounds import (
    SlopeBounds,
    as_bounds,
    firmly_nonexpansive,
    invertible,
    lipschitz,
    monotone,
    unbounded,
)

INF = math.inf


# --------------------------------------------------------------------------- construction
def test_default_is_unbounded():
    b = SlopeBounds()
    assert (b.lo, b.hi) == (-INF, INF)
    assert b.is_unbounded and not b.is_monotone
    assert b.lipschitz_constant == INF


def test_values_are_stored_as_floats():
    b = SlopeBounds(0, np.int64(2))
    assert type(b.lo) is float and type(b.hi) is float
    assert b == SlopeBounds(0.0, 2.0)
    assert hash(b) == hash(SlopeBounds(0.0, 2.0))


def test_equal_bounds_are_allowed():
    b = SlopeBounds(0.5, 0.5)
    assert b.contains(0.5) and not b.contains(0.5 + 1e-15)


@pytest.mark.parametrize("lo, hi", [(1.0, 0.0), (INF, INF), (-INF, -INF), (0.0, -INF), (INF, 0.0), (1e-300, 0.0)])
def test_invalid_order_or_infinite_side_raises(lo, hi):
    with pytest.raises(ValueError, match="s_min|finite slope"):
        SlopeBounds(lo, hi)


def test_lo_greater_than_hi_message_names_both():
    with pytest.raises(ValueError, match=r"s_min <= s_max, got s_min=2.0 > s_max=1.0"):
        SlopeBounds(2.0, 1.0)


def test_lo_plus_inf_raises():
    with pytest.raises(ValueError, match="finite slope"):
        SlopeBounds(INF)  # hi defaults to +inf, so lo > hi does not catch it


@pytest.mark.parametrize("field, args", [("lo", (np.nan, 1.0)), ("hi", (0.0, np.nan)), ("lo", (np.nan, np.nan))])
def test_nan_raises_naming_the_side(field, args):
    with pytest.raises(ValueError, match=rf"bounds {field} .*NaN"):
        SlopeBounds(*args)


@pytest.mark.parametrize("args", [("a", 1.0), (0.0, None), ([0.0, 1.0], 2.0)])
def test_non_numeric_raises_type_error(args):
    with pytest.raises(TypeError, match="bounds (lo|hi)"):
        SlopeBounds(*args)


def test_frozen():
    b = SlopeBounds(0.0, 1.0)
    with pytest.raises(AttributeError):
        b.lo = -1.0


def test_pickle_and_iteration():
    b = SlopeBounds(-2.0, 3.0)
    assert pickle.loads(pickle.dumps(b)) == b
    lo, hi = b
    assert (lo, hi) == b.to_tuple() == (-2.0, 3.0)


# --------------------------------------------------------------------------- presets
def test_presets_values():
    assert lipschitz() == SlopeBounds(-1.0, 1.0)
    assert lipschitz(2.5) == SlopeBounds(-2.5, 2.5)
    assert lipschitz(0) == SlopeBounds(0.0, 0.0)
    assert lipschitz(INF).is_unbounded
    assert monotone() == SlopeBounds(0.0, INF)
    assert firmly_nonexpansive() == SlopeBounds(0.0, 1.0)
    assert invertible() == SlopeBounds(0.1, 10.0)
    assert invertible(0.5) == SlopeBounds(0.5, 2.0)
    assert invertible(1.0) == SlopeBounds(1.0, 1.0)
    assert unbounded() == SlopeBounds(-INF, INF)


def test_preset_properties():
    assert monotone().is_monotone and firmly_nonexpansive().is_monotone and invertible(0.2).is_monotone
    assert not lipschitz(1.0).is_monotone
    assert lipschitz(3.0).lipschitz_constant == 3.0
    assert firmly_nonexpansive().lipschitz_constant == 1.0
    assert invertible(0.25).lipschitz_constant == 4.0
    assert monotone().lipschitz_constant == INF
    assert not monotone().is_unbounded and unbounded().is_unbounded


@pytest.mark.parametrize("L", [-1.0, -1e-300, np.nan])
def test_lipschitz_invalid(L):
    with pytest.raises(ValueError, match="L"):
        lipschitz(L)


@pytest.mark.parametrize("eps", [0.0, -0.1, 1.5, INF, np.nan])
def test_invertible_invalid(eps):
    with pytest.raises(ValueError, match="eps"):
        invertible(eps)


def test_preset_type_errors():
    with pytest.raises(TypeError, match="L"):
        lipschitz("one")
    with pytest.raises(TypeError, match="eps"):
        invertible(None)


# --------------------------------------------------------------------------- as_bounds
def test_as_bounds_none_is_unbounded():
    assert as_bounds(None) == SlopeBounds()


def test_as_bounds_passes_instances_through():
    b = SlopeBounds(0.0, 1.0)
    assert as_bounds(b) is b


@pytest.mark.parametrize("pair", [(0, 1), [0.0, 1.0], np.array([0.0, 1.0]), SlopeBounds(0.0, 1.0).to_tuple()])
def test_as_bounds_pairs(pair):
    assert as_bounds(pair) == SlopeBounds(0.0, 1.0)


def test_as_bounds_with_infinite_side():
    assert as_bounds((0.0, INF)) == monotone()
    assert as_bounds((-INF, INF)).is_unbounded


@pytest.mark.parametrize("bad", [1.0, (1.0,), (0.0, 1.0, 2.0), "x", object()])
def test_as_bounds_rejects_non_pairs(bad):
    with pytest.raises(TypeError, match="bounds"):
        as_bounds(bad)


@pytest.mark.parametrize("bad, match", [((1.0, 0.0), "s_min"), ((np.nan, 1.0), "NaN"), ((INF, INF), "finite")])
def test_as_bounds_validates_pairs(bad, match):
    with pytest.raises(ValueError, match=match):
        as_bounds(bad)


# --------------------------------------------------------------------------- contains, clip, scaled
def test_contains():
    b = SlopeBounds(-1.0, 2.0)
    assert b.contains(-1.0) and b.contains(2.0) and b.contains(0.0)
    assert not b.contains(-1.0 - 1e-12) and not b.contains(2.0 + 1e-12)
    assert b.contains(2.0 + 1e-12, atol=1e-9) and b.contains(-1.0 - 1e-12, atol=1e-9)
    assert not b.contains(np.nan)
    assert monotone().contains(1e300) and not monotone().contains(-1e-300)
    assert unbounded().contains(-1e308)


def test_clip_scalars_and_arrays():
    b = SlopeBounds(-1.0, 2.0)
    assert b.clip(5.0) == 2.0 and b.clip(-5.0) == -1.0 and b.clip(0.5) == 0.5
    s = np.array([-3.0, -1.0, 0.0, 2.0, 7.0])
    np.testing.assert_array_equal(b.clip(s), [-1.0, -1.0, 0.0, 2.0, 2.0])
    np.testing.assert_array_equal(monotone().clip(s), [0.0, 0.0, 0.0, 2.0, 7.0])
    clipped = b.clip(np.random.default_rng(0).normal(0.0, 5.0, 1000))
    assert all(b.contains(v) for v in clipped)


def test_scaled():
    assert SlopeBounds(-1.0, 2.0).scaled(3.0) == SlopeBounds(-3.0, 6.0)
    assert monotone().scaled(0.5) == monotone()
    for factor in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="factor"):
            SlopeBounds(-1.0, 1.0).scaled(factor)


@pytest.mark.parametrize("bounds", [{-1: 0, 1: 1}, {-1.0, 1.0}, "01", b"01", np.array([[0.0, 1.0]])])
def test_as_bounds_refuses_unordered_containers_and_strings(bounds):
    with pytest.raises(TypeError, match=r"bounds must be a SlopeBounds or an ordered \(lo, hi\) pair"):
        as_bounds(bounds)


@pytest.mark.parametrize("bounds", [(0, 1), [0, 1], np.array([0, 1]), SlopeBounds(0, 1)])
def test_as_bounds_accepts_ordered_pairs(bounds):
    assert as_bounds(bounds) == SlopeBounds(0.0, 1.0)


@pytest.mark.parametrize("lo, hi", [(True, 1.0), (0.0, np.bool_(True)), ("0", 1.0), (0.0, 1j)])
def test_slope_bounds_refuse_bools_strings_and_complex(lo, hi):
    with pytest.raises(TypeError, match=r"bounds (lo|hi)"):
        SlopeBounds(lo, hi)
