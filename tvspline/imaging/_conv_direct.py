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

__all__ = ["apply_valid", "adjoint_valid", "CHUNK"]


#: Positions per block of the kernels' inner loops: a block of the accumulator and of the inputs it
#: reads stays in the first-level caches for all taps and filters.
CHUNK = 2048


@numba.njit(cache=True, error_model="numpy")
def _apply_valid(x, filters, z, chunk):
    # Each filter's responses are accumulated on the flattened image, rows of full width W (the
    # last k2 - 1 columns of each row are discarded at the end): long loops over positions that LLVM
    # vectorises, one per tap, over blocks of `chunk` positions so that the block of the accumulator
    # stays in cache across the taps. Every position receives its taps in the same order.
    n, F, h, w = z.shape
    H, W = x.shape[1], x.shape[2]
    k1, k2 = filters.shape[1], filters.shape[2]
    length = (h - 1) * W + w
    buf = np.empty(length)
    xf = x.reshape((n, H * W))
    for m in range(n):
        xm = xf[m]
        for i in range(F):
            for q0 in range(0, length, chunk):
                q1 = min(q0 + chunk, length)
                bs = buf[q0:q1]
                bs[:] = 0.0
                for a in range(k1):
                    for b in range(k2):
                        c = filters[i, a, b]
                        if c != 0.0:
                            # a slice, not xm[q + off]: index arithmetic keeps LLVM from vectorising
                            off = (k1 - 1 - a) * W + (k2 - 1 - b)
                            xs = xm[off + q0 : off + q1]
                            for q in range(q1 - q0):
                                bs[q] += c * xs[q]
            for r in range(h):
                zr = z[m, i, r]
                bs = buf[r * W : r * W + w]
                for q in range(w):
                    zr[q] = bs[q]


@numba.njit(cache=True, error_model="numpy")
def _adjoint_valid(z, filters, y, chunk):
    # Per tap, the weighted sum over filters of the responses laid out in rows of full width W
    # (zeros in the k2 - 1 extra columns), added to the flattened image at the tap's offset: the
    # extra columns add exact zeros, so every pixel receives the same sums, in the same order, as
    # the NumPy reference. The image is processed in blocks of `chunk` pixels, all taps per block,
    # so that each pixel still receives the taps in order.
    n, F, h, w = z.shape
    H, W = y.shape[1], y.shape[2]
    k1, k2 = filters.shape[1], filters.shape[2]
    length = (h - 1) * W + w
    wide = np.zeros((F, length))
    acc = np.empty(chunk)
    yf = y.reshape((n, H * W))
    first = np.full((k1, k2), -1, dtype=np.int64)
    for a in range(k1):
        for b in range(k2):
            for i in range(F):
                if filters[i, a, b] != 0.0:
                    first[a, b] = i
                    break
    for m in range(n):
        for i in range(F):
            for r in range(h):
                zr = z[m, i, r]
                dst = wide[i, r * W : r * W + w]
                for q in range(w):
                    dst[q] = zr[q]
        ym = yf[m]
        for p0 in range(0, H * W, chunk):
            p1 = min(p0 + chunk, H * W)
            for a in range(k1):
                for b in range(k2):
                    f0 = first[a, b]
                    if f0 < 0:
                        continue
                    off = (k1 - 1 - a) * W + (k2 - 1 - b)
                    q0 = max(p0 - off, 0)  # positions q of this tap landing on pixels p0..p1-1
                    q1 = min(p1 - off, length)
                    if q1 <= q0:
                        continue
                    nq = q1 - q0
                    c0 = filters[f0, a, b]
                    src = wide[f0, q0:q1]
                    for q in range(nq):
                        acc[q] = c0 * src[q]
                    for i in range(f0 + 1, F):
                        c = filters[i, a, b]
                        if c != 0.0:
                            src = wide[i, q0:q1]
                            for q in range(nq):
                                acc[q] = acc[q] + c * src[q]
                    ys = ym[off + q0 : off + q1]
                    for q in range(nq):
                        ys[q] += acc[q]


def apply_valid(x: np.ndarray, filters: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """Responses ``z[..., i, r, c] = sum_ab filters[i, a, b] x[..., r + k1-1-a, c + k2-1-b]``.

    ``x`` has shape ``(..., H, W)``; the result ``(..., F, H - k1 + 1, W - k2 + 1)``.
    """
    F, k1, k2 = filters.shape
    H, W = x.shape[-2:]
    lead = x.shape[:-2]
    xs = np.ascontiguousarray(x, dtype=np.float64).reshape((-1, H, W))
    z = np.empty((xs.shape[0], F, H - k1 + 1, W - k2 + 1))  # every entry is written
    _apply_valid(xs, np.ascontiguousarray(filters, dtype=np.float64), z, int(chunk))
    return z.reshape(lead + z.shape[1:])


def adjoint_valid(z: np.ndarray, filters: np.ndarray, shape, chunk: int = CHUNK) -> np.ndarray:
    """Transpose of :func:`apply_valid`: ``z`` of shape ``(..., F, h, w)`` to images ``(..., *shape)``."""
    F, h, w = z.shape[-3:]
    lead = z.shape[:-3]
    zs = np.ascontiguousarray(z, dtype=np.float64).reshape((-1, F, h, w))
    y = np.zeros((zs.shape[0],) + tuple(shape))
    _adjoint_valid(zs, np.ascontiguousarray(filters, dtype=np.float64), y, int(chunk))
    return y.reshape(lead + tuple(shape))
