"""tvspline.imaging.filters: FFT convolutions against direct references, exact adjoints, norms."""

import numpy as np
import pytest
from scipy.signal import convolve2d

from tvspline.imaging import BOUNDARIES, FilterBank, dct_bank, random_bank


def _dense(bank, shape):
    """The operator as a dense matrix, column by column."""
    n = shape[0] * shape[1]
    cols = []
    for j in range(n):
        e = np.zeros(n)
        e[j] = 1.0
        cols.append(bank.apply(e.reshape(shape)).ravel())
    return np.array(cols).T


def _periodic_reference(x, w):
    """Circular convolution by explicit shifted sums: y[n] = sum_m w[m] x[n - m]."""
    y = np.zeros_like(x)
    for a in range(w.shape[0]):
        for b in range(w.shape[1]):
            y += w[a, b] * np.roll(x, (a, b), axis=(0, 1))
    return y


@pytest.mark.parametrize("boundary", ["valid", "full"])
def test_apply_matches_direct_convolution(boundary):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 4, 3))
    x = rng.standard_normal((13, 10))
    z = FilterBank(w, boundary).apply(x)
    for i in range(3):
        np.testing.assert_allclose(z[i], convolve2d(x, w[i], mode=boundary), rtol=0, atol=1e-12)


def test_periodic_apply_matches_circular_sum():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((2, 3, 5))
    x = rng.standard_normal((11, 8))
    z = FilterBank(w, "periodic").apply(x)
    for i in range(2):
        np.testing.assert_allclose(z[i], _periodic_reference(x, w[i]), atol=1e-12)


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("shape", [(16, 16), (17, 12), (9, 31)])
def test_adjoint_is_exact(boundary, shape):
    rng = np.random.default_rng(2)
    bank = FilterBank(rng.standard_normal((5, 5, 4)), boundary)
    x = rng.standard_normal(shape)
    z = rng.standard_normal((5,) + bank.output_shape(shape))
    lhs = np.vdot(bank.apply(x), z)
    rhs = np.vdot(x, bank.adjoint(z))
    assert abs(lhs - rhs) <= 1e-12 * np.linalg.norm(bank.apply(x)) * np.linalg.norm(z)
    assert bank.adjoint(z).shape == shape


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_adjoint_equals_dense_transpose_and_batches(boundary):
    rng = np.random.default_rng(3)
    bank = FilterBank(rng.standard_normal((2, 3, 3)), boundary)
    shape = (6, 7)
    A = _dense(bank, shape)
    z = rng.standard_normal((2,) + bank.output_shape(shape))
    np.testing.assert_allclose(bank.adjoint(z).ravel(), A.T @ z.ravel(), atol=1e-12)
    xs = rng.standard_normal((4, 2) + shape)  # leading batch axes
    zs = bank.apply(xs)
    assert zs.shape == (4, 2, 2) + bank.output_shape(shape)
    np.testing.assert_allclose(zs[3, 1], bank.apply(xs[3, 1]), atol=1e-13)
    np.testing.assert_allclose(bank.adjoint(zs)[2, 0], bank.adjoint(zs[2, 0]), atol=1e-13)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_power_iteration_matches_dense_norm_and_bound_is_certified(boundary):
    bank = random_bank(4, 3, random_state=4, boundary=boundary)
    shape = (8, 9)
    exact = np.linalg.norm(_dense(bank, shape), 2)
    est = bank.operator_norm(shape, n_iter=2000, random_state=0, tol=1e-14)
    assert abs(est - exact) <= 1e-6 * exact
    assert bank.norm_bound() >= exact
    assert bank.norm_bound(shape) >= exact


def test_periodic_norm_is_the_maximum_of_the_spectrum():
    bank = random_bank(6, 5, random_state=5, boundary="periodic")
    shape = (12, 20)
    spec = sum(np.abs(np.fft.fft2(w, s=shape)) ** 2 for w in bank.filters)
    exact = np.sqrt(spec.max())
    assert abs(bank.norm_bound(shape) - exact) <= 1e-10 * exact
    assert abs(np.linalg.norm(_dense(bank, shape), 2) - exact) <= 1e-10 * exact
    est = bank.operator_norm(shape, n_iter=3000, random_state=1, tol=1e-15)
    assert est <= exact * (1 + 1e-12) and est >= exact * (1 - 1e-4)


@pytest.mark.parametrize("k", [2, 3, 7])
def test_norm_bound_is_tight_against_the_continuous_spectrum(k):
    bank = random_bank(4, k, random_state=k)
    # the supremum over frequencies, sampled very finely (a lower estimate of the supremum)
    fine = np.sqrt(bank.spectrum_max((1536, 1536)))
    bound = bank.norm_bound()
    assert fine <= bound <= fine * (1 + 5e-3)


def test_normalized_bank_has_norm_at_most_one():
    for bank in (dct_bank(4), random_bank(5, 5, random_state=0, boundary="full")):
        nb = bank.normalized()
        assert nb.norm_bound() <= 1.0
        assert np.linalg.norm(_dense(nb, (10, 10)), 2) <= 1.0
        np.testing.assert_allclose(nb.filters * bank.norm_bound() * (1 + 1e-6), bank.filters, rtol=1e-12)
    per = random_bank(3, 3, random_state=1, boundary="periodic").normalized((8, 8), margin=0.0)
    assert abs(np.linalg.norm(_dense(per, (8, 8)), 2) - 1.0) < 1e-9


