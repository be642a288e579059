r"""The 1-D regression targets of the Lipschitz paper (Ducotterd et al., JMLR 2024).

Five 1-Lipschitz targets on :math:`[-1, 1]`, defined as in the authors' public experiments:

- ``"f1"``: 9 knots :math:`t_1 < \dots < t_9`, the sorted draws of 9 uniform numbers on
  :math:`[-1, 1]`; the slope is :math:`+1` on :math:`(-1, t_1)` and changes sign at every knot,

  .. math:: f_1(x) = (x + 1)_+ + 2 \sum_{i=1}^{9} (-1)^i (x - t_i)_+ - m_1;

- ``"f2"``: 9 sorted uniform knots on :math:`[-1, 1]`; the slope is :math:`+1` on
  :math:`(-1, t_1)` and, at every knot, moves to one of the two *other* values of
  :math:`\{-1, 0, 1\}`, each with probability 1/2, so that every knot is a kink;
- ``"f3"``: :math:`f_3(x) = \cos(7\pi x) / (7\pi)`, whose derivative :math:`-\sin(7\pi x)` has
  magnitude at most 1;
- ``"sawtooth"``: four triangles of height 1/4 and slopes :math:`\pm 1` centred at
  :math:`\pm 1/4, \pm 3/4`, minus 1/8: knots every 1/4 from -1 to 1, values alternating
  :math:`-1/8, 1/8, -1/8, \dots`;
- ``"threshold"``: with :math:`\tau = 1/20`, :math:`x + 2\tau` for :math:`x \le -\tau`,
  :math:`-x` on :math:`[-\tau, \tau]`, :math:`x - 2\tau` for :math:`x \ge \tau`.

Each is centred to zero mean on :math:`[-1, 1]` (:math:`\int_{-1}^{1} f = 0`): ``f3``,
``sawtooth`` and ``threshold`` as they stand; ``f1`` and ``f2`` by subtracting the mean
:math:`m = \tfrac12 \int_{-1}^{1}(\dots)`, computed in closed form from the knots. The
piecewise-linear targets are :class:`~tvspline.LinearSpline` objects whose stored values are
nudged by at most a few ulps so that every recomputed slope lies in :math:`[-1, 1]`: they are
1-Lipschitz in floating point too.

Seeds. For an integer seed ``s`` the knots (and the ``f2`` slope choices) are drawn exactly as the
authors' code draws them for seed ``s``: 9 numbers ``rand`` of NumPy's legacy
``RandomState(s)`` (``f1``), or the last 9 of 18 such numbers followed by one ``randint(2)`` per
knot (``f2``). Seed ``s`` therefore gives the authors' target for seed ``s``. A local
``RandomState`` is used; NumPy's global random state is never touched. A
:class:`numpy.random.Generator` draws the same quantities from its own stream. The training
inputs come from ``numpy.random.default_rng(s)`` (or the Generator), uniform on :math:`[-1, 1]`;
the test set is the noise-free target on ``numpy.linspace(-1, 1, n_test)``, as in the paper
(1000 training points, 10 000 test points).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from ._enforce import enforce_slope_bounds
from ._random import as_generator
from ._validate import check_choice
from .spline import LinearSpline

__all__ = ["CosineTarget", "RegressionData", "lipschitz_target", "lipschitz_regression", "KINDS"]

KINDS = ("f1", "f2", "f3", "sawtooth", "threshold")
N_KNOTS = 9
THRESHOLD_TAU = 1.0 / 20.0


@dataclass(frozen=True)
class CosineTarget:
    r"""The 1-Lipschitz cosine :math:`f(x) = \cos(\omega x) / \omega` (``f3``: :math:`\omega = 7\pi`).

    A plain-data callable (it pickles, unlike a closure) with the same small interface as
    :class:`~tvspline.LinearSpline`: ``f(x)``, ``f.derivative(x)`` and ``f.lipschitz_constant()``.

    Parameters
    ----------
    frequency : float
        The angular frequency :math:`\omega > 0`.

    Examples
    --------
    >>> import math
    >>> f = CosineTarget()
    >>> round(f(0.0) * 7 * math.pi, 12), f.lipschitz_constant()
    (1.0, 1.0)
    """

    frequency: float = 7.0 * math.pi

    def __post_init__(self):
        w = float(self.frequency)
        if not (math.isfinite(w) and w > 0):
            raise ValueError(f"frequency must be finite and > 0, got {self.frequency!r}")

    def __call__(self, x):
        """Evaluate at ``x`` (scalar or array)."""
        out = np.cos(self.frequency * np.asarray(x, dtype=np.float64)) / self.frequency
        return out if out.ndim else float(out)

    def derivative(self, x):
        r"""The derivative :math:`-\sin(\omega x)`."""
        out = -np.sin(self.frequency * np.asarray(x, dtype=np.float64))
        return out if out.ndim else float(out)

    def lipschitz_constant(self) -> float:
        """``max |f'| = 1``."""
        return 1.0


