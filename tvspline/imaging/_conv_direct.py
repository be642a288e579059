""""Valid" convolutions with small filter banks, and their transposes, in one Numba pass.

:meth:`tvspline.imaging.FilterBank.apply` and :meth:`~tvspline.imaging.FilterBank.adjoint` use
these for small kernels. They perform the very operations of the NumPy shifted sums
(:meth:`FilterBank._apply_direct_numpy`, the reference), in the same order, so the results
are bitwise the same (``tests/test_imaging_filters.py``), without the NumPy version's temporary
per tap and filter. Arrays are C-contiguous float64: images ``(n, H, W)``, responses
``(n, F, h, w)`` with ``h = H - k1 + 1`` and ``w = W - k2 + 1``, filters ``(F, k1, k2)``.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["apply_valid", "adjoint_valid"]


@numba.njit(cache=True, error_model="numpy")
def _apply_valid(x, filters, z):
    # Each filter's responses are accumulated on the flattened image, rows of full width W (the
    # last k2 - 1 columns of each row are discarded at the end): one long loop per tap that LLVM
    # vectorises, instead of one short loop per tap and row (measured 1.5-4x faster).
    n, F, h, w = z.shape
    H, W = x.shape[1], x.shape[2]
    k1, k2 = filters.shape[1], filters.shape[2]
    length = (h - 1) * W + w
    buf = np.empty(length)
    xf = x.reshape((n, H * W))
    for m in range(n):
        xm = xf[m]
        for i in range(F):
            buf[:] = 0.0
            for a in range(k1):
                for b in range(k2):
                    c = filters[i, a, b]
                    if c != 0.0:
                        # a slice, not xm[q + off]: index arithmetic keeps LLVM from vectorising
                        off = (k1 - 1 - a) * W + (k2 - 1 - b)
                        xs = xm[off : off + length]
                        for q in range(length):
                            buf[q] += c * xs[q]
            for r in range(h):
                zr = z[m, i, r]
                bs = buf[r * W : r * W + w]
                for q in range(w):
                    zr[q] = bs[q]


@numba.njit(cache=True, error_model="numpy")
def _adjoint_valid(z, filters, y):
    # Per tap, the weighted sum over filters of the responses laid out in rows of full width W
    # (zeros in the k2 - 1 extra columns), added to the flattened image at the tap's offset: the
    # extra columns add exact zeros, so every pixel receives the same sums, in the same order, as
    # the NumPy reference.
    n, F, h, w = z.shape
    H, W = y.shape[1], y.shape[2]
    k1, k2 = filters.shape[1], filters.shape[2]
    length = (h - 1) * W + w
    wide = np.zeros((F, length))
    acc = np.empty(length)
    yf = y.reshape((n, H * W))
    for m in range(n):
        for i in range(F):
            for r in range(h):
                zr = z[m, i, r]
                dst = wide[i, r * W : r * W + w]
                for q in range(w):
                    dst[q] = zr[q]
        ym = yf[m]
        for a in range(k1):
            for b in range(k2):
                first = -1
                for i in range(F):
                    if filters[i, a, b] != 0.0:
                        first = i
                        break
                if first < 0:
                    continue
                c0 = filters[first, a, b]
                src = wide[first]
                for q in range(length):
                    acc[q] = c0 * src[q]
                for i in range(first + 1, F):
                    c = filters[i, a, b]
                    if c != 0.0:
                        src = wide[i]
                        for q in range(length):
                            acc[q] = acc[q] + c * src[q]
                off = (k1 - 1 - a) * W + (k2 - 1 - b)
                ys = ym[off : off + length]
                for q in range(length):
                    ys[q] += acc[q]


def apply_valid(x: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """Responses ``z[..., i, r, c] = sum_ab filters[i, a, b] x[..., r + k1-1-a, c + k2-1-b]``.

    ``x`` has shape ``(..., H, W)``; the result ``(..., F, H - k1 + 1, W - k2 + 1)``.
    """
    F, k1, k2 = filters.shape
    H, W = x.shape[-2:]
    lead = x.shape[:-2]
    xs = np.ascontiguousarray(x, dtype=np.float64).reshape((-1, H, W))
    z = np.empty((xs.shape[0], F, H - k1 + 1, W - k2 + 1))  # every entry is written
    _apply_valid(xs, np.ascontiguousarray(filters, dtype=np.float64), z)
    return z.reshape(lead + z.shape[1:])


def adjoint_valid(z: np.ndarray, filters: np.ndarray, shape) -> np.ndarray:
    """Transpose of :func:`apply_valid`: ``z`` of shape ``(..., F, h, w)`` to images ``(..., *shape)``."""
    F, h, w = z.shape[-3:]
    lead = z.shape[:-3]
    zs = np.ascontiguousarray(z, dtype=np.float64).reshape((-1, F, h, w))
    y = np.zeros((zs.shape[0],) + tuple(shape))
    _adjoint_valid(zs, np.ascontiguousarray(filters, dtype=np.float64), y)
    return y.reshape(lead + tuple(shape))
