r"""Constraints on the weight matrices of Lipschitz networks.

A layer :math:`x \mapsto W x` is 1-Lipschitz in the Euclidean norm iff its spectral norm
:math:`\|W\|_2 = \sigma_{\max}(W) \le 1`. Two constraint sets are used (Lipschitz paper,
``docs/math.md``), each with its Euclidean (Frobenius) projection computed from the thin SVD
:math:`W = U \Sigma V^T`:

- the spectral ball :math:`\{\|W\|_2 \le 1\}`: :math:`P(W) = U \min(\Sigma, 1) V^T`
  (:func:`project_spectral`);
- the orthonormal matrices (orthonormal columns if :math:`W` is tall, rows if wide): the polar
  factor :math:`P(W) = U V^T` (:func:`project_orthonormal`), the closest such matrix in every
  unitarily invariant norm (Fan and Hoffman, 1955).

The polar factor can also be reached without an SVD by the Björck-Bowie iteration
(:func:`bjorck_orthonormalize`), a Newton-Schulz-type iteration built from matrix products only:

.. math::

    W \leftarrow W \sum_{k=0}^{p} \binom{2k}{k} 4^{-k} (I - W^T W)^k,

the order-:math:`p` truncation of :math:`W (W^T W)^{-1/2}`; :math:`p = 1` gives
:math:`W (\tfrac32 I - \tfrac12 W^T W)`. It acts on each singular value separately,
:math:`\sigma \mapsto \sigma\, S_p(1 - \sigma^2)`, and keeps the singular vectors.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .._random import as_generator
from .._validate import check_choice, check_finite
from ..exceptions import TVSplineWarning

__all__ = ["project_spectral", "project_orthonormal", "bjorck_orthonormalize", "spectral_norm"]

BJORCK_TOL = 1e-12
BJORCK_MAX_ITER = 200
POWER_TOL = 1e-12
POWER_MAX_ITER = 1000


def _as_matrix(W, name: str = "W") -> np.ndarray:
    """A finite, non-empty 2-D float64 copy of ``W``."""
    try:
        arr = np.array(W, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of real numbers, got {type(W).__name__}") from None
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {arr.shape}")
    return check_finite(arr, name)


def _check_int(value, name: str, minimum: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def _check_tol(tol, name: str = "tol") -> float:
    try:
        out = float(tol)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {tol!r}") from None
    if not (math.isfinite(out) and out > 0):
        raise ValueError(f"{name} must be finite and > 0, got {tol!r}")
    return out


def project_spectral(W) -> np.ndarray:
    r"""Closest matrix (Frobenius norm) with spectral norm at most 1.

    Singular values above 1 are clipped to 1; a matrix already in the ball is returned unchanged
    (as an exact copy, not a rounded reconstruction).

    Parameters
    ----------
    W : array_like, shape (m, n)
        A finite matrix.

    Returns
    -------
    numpy.ndarray, shape (m, n)
        :math:`U \min(\Sigma, 1) V^T`, a new array.

    Raises
    ------
    ValueError
        If ``W`` is not a non-empty finite 2-D array.

    Examples
    --------
    >>> import numpy as np
    >>> project_spectral(np.diag([3.0, 0.5]))
    array([[1. , 0. ],
           [0. , 0.5]])
    """
    A = _as_matrix(W)
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    if s[0] <= 1.0:
        return A
    return (U * np.minimum(s, 1.0)) @ Vt


def project_orthonormal(W) -> np.ndarray:
    r"""The polar factor: the closest matrix with orthonormal columns (tall) or rows (wide).

    Parameters
    ----------
    W : array_like, shape (m, n)
        A finite matrix. If it is rank-deficient the closest orthonormal matrix is not unique and
        this returns one of them.

    Returns
    -------
    numpy.ndarray, shape (m, n)
        :math:`U V^T` from the thin SVD :math:`W = U \Sigma V^T`: ``P.T @ P = I`` when
        ``m >= n``, ``P @ P.T = I`` when ``m <= n``.

    Raises
    ------
    ValueError
        If ``W`` is not a non-empty finite 2-D array.

    Examples
    --------
    >>> import numpy as np
    >>> project_orthonormal([[2.0, 0.0], [0.0, -0.1]])
    array([[ 1.,  0.],
           [ 0., -1.]])
    """
    A = _as_matrix(W)
    U, _, Vt = np.linalg.svd(A, full_matrices=False)
    return U @ Vt


def bjorck_orthonormalize(
    W, n_iter: int = BJORCK_MAX_ITER, order: int = 1, tol: float = BJORCK_TOL
) -> np.ndarray:
    r"""Polar factor of ``W`` by Björck-Bowie iterations (matrix products only).

    ``W`` is first scaled by :math:`\min(\|W\|_F, \sqrt{\|W\|_1 \|W\|_\infty})`, an upper bound
    on :math:`\|W\|_2`, so that every singular value lies in :math:`(0, 1]`. Each iteration then
    maps :math:`\sigma \mapsto \sigma S_p(1 - \sigma^2)` with :math:`S_p` the order-``p`` partial
    sum of the binomial series of :math:`(1 - x)^{-1/2}`; as :math:`1 \le S_p(1-\sigma^2) <
    1/\sigma`, every nonzero singular value increases monotonically to 1 (quadratically near 1
    for ``order = 1``, with order ``p + 1`` in general; a factor about 1.5 per iteration while it
    is small). Wide matrices are handled through their transpose.

    Parameters
    ----------
    W : array_like, shape (m, n)
        A finite nonzero matrix. It should have full rank ``min(m, n)``: a zero singular value
        stays zero and the iteration cannot converge.
    n_iter : int, default 200
        Maximum number of iterations.
    order : int, default 1
        Order ``p >= 1`` of the series truncation.
    tol : float, default 1e-12
        Stop once :math:`\max |I - W^T W| \le` ``tol`` (checked before each update; the distance
        to the polar factor is then about ``tol / 2``).

    Returns
    -------
    numpy.ndarray, shape (m, n)
        The orthonormalised matrix, a new array.

    Raises
    ------
    ValueError
        If ``W`` is zero, not finite or not 2-D, or ``n_iter < 1``, ``order < 1``, ``tol <= 0``.

    Warns
    -----
    TVSplineWarning
        If the tolerance is not met after ``n_iter`` iterations (the residual is reported).

    References
    ----------
    A. Björck and C. Bowie, "An iterative algorithm for computing the best estimate of an
    orthogonal matrix", SIAM J. Numer. Anal. 8 (1971). C. Anil, J. Lucas and R. Grosse,
    "Sorting out Lipschitz function approximation", ICML 2019.

    Examples
    --------
    >>> import numpy as np
    >>> Q = bjorck_orthonormalize([[2.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    >>> bool(np.allclose(Q.T @ Q, np.eye(2), atol=1e-12))
    True
    """
    A = _as_matrix(W)
    n_iter = _check_int(n_iter, "n_iter", 1)
    order = _check_int(order, "order", 1)
    tol = _check_tol(tol)
    wide = A.shape[0] < A.shape[1]
    if wide:
        A = A.T
    bound = min(np.linalg.norm(A, "fro"), math.sqrt(np.linalg.norm(A, 1) * np.linalg.norm(A, np.inf)))
    if bound == 0.0:
        raise ValueError("W must be nonzero: the zero matrix has no polar factor")
    A = A / bound
    coeffs = [math.comb(2 * k, k) / 4.0**k for k in range(order + 1)]
    eye = np.eye(A.shape[1])
    residual = math.inf
    for _ in range(n_iter):
        Q = eye - A.T @ A
        residual = float(np.abs(Q).max())
        if residual <= tol:
            break
        # Horner: S_p(Q) = c0 I + Q (c1 I + Q (c2 I + ...))
        S = coeffs[-1] * eye
        for c in reversed(coeffs[:-1]):
            S = c * eye + Q @ S
        A = A @ S
    else:
        residual = float(np.abs(eye - A.T @ A).max())
        if residual > tol:
            warnings.warn(
                f"Björck orthonormalisation did not converge in {n_iter} iterations: "
                f"max|I - W^T W| = {residual:.3g} > tol = {tol:.3g}. W may be (nearly) rank-deficient; "
                "increase n_iter or use project_orthonormal (SVD).",
                TVSplineWarning,
                stacklevel=2,
            )
    return A.T if wide else A


def spectral_norm(
    W, method: str = "svd", n_iter: int = POWER_MAX_ITER, tol: float = POWER_TOL, random_state=None
) -> float:
    r"""Spectral norm :math:`\|W\|_2 = \sigma_{\max}(W)`.

    Parameters
    ----------
    W : array_like, shape (m, n)
        A finite matrix.
    method : {"svd", "power"}, default "svd"
        ``"svd"``: the largest singular value from LAPACK (accurate; use it to certify).
        ``"power"``: power iteration on :math:`W^T W` from a random start; cheaper for large
        matrices, and its estimate :math:`\|W v\|` with :math:`\|v\| = 1` is a lower bound on
        :math:`\|W\|_2` (up to rounding), so never use it alone to *certify* a Lipschitz bound.
    n_iter : int, default 1000
        Maximum number of power iterations.
    tol : float, default 1e-12
        Power iteration stops when the estimate changes by at most ``tol`` relatively.
    random_state : None, int or numpy.random.Generator
        Seed of the power iteration's starting vector.

    Returns
    -------
    float
        The spectral norm (``"svd"``) or its power-iteration estimate.

    Raises
    ------
    ValueError
        For a bad ``W``, an unknown ``method``, ``n_iter < 1`` or ``tol <= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> spectral_norm([[3.0, 0.0], [0.0, -4.0]])
    4.0
    >>> round(spectral_norm(np.diag([3.0, -4.0, 1.0]), method="power", random_state=0), 9)
    4.0
    """
    A = _as_matrix(W)
    check_choice(method, "method", ("svd", "power"))
    n_iter = _check_int(n_iter, "n_iter", 1)
    tol = _check_tol(tol)
    rng = as_generator(random_state)
    if method == "svd":
        return float(np.linalg.svd(A, compute_uv=False)[0])
    v = rng.standard_normal(A.shape[1])
    v /= np.linalg.norm(v)
    estimate = 0.0
    for _ in range(n_iter):
        u = A @ v
        new = float(np.linalg.norm(u))
        if new == 0.0:  # v in the null space (or W = 0)
            return float(np.linalg.svd(A, compute_uv=False)[0]) if A.any() else 0.0
        w = A.T @ u
        v = w / np.linalg.norm(w)
        if abs(new - estimate) <= tol * new:
            return new
        estimate = new
    return estimate
