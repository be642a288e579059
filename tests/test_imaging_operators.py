"""tvspline.imaging.operators: forward models, exact adjoints, certified norms."""

import numpy as np
import pytest
from scipy.ndimage import convolve
from scipy.signal import convolve2d
from scipy.sparse.linalg import svds

pytest.importorskip("skimage")
from skimage.transform import radon  # noqa: E402

from tvspline.imaging import GaussianBlur, Identity, ParallelBeamCT  # noqa: E402


def _disc(n, rng):
    r, c = np.ogrid[:n, :n]
    return rng.random((n, n)) * ((r - n // 2) ** 2 + (c - n // 2) ** 2 <= (n // 2) ** 2)


def _adjoint_mismatch(op, shape, rng):
    x = rng.standard_normal(shape)
    Ax = op.forward(x)
    y = rng.standard_normal(Ax.shape)
    return abs(np.vdot(Ax, y) - np.vdot(x, op.adjoint(y))) / (np.linalg.norm(Ax) * np.linalg.norm(y))


@pytest.mark.parametrize(
    "op, shape",
    [
        (Identity(), (7, 5)),
        (GaussianBlur(1.3), (20, 17)),
        (GaussianBlur(0.7, boundary="valid"), (16, 21)),
        (ParallelBeamCT(24, angles=17), (24, 24)),
        (ParallelBeamCT(25, angles=np.array([0.0, 33.3, 90.0, 151.0])), (25, 25)),
    ],
)
def test_adjoints_are_exact(op, shape):
    rng = np.random.default_rng(0)
    for _ in range(3):
        assert _adjoint_mismatch(op, shape, rng) <= 1e-12


def test_gaussian_blur_matches_direct_convolution():
    rng = np.random.default_rng(1)
    x = rng.random((19, 23))
    H = GaussianBlur(1.5, truncate=2.5)
    r = int(np.ceil(2.5 * 1.5))
    m = np.arange(-r, r + 1)
    g = np.exp(-(m**2) / (2 * 1.5**2))
    k = np.outer(g, g) / np.outer(g, g).sum()
    np.testing.assert_allclose(H.kernel, k, atol=1e-16)
    np.testing.assert_allclose(H.forward(x), convolve(x, k, mode="wrap"), atol=1e-13)
    Hv = GaussianBlur(1.5, truncate=2.5, boundary="valid")
    np.testing.assert_allclose(Hv.forward(x), convolve2d(x, k, mode="valid"), atol=1e-13)


@pytest.mark.parametrize("boundary", ["periodic", "valid"])
def test_blur_norm_bound_is_certified_and_tight(boundary):
    H = GaussianBlur(1.0, boundary=boundary)
    shape = (12, 12)
    dense = np.array([H.forward(e.reshape(shape)).ravel() for e in np.eye(144)]).T
    s = np.linalg.norm(dense, 2) ** 2
    assert s <= H.norm_squared()
    if boundary == "periodic":
        assert H.norm_squared() == pytest.approx(s, rel=1e-9)
    assert H.min_eigenvalue() <= np.linalg.eigvalsh(dense.T @ dense).min() + 1e-12


@pytest.mark.parametrize("n, angles", [(32, 20), (33, 45), (64, 60)])
def test_ct_forward_reproduces_skimage_radon(n, angles):
    A = ParallelBeamCT(n, angles)
    x = _disc(n, np.random.default_rng(n))
    ref = radon(x, A.angles, circle=True)
    assert A.forward(x).shape == ref.shape == A.sinogram_shape
    np.testing.assert_allclose(A.forward(x), ref, rtol=0, atol=1e-10 * np.abs(ref).max())


def test_ct_norm_bound_is_certified_and_tight():
    A = ParallelBeamCT(40, 36)
    s = svds(A.matrix, k=1, return_singular_vectors=False, tol=1e-12)[0] ** 2
    b = A.norm_squared()
    assert s <= b <= s * (1 + 1e-6)
    assert A.min_eigenvalue() == 0.0


def test_linear_operator_views_agree():
    rng = np.random.default_rng(2)
    for op, shape in [(GaussianBlur(1.0, boundary="valid"), (14, 15)), (ParallelBeamCT(16, 9), (16, 16))]:
        L = op.as_linear_operator(shape)
        x = rng.random(shape)
        np.testing.assert_allclose(L @ x.ravel(), op.forward(x).ravel(), atol=1e-14)
        y = rng.random(op.output_shape(shape))
        np.testing.assert_allclose(L.rmatvec(y.ravel()), op.adjoint(y).ravel(), atol=1e-14)


def test_validation_names_the_argument():
    with pytest.raises(ValueError, match="sigma must be > 0"):
        GaussianBlur(0.0)
    with pytest.raises(ValueError, match="unknown boundary 'full'"):
        GaussianBlur(1.0, boundary="full")
    with pytest.raises(ValueError, match="shape must be square"):
        ParallelBeamCT((8, 9))
    with pytest.raises(ValueError, match="angles"):
        ParallelBeamCT(8, angles=0)
    with pytest.raises(ValueError, match="angles"):
        ParallelBeamCT(8, angles=[np.nan])
    with pytest.raises(ValueError, match="x must have shape"):
        ParallelBeamCT(8, 3).forward(np.zeros((9, 9)))
    with pytest.raises(ValueError, match="x must be a 2-D image"):
        Identity().forward(np.zeros(4))
