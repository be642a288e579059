r"""Banks of 2-D convolution filters applied by FFT, with exact adjoints and certified norms.

A bank :math:`W = (w_1, \dots, w_F)` of :math:`k_1 \times k_2` filters maps an image
:math:`x \in \mathbb{R}^{H \times W}` to the stack :math:`(w_i * x)_{i=1}^F` of its convolutions
(true convolution, the filter flipped, as ``scipy.signal.convolve``). Three boundary rules:

``"valid"`` (default)
    only the outputs where the filter lies inside the image, shape
    :math:`(H - k_1 + 1) \times (W - k_2 + 1)`: no assumption about pixels outside the image.
``"full"``
    zero padding, every output that overlaps the image, shape
    :math:`(H + k_1 - 1) \times (W + k_2 - 1)`.
``"periodic"``
    circular convolution on the torus, shape :math:`H \times W`.

All three are computed the same way: a circular convolution by ``scipy.fft.rfft2`` on a grid
large enough that no wrap-around reaches the kept outputs (the image zero-padded to
:math:`(H + k_1 - 1, W + k_2 - 1)` rounded up to a fast FFT length; the image size itself for
``"periodic"``), then a crop. The adjoint is the transpose of exactly that linear map (embed the
crop in zeros, multiply by the conjugate filter spectrum, take the image window, sum over
filters), so :math:`\langle W x, z\rangle = \langle x, W^T z\rangle` holds to FFT rounding
(about :math:`10^{-15}` relative) for every rule.

Norm. With :math:`\hat w_i(\omega)` the (continuous) Fourier transform,
:math:`p(\omega) = \sum_i |\hat w_i(\omega)|^2` is a nonnegative trigonometric polynomial of degree
:math:`(k_1 - 1, k_2 - 1)` and, for every boundary rule and image size,
:math:`\|W\|^2 \le \sup_\omega p(\omega)` (the three operators are sections of the convolution on
:math:`\ell^2(\mathbb{Z}^2)`; for ``"periodic"`` the norm is exactly the maximum of :math:`p` on
the :math:`H \times W` DFT grid). Sampling :math:`p` on an :math:`N_1 \times N_2` grid and
Bernstein's inequality applied twice, :math:`|\partial_j \partial_l p| \le n_j n_l \|p\|_\infty`
with :math:`n_j = k_j - 1`, at the maximiser :math:`\omega^*` (where :math:`\nabla p = 0`; the
nearest grid point is within :math:`\pi / N_j` per axis) give the certified bound

.. math::

    \sup_\omega p(\omega) \le \frac{\max_{\text{grid}} p}{1 - \delta^2 / 2}, \qquad
    \delta = \pi\left(\frac{k_1 - 1}{N_1} + \frac{k_2 - 1}{N_2}\right),

which :meth:`FilterBank.norm_bound` returns (its square root, with a relative margin of
:math:`10^{-12}` for rounding). :meth:`FilterBank.operator_norm` estimates the norm for one image
shape by power iteration on :math:`W^T W` (an estimate from below, not a certificate).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import scipy.fft as sfft

from .._random import as_generator
from ._conv_direct import adjoint_valid, apply_valid

__all__ = ["FilterBank", "dct_bank", "random_bank", "BOUNDARIES"]

BOUNDARIES = ("valid", "full", "periodic")

#: Grid side used by :meth:`FilterBank.norm_bound` (per axis: ``max(_NORM_GRID, 64 * k)``, so that
#: ``delta <= pi / 32`` and the bound exceeds the supremum by at most ``delta**2 / 2 < 0.5 %``).
_NORM_GRID = 512
#: Relative margin added to certified bounds for floating-point rounding of the FFT.
_ROUNDING_MARGIN = 1e-12
#: Default safety margin of :meth:`FilterBank.normalized`: ``||W|| <= 1 / (1 + margin)``.
DEFAULT_MARGIN = 1e-6
#: With ``boundary="valid"`` and at most this many taps per filter, :meth:`FilterBank.apply` and
#: :meth:`FilterBank.adjoint` sum shifted copies of the image (one multiply-add per tap, compiled:
#: :mod:`tvspline.imaging._conv_direct`) instead of going through the FFT. Measured with the DCT
#: banks: 3x3 is 5-10x and 5x5 2-6x faster than the FFT on one 128x128 image and on 96 patches of
#: 40x40; 7x7 only ties on one 128x128 image, so it stays on the FFT. Both paths compute the same
#: convolution (to rounding).
DIRECT_MAX_TAPS = 25


def _check_int(value, name, minimum=1):
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= minimum):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_shape(shape, name="shape"):
    try:
        h, w = shape
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (height, width), got {shape!r}") from None
    return _check_int(h, f"{name}[0]"), _check_int(w, f"{name}[1]")


class FilterBank:
    """A bank of ``F`` two-dimensional filters applied by FFT convolution.

    Parameters
    ----------
    filters : array_like, shape (F, k1, k2) or (k1, k2)
        Finite filter coefficients (a single 2-D filter becomes a bank of one).
    boundary : {"valid", "full", "periodic"}
        Boundary rule (module docstring). ``"valid"`` needs images at least ``(k1, k2)``,
        ``"periodic"`` images at least as large as the filters.

    Raises
    ------
    ValueError
        If ``filters`` is empty, not 2-D/3-D, not finite, or ``boundary`` is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline.imaging import FilterBank
    >>> W = FilterBank([[[1.0, -1.0], [0.0, 0.0]], [[1.0, 0.0], [-1.0, 0.0]]])  # finite differences
    >>> x = np.arange(12.0).reshape(3, 4)
    >>> z = W.apply(x)                      # boundary="valid": responses of shape (2, 3)
    >>> z.shape, round(float(z[0, 0, 0]), 12), round(float(z[1, 0, 0]), 12)
    ((2, 2, 3), 1.0, 4.0)
    >>> W.adjoint(z).shape
    (3, 4)
    """

    __slots__ = ("_w", "_boundary", "_cache", "_bound")

    def __init__(self, filters, boundary: str = "valid"):
        try:
            w = np.array(filters, dtype=np.float64, copy=True)
        except (TypeError, ValueError):
            raise TypeError(f"filters must be an array of real numbers, got {type(filters).__name__}") from None
        if w.ndim == 2:
            w = w[None]
        if w.ndim != 3 or w.size == 0:
            raise ValueError(f"filters must have shape (F, k1, k2) with F, k1, k2 >= 1, got shape {w.shape}")
        if not np.isfinite(w).all():
            raise ValueError("filters must be finite, got NaN or infinite coefficients")
        if boundary not in BOUNDARIES:
            raise ValueError(f"unknown boundary {boundary!r}; expected one of {', '.join(map(repr, BOUNDARIES))}")
        w.setflags(write=False)
        self._w = w
        self._boundary = boundary
        self._cache = {}
        self._bound = None

    # ------------------------------------------------------------------ data
    @property
    def filters(self) -> np.ndarray:
        """The filters, shape ``(F, k1, k2)`` (read-only)."""
        return self._w

    @property
    def boundary(self) -> str:
        """The boundary rule: ``"valid"``, ``"full"`` or ``"periodic"``."""
        return self._boundary

    @property
    def n_filters(self) -> int:
        """Number of filters ``F``."""
        return self._w.shape[0]

    @property
    def kernel_shape(self) -> tuple[int, int]:
        """Filter size ``(k1, k2)``."""
        return self._w.shape[1], self._w.shape[2]

    def output_shape(self, shape) -> tuple[int, int]:
        """Shape ``(H', W')`` of each filter response for an image of shape ``(H, W)``."""
        H, W = _check_shape(shape)
        k1, k2 = self.kernel_shape
        if self._boundary == "valid":
            if H < k1 or W < k2:
                raise ValueError(f"shape {(H, W)} is smaller than the filters {(k1, k2)} (boundary='valid')")
            return H - k1 + 1, W - k2 + 1
        if self._boundary == "full":
            return H + k1 - 1, W + k2 - 1
        if H < k1 or W < k2:
            raise ValueError(f"shape {(H, W)} is smaller than the filters {(k1, k2)} (boundary='periodic')")
        return H, W

    # ------------------------------------------------------------------ FFT plumbing
    def _plan(self, shape):
        """(FFT grid, filter spectra, crop offset, output shape) for an image shape, cached."""
        plan = self._cache.get(shape)
        if plan is None:
            H, W = shape
            k1, k2 = self.kernel_shape
            out = self.output_shape(shape)
            if self._boundary == "periodic":
                grid = (H, W)
                offset = (0, 0)
            else:
                grid = (sfft.next_fast_len(H + k1 - 1, real=True), sfft.next_fast_len(W + k2 - 1, real=True))
                offset = (k1 - 1, k2 - 1) if self._boundary == "valid" else (0, 0)
            spec = sfft.rfft2(self._w, s=grid, axes=(-2, -1))
            if len(self._cache) > 8:  # a few image shapes at a time is the common case
                self._cache.clear()
            plan = self._cache[shape] = (grid, spec, offset, out)
        return plan

    def apply(self, x) -> np.ndarray:
        """The filter responses ``(w_i * x)_i``.

        Parameters
        ----------
        x : array_like, shape (..., H, W)
            An image or a stack of images.

        Returns
        -------
        ndarray, shape (..., F, H', W')
            ``H', W'`` given by :meth:`output_shape`.
        """
        x = _as_images(x, "x")
        if self._direct():
            self.output_shape(x.shape[-2:])  # validates the image size
            return apply_valid(x, self._w)
        grid, spec, (r0, c0), (h, w) = self._plan(x.shape[-2:])
        X = sfft.rfft2(x, s=grid, axes=(-2, -1))
        y = sfft.irfft2(X[..., None, :, :] * spec, s=grid, axes=(-2, -1))
        return np.ascontiguousarray(y[..., r0 : r0 + h, c0 : c0 + w])

    def adjoint(self, z, shape=None) -> np.ndarray:
        """The adjoint ``W^T z = sum_i w_i^T z_i`` (exact transpose of :meth:`apply`).

        Parameters
        ----------
        z : array_like, shape (..., F, H', W')
            Filter responses.
        shape : (int, int), optional
            Image shape ``(H, W)``; deduced from ``z`` when omitted (always possible: the output
            shape determines the image shape for each boundary rule).

        Returns
        -------
        ndarray, shape (..., H, W)
        """
        z = np.asarray(z, dtype=np.float64)
        if z.ndim < 3 or z.shape[-3] != self.n_filters:
            raise ValueError(f"z must have shape (..., {self.n_filters}, H', W'), got shape {z.shape}")
        k1, k2 = self.kernel_shape
        if shape is None:
            h, w = z.shape[-2:]
            if self._boundary == "valid":
                shape = (h + k1 - 1, w + k2 - 1)
            elif self._boundary == "full":
                shape = (h - k1 + 1, w - k2 + 1)
            else:
                shape = (h, w)
        shape = _check_shape(shape)
        out = self.output_shape(shape)
        if z.shape[-2:] != out:
            raise ValueError(f"z has responses of shape {z.shape[-2:]}, expected {out} for images of shape {shape}")
        if self._direct():
            return adjoint_valid(z, self._w, shape)
        grid, spec, (r0, c0), out = self._plan(shape)
        if self._boundary == "periodic":
            padded = z
        else:
            padded = np.zeros(z.shape[:-2] + grid)
            padded[..., r0 : r0 + out[0], c0 : c0 + out[1]] = z
        Z = sfft.rfft2(padded, s=grid, axes=(-2, -1))
        Y = (Z * np.conj(spec)).sum(axis=-3)
        y = sfft.irfft2(Y, s=grid, axes=(-2, -1))
        return np.ascontiguousarray(y[..., : shape[0], : shape[1]])

    # ------------------------------------------------------------------ direct path (small filters)
    def _direct(self) -> bool:
        k1, k2 = self.kernel_shape
        return self._boundary == "valid" and k1 * k2 <= DIRECT_MAX_TAPS

    def _apply_direct_numpy(self, x):
        """"valid" convolution by shifted sums: ``z[r, c] = sum_ab w[a, b] x[r + k1-1-a, c + k2-1-b]``.

        The NumPy reference of the compiled :func:`~tvspline.imaging._conv_direct.apply_valid`
        that :meth:`apply` uses (bitwise the same results)."""
        k1, k2 = self.kernel_shape
        h, w = self.output_shape(x.shape[-2:])
        z = np.zeros(x.shape[:-2] + (self.n_filters, h, w))
        for a in range(k1):
            for b in range(k2):
                xs = x[..., k1 - 1 - a : k1 - 1 - a + h, k2 - 1 - b : k2 - 1 - b + w]
                for i in range(self.n_filters):
                    c = self._w[i, a, b]
                    if c != 0.0:
                        z[..., i, :, :] += c * xs
        return z

    def _adjoint_direct_numpy(self, z, shape):
        """Transpose of :meth:`_apply_direct_numpy`; the NumPy reference of
        :func:`~tvspline.imaging._conv_direct.adjoint_valid`."""
        k1, k2 = self.kernel_shape
        h, w = z.shape[-2:]
        y = np.zeros(z.shape[:-3] + tuple(shape))
        for a in range(k1):
            for b in range(k2):
                acc = None
                for i in range(self.n_filters):
                    c = self._w[i, a, b]
                    if c != 0.0:
                        t = c * z[..., i, :, :]
                        acc = t if acc is None else acc + t
                if acc is not None:
                    y[..., k1 - 1 - a : k1 - 1 - a + h, k2 - 1 - b : k2 - 1 - b + w] += acc
        return y

    # ------------------------------------------------------------------ norms
    def spectrum_max(self, grid) -> float:
        """``max sum_i |hat w_i|^2`` over the ``grid`` DFT frequencies (``grid >= kernel_shape``)."""
        g = _check_shape(grid, "grid")
        k1, k2 = self.kernel_shape
        if g[0] < k1 or g[1] < k2:
            raise ValueError(f"grid {g} must be at least the filter size {(k1, k2)}")
        p = np.zeros((g[0], g[1] // 2 + 1))
        for wi in self._w:  # one filter at a time: memory O(grid)
            p += np.abs(sfft.rfft2(wi, s=g)) ** 2
        return float(p.max())

    def norm_bound(self, shape=None) -> float:
        """A certified upper bound on ``||W||`` (the operator norm from images to responses).

        Parameters
        ----------
        shape : (int, int), optional
            Image shape. For ``boundary="periodic"`` and a given shape the exact norm (maximum of
            the spectrum on that DFT grid, plus rounding margin) is returned. Otherwise the
            shape-independent Bernstein bound of the module docstring, valid for every boundary
            rule and every image size.

        Examples
        --------
        >>> from tvspline.imaging import dct_bank
        >>> W = dct_bank(3)
        >>> est = W.operator_norm((32, 32), n_iter=300, random_state=0)
        >>> bool(est <= W.norm_bound() <= 1.005 * est)
        True
        """
        if shape is not None and self._boundary == "periodic":
            shape = _check_shape(shape)
            self.output_shape(shape)
            return math.sqrt(self.spectrum_max(shape) * (1 + _ROUNDING_MARGIN))
        if self._bound is None:
            k1, k2 = self.kernel_shape
            g = self._norm_grid()
            delta = math.pi * ((k1 - 1) / g[0] + (k2 - 1) / g[1])
            self._bound = math.sqrt(self.spectrum_max(g) / (1.0 - 0.5 * delta**2) * (1 + _ROUNDING_MARGIN))
        return self._bound

    def _norm_grid(self) -> tuple[int, int]:
        """DFT grid of the shape-independent bound of :meth:`norm_bound`."""
        k1, k2 = self.kernel_shape
        return max(_NORM_GRID, 64 * k1), max(_NORM_GRID, 64 * k2)

    def operator_norm(self, shape, n_iter: int = 100, random_state=None, tol: float = 1e-10) -> float:
        """Estimate ``||W||`` for images of ``shape`` by power iteration on ``W^T W``.

        Starts from a random image, stops after ``n_iter`` iterations or when the Rayleigh
        quotient changes by less than ``tol`` relative. The estimate approaches the norm from
        below; use :meth:`norm_bound` for a certified upper bound.

        Parameters
        ----------
        shape : (int, int)
            Image shape ``(H, W)``.
        n_iter : int
            Maximum number of iterations (``>= 1``).
        random_state : None, int or numpy.random.Generator
            Seed of the starting image.
        tol : float
            Relative change of the estimate at which to stop.

        Returns
        -------
        float
        """
        shape = _check_shape(shape)
        n_iter = _check_int(n_iter, "n_iter")
        self.output_shape(shape)
        rng = as_generator(random_state)
        v = rng.standard_normal(shape)
        v /= np.linalg.norm(v)
        est = 0.0
        for _ in range(n_iter):
            u = self.adjoint(self.apply(v), shape)
            new = float(np.sqrt(max(np.vdot(v, u), 0.0)))
            nu = np.linalg.norm(u)
            if nu == 0:
                return 0.0
            v = u / nu
            if abs(new - est) <= tol * new:
                est = new
                break
            est = new
        return est

    # ------------------------------------------------------------------ transformations
    def scaled(self, factor: float) -> "FilterBank":
        """The bank ``factor * W`` (same boundary rule)."""
        factor = float(factor)
        if not math.isfinite(factor):
            raise ValueError(f"factor must be finite, got {factor!r}")
        return FilterBank(self._w * factor, self._boundary)

    def normalized(self, shape=None, margin: float = DEFAULT_MARGIN) -> "FilterBank":
        """The bank scaled so that ``||W|| <= 1 / (1 + margin)``, certified.

        The scale is ``1 / ((1 + margin) * norm_bound(shape))``: with ``shape=None`` the bound
        holds for every image size (and every boundary rule); for ``boundary="periodic"`` and a
        given shape it is the exact norm for that shape. The margin (default ``1e-6``) keeps the
        certificate ``||W|| <= 1`` valid after the rounding of later computations.

        Examples
        --------
        >>> from tvspline.imaging import random_bank
        >>> W = random_bank(4, 5, random_state=0).normalized()
        >>> bool(W.norm_bound() <= 1.0)
        True
        """
        margin = float(margin)
        if not (margin >= 0 and math.isfinite(margin)):
            raise ValueError(f"margin must be finite and >= 0, got {margin!r}")
        nb = self.norm_bound(shape)
        if nb == 0:
            raise ValueError("the filters are all zero; they cannot be normalised")
        return FilterBank(self._w / ((1.0 + margin) * nb), self._boundary)

    # ------------------------------------------------------------------ python protocol
    def __eq__(self, other):
        if not isinstance(other, FilterBank):
            return NotImplemented
        return self._boundary == other._boundary and np.array_equal(self._w, other._w)

    __hash__ = None

    def __reduce__(self):
        return (FilterBank, (np.array(self._w), self._boundary))

    def __repr__(self):
        return f"FilterBank(n_filters={self.n_filters}, kernel_shape={self.kernel_shape}, boundary={self._boundary!r})"


def _as_images(x, name):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"{name} must be an image (..., H, W), got shape {x.shape}")
    return x


def dct_bank(k: int, boundary: str = "valid") -> FilterBank:
    """The ``k*k - 1`` orthonormal 2-D DCT-II atoms of size ``k x k`` without the constant one.

    Atom ``(a, b)`` is ``c_a c_b cos(pi (2m + 1) a / 2k) cos(pi (2n + 1) b / 2k)`` with the
    orthonormal DCT-II scaling; the atoms are ordered by ``(a, b)`` with ``(0, 0)`` removed, so every
    filter has zero mean. The bank is not normalised (its norm is close to ``k``); call
    :meth:`FilterBank.normalized`.

    Examples
    --------
    >>> from tvspline.imaging import dct_bank
    >>> W = dct_bank(3)
    >>> W.n_filters, W.kernel_shape
    (8, (3, 3))
    >>> import numpy as np
    >>> G = W.filters.reshape(8, 9)
    >>> bool(np.allclose(G @ G.T, np.eye(8))), bool(np.allclose(G.sum(axis=1), 0))
    (True, True)
    """
    k = _check_int(k, "k", minimum=2)
    m = np.arange(k)
    C = np.cos(np.pi * (2 * m[None, :] + 1) * m[:, None] / (2 * k)) * math.sqrt(2.0 / k)
    C[0] /= math.sqrt(2.0)
    atoms = np.einsum("am,bn->abmn", C, C).reshape(k * k, k, k)[1:]
    return FilterBank(atoms, boundary)


def random_bank(n_filters: int, k: int, random_state=None, boundary: str = "valid") -> FilterBank:
    """``n_filters`` random ``k x k`` filters: Gaussian, zero mean, unit Frobenius norm each.

    Not normalised as an operator; call :meth:`FilterBank.normalized`.

    Examples
    --------
    >>> from tvspline.imaging import random_bank
    >>> W = random_bank(6, 5, random_state=0)
    >>> import numpy as np
    >>> bool(np.allclose(W.filters.sum(axis=(1, 2)), 0)), bool(np.allclose((W.filters**2).sum(axis=(1, 2)), 1))
    (True, True)
    >>> W == random_bank(6, 5, random_state=0)
    True
    """
    n_filters = _check_int(n_filters, "n_filters")
    k = _check_int(k, "k", minimum=2)
    rng = as_generator(random_state)
    w = rng.standard_normal((n_filters, k, k))
    w -= w.mean(axis=(1, 2), keepdims=True)
    w /= np.linalg.norm(w.reshape(n_filters, -1), axis=1)[:, None, None]
    return FilterBank(w, boundary)
