r"""Design matrix of the degree-1 B-spline ("hat") basis on nonuniform knots.

Mathematics
-----------
Let :math:`t_1 < \dots < t_K` be knots (``K >= 2``), :math:`h_k = t_{k+1} - t_k`, and let a linear
spline be parametrised by its values :math:`c_k = f(t_k)`, i.e. by its coefficients in the hat
basis. For a point :math:`x` take the segment

.. math::

    k(x) = \min\bigl(\max(\{j : t_j \le x\} \cup \{1\}),\; K - 1\bigr),

that is the segment that contains :math:`x`, clipped to the first segment on the left of
:math:`t_1` and to the last segment on the right of :math:`t_K` (a point that sits exactly on an
interior knot belongs to the segment on its right). With :math:`\theta = (x - t_k) / h_k`,

.. math::

    f(x) = (1 - \theta)\, c_k + \theta\, c_{k+1}.

Inside :math:`[t_1, t_K]` this is linear interpolation (:math:`0 \le \theta \le 1`); outside it is
the linear extension of the end segment (:math:`\theta < 0` on the left, :math:`\theta > 1` on the
right), the convention of :class:`tvspline.LinearSpline`. The design matrix :math:`B \in
\mathbb{R}^{M \times K}` of sites :math:`x_1, \dots, x_M` has row :math:`m` equal to
:math:`(1-\theta_m)` in column :math:`k(x_m)` and :math:`\theta_m` in column :math:`k(x_m)+1`,
so that :math:`B c = (f(x_1), \dots, f(x_M))`. Every row sums to one (the hats form a partition
of unity, and so do their linear extensions), and with knots at the sites :math:`B` is the
identity. (Indices are 1-based here; in the code, knots and columns are 0-based.)

Cost
----
Finding :math:`k(x)` is a binary search, :math:`O(\log K)` per site, :math:`O(M \log K)` in all.
On a uniform grid it is arithmetic, :math:`k = \lfloor (x - t_1) / \bar h \rfloor`, :math:`O(1)`
per site. Floating-point rounding (and knots that are uniform only to rounding) can put that
guess one segment off, so a guard compares :math:`x` with the two neighbouring knots and moves
the index by at most one step; the weights :math:`\theta` are always computed from the stored
knots, so the uniform path returns exactly the matrix of the binary-search path. Should the guard
ever fail (``uniform=True`` forced on knots that are far from uniform), the site falls back to the
binary search: the result is always correct, only the speed depends on ``uniform``. Before
searching, the Numba kernel also tries the previous site's segment and the next one, so sorted
sites cost :math:`O(1)` each, as in :func:`numpy.interp`. Validating the knots and detecting a
uniform grid cost :math:`O(K)` per call.

Implementation
--------------
The CSR arrays are filled by a Numba kernel (compiled lazily at the first call and cached on disk,
so that importing this module neither imports Numba nor compiles anything). A pure-numpy twin built
on :func:`numpy.searchsorted` computes the same arrays; the tests hold the kernel to it. The kernel
is the default: ``benchmarks/design_matrix.py`` measured it faster than the twin in all 32 cases
(M = 1e3..1e6, K = 1e2 and 1e4, uniform and random knots, random and sorted sites): the twin took
1.1-2.4 times as long for ``M <= 1e4``, where validation and CSR construction dominate, and
1.3-16 times (median 5.6) for ``M >= 1e5``; the largest gains are on uniform grids (arithmetic
index, no temporaries) and on sorted sites (the kernel reuses the previous row's segment).
``scipy.interpolate.BSpline.design_matrix`` took 3.5-300 times as long as the kernel at
``M >= 1e4``. See ``benchmarks/results/design_matrix.md`` (timings on a shared 2-CPU machine;
the ratios moved by up to a factor 2 between runs, the ranking never did).

References
----------
M. Unser, A. Goujon, S. Ducotterd, "Controlled learning of pointwise nonlinearities in
neural-network-like architectures", Appl. Comput. Harmon. Anal. 77 (2025) 101764,
arXiv:2408.13114 (nonuniform linear B-spline discretisation).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from ._validate import as_1d_float, check_positive

__all__ = ["design_matrix", "is_uniform", "UNIFORM_RTOL"]

#: Relative tolerance on the knot spacings under which ``uniform=None`` takes a grid as uniform.
UNIFORM_RTOL = 1e-12

#: Extra absolute slack on the spacings, in units of ``eps * max|t|``: the knots themselves are
#: rounded to doubles, so ``np.linspace(-3, 3, 10**6)`` has spacings that differ by ~1.3 ulp of 3,
#: i.e. 1.4e-10 relative to the spacing, and would fail a pure 1e-12 relative test.
_UNIFORM_ULPS = 4.0

_EPS = float(np.finfo(np.float64).eps)
_INT32_MAX = int(np.iinfo(np.int32).max)

#: Which filler ``design_matrix`` uses: "numba" or "numpy" (the twin). Numba was measured faster in
#: every benchmarked case (twin/kernel time ratio 1.1-16, median 1.8; see the module docstring).
_DEFAULT_BACKEND = "numba"


# --------------------------------------------------------------------------- validation
def _check_knots(knots):
    """Validated contiguous knots and their spacings ``h``."""
    t = as_1d_float(knots, "knots")
    if t.size < 2:
        raise ValueError(f"knots must have at least 2 entries, got {t.size}")
    with np.errstate(over="ignore"):  # an overflowing span is reported below, not warned about
        h = np.diff(t)
        span = t[-1] - t[0]
    if not (h > 0).all():
        i = int(np.flatnonzero(~(h > 0))[0])
        raise ValueError(
            f"knots must be strictly increasing, got knots[{i}]={t[i]!r} >= knots[{i + 1}]={t[i + 1]!r}"
        )
    if not np.isfinite(span):  # spacings and theta would overflow to inf / NaN
        raise ValueError(f"knots must span a finite interval, got knots[0]={t[0]!r} and knots[-1]={t[-1]!r}")
    return np.ascontiguousarray(t), h


def _check_x(x) -> NDArray[np.float64]:
    if np.ndim(x) == 0:
        x = [x]
    return np.ascontiguousarray(as_1d_float(x, "x", allow_empty=True))


def _is_uniform(t: NDArray[np.float64], h: NDArray[np.float64], rtol: float = UNIFORM_RTOL) -> bool:
    """Uniformity test on validated knots ``t`` with spacings ``h`` (see :func:`is_uniform`)."""
    hbar = (t[-1] - t[0]) / h.size
    slack = rtol * hbar + _UNIFORM_ULPS * _EPS * max(abs(t[0]), abs(t[-1]))
    if max(h.max() - hbar, hbar - h.min()) > slack:
        return False
    # The arithmetic index is within one step of the true one as long as every knot lies within a
    # quarter spacing of the ideal grid; spacings that pass the test above can still drift by more
    # than that over millions of knots (e.g. knots built by a cumulative sum).
    grid = t[0] + hbar * np.arange(t.size)
    return bool(np.abs(t - grid).max() <= 0.25 * hbar)


def is_uniform(knots: ArrayLike, *, rtol: float = UNIFORM_RTOL) -> bool:
    """Whether ``knots`` form a uniform grid, as autodetected by :func:`design_matrix`.

    The knots count as uniform when every spacing equals the mean spacing
    :math:`\\bar h = (t_K - t_1)/(K-1)` to a relative tolerance ``rtol`` (plus four ulps of the
    largest knot, the rounding of the knots themselves), and every knot lies within a quarter
    spacing of the ideal grid :math:`t_1 + k \\bar h`.

    Parameters
    ----------
    knots : array_like, shape (K,)
        Strictly increasing finite knots, ``K >= 2``.
    rtol : float, default ``UNIFORM_RTOL`` (1e-12)
        Relative tolerance on the spacings.

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        If ``knots`` is not a strictly increasing finite array of at least two entries, or
        ``rtol`` is negative or not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline.basis import is_uniform
    >>> is_uniform(np.linspace(-3.0, 3.0, 10_001)), is_uniform([0.0, 1.0, 3.0])
    (True, False)
    """
    return _is_uniform(*_check_knots(knots), rtol=check_positive(rtol, "rtol", strict=False))


# --------------------------------------------------------------------------- numpy twin
def _fill_numpy(x, t, uniform: bool, inv_h: float, indices, data) -> None:
    """Pure-numpy twin of the Numba kernel: same segments, same arithmetic, same output."""
    last = t.size - 2
    if uniform:
        with np.errstate(over="ignore", invalid="ignore"):  # an overflowing q is clipped below
            q = (x - t[0]) * inv_h
        # fmax maps a NaN q (only if x - t[0] overflows) to 0, like `not q > 0` in the kernel.
        k = np.floor(np.minimum(np.fmax(q, 0.0), float(last))).astype(np.intp)
        # Guard: move by at most one step so that t[k] <= x < t[k+1] (modulo the end clipping).
        k += (k < last) & (x >= t[k + 1])
        k -= (k > 0) & (x < t[k])
        bad = ((k < last) & (x >= t[k + 1])) | ((k > 0) & (x < t[k]))
        if bad.any():  # only when the knots are far from uniform: fall back to the binary search
            k[bad] = np.clip(np.searchsorted(t, x[bad], side="right") - 1, 0, last)
    else:
        k = np.clip(np.searchsorted(t, x, side="right") - 1, 0, last)
    tk = t[k]
    theta = (x - tk) / (t[k + 1] - tk)
    indices[0::2] = k
    indices[1::2] = k + 1
    data[0::2] = 1.0 - theta
    data[1::2] = theta


# --------------------------------------------------------------------------- Numba kernel
def _fill_kernel_py(x, t, uniform, inv_h, indices, data):  # pragma: no cover - runs compiled
    """Python source of the Numba kernel (compiled by :func:`_numba_kernel`)."""
    last = t.size - 2
    t0 = t[0]
    k = 0  # previous segment: a hint that makes sorted sites O(1) each
    for i in range(x.size):
        xi = x[i]
        if uniform:
            q = (xi - t0) * inv_h
            if not q > 0.0:  # also catches a NaN q: never cast NaN to int (no bounds checks here)
                k = 0
            elif q >= last:
                k = last
            else:
                k = int(q)
            if k < last and xi >= t[k + 1]:
                k += 1
            elif k > 0 and xi < t[k]:
                k -= 1
            found = not ((k < last and xi >= t[k + 1]) or (k > 0 and xi < t[k]))
        else:
            # Reuse the previous segment, or step to the next one, when that holds: sorted sites
            # then cost O(1) each instead of a binary search (as np.interp does).
            found = (k == 0 or xi >= t[k]) and (k == last or xi < t[k + 1])
            if not found and k < last and xi >= t[k + 1] and (k + 1 == last or xi < t[k + 2]):
                k += 1
                found = True
        if not found:
            # Largest k in [0, last] with t[k] <= xi (0 when xi < t[0]): searchsorted(side="right")-1.
            lo = 0
            hi = last
            while lo < hi:
                mid = (lo + hi + 1) >> 1
                if t[mid] <= xi:
                    lo = mid
                else:
                    hi = mid - 1
            k = lo
        tk = t[k]
        theta = (xi - tk) / (t[k + 1] - tk)
        indices[2 * i] = k
        indices[2 * i + 1] = k + 1
        data[2 * i] = 1.0 - theta
        data[2 * i + 1] = theta


_KERNEL = None


def _numba_kernel():
    """The compiled kernel, built on first use so that importing tvspline compiles nothing.

    Numba itself is imported here too: its import alone costs about half a second.
    """
    global _KERNEL
    if _KERNEL is None:
        import numba

        _KERNEL = numba.njit(cache=True, nogil=True)(_fill_kernel_py)
    return _KERNEL


def _fill_numba(x, t, uniform: bool, inv_h: float, indices, data) -> None:
    _numba_kernel()(x, t, bool(uniform), float(inv_h), indices, data)


_FILLERS = {"numba": _fill_numba, "numpy": _fill_numpy}


# --------------------------------------------------------------------------- assembly
def _csr_arrays(x, t, uniform: bool, backend: str):
    """``(data, indices, indptr)`` of the design matrix for validated ``x`` and ``t``."""
    m, n_knots = x.size, t.size
    idx_dtype = np.int32 if max(2 * m, n_knots) < _INT32_MAX else np.int64
    indices = np.empty(2 * m, dtype=idx_dtype)
    data = np.empty(2 * m, dtype=np.float64)
    inv_h = (n_knots - 1) / (t[-1] - t[0]) if uniform else 0.0
    if m:
        _FILLERS[backend](x, t, uniform, inv_h, indices, data)
    indptr = np.arange(0, 2 * m + 1, 2, dtype=idx_dtype)
    return data, indices, indptr


def _design_matrix(x, knots, *, uniform=None, backend: str = _DEFAULT_BACKEND) -> sp.csr_matrix:
    """:func:`design_matrix` with a choice of filler (``"numba"`` or ``"numpy"``), for tests."""
    if backend not in _FILLERS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(map(repr, _FILLERS))}")
    t, h = _check_knots(knots)
    xa = _check_x(x)
    if uniform is None:
        uniform = _is_uniform(t, h)
    elif not isinstance(uniform, (bool, np.bool_)):
        raise TypeError(f"uniform must be None, True or False, got {uniform!r}")
    data, indices, indptr = _csr_arrays(xa, t, bool(uniform), backend)
    B = sp.csr_matrix((data, indices, indptr), shape=(xa.size, t.size), copy=False)
    B.has_sorted_indices = True  # columns k < k+1 in every row, by construction
    return B


def design_matrix(x: ArrayLike, knots: ArrayLike, *, uniform: bool | None = None) -> sp.csr_matrix:
    r"""Sparse matrix mapping hat-basis coefficients (knot values) to values at ``x``.

    Row ``m`` holds :math:`1-\theta_m` in column :math:`k` and :math:`\theta_m` in column
    :math:`k+1`, where :math:`k` is the segment of ``x[m]`` (clipped to the end segments) and
    :math:`\theta_m = (x_m - t_k)/h_k`; outside ``[knots[0], knots[-1]]`` the end segments are
    extended linearly (:math:`\theta < 0` or :math:`> 1`). So ``design_matrix(x, f.knots) @
    f.values`` equals ``f(x)`` for a :class:`~tvspline.LinearSpline` ``f`` up to rounding.

    Parameters
    ----------
    x : array_like, shape (M,)
        Finite evaluation sites, in any order (a scalar counts as one site; ``M = 0`` is allowed).
    knots : array_like, shape (K,)
        Strictly increasing finite knots, ``K >= 2``.
    uniform : bool or None, default None
        ``True`` locates the sites by arithmetic on a uniform grid (:math:`O(M)`), ``False`` by
        binary search (:math:`O(M \log K)`), ``None`` autodetects with :func:`is_uniform`
        (relative tolerance ``UNIFORM_RTOL = 1e-12`` on the spacings). The result is the same
        either way: forcing ``True`` on nonuniform knots is correct, just slower.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (M, K)
        Exactly two stored entries per row, in columns ``k`` and ``k+1`` (one of them is an
        explicit zero when ``x[m]`` is a knot), sorted indices; the rows sum to one.

    Raises
    ------
    ValueError
        If ``x`` or ``knots`` contains NaN or infinity, is not one-dimensional, or if ``knots``
        has fewer than two entries, is not strictly increasing (the message gives the index) or
        spans an interval whose length overflows (``knots[-1] - knots[0] = inf``).
    TypeError
        If ``uniform`` is not ``None``, ``True`` or ``False``, or an input is not numeric.

    Notes
    -----
    The segment search runs in a Numba kernel compiled at the first call (and cached on disk);
    a pure-numpy twin computes the same matrix. Far outside the knots the weights
    :math:`1-\theta` and :math:`\theta` are large and of opposite signs, so ``B @ c`` loses
    about :math:`\epsilon\,|\theta|\,(|c_k| + |c_{k+1}|)` to cancellation.

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline.basis import design_matrix
    >>> B = design_matrix([-1.0, 0.5, 2.0, 4.0], [0.0, 1.0, 3.0])
    >>> B.toarray()
    array([[ 2. , -1. ,  0. ],
           [ 0.5,  0.5,  0. ],
           [ 0. ,  0.5,  0.5],
           [ 0. , -0.5,  1.5]])
    >>> B.sum(axis=1).ravel()
    matrix([[1., 1., 1., 1.]])

    At a knot the row is a unit vector, stored with its explicit zero:

    >>> design_matrix([1.0], [0.0, 1.0, 3.0]).nnz
    2
    >>> B = design_matrix(np.linspace(0.0, 1.0, 5), np.linspace(0.0, 1.0, 5))
    >>> np.array_equal(B.toarray(), np.eye(5))
    True
    """
    return _design_matrix(x, knots, uniform=uniform)
