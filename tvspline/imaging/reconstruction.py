r"""Variational reconstruction with a ridge regulariser: monotone FISTA or gradient descent.

.. math::

    \min_x \; f(x) = \tfrac12 \|Hx - y\|^2 + \alpha R(x), \qquad
    \nabla f(x) = H^T(Hx - y) + \alpha \nabla R(x).

Constants, all certified (:mod:`tvspline.imaging.operators`, :mod:`tvspline.imaging.ridge`):
:math:`\nabla f` is :math:`L_f`-Lipschitz with
:math:`L_f = \|H\|^2 + \alpha\,\mathrm{Lip}(\nabla R)`, and :math:`f` is convex when
:math:`\lambda_{\min}(H^T H) - \alpha\,\rho_R \ge 0` (:math:`\rho_R` the weak-convexity modulus of
:math:`R`; for denoising :math:`1 - \alpha\rho_R \ge 0`). The step is :math:`\tau = 1 / L_f`.

``method="fista"``
    FISTA (Beck & Teboulle 2009) with function-value restart (O'Donoghue & Candès 2015): when
    an accelerated step does not decrease :math:`f`, the momentum is reset and a plain gradient
    step is taken from the current iterate instead, which decreases :math:`f` by at least
    :math:`\tfrac{\tau}{2}\|\nabla f\|^2` (descent lemma). The objective sequence is therefore
    non-increasing; for convex :math:`f` the iterates converge to a minimiser.
``method="gd"``
    Gradient descent with step :math:`1/L_f`: monotone, and every limit point is stationary
    (:math:`\sum_k \|\nabla f(x_k)\|^2 \le 2 L_f (f(x_0) - \inf f)`) even when :math:`f` is not
    convex, which is the case of a weakly convex :math:`R` with a large :math:`\alpha\rho_R`.
``method="lbfgs"``
    Limited-memory BFGS (SciPy's L-BFGS-B, no bounds, 10 correction pairs) with its line search,
    stopped by the same gradient-norm test. If L-BFGS-B stops first (near the solution the decrease
    it needs falls below the rounding error of :math:`f`), the iteration continues from its last
    iterate with FISTA (convex :math:`f`) or gradient descent, whose certified steps need no
    decrease test, within the same ``max_iter``. Every accepted iterate satisfies the line search's
    sufficient-decrease condition, so the objective sequence decreases too, but the step owes
    nothing to the certified constants and, unlike FISTA for convex :math:`f`, no convergence rate
    is certified here: the result is judged on its gradient norm alone, like the others. Much
    faster on ill-conditioned problems: ``benchmarks/reconstruction_methods.py`` (the weakly
    convex denoiser at its convexity cap takes about 2300 gradient-descent iterations with
    ``"auto"``, about 80 here).
    Not chosen by ``"auto"``.
``method="auto"`` (default)
    FISTA when the convexity test holds, gradient descent otherwise.

Rounding. Near the solution the decrease :math:`\tfrac{\tau}{2}\|\nabla f\|^2` falls below the
rounding error of evaluating :math:`f` (a sum over all pixels), so the objective is compared with
a relative slack ``OBJECTIVE_RTOL = 1e-13``: a momentum step counts as an increase (restart) only
if it raises :math:`f` by more than that, and gradient steps are always accepted (the descent
lemma guarantees their decrease in exact arithmetic). The recorded objective sequence is thus
non-increasing up to ``1e-13`` relative evaluation noise; an increase beyond it on a gradient step
would contradict the certified constants and stops the iteration.

The iteration stops when :math:`\|\nabla f(x_k)\|_2 \le` ``tol`` (converged), after ``max_iter``
iterations, or on an impossible increase (see Rounding); the last two warn
with the numbers.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from threadpoolctl import threadpool_limits

from ..exceptions import TVSplineWarning
from .operators import Identity

__all__ = ["reconstruct", "ReconstructionResult", "ReconstructionWarning", "METHODS"]

METHODS = ("auto", "fista", "gd", "lbfgs")
#: Default stopping tolerance on the Euclidean norm of the gradient of the objective.
DEFAULT_TOL = 1e-6
#: Default iteration cap.
DEFAULT_MAX_ITER = 2000


#: Relative rounding slack of objective comparisons (see :func:`reconstruct`, Notes).
OBJECTIVE_RTOL = 1e-13


def _slack(f):
    return OBJECTIVE_RTOL * max(abs(f), 1e-300)


class ReconstructionWarning(TVSplineWarning):
    """A reconstruction stopped before its gradient norm reached the tolerance."""


@dataclass(frozen=True)
class ReconstructionResult:
    """Result of :func:`reconstruct`.

    Attributes
    ----------
    x : ndarray
        The reconstruction.
    objective : ndarray
        ``f(x_k)`` for ``k = 0..n_iter`` (non-increasing up to ``1e-13`` relative rounding).
    n_iter : int
        Number of iterations.
    grad_norm : float
        ``||grad f(x)||`` at the returned ``x``.
    converged : bool
        ``grad_norm <= tol``.
    method : str
        ``"fista"``, ``"gd"`` or ``"lbfgs"``.
    convex : bool
        Whether the objective is certified convex.
    step : float
        The step ``1 / L_f``.
    n_restarts : int
        Number of FISTA restarts (also those of the FISTA finish of ``"lbfgs"``; else 0).
    message : str
        Why the iteration stopped.
    """

    x: np.ndarray
    objective: np.ndarray
    n_iter: int
    grad_norm: float
    converged: bool
    method: str
    convex: bool
    step: float
    n_restarts: int
    message: str

    @property
    def fun(self) -> float:
        """The final objective ``f(x)``."""
        return float(self.objective[-1])

    def __repr__(self):
        return (
            f"ReconstructionResult(converged={self.converged}, method={self.method!r}, n_iter={self.n_iter}, "
            f"fun={self.fun:.10g}, grad_norm={self.grad_norm:.3g}, convex={self.convex}, "
            f"n_restarts={self.n_restarts}, message={self.message!r})"
        )


def reconstruct(y, forward, regularizer, alpha: float, x0=None, *, max_iter: int = DEFAULT_MAX_ITER,
                tol: float = DEFAULT_TOL, method: str = "auto") -> ReconstructionResult:
    """Minimise ``1/2 ||H x - y||^2 + alpha R(x)`` (module docstring).

    Parameters
    ----------
    y : array_like
        Measurements, shape of ``forward.forward(x)``.
    forward : operator
        An object with ``forward``, ``adjoint`` and ``norm_squared()`` (and optionally
        ``min_eigenvalue()``, default 0), e.g. :class:`~tvspline.imaging.Identity`,
        :class:`~tvspline.imaging.GaussianBlur`, :class:`~tvspline.imaging.ParallelBeamCT`.
    regularizer : RidgeRegularizer
        Or any object with ``value_and_grad``, ``lipschitz_gradient()`` and ``weak_convexity()``.
    alpha : float
        Regularisation weight, ``>= 0``.
    x0 : array_like, optional
        Starting image; default ``y`` for :class:`Identity`, zeros otherwise.
    max_iter : int
        Iteration cap (``>= 0``).
    tol : float
        Stop when the gradient norm is ``<= tol`` (``> 0``).
    method : {"auto", "fista", "gd", "lbfgs"}
        See the module docstring.

    Returns
    -------
    ReconstructionResult

    Raises
    ------
    ValueError
        If ``y`` or ``x0`` is not finite, ``alpha < 0``, ``tol <= 0``, ``max_iter < 0`` or
        ``method`` is unknown.

    Warns
    -----
    ReconstructionWarning
        If the gradient norm did not reach ``tol``.

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline import LinearSpline
    >>> from tvspline.imaging import RidgeRegularizer, Identity, dct_bank, reconstruct
    >>> W = dct_bank(3).normalized()
    >>> reg = RidgeRegularizer(W, [LinearSpline([-0.05, 0.05], [-0.05, 0.05])] * 8)  # sigma_i(t) = t
    >>> y = np.random.default_rng(0).random((24, 24))
    >>> res = reconstruct(y, Identity(), reg, alpha=0.5, tol=1e-8)
    >>> res.converged, res.method, bool(np.all(np.diff(res.objective) <= 1e-13 * res.objective[:-1]))
    (True, 'fista', True)

    The same minimiser by L-BFGS (the objective is 1-strongly convex, so two images with gradient
    norms at most ``tol`` are within ``2 tol``):

    >>> fast = reconstruct(y, Identity(), reg, alpha=0.5, tol=1e-8, method="lbfgs")
    >>> fast.converged, fast.n_iter < res.n_iter, bool(np.linalg.norm(fast.x - res.x) <= 2e-8)
    (True, True, True)
    """
    y = np.asarray(y, dtype=np.float64)
    if not np.isfinite(y).all():
        raise ValueError("y must be finite, got NaN or infinite values")
    try:
        alpha = float(alpha)
    except (TypeError, ValueError):
        raise TypeError(f"alpha must be a real number, got {alpha!r}") from None
    if not (alpha >= 0 and math.isfinite(alpha)):
        raise ValueError(f"alpha must be >= 0 and finite, got {alpha!r}")
    tol = float(tol)
    if not (tol > 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be > 0 and finite, got {tol!r}")
    if not (isinstance(max_iter, (int, np.integer)) and not isinstance(max_iter, bool) and max_iter >= 0):
        raise ValueError(f"max_iter must be an integer >= 0, got {max_iter!r}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(map(repr, METHODS))}")

    if x0 is None:
        x = y.copy() if isinstance(forward, Identity) else np.zeros_like(forward.adjoint(y))
    else:
        x = np.array(x0, dtype=np.float64, copy=True)
        if not np.isfinite(x).all():
            raise ValueError("x0 must be finite, got NaN or infinite values")

    lip = float(forward.norm_squared()) + alpha * float(regularizer.lipschitz_gradient())
    if not (lip > 0 and math.isfinite(lip)):
        raise ValueError(f"the Lipschitz constant of the gradient must be > 0 and finite, got {lip!r}")
    step = 1.0 / lip
    min_eig = float(getattr(forward, "min_eigenvalue", lambda: 0.0)())
    convex = min_eig - alpha * float(regularizer.weak_convexity()) >= 0
    if method == "auto":
        method = "fista" if convex else "gd"

    def fg(v):
        # overflow on an unbounded objective is detected below (non-finite values), not warned
        with np.errstate(over="ignore", invalid="ignore"):
            r = forward.forward(v) - y
            val, g = regularizer.value_and_grad(v)
            return 0.5 * float(np.vdot(r, r)) + alpha * val, forward.adjoint(r) + alpha * g

    if method == "lbfgs":
        x, history, k, gn, message, stalled = _lbfgs(fg, x, tol, max_iter)
        n_restarts = 0
        if stalled:
            # f no longer decreases to rounding: finish with the certified steps (module docstring)
            finish = "fista" if convex else "gd"
            x, more, k_more, gn, n_restarts, message = _first_order(fg, x, step, tol, max_iter - k, finish)
            history += more[1:]
            k += k_more
            message = f"L-BFGS-B stalled after {k - k_more} iterations, then {finish}: {message}"
    else:
        x, history, k, gn, n_restarts, message = _first_order(fg, x, step, tol, max_iter, method)
    converged = gn <= tol
    if not converged:
        warnings.warn(
            f"reconstruction did not converge: {message}; gradient norm {gn:.3g}, tolerance {tol:.3g}, "
            f"{k} iterations ({method}). Increase max_iter or tol.",
            ReconstructionWarning,
            stacklevel=2,
        )
    return ReconstructionResult(
        x=x, objective=np.array(history), n_iter=k, grad_norm=gn, converged=converged, method=method,
        convex=bool(convex), step=step, n_restarts=n_restarts, message=message,
    )


def _unbounded_message(f, k):
    return (f"the objective or its gradient became non-finite (objective {f!r}) after {k} iterations: it is unbounded below "
            "(e.g. profiles with negative end slopes, whose potentials go to -inf)")


def _first_order(fg, x, step, tol, max_iter, method):
    """Monotone FISTA (``method="fista"``) or gradient descent from ``x`` (module docstring)."""
    f, g = fg(x)
    history = [f]
    gn = float(np.linalg.norm(g))
    z, gz, t = x, g, 1.0
    n_restarts = 0
    message = f"reached max_iter={max_iter}"
    k = 0
    while True:
        if gn <= tol:
            message = f"gradient norm {gn:.3g} <= tol {tol:.3g}"
            break
        if k >= max_iter:
            break
        x_new = z - step * gz
        f_new, g_new = fg(x_new)
        beta = 0.0
        if z is not x and f_new > f + _slack(f):
            # restart: drop the momentum, take the plain gradient step from x (a descent step)
            n_restarts += 1
            x_new = x - step * g
            f_new, g_new = fg(x_new)
            t = 1.0
        elif method == "fista":
            t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
            beta = (t - 1.0) / t_new
            t = t_new
        with np.errstate(over="ignore", invalid="ignore"):
            gn_new = float(np.linalg.norm(g_new))
        if not (math.isfinite(f_new) and math.isfinite(gn_new)):
            message = _unbounded_message(f_new, k)
            break
        if f_new > f + _slack(f):
            # a plain gradient step with step 1/L_f cannot increase f beyond rounding: stop
            message = f"objective increased from {f:.17g} to {f_new:.17g} on a gradient step (rounding level)"
            break
        x_prev = x
        x, f, g, gn = x_new, f_new, g_new, gn_new
        k += 1
        history.append(f)
        if beta > 0:
            z = x + beta * (x - x_prev)
            _, gz = fg(z)
        else:
            z, gz = x, g
    return x, history, k, gn, n_restarts, message


def _lbfgs(fg, x, tol, max_iter):
    """SciPy's L-BFGS-B from ``x``, stopped when the gradient norm is ``<= tol`` (module docstring).

    Returns the last accepted iterate, the objective history, the iteration count, the gradient
    norm, a message and whether L-BFGS-B stopped on its own before the gradient test was met
    (typically: no more decrease of ``f`` to rounding).
    """
    shape = x.shape
    last = {}

    def fun(v):
        xv = v.reshape(shape)
        f, g = fg(xv)
        last.update(v=v.copy(), f=f, g=g)
        return f, g.ravel()

    def at(v):
        # the line search's last evaluation is the accepted iterate: reuse it
        if "v" not in last or not np.array_equal(last["v"], v):
            fun(v)
        return last["f"], float(np.linalg.norm(last["g"]))

    f0, gn = at(x.ravel())
    history = [f0]
    if gn <= tol or max_iter == 0:
        message = f"gradient norm {gn:.3g} <= tol {tol:.3g}" if gn <= tol else f"reached max_iter={max_iter}"
        return x, history, 0, gn, message, False
    state = {"gn": gn, "x": x, "message": None}  # the last accepted iterate; why the callback stopped

    def callback(intermediate_result):
        f, gn = at(intermediate_result.x)
        if not (math.isfinite(f) and math.isfinite(gn)):  # not accepted: the last finite iterate stays
            state["message"] = _unbounded_message(f, len(history) - 1)
            raise StopIteration
        history.append(f)
        state["gn"], state["x"] = gn, intermediate_result.x.reshape(shape).copy()
        if gn <= tol:
            state["message"] = f"gradient norm {gn:.3g} <= tol {tol:.3g}"
            raise StopIteration

    # One BLAS thread: L-BFGS-B's small vector operations ran 3.5x slower on OpenBLAS's two
    # threads than on one (measured at 128x128, README).
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow: reported through the message
        res = optimize.minimize(fun, x.ravel(), jac=True, method="L-BFGS-B", callback=callback,
                                options=dict(maxiter=max_iter, maxfun=max(20 * max_iter, 100), gtol=0.0,
                                             ftol=0.0))
    k = len(history) - 1
    message = state["message"]
    stalled = message is None and k < max_iter
    if message is None:
        message = f"reached max_iter={max_iter}" if k >= max_iter else f"L-BFGS-B stopped: {res.message}"
    return state["x"], history, k, state["gn"], message, stalled