def test_dct_bank_is_orthonormal_without_dc():
    for k in (2, 3, 6):
        bank = dct_bank(k)
        G = bank.filters.reshape(k * k - 1, -1)
        np.testing.assert_allclose(G @ G.T, np.eye(k * k - 1), atol=1e-13)
        np.testing.assert_allclose(G.sum(axis=1), 0.0, atol=1e-13)
        # with the constant atom the basis is complete: sum_i |w_i|^2 = k^2 at every frequency
        full = np.vstack([G, np.full((1, k * k), 1.0 / k)])
        np.testing.assert_allclose(full.T @ full, np.eye(k * k), atol=1e-13)


def test_random_bank_is_seeded_zero_mean_unit_norm():
    a = random_bank(7, 4, random_state=11)
    assert a == random_bank(7, 4, random_state=11)
    assert a != random_bank(7, 4, random_state=12)
    np.testing.assert_allclose(a.filters.sum(axis=(1, 2)), 0, atol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(a.filters.reshape(7, -1), axis=1), 1, atol=1e-14)


def test_filter_bank_is_immutable_and_picklable():
    import pickle

    w = np.ones((1, 2, 2))
    bank = FilterBank(w)
    w[0, 0, 0] = 5.0
    assert bank.filters[0, 0, 0] == 1.0
    with pytest.raises(ValueError):
        bank.filters[0, 0, 0] = 2.0
    assert pickle.loads(pickle.dumps(bank)) == bank


def test_validation_names_the_argument():
    with pytest.raises(ValueError, match="unknown boundary 'same'"):
        FilterBank(np.ones((1, 3, 3)), "same")
    with pytest.raises(ValueError, match="filters must be finite"):
        FilterBank(np.full((1, 2, 2), np.nan))
    with pytest.raises(ValueError, match="filters must have shape"):
        FilterBank(np.ones((2, 2, 2, 2)))
    bank = FilterBank(np.ones((2, 3, 3)))
    with pytest.raises(ValueError, match="smaller than the filters"):
        bank.apply(np.ones((2, 5)))
    with pytest.raises(ValueError, match="z must have shape"):
        bank.adjoint(np.ones((3, 4, 4)))
    with pytest.raises(ValueError, match="n_iter"):
        bank.operator_norm((8, 8), n_iter=0)
    with pytest.raises(ValueError, match="margin"):
        bank.normalized(margin=-1)
    with pytest.raises(ValueError, match="k must be an integer >= 2"):
        dct_bank(1)
    with pytest.raises(ValueError, match="n_filters"):
        random_bank(0, 3)
    with pytest.raises(ValueError, match="filters are all zero"):
        FilterBank(np.zeros((1, 2, 2))).normalized()


@pytest.mark.parametrize("kernel", [(1, 1), (2, 3), (3, 3), (3, 2), (5, 5), (1, 5)])
@pytest.mark.parametrize("lead", [(), (2,), (2, 3)])
def test_compiled_direct_path_is_bitwise_the_numpy_shifted_sums(kernel, lead):
    # FilterBank.apply / adjoint use the compiled kernels of tvspline.imaging._conv_direct for small
    # "valid" banks; they must reproduce the NumPy reference to the last bit, including filters with
    # zero taps (skipped by both) and taps that are zero in every filter.
    rng = np.random.default_rng(sum(kernel) + 7 * len(lead))
    w = rng.standard_normal((6,) + kernel)
    w[1] = 0.0
    w[:, 0, -1] = 0.0
    w[2, -1, 0] = 0.0
    bank = FilterBank(w, "valid")
    assert bank._direct()
    x = rng.standard_normal(lead + (11, 9))
    z = bank.apply(x)
    np.testing.assert_array_equal(z, bank._apply_direct_numpy(x))
    r = rng.standard_normal(z.shape)
    np.testing.assert_array_equal(bank.adjoint(r), bank._adjoint_direct_numpy(r, (11, 9)))
    # and both are the convolution itself (to rounding)
    np.testing.assert_allclose(z[(0,) * len(lead) + (0,)], convolve2d(x[(0,) * len(lead)], w[0], "valid"),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("kernel, chunk", [((5, 5), 1), ((5, 5), 37), ((3, 2), 64), ((2, 3), 100000)])
def test_compiled_blocks_do_not_change_a_bit(kernel, chunk):
    # the compiled kernels work on blocks of `chunk` positions; any block size gives the NumPy
    # reference's bits (each pixel receives its taps in the same order)
    from tvspline.imaging._conv_direct import adjoint_valid, apply_valid

    rng = np.random.default_rng(chunk)
    w = rng.standard_normal((4,) + kernel)
    w[0, 1, 1] = 0.0
    bank = FilterBank(w, "valid")
    x = rng.standard_normal((2, 23, 31))
    z = apply_valid(x, w, chunk)
    np.testing.assert_array_equal(z, bank._apply_direct_numpy(x))
    np.testing.assert_array_equal(adjoint_valid(z, w, (23, 31), chunk), bank._adjoint_direct_numpy(z, (23, 31)))