Target = Callable[[np.ndarray], np.ndarray]


class RegressionData(NamedTuple):
    """Training and test data of one 1-D regression experiment (unpacks as a 5-tuple).

    Examples
    --------
    >>> from tvspline.datasets import lipschitz_regression
    >>> d = lipschitz_regression("f3", n_train=5, n_test=7, random_state=0)
    >>> d.x_train.shape, d.x_test.shape
    ((5,), (7,))
    """

    x_train: np.ndarray
    """Training inputs, shape ``(n_train,)``, uniform in [-1, 1]."""
    y_train: np.ndarray
    """Training outputs ``target(x_train)`` plus Gaussian noise, shape ``(n_train,)``."""
    x_test: np.ndarray
    """Test inputs, a uniform grid of ``n_test`` points from -1 to 1."""
    y_test: np.ndarray
    """Noise-free test outputs ``target(x_test)``."""
    target: Target
    """The target function (a :class:`~tvspline.LinearSpline` or a :class:`CosineTarget`)."""


class _Stream:
    """Uniform numbers and fair bits from a legacy ``RandomState`` (integer seeds) or a Generator."""

    def __init__(self, random_state):
        if isinstance(random_state, numbers.Integral) and not isinstance(random_state, (bool, np.bool_)):
            as_generator(random_state)  # same validation (non-negative) as everywhere else
            self._legacy = np.random.RandomState(int(random_state))
            self._gen = None
        else:
            self._legacy = None
            self._gen = as_generator(random_state)

    def uniform01(self, n):
        return self._legacy.rand(n) if self._legacy is not None else self._gen.random(n)

    def bit(self):
        return int(self._legacy.randint(2)) if self._legacy is not None else int(self._gen.integers(2))


def _from_slopes(knots, slopes):
    """The zero-mean spline on ``knots`` (first one at -1, last at 1) with the given slopes."""
    h = np.diff(knots)
    values = np.concatenate([[0.0], np.cumsum(slopes * h)])
    mean = float(np.sum(h * (values[:-1] + values[1:]))) / 4.0  # (1/2) * trapezoid integral, exact
    values = values - mean
    return LinearSpline(knots, enforce_slope_bounds(knots, values, -1.0, 1.0))


def _f2_slopes(stream, n):
    """Slopes of ``f2``: start at +1; at every knot one of the two other values of {-1, 0, 1}."""
    # the authors' rule: from +1 a bit b moves to 0 (b = 0) or -1 (b = 1); from 0 to -1 or +1;
    # from -1 to 0 or +1
    moves = {1: (0, -1), 0: (-1, 1), -1: (0, 1)}
    slopes = [1]
    for _ in range(n):
        slopes.append(moves[slopes[-1]][stream.bit()])
    return np.array(slopes, dtype=np.float64)


