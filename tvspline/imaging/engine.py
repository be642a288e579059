r"""The reconstruction engine: FISTA with gradient restart on a stack of independent problems.

The first-order solver of :mod:`tvspline.imaging`: :func:`~tvspline.imaging.reconstruct` and
:meth:`RidgeRegularizer.denoise <tvspline.imaging.RidgeRegularizer.denoise>` with
``method="engine"``, ``"fista"`` or ``"gd"`` (and to finish an L-BFGS run that stalls), the
batched reconstructions of :func:`~tvspline.imaging.train_ridge` and the exact inner denoiser of
the bilevel training (:mod:`tvspline.imaging.bilevel`, :mod:`tvspline.imaging.rounds`).

A stack of ``n`` problems :math:`\min_x f_j(x)`, :math:`j = 1..n`, with
:math:`\nabla f_j` :math:`L_j`-Lipschitz, is solved with one gradient evaluation of the whole stack
per iteration. From :math:`x_0 = z_0`, :math:`t_0 = 1`, each problem iterates

.. math::

    g_k = \nabla f_j(z_k), \qquad x_{k+1} = z_k - \tau_j g_k, \qquad
    t_{k+1} = \tfrac12\big(1 + \sqrt{1 + 4 t_k^2}\big), \qquad
    z_{k+1} = x_{k+1} + \beta_k (x_{k+1} - x_k),

with step :math:`\tau_j = 1 / L_j` and momentum :math:`\beta_k = (t_k - 1) / t_{k+1}` (FISTA, Beck
& Teboulle 2009), except that the momentum is dropped (:math:`\beta_k = 0`, :math:`t_{k+1} = 1`)
when :math:`\langle g_k, x_{k+1} - x_k \rangle > 0`: the gradient restart of O'Donoghue & Candès
(2015), which keeps the accelerated rate on convex problems without evaluating :math:`f`. A
problem marked not ``accelerate`` always has :math:`\beta_k = 0`: gradient descent with step
:math:`1 / L_j`, which decreases :math:`f_j` monotonically and reaches stationary points even when
:math:`f_j` is not convex. The callers accelerate exactly the problems certified convex
(:func:`certified_convex`).

Stopping. The gradient is measured by its root mean square over the pixels of each problem,
:math:`\|g_k\|_2 / \sqrt{N}`; the iteration stops at the first :math:`k` where every problem has
:math:`\|g_k\|_2 / \sqrt{N} \le \mathrm{tol}_j` and returns :math:`z_k` (the point whose gradient
was measured), or after ``max_iter`` iterations (the gradient is then measured once more at the
returned point), or when a gradient is not finite (the last point with a finite gradient is
returned). The relative tolerance of :func:`~tvspline.imaging.reconstruct` is turned into these
per-problem thresholds by its caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EngineResult", "fista_stack", "certified_convex", "CONVEXITY_RTOL"]

#: Relative slack of the convexity test ``alpha * rho_R <= lambda_min(H^T H)`` (4 ulps of the product).
CONVEXITY_RTOL = 4.0 * np.finfo(np.float64).eps


def certified_convex(alpha, weak_convexity: float, min_eigenvalue: float = 1.0):
    """Whether ``1/2 ||H x - y||^2 + alpha R(x)`` is certified convex (per ``alpha`` for an array).

    The test is ``alpha * weak_convexity <= min_eigenvalue * (1 + CONVEXITY_RTOL)``. The slack of
    4 ulps absorbs the rounding of the product when ``alpha`` is the cap ``1 / weak_convexity``
    itself; it is covered by the certificate, because ``weak_convexity`` (``max(0, -min slope)``
    times :meth:`FilterBank.norm_bound() <tvspline.imaging.FilterBank.norm_bound>` squared) exceeds
    the true modulus by the factor ``1 / (1 - delta^2 / 2)`` of that bound, at least ``1 + 7e-5``
    for filters of two taps or more per axis.

    Examples
    --------
    >>> from tvspline.imaging.engine import certified_convex
    >>> wc = 0.005 * 1.0000001
    >>> bool(certified_convex(1.0 / wc, wc)), bool(certified_convex(1.001 / wc, wc))
    (True, False)
    """
    return np.asarray(alpha, dtype=np.float64) * weak_convexity <= min_eigenvalue * (1.0 + CONVEXITY_RTOL)


@dataclass(frozen=True)
class EngineResult:
    """What :func:`fista_stack` returns.

    Attributes
    ----------
    x : ndarray, shape (n, ...)
        The last point whose gradient was measured (module docstring).
    n_iter : int
        Iterations done (gradient steps taken).
    grad_rms : ndarray, shape (n,)
        Root-mean-square gradient of each problem at ``x``.
    converged : ndarray of bool, shape (n,)
        ``grad_rms <= tol`` per problem.
    n_restarts : ndarray of int, shape (n,)
        Momentum restarts per problem.
    finite : bool
        False when the iteration stopped on a non-finite gradient.
    """

    x: np.ndarray
    n_iter: int
    grad_rms: np.ndarray
    converged: np.ndarray
    n_restarts: np.ndarray
    finite: bool


def fista_stack(grad, x0, step, tol, max_iter: int, accelerate=True) -> EngineResult:
    """FISTA with gradient restart on a stack of problems (module docstring).

    Parameters
    ----------
    grad : callable
        ``grad(z)`` for a stack ``z`` of shape ``(n, ...)``: the stack of gradients, same shape.
    x0 : ndarray, shape (n, ...)
        Starting points (copied).
    step : float or ndarray broadcasting against ``x0`` (e.g. shape ``(n, 1, 1)``)
        Step ``1 / L_j`` per problem.
    tol : float or ndarray, shape (n,)
        Threshold on the root-mean-square gradient per problem.
    max_iter : int
        Iteration cap.
    accelerate : bool or array_like of bool, shape (n,)
        Momentum on (FISTA) or off (gradient descent) per problem.

    Returns
    -------
    EngineResult

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline.imaging.engine import fista_stack
    >>> d = np.array([1.0, 10.0])[:, None]                  # two quadratics 1/2 d (x - 1)^2
    >>> res = fista_stack(lambda z: d * (z - 1.0), np.zeros((2, 3)), 1.0 / d, 1e-12, 1000)
    >>> bool(res.converged.all()), bool(np.allclose(res.x, 1.0))
    (True, True)
    """
    x = x0.copy()
    z = x.copy()
    n = len(x)
    axes = tuple(range(1, x.ndim))
    npix = int(np.prod(x.shape[1:]))
    t = np.ones(n)
    bshape = (n,) + (1,) * (x.ndim - 1)
    coast = None if accelerate is True else ~np.broadcast_to(np.asarray(accelerate, dtype=bool), (n,))
    restarts = np.zeros(n, dtype=np.int64)
    last = None  # (point, gradient RMS) of the last finite gradient
    for it in range(max_iter):
        g = grad(z)
        gn = np.sqrt(np.sum(g**2, axis=axes) / npix)
        if not np.isfinite(gn).all():
            return _result(last, x0, it, tol, restarts, False, grad, npix, axes)
        last = (z, gn)
        if (gn <= tol).all():
            return EngineResult(z, it, gn, gn <= tol, restarts, True)
        x_new = z - step * g
        t_new = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
        beta = ((t - 1) / t_new).reshape(bshape)
        restart = np.sum(g * (x_new - x), axis=axes) > 0
        restarts += restart if coast is None else restart & ~coast
        drop = restart if coast is None else restart | coast
        beta = np.where(drop.reshape(bshape), 0.0, beta)
        t = np.where(drop, 1.0, t_new)
        z = x_new + beta * (x_new - x)
        x = x_new
    g = grad(z)
    gn = np.sqrt(np.sum(g**2, axis=axes) / npix)
    if not np.isfinite(gn).all():
        return _result(last, x0, max_iter, tol, restarts, False, grad, npix, axes)
    return EngineResult(z, max_iter, gn, gn <= tol, restarts, True)


def _result(last, x0, it, tol, restarts, finite, grad, npix, axes):
    if last is None:  # the gradient at the start is not finite
        g = grad(x0)
        with np.errstate(over="ignore", invalid="ignore"):
            gn = np.sqrt(np.sum(g**2, axis=axes) / npix)
        return EngineResult(x0.copy(), 0, gn, np.zeros(len(x0), dtype=bool), restarts, finite)
    z, gn = last
    return EngineResult(z, max(it - 1, 0), gn, gn <= tol, restarts, finite)
