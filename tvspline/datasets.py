r"""Data for the 1-D experiments of the Lipschitz paper (Ducotterd et al., JMLR 2024).

Three 1-Lipschitz targets on :math:`[-1, 1]`:

- ``"f1"``: a random continuous piecewise-linear function with 9 random interior knots (uniform in
  :math:`[-1, 1]`, sorted) and 10 segments whose slopes are :math:`\pm 1` at random;
- ``"f2"``: the same with slopes drawn uniformly from :math:`\{-1, 0, 1\}`;
- ``"f3"``: :math:`f_3(x) = \cos(7\pi x) / (7\pi)`, whose derivative :math:`-\sin(7\pi x)` has
  magnitude at most 1.

All three are centred to **zero mean on** :math:`[-1, 1]`: :math:`\int_{-1}^{1} f = 0`. For ``f3``
this holds as it stands (:math:`\sin(7\pi) = 0`); for ``f1`` and ``f2`` the mean, an exact
trapezoid sum for a piecewise-linear function, is subtracted from the values.

The random knots are rounded to the dyadic grid :math:`2^{-20}\mathbb{Z}` (a resolution of about
:math:`10^{-6}`, far below the sampling density of any experiment). With knots, values and mean all
multiples of small powers of two and bounded by 2, every sum and difference is exact in binary64,
so the stored slopes ``diff(values) / diff(knots)`` are *exactly* -1, 0 or 1, not merely to rounding:
the targets are 1-Lipschitz in floating point, too.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from ._random import as_generator
from ._validate import check_choice
from .spline import LinearSpline

__all__ = ["CosineTarget", "RegressionData", "lipschitz_target", "lipschitz_regression"]

KINDS = ("f1", "f2", "f3")
N_INTERIOR_KNOTS = 9
_SLOPE_SETS = {"f1": np.array([-1.0, 1.0]), "f2": np.array([-1.0, 0.0, 1.0])}
_GRID_BITS = 20  # knots are multiples of 2**-20, see the module docstring


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
    """Training and test data of one 1-D regression experiment (unpacks as a 5-tuple)."""

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


def lipschitz_target(kind: str, random_state=None):
    """A 1-Lipschitz target function of the Lipschitz paper's 1-D experiments.

    Parameters
    ----------
    kind : {"f1", "f2", "f3"}
        ``"f1"``: random piecewise-linear with slopes in {-1, 1}; ``"f2"``: slopes in {-1, 0, 1};
        ``"f3"``: ``cos(7 pi x) / (7 pi)`` (deterministic). See the module docstring.
    random_state : None, int or numpy.random.Generator
        Seed of the knots and slopes (``f1``, ``f2``). ``f3`` draws nothing.

    Returns
    -------
    LinearSpline or CosineTarget
        A callable ``f(x)`` with ``f.derivative(x)`` and ``f.lipschitz_constant()``, centred to
        zero mean on [-1, 1]. For ``f1``/``f2`` it is a :class:`~tvspline.LinearSpline` with knots
        ``[-1, t_1, ..., t_9, 1]`` (linear extension beyond [-1, 1]) and exact slopes.

    Raises
    ------
    ValueError
        If ``kind`` is unknown.
    TypeError
        If ``random_state`` is not None, an int or a Generator.

    Examples
    --------
    >>> f = lipschitz_target("f1", random_state=0)
    >>> f.knots.size, sorted(set(f.slopes.tolist())) <= [-1.0, 1.0]
    (11, True)
    >>> abs(float(f(0.3))) <= 1.0   # 1-Lipschitz with zero mean on [-1, 1]
    True
    """
    check_choice(kind, "kind", KINDS)
    rng = as_generator(random_state)
    if kind == "f3":
        return CosineTarget(7.0 * math.pi)
    scale = 2**_GRID_BITS
    # distinct integers in (-2**20, 2**20): interior knots strictly inside (-1, 1), no ties
    ticks = np.sort(rng.choice(2 * scale - 1, size=N_INTERIOR_KNOTS, replace=False) - (scale - 1))
    knots = np.concatenate([[-1.0], ticks / scale, [1.0]])
    slopes = rng.choice(_SLOPE_SETS[kind], size=N_INTERIOR_KNOTS + 1)
    h = np.diff(knots)
    values = np.concatenate([[0.0], np.cumsum(slopes * h)])  # exact: multiples of 2**-20, |.| <= 2
    mean = float(np.sum(h * (values[:-1] + values[1:]))) / 4.0  # (1/2) * trapezoid integral, exact
    return LinearSpline(knots, values - mean)


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

    The target is drawn first, from the same random stream, so that
    ``lipschitz_regression(kind, random_state=s).target`` equals ``lipschitz_target(kind, s)``;
    then ``x_train ~ U[-1, 1]`` i.i.d. and ``y_train = target(x_train) + noise * N(0, 1)``.
    The test set is the noise-free target on ``numpy.linspace(-1, 1, n_test)``.

    Parameters
    ----------
    kind : {"f1", "f2", "f3"}
        The target family, see :func:`lipschitz_target`.
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
        For an unknown ``kind``, ``n_train < 1``, ``n_test < 2`` or a negative or non-finite
        ``noise``.
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
    rng = as_generator(random_state)
    target = lipschitz_target(kind, rng)
    x_train = rng.uniform(-1.0, 1.0, n_train)
    y_train = target(x_train)
    if sigma > 0:
        y_train = y_train + sigma * rng.standard_normal(n_train)
    x_test = np.linspace(-1.0, 1.0, n_test)
    return RegressionData(x_train, y_train, x_test, target(x_test), target)
