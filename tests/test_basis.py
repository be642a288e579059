"""Tests of tvspline.basis: the degree-1 B-spline design matrix.

The matrix is held to three independent references: the evaluation of LinearSpline, SciPy's
BSpline.design_matrix (degree 1 with repeated end knots; ``extrapolate=True`` for outside sites)
and np.interp inside the knots. The Numba kernel is held to its numpy twin, and the uniform
(arithmetic) path to the binary-search path, exactly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.interpolate import BSpline

import tvspline.basis as basis
from tvspline.basis import UNIFORM_RTOL, _design_matrix, design_matrix, is_uniform
from tvspline.spline import LinearSpline

EPS = np.finfo(np.float64).eps
BACKENDS = ("numba", "numpy")
FAST = settings(max_examples=60, deadline=None)


# --------------------------------------------------------------------------- strategies
@st.composite
def knot_vectors(draw, max_knots=25):
    """Strictly increasing knots with spacings from 1e-9 to 10, mixed within one vector."""
    n = draw(st.integers(2, max_knots))
    t0 = draw(st.floats(-1e3, 1e3))
    exponents = np.array(draw(st.lists(st.floats(-9.0, 1.0), min_size=n - 1, max_size=n - 1)))
    t = t0 + np.concatenate([[0.0], np.cumsum(10.0**exponents)])
    assume(np.all(np.diff(t) > 0))
    return t


@st.composite
def uniform_knots(draw):
    n = draw(st.integers(2, 200))
    a = draw(st.floats(-1e3, 1e3))
    h = 10.0 ** draw(st.floats(-9.0, 1.0))
    t = np.linspace(a, a + h * (n - 1), n) if draw(st.booleans()) else a + h * np.arange(n)
    assume(np.all(np.diff(t) > 0))
    return t


def values_for(n):
    return arrays(np.float64, n, elements=st.floats(-1e6, 1e6))


@st.composite
def sites(draw, t):
    """Sites inside, on, just beside and far outside the knots, in random order."""
    span = t[-1] - t[0]
    u = np.array(draw(st.lists(st.floats(-2.0, 3.0), max_size=30)))
    x = [t[0] + u * span, t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf)]
    if draw(st.booleans()):
        x.append(np.array([t[0] - 1e3, t[-1] + 1e3]))
    x = np.concatenate(x)
    return x[np.random.default_rng(draw(st.integers(0, 2**32 - 1))).permutation(x.size)]


def segment_and_theta(x, t):
    """Reference segment and theta, computed independently of the library."""
    k = np.array([max([0] + [j for j in range(t.size - 1) if t[j] <= xi]) for xi in x], dtype=int)
    theta = (x - t[k]) / (t[k + 1] - t[k])
    return k, theta


def assert_structure(B, m, n):
    assert sp.issparse(B) and B.format == "csr"
    assert B.shape == (m, n)
    assert B.dtype == np.float64
    assert B.nnz == 2 * m  # exactly two stored entries per row, zeros included
    np.testing.assert_array_equal(B.indptr, np.arange(0, 2 * m + 1, 2))
    np.testing.assert_array_equal(B.indices[1::2], B.indices[0::2] + 1)
    assert np.all((B.indices[0::2] >= 0) & (B.indices[0::2] <= n - 2))
    assert B.has_sorted_indices


def assert_same_matrix(A, B, maxulp=0):
    np.testing.assert_array_equal(A.indptr, B.indptr)
    np.testing.assert_array_equal(A.indices, B.indices)
    if maxulp == 0:
        np.testing.assert_array_equal(A.data, B.data)
    else:
        np.testing.assert_array_max_ulp(A.data, B.data, maxulp=maxulp)


# --------------------------------------------------------------------------- small exact cases
def test_hand_computed_matrix():
    B = design_matrix([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 3.0])
    expected = np.array(
        [
            [2.0, -1.0, 0.0],  # left extension, theta = -1
            [1.0, 0.0, 0.0],  # first knot
            [0.5, 0.5, 0.0],
            [0.0, 1.0, 0.0],  # interior knot belongs to the segment on its right
            [0.0, 0.5, 0.5],
            [0.0, 0.0, 1.0],  # last knot, end segment clipped
            [0.0, -0.5, 1.5],  # right extension, theta = 1.5
        ]
    )
    np.testing.assert_array_equal(B.toarray(), expected)
    assert_structure(B, 7, 3)
    np.testing.assert_array_equal(B.indices[0::2], [0, 0, 0, 1, 1, 1, 1])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("uniform", [None, True, False])
def test_knots_at_sites_give_identity(backend, uniform):
    t = np.array([-2.0, -0.5, 0.0, 1e-9, 1.0, 7.0])
    if uniform is not None:
        t = np.linspace(-2.0, 7.0, 6)
    B = _design_matrix(t, t, uniform=uniform, backend=backend)
    np.testing.assert_array_equal(B.toarray(), np.eye(t.size))
    assert B.nnz == 2 * t.size  # the explicit zeros stay stored


def test_two_knots():
    B = design_matrix([-1.0, 0.25, 3.0], [0.0, 1.0])
    np.testing.assert_array_equal(B.toarray(), [[2.0, -1.0], [0.75, 0.25], [-2.0, 3.0]])


def test_empty_and_scalar_sites():
    B = design_matrix([], [0.0, 1.0, 2.0])
    assert B.shape == (0, 3) and B.nnz == 0
    B = design_matrix(0.5, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(B.toarray(), [[0.5, 0.5, 0.0]])


def test_column_vector_and_list_inputs():
    x = np.array([[0.1], [1.7]])
    B = design_matrix(x, [0, 1, 2])  # integer knots, column vector sites
    np.testing.assert_allclose(B.toarray(), [[0.9, 0.1, 0.0], [0.0, 0.3, 0.7]], rtol=0, atol=4 * EPS)


def test_non_contiguous_inputs():
    x = np.linspace(-1.0, 3.0, 41)[::2]
    t = np.array([0.0, 9.0, 1.0, 9.0, 2.5, 9.0])[::2]
    assert_same_matrix(design_matrix(x, t), design_matrix(x.copy(), t.copy()))


def test_spline_method_uses_design_matrix():
    f = LinearSpline([0.0, 1.0, 3.0], [1.0, -1.0, 2.0])
    x = np.linspace(-2.0, 5.0, 29)
    assert_same_matrix(f.design_matrix(x), design_matrix(x, f.knots))
    np.testing.assert_allclose(f.design_matrix(x) @ f.values, f(x), rtol=1e-14, atol=1e-14)


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_knots_raise(bad):
    with pytest.raises(ValueError, match=r"knots must be finite.*index 1"):
        design_matrix([0.5], [0.0, bad, 2.0])


@pytest.mark.parametrize(
    "knots, index", [([0.0, 1.0, 1.0], 1), ([0.0, 2.0, 1.0, 3.0], 1), ([3.0, 2.0], 0), ([0.0, 1.0, 2.0, -0.0], 2)]
)
def test_non_increasing_knots_raise_with_index(knots, index):
    with pytest.raises(ValueError, match=rf"knots must be strictly increasing.*knots\[{index}\]"):
        design_matrix([0.5], knots)


@pytest.mark.parametrize("knots", [[1.0], [], [[0.0, 1.0], [2.0, 3.0]]])
def test_too_few_or_misshapen_knots_raise(knots):
    with pytest.raises(ValueError, match="knots"):
        design_matrix([0.5], knots)


@pytest.mark.parametrize("x", [[0.0, np.nan], [np.inf], [-np.inf, 1.0], np.zeros((2, 2))])
def test_bad_sites_raise(x):
    with pytest.raises(ValueError, match=r"\bx\b"):
        design_matrix(x, [0.0, 1.0])


def test_overflowing_knot_span_raises():
    with pytest.raises(ValueError, match="knots must span a finite interval"):
        design_matrix([0.0], [-1e308, 1e308])


@pytest.mark.parametrize("backend", BACKENDS)
def test_extreme_sites_stay_in_bounds(backend):
    # x - t[0] overflows to inf: the uniform index must clip, never read outside the knots.
    t = np.array([-1e307, 0.0, 1e307])
    x = np.array([1.7e308, -1.7e308, 0.0])
    A = _design_matrix(x, t, uniform=True, backend=backend)
    B = _design_matrix(x, t, uniform=False, backend=backend)
    assert_same_matrix(A, B)
    np.testing.assert_array_equal(A.indices, [1, 2, 0, 1, 1, 2])


def test_non_numeric_inputs_raise_type_error():
    with pytest.raises(TypeError, match=r"\bx\b"):
        design_matrix(["a"], [0.0, 1.0])
    with pytest.raises(TypeError, match="knots"):
        design_matrix([0.0], ["a", "b"])


@pytest.mark.parametrize("uniform", ["yes", 1, 0.0])
def test_bad_uniform_raises(uniform):
    with pytest.raises(TypeError, match="uniform"):
        design_matrix([0.0], [0.0, 1.0], uniform=uniform)


def test_unknown_backend_raises():
    with pytest.raises(ValueError, match="backend.*'numba', 'numpy'"):
        _design_matrix([0.0], [0.0, 1.0], backend="cuda")


# --------------------------------------------------------------------------- uniformity
@pytest.mark.parametrize("n", [2, 3, 101, 10_001, 1_000_001])
def test_linspace_is_detected_uniform(n):
    assert is_uniform(np.linspace(-3.0, 3.0, n))


@pytest.mark.parametrize("offset, h", [(0.0, 1.0), (1e6, 1e-3), (-7.3, 0.1), (1e3, 1e-9)])
def test_arange_grid_is_detected_uniform(offset, h):
    assert is_uniform(offset + h * np.arange(1000))


def test_nonuniform_is_not_detected():
    t = np.linspace(0.0, 1.0, 101)
    assert not is_uniform([0.0, 1.0, 3.0])
    t2 = t.copy()
    t2[50] += 1e-9  # spacing changed by 1e-7 relative: far above 1e-12
    assert not is_uniform(t2)
    t3 = t.copy()
    t3[50] += 1e-15  # ~9 ulp of 0.5, 1e-13 of the spacing: below the tolerance
    assert is_uniform(t3)


def test_uniform_rtol_is_documented_default():
    assert UNIFORM_RTOL == 1e-12
    t = np.linspace(0.0, 1.0, 11)
    t[5] += 1e-8  # spacings deviate by 1e-7 relative
    assert not is_uniform(t)
    assert is_uniform(t, rtol=1e-6)
    with pytest.raises(ValueError, match="rtol"):
        is_uniform(t, rtol=-1.0)


def test_drifting_spacings_are_not_taken_as_uniform():
    # Every spacing passes a loose spacing test, but the knots drift by many spacings from the
    # ideal grid: the arithmetic index would be off by more than the one-step guard can fix.
    n = 1001
    t = np.cumsum(np.where(np.arange(n) < n // 2, 1.0, 1.0 + 1e-2))
    assert not is_uniform(t, rtol=0.1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_autodetection_matches_forced_paths(backend):
    rng = np.random.default_rng(1)
    t = np.linspace(-3.0, 3.0, 1001)
    x = rng.uniform(-4.0, 4.0, 5000)
    auto = _design_matrix(x, t, backend=backend)
    assert_same_matrix(auto, _design_matrix(x, t, uniform=True, backend=backend))
    assert_same_matrix(auto, _design_matrix(x, t, uniform=False, backend=backend))


# --------------------------------------------------------------------------- references
def test_matches_scipy_bspline_inside_and_outside():
    rng = np.random.default_rng(2)
    t = np.unique(rng.uniform(-3.0, 3.0, 200))
    padded = np.r_[t[0], t, t[-1]]
    inside = rng.uniform(t[0], t[-1], 3000)
    np.testing.assert_allclose(
        design_matrix(inside, t).toarray(), BSpline.design_matrix(inside, padded, 1).toarray(), rtol=0, atol=1e-15
    )
    outside = np.r_[rng.uniform(t[0] - 5.0, t[0], 50), rng.uniform(t[-1], t[-1] + 5.0, 50)]
    ours = design_matrix(outside, t).toarray()
    theirs = BSpline.design_matrix(outside, padded, 1, extrapolate=True).toarray()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12 * np.abs(ours).max())


def test_matches_np_interp_inside():
    rng = np.random.default_rng(3)
    t = np.unique(rng.uniform(-3.0, 3.0, 500))
    c = rng.standard_normal(t.size)
    x = rng.uniform(t[0], t[-1], 4000)
    np.testing.assert_allclose(design_matrix(x, t) @ c, np.interp(x, t, c), rtol=0, atol=8 * EPS * np.abs(c).max())


def test_row_order_is_respected():
    # The Numba kernel reuses the previous row's segment as a hint: any order must give the same rows.
    rng = np.random.default_rng(4)
    t = np.unique(rng.uniform(-3.0, 3.0, 300))
    x = rng.uniform(-4.0, 4.0, 2000)
    order = np.argsort(x)
    for backend in BACKENDS:
        for uniform in (None, True):
            B = _design_matrix(x, t, uniform=uniform, backend=backend)
            Bs = _design_matrix(x[order], t, uniform=uniform, backend=backend)
            assert_same_matrix(B[order], Bs)


# --------------------------------------------------------------------------- properties
@FAST
@given(data=st.data())
def test_matrix_times_values_equals_spline(data):
    t = data.draw(knot_vectors())
    c = data.draw(values_for(t.size))
    x = data.draw(sites(t))
    B = design_matrix(x, t)
    assert_structure(B, x.size, t.size)

    f = LinearSpline(t, c)
    got, want = B @ c, f(x)
    # Honest bound: both sides round a combination (1-θ) c_k + θ c_{k+1} (or its slope form) whose
    # terms have magnitude ~ (1 + |θ|)(|c_k| + |c_{k+1}|); far outside the knots θ is huge.
    k, theta = segment_and_theta(x, t)
    scale = (1.0 + np.abs(theta)) * (np.abs(c[k]) + np.abs(c[k + 1]))
    assert np.all(np.abs(got - want) <= 16 * EPS * scale + 1e-300), np.max(np.abs(got - want) / np.maximum(scale, 1e-300))


@FAST
@given(data=st.data())
def test_rows_sum_to_one_and_segments_are_right(data):
    t = data.draw(knot_vectors())
    x = data.draw(sites(t))
    B = design_matrix(x, t)
    assert_structure(B, x.size, t.size)
    k, theta = segment_and_theta(x, t)
    np.testing.assert_array_equal(B.indices[0::2], k)
    np.testing.assert_array_equal(B.data[1::2], theta)
    row_sums = B.data[0::2] + B.data[1::2]
    assert np.all(np.abs(row_sums - 1.0) <= EPS * (2.0 + np.abs(theta)))
    # The same through the sparse API.
    np.testing.assert_allclose(np.asarray(B.sum(axis=1)).ravel(), row_sums, rtol=0, atol=0)


@FAST
@given(data=st.data())
def test_numba_kernel_equals_numpy_twin(data):
    t = data.draw(st.one_of(knot_vectors(), uniform_knots()))
    x = data.draw(sites(t))
    uniform = data.draw(st.sampled_from([None, True, False]))
    A = _design_matrix(x, t, uniform=uniform, backend="numba")
    B = _design_matrix(x, t, uniform=uniform, backend="numpy")
    assert_same_matrix(A, B, maxulp=1)


@FAST
@given(data=st.data())
def test_uniform_path_equals_binary_search_path(data):
    t = data.draw(uniform_knots())
    x = data.draw(sites(t))
    for backend in BACKENDS:
        assert_same_matrix(
            _design_matrix(x, t, uniform=True, backend=backend), _design_matrix(x, t, uniform=False, backend=backend)
        )


@FAST
@given(data=st.data())
def test_forced_uniform_on_nonuniform_knots_is_still_correct(data):
    # uniform=True is a speed hint: the guard falls back to the binary search when it must.
    t = data.draw(knot_vectors())
    x = data.draw(sites(t))
    for backend in BACKENDS:
        assert_same_matrix(
            _design_matrix(x, t, uniform=True, backend=backend), _design_matrix(x, t, uniform=False, backend=backend)
        )


# --------------------------------------------------------------------------- packaging
def test_import_does_not_compile_the_kernel():
    root = Path(basis.__file__).resolve().parents[1]
    code = "import tvspline.basis as b; print(b._KERNEL is None)"
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "True"


def test_index_dtype_is_int32_for_ordinary_sizes():
    B = design_matrix(np.linspace(0.0, 1.0, 10), [0.0, 0.5, 1.0])
    assert B.indices.dtype == np.int32 and B.indptr.dtype == np.int32
