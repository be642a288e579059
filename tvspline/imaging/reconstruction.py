r"""Variational reconstruction with a ridge regulariser, by the engine of :mod:`tvspline.imaging.engine`.

.. math::

    \min_x \; f(x) = \tfrac12 \|Hx - y\|^2 + \alpha R(x), \qquad
    \nabla f(x) = H^T(Hx - y) + \alpha \nabla R(x).

Constants, all certified (:mod:`tvspline.imaging.operators`, :mod:`tvspline.imaging.ridge`):
:math:`\nabla f` is :math:`L_f`-Lipschitz with
:math:`L_f = \|H\|^2 + \alpha\,\mathrm{Lip}(\nabla R)`, and :math:`f` is convex when
:math:`\lambda_{\min}(H^T H) - \alpha\,\rho_R \ge 0` (:math:`\rho_R` the weak-convexity modulus of
:math:`R`; for denoising :math:`1 - \alpha\rho_R \ge 0`; tested with a relative slack of 4 ulps,
:func:`~tvspline.imaging.engine.certified_convex`). The step is :math:`\tau = 1 / L_f`.

Stopping rule (all methods). The iteration stops when

.. math::

    \|\nabla f(x_k)\|_2 \le \mathrm{tol} \cdot \|H^T y\|_2 ,

a tolerance *relative* to the gradient of :math:`f` at the zero image (:math:`\nabla f(0) = -H^T y`,
since every profile vanishes at 0): it does not depend on the starting point, on the image size
or on the scale of :math:`y` (when :math:`H^T y = 0` the right-hand side is ``tol``). For
denoising, :math:`\|y\|_2` is :math:`\sqrt{N}` times the root-mean-square pixel value, so
``tol = 1e-4`` asks for a root-mean-square gradient about :math:`10^{-4}` times the mean grey
level. The default :data:`DEFAULT_TOL` was chosen by measurement
(``benchmarks/reconstruction_methods.py``): denoising with it changes the PSNR by less than
0.01 dB against a solve at ``tol = 1e-8``.

``method="fista"``
    FISTA with gradient restart (:func:`~tvspline.imaging.engine.fista_stack`): one gradient
    evaluation per iteration, the momentum dropped whenever it points uphill. The accelerated
    rate holds for convex :math:`f`.
``method="gd"``
    Gradient descent with step :math:`1/L_f`: monotone, and every limit point is stationary
    (:math:`\sum_k \|\nabla f(x_k)\|^2 \le 2 L_f (f(x_0) - \inf f)`) even when :math:`f` is not
    convex, which is the case of a weakly convex :math:`R` with a large :math:`\alpha\rho_R`.
``method="lbfgs"``
    Limited-memory BFGS (SciPy's L-BFGS-B, no bounds, 10 correction pairs) with its line search,
    stopped by the same gradient-norm test. If L-BFGS-B stops first (near the solution the decrease
    it needs falls below the rounding error of :math:`f`), the iteration continues from its last
    iterate with the engine (FISTA for convex :math:`f`, gradient descent otherwise) within the same
    ``max_iter``. Its steps owe nothing to the certified constants and no rate is certified here:
    the result is judged on its gradient norm alone, like the others.
``method="engine"``
    FISTA when the convexity test holds, gradient descent otherwise.
``method="auto"`` (default)
    ``"lbfgs"``, chosen by measurement (``benchmarks/reconstruction_methods.py``, one 481x321
    image at sigma = 25/255, ``tol = 1e-4``, the shipped models and 24-filter 5x5 models): about
    half the iterations of ``"engine"``, 10-30 % less time in all but one case, and PSNRs closer
    to the tight solve.

The result says whether the tolerance was met (``converged``); when it was not (``max_iter``
reached, or an objective unbounded below), a :class:`ReconstructionWarning` gives the numbers.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from threadpoolctl import threadpool_limits

from ..exceptions import TVSplineWarning
from .engine import certified_convex, fista_stack
from .operators import Identity

__all__ = ["reconstruct", "ReconstructionResult", "ReconstructionWarning", "METHODS", "DEFAULT_TOL"]

METHODS = ("auto", "engine", "fista", "gd", "lbfgs")
#: Default relative stopping tolerance: ``||grad f(x)|| <= DEFAULT_TOL * ||H^T y||`` (module docstring).
DEFAULT_TOL = 1e-4
#: Default iteration cap.
DEFAULT_MAX_ITER = 5000


class ReconstructionWarning(TVSplineWarning):
    """A reconstruction stopped before its gradient norm reached the tolerance (the message gives
    the gradient norm, the threshold and the iteration count).

    Examples
    --------
    >>> from tvspline.exceptions import TVSplineWarning
    >>> from tvspline.imaging import ReconstructionWarning
    >>> issubclass(ReconstructionWarning, TVSplineWarning)
    True
    """


@dataclass(frozen=True)
class ReconstructionResult:
    """Result of :func:`reconstruct`.

    Attributes
    ----------
    x : ndarray
        The reconstruction.
    objective : ndarray
        With ``record_objective=True``, ``f`` at every point where the gradient was evaluated
        (``n_iter + 1`` values, the last at ``x``); otherwise the single value ``f(x)``.
    n_iter : int
        Number of iterations.
    grad_norm : float
        ``||grad f(x)||_2`` at the returned ``x``.
    threshold : float
        The stopping threshold ``tol * ||H^T y||`` on ``grad_norm``.
    converged : bool
        ``grad_norm <= threshold``.
    method : str
        ``"fista"``, ``"gd"`` or ``"lbfgs"``.
    convex : bool
        Whether the objective is certified convex.
    step : float
        The step ``1 / L_f``.
    n_restarts : int
        Number of momentum restarts of the engine (also in the finish of ``"lbfgs"``).
    message : str
        Why the iteration stopped.

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline.imaging import load_image, pretrained
    >>> x = load_image("camera", 32)
    >>> y = x + 0.1 * np.random.default_rng(0).standard_normal(x.shape)
    >>> res = pretrained("convex").denoise(y, 0.1)
    >>> res.x.shape, bool(res.converged)
    ((32, 32), True)
    """

    x: np.ndarray
    objective: np.ndarray
    n_iter: int
    grad_norm: float
    threshold: float
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
            f"fun={self.fun:.10g}, grad_norm={self.grad_norm:.3g}, threshold={self.threshold:.3g}, "
            f"convex={self.convex}, n_restarts={self.n_restarts}, message={self.message!r})"
        )


def reconstruct(y, forward, regularizer, alpha: float, x0=None, *, max_iter: int = DEFAULT_MAX_ITER,
                tol: float = DEFAULT_TOL, method: str = "auto", record_objective: bool = False) -> ReconstructionResult:
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
        Or any object with ``grad``, ``value_and_grad``, ``lipschitz_gradient()`` and
        ``weak_convexity()``.
    alpha : float
        Regularisation weight, ``>= 0``.
    x0 : array_like, optional
        Starting image; default ``y`` for :class:`Identity`, zeros otherwise.
    max_iter : int
        Iteration cap (``>= 0``).
    tol : float
        Relative tolerance (``> 0``): stop when ``||grad f(x)|| <= tol * ||H^T y||``.
    method : {"auto", "engine", "fista", "gd", "lbfgs"}
        See the module docstring.
    record_objective : bool
        Record ``f`` at every iterate (costs the potentials at every iteration).

    Returns
    -------
    ReconstructionResult

    Raises
    ------
    ValueError
        If ``y`` or ``x0`` is not finite, ``alpha < 0``, ``tol <= 0``, ``max_iter < 0`` or
        ``method`` is unknown.
    TypeError
        If ``alpha`` is not a real number.

    Warns
    -----
    ReconstructionWarning
        If the gradient norm did not reach the threshold.

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline import LinearSpline
    >>> from tvspline.imaging import RidgeRegularizer, Identity, dct_bank, reconstruct
    >>> W = dct_bank(3).normalized()
    >>> reg = RidgeRegularizer(W, [LinearSpline([-0.05, 0.05], [-0.05, 0.05])] * 8)  # sigma_i(t) = t
    >>> y = np.random.default_rng(0).random((24, 24))
    >>> res = reconstruct(y, Identity(), reg, alpha=0.5, tol=1e-10)
    >>> res.converged, res.method, bool(res.grad_norm <= 1e-10 * np.linalg.norm(y))
    (True, 'lbfgs', True)

    The same minimiser by the engine, here FISTA (the objective is 1-strongly convex, so two images
    with gradient norms at most ``threshold`` are within ``2 threshold``):

    >>> acc = reconstruct(y, Identity(), reg, alpha=0.5, tol=1e-10, method="engine")
    >>> acc.converged, acc.method, bool(np.linalg.norm(acc.x - res.x) <= 2 * res.threshold)
    (True, 'fista', True)
    """
    y = np.asarray(y, dtype=np.float64)
    if not np.isfinite(y).all():
        raise ValueError("y must be finite, got NaN or infinite values")
    if isinstance(alpha, bool):
        raise TypeError(f"alpha must be a real number, got {alpha!r}")
    try:
        alpha = float(alpha)
    except (TypeError, ValueError):
        raise TypeError(f"alpha must be a real number, got {alpha!r}") from None
    if not (alpha >= 0 and math.isfinite(alpha)):
        raise ValueError(f"alpha must be >= 0 and finite, got {alpha!r}")
    try:
        tol = float(tol)
    except (TypeError, ValueError):
        raise TypeError(f"tol must be a real number, got {tol!r}") from None
    if not (tol > 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be > 0 and finite, got {tol!r}")
    if not (isinstance(max_iter, (int, np.integer)) and not isinstance(max_iter, bool) and max_iter >= 0):
        raise ValueError(f"max_iter must be an integer >= 0, got {max_iter!r}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(map(repr, METHODS))}")

    identity = isinstance(forward, Identity)
    hty = y if identity else forward.adjoint(y)
    if x0 is None:
        x = y.copy() if identity else np.zeros_like(hty)
    else:
        x = np.array(x0, dtype=np.float64, copy=True)
        if not np.isfinite(x).all():
            raise ValueError("x0 must be finite, got NaN or infinite values")
        if x.shape != hty.shape:
            raise ValueError(f"x0 must have the image shape {hty.shape}, got {x.shape}")

    lip = float(forward.norm_squared()) + alpha * float(regularizer.lipschitz_gradient())
    if not (lip > 0 and math.isfinite(lip)):
        raise ValueError(f"the Lipschitz constant of the gradient must be > 0 and finite, got {lip!r}")
    step = 1.0 / lip
    min_eig = float(getattr(forward, "min_eigenvalue", lambda: 0.0)())
    convex = bool(certified_convex(alpha, float(regularizer.weak_convexity()), min_eig))
    if method == "auto":
        method = "lbfgs"
    elif method == "engine":
        method = "fista" if convex else "gd"
    scale = float(np.linalg.norm(hty))
    threshold = tol * (scale if scale > 0 else 1.0)
    grad_of = getattr(regularizer, "grad", None) or (lambda v: regularizer.value_and_grad(v)[1])

    def objective(v):
        r = v - y if identity else forward.forward(v) - y
        return 0.5 * float(np.vdot(r, r)) + alpha * float(regularizer.value_and_grad(v)[0])

    def fg(v):
        # overflow on an unbounded objective is detected by the callers (non-finite values), not warned
        with np.errstate(over="ignore", invalid="ignore"):
            r = v - y if identity else forward.forward(v) - y
            val, g = regularizer.value_and_grad(v)
            return 0.5 * float(np.vdot(r, r)) + alpha * val, (r if identity else forward.adjoint(r)) + alpha * g

    def engine(x_start, budget, accelerate):
        local = []

        def grad(z):
            v = z[0]
            with np.errstate(over="ignore", invalid="ignore"):
                if record_objective:
                    f, g = fg(v)
                    local.append(f)
                    return g[None]
                r = v - y if identity else forward.forward(v) - y
                return ((r if identity else forward.adjoint(r)) + alpha * grad_of(v))[None]

        npix = x_start.size
        with np.errstate(over="ignore", invalid="ignore"):
            res = fista_stack(grad, x_start[None], step, threshold / math.sqrt(npix), budget, accelerate)
        return res, float(res.grad_rms[0]) * math.sqrt(npix), local[: res.n_iter + 1]

    n_restarts = 0
    if method == "lbfgs":
        x, history, k, gn, message, stalled = _lbfgs(fg, x, threshold, max_iter)
        if stalled:
            # f no longer decreases to rounding: finish with the engine (module docstring)
            finish = "fista" if convex else "gd"
            res, gn, more = engine(x, max_iter - k, finish == "fista")
            x, n_restarts = res.x[0], int(res.n_restarts[0])
            history += more[1:]
            message = (f"L-BFGS-B stalled after {k} iterations, then {finish}: "
                       + _message(res.finite, gn, threshold, max_iter - k, res.n_iter, f"{finish} "))
            k += res.n_iter
        obj = np.array(history if record_objective else ([objective(x)] if stalled else history[-1:]))
    else:
        res, gn, history = engine(x, max_iter, method == "fista")
        x, k, n_restarts = res.x[0], res.n_iter, int(res.n_restarts[0])
        message = _message(res.finite, gn, threshold, max_iter, k, "")
        obj = np.array(history) if record_objective else np.array([objective(x)])
    converged = gn <= threshold
    if not converged:
        warnings.warn(
            f"reconstruction did not converge: {message}; gradient norm {gn:.3g} > threshold {threshold:.3g} "
            f"(tol {tol:.3g} x ||H^T y|| {scale:.3g}) after {k} iterations ({method}). Increase max_iter or tol.",
            ReconstructionWarning,
            stacklevel=2,
        )
    return ReconstructionResult(
        x=x, objective=obj, n_iter=k, grad_norm=gn, threshold=threshold, converged=converged, method=method,
        convex=convex, step=step, n_restarts=n_restarts, message=message,
    )


def _message(finite, gn, threshold, budget, k, what):
    if not finite:
        return (f"the gradient became non-finite after {k} {what}iterations: the objective is unbounded below "
                "(e.g. profiles with negative end slopes, whose potentials go to -inf)")
    if gn <= threshold:
        return f"gradient norm {gn:.3g} <= threshold {threshold:.3g}"
    return f"reached max_iter={budget}"


def _lbfgs(fg, x, threshold, max_iter):
    """SciPy's L-BFGS-B from ``x``, stopped when the gradient norm is ``<= threshold``.

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
    if not (math.isfinite(f0) and math.isfinite(gn)):
        return x, history, 0, gn, _message(False, gn, threshold, max_iter, 0, "L-BFGS-B "), False
    if gn <= threshold or max_iter == 0:
        return x, history, 0, gn, _message(True, gn, threshold, max_iter, 0, ""), False
    state = {"gn": gn, "x": x, "message": None}  # the last accepted iterate; why the callback stopped

    def callback(intermediate_result):
        f, gn = at(intermediate_result.x)
        if not (math.isfinite(f) and math.isfinite(gn)):  # not accepted: the last finite iterate stays
            state["message"] = _message(False, gn, threshold, max_iter, len(history) - 1, "L-BFGS-B ")
            raise StopIteration
        history.append(f)
        state["gn"], state["x"] = gn, intermediate_result.x.reshape(shape).copy()
        if gn <= threshold:
            state["message"] = _message(True, gn, threshold, max_iter, 0, "")
            raise StopIteration

    # One BLAS thread: L-BFGS-B's small vector operations ran 3.5x slower on OpenBLAS's two
    # threads than on one (measured at 128x128).
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