def lipschitz_target(kind: str, random_state=None):
    """A 1-Lipschitz target function of the Lipschitz paper's 1-D experiments.

    Parameters
    ----------
    kind : {"f1", "f2", "f3", "sawtooth", "threshold"}
        The target; see the module docstring for the definitions.
    random_state : None, int or numpy.random.Generator
        Seed of the knots and slopes of ``f1`` and ``f2`` (an integer gives the authors' target
        for that seed). The other targets draw nothing.

    Returns
    -------
    LinearSpline or CosineTarget
        A callable ``f(x)`` with ``f.derivative(x)`` and ``f.lipschitz_constant()``, centred to
        zero mean on [-1, 1]. ``f1``/``f2``: a :class:`~tvspline.LinearSpline` with knots
        ``[-1, t_1, ..., t_9, 1]``; ``sawtooth``: knots every 1/4 on [-1, 1]; ``threshold``:
        knots ``[-1, -1/20, 1/20, 1]``. Each extends linearly beyond [-1, 1].

    Raises
    ------
    ValueError
        If ``kind`` is unknown or ``random_state`` is a negative integer.
    TypeError
        If ``random_state`` is not None, an int or a Generator.

    Examples
    --------
    >>> f = lipschitz_target("f1", random_state=0)
    >>> f.knots.size, [round(s) for s in f.slopes]
    (11, [1, -1, 1, -1, 1, -1, 1, -1, 1, -1])
    >>> g = lipschitz_target("threshold")
    >>> [round(float(v), 12) for v in g([-0.5, 0.5])], g.slopes.round(12).tolist()
    ([-0.4, 0.4], [1.0, -1.0, 1.0])
    """
    check_choice(kind, "kind", KINDS)
    stream = _Stream(random_state)
    if kind == "f3":
        return CosineTarget(7.0 * math.pi)
    if kind == "sawtooth":
        knots = np.linspace(-1.0, 1.0, 9)
        return LinearSpline(knots, np.where(np.arange(9) % 2 == 0, -0.125, 0.125))
    if kind == "threshold":
        tau = THRESHOLD_TAU
        knots = np.array([-1.0, -tau, tau, 1.0])
        values = np.array([-1.0 + 2 * tau, tau, -tau, 1.0 - 2 * tau])
        return LinearSpline(knots, enforce_slope_bounds(knots, values, -1.0, 1.0))
    if kind == "f1":
        t = np.sort(2.0 * stream.uniform01(N_KNOTS) - 1.0)
        slopes = np.where(np.arange(N_KNOTS + 1) % 2 == 0, 1.0, -1.0)
    else:
        t = np.sort(2.0 * stream.uniform01(2 * N_KNOTS)[N_KNOTS:] - 1.0)
        slopes = _f2_slopes(stream, N_KNOTS)
    knots = np.concatenate([[-1.0], t, [1.0]])
    if not np.all(np.diff(knots) > 0):  # a tie or a draw at exactly -1 (probability ~ 1e-15)
        raise ValueError(f"the knots drawn for random_state={random_state!r} are not distinct: {t!r}")
    return _from_slopes(knots, slopes)


def _check_count(value, name: str, minimum: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def lipschitz_regression(
    kind: str,
    n_train: int = 1000,
    n_test: int = 10_000,
    noise: float = 0.0,
    random_state=None,
) -> RegressionData:
    """Training and test data for 1-D regression of a 1-Lipschitz target.

    The target is :func:`lipschitz_target` ``(kind, random_state)``; then ``x_train ~ U[-1, 1]``
    i.i.d. and ``y_train = target(x_train) + noise * N(0, 1)``, drawn from
    ``numpy.random.default_rng(random_state)`` (or from the Generator after the target). The
    test set is the noise-free target on ``numpy.linspace(-1, 1, n_test)``.

    Parameters
    ----------
    kind : {"f1", "f2", "f3", "sawtooth", "threshold"}
        The target, see :func:`lipschitz_target`.
    n_train : int, default 1000
        Number of training points (>= 1).
    n_test : int, default 10000
        Number of test grid points (>= 2).
    noise : float, default 0.0
        Standard deviation of the Gaussian noise on the training outputs (finite, >= 0).
    random_state : None, int or numpy.random.Generator
        Seed of the target and the training inputs and noise.

    Returns
    -------
    RegressionData
        The named tuple ``(x_train, y_train, x_test, y_test, target)``.

    Raises
    ------
    ValueError
        For an unknown ``kind``, ``n_train < 1``, ``n_test < 2``, a negative or non-finite
        ``noise`` or a negative integer ``random_state``.
    TypeError
        For non-integer counts, a non-real ``noise`` or a bad ``random_state``.

    Examples
    --------
    >>> x, y, xt, yt, f = lipschitz_regression("f2", n_train=50, n_test=11, random_state=1)
    >>> x.shape, xt.shape, bool((y == f(x)).all())
    ((50,), (11,), True)
    """
    check_choice(kind, "kind", KINDS)
    n_train = _check_count(n_train, "n_train", 1)
    n_test = _check_count(n_test, "n_test", 2)
    try:
        sigma = float(noise)
    except (TypeError, ValueError):
        raise TypeError(f"noise must be a real number, got {type(noise).__name__} {noise!r}") from None
    if not (math.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"noise must be finite and >= 0, got {noise!r}")
    if isinstance(random_state, np.random.Generator):
        rng = random_state
        target = lipschitz_target(kind, rng)
    else:
        target = lipschitz_target(kind, random_state)
        rng = as_generator(random_state)
    x_train = rng.uniform(-1.0, 1.0, n_train)
    y_train = target(x_train)
    if sigma > 0:
        y_train = y_train + sigma * rng.standard_normal(n_train)
    x_test = np.linspace(-1.0, 1.0, n_test)
    return RegressionData(x_train, y_train, x_test, target(x_test), target)
