r"""Slope bounds :math:`s_{\min} \le f' \le s_{\max}` and the properties they certify.

A bound pair constrains the derivative of a linear spline everywhere, i.e. every segment slope
(including the two linear extensions beyond the end knots). The presets below give the classical
properties of a pointwise nonlinearity (Unser, Goujon & Ducotterd, ACHA 2025, Table 1):

================================  =========================  =====================================
preset                            bounds                     property of ``f``
================================  =========================  =====================================
``lipschitz(L)``                  ``[-L, L]``                L-Lipschitz
``monotone()``                    ``[0, inf)``               non-decreasing
``firmly_nonexpansive()``         ``[0, 1]``                 proximal operator of a convex function
``invertible(eps)``               ``[eps, 1/eps]``           invertible, inverse slopes in bounds
================================  =========================  =====================================

Anywhere tvspline takes a ``bounds`` argument, a plain ``(lo, hi)`` tuple works as well.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass

import numpy as np

from ._validate import as_real, show

__all__ = [
    "SlopeBounds",
    "as_bounds",
    "lipschitz",
    "monotone",
    "firmly_nonexpansive",
    "invertible",
    "unbounded",
]


def _as_float(value, name):
    out = as_real(value, name)
    if math.isnan(out):
        raise ValueError(f"{name} must not be NaN, got {show(value)}")
    return out


@dataclass(frozen=True)
class SlopeBounds:
    """Closed interval ``[lo, hi]`` for the slopes of a linear spline.

    Parameters
    ----------
    lo, hi : float
        Lower and upper slope bound; ``lo`` may be ``-inf`` and ``hi`` may be ``+inf``.

    Raises
    ------
    ValueError
        If a bound is NaN, if ``lo > hi``, or if ``lo = +inf`` / ``hi = -inf``.

    Examples
    --------
    >>> from tvspline import SlopeBounds
    >>> b = SlopeBounds(-1, 1)
    >>> b.contains(0.5), b.contains(2.0)
    (True, False)
    >>> SlopeBounds(0, float("inf")).is_monotone
    True
    """

    lo: float = -math.inf
    hi: float = math.inf

    def __post_init__(self):
        lo = _as_float(self.lo, "bounds lo (s_min)")
        hi = _as_float(self.hi, "bounds hi (s_max)")
        if lo > hi:
            raise ValueError(f"bounds need s_min <= s_max, got s_min={show(lo)} > s_max={show(hi)}")
        if lo == math.inf or hi == -math.inf:
            raise ValueError(f"bounds must admit a finite slope, got ({show(lo)}, {show(hi)})")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    @property
    def is_unbounded(self) -> bool:
        """True when neither bound is finite."""
        return self.lo == -math.inf and self.hi == math.inf

    @property
    def is_monotone(self) -> bool:
        """True when every admissible spline is non-decreasing."""
        return self.lo >= 0.0

    @property
    def lipschitz_constant(self) -> float:
        """The Lipschitz constant ``max(|lo|, |hi|)`` certified by the bounds."""
        return max(abs(self.lo), abs(self.hi))

    def contains(self, slope: float, atol: float = 0.0) -> bool:
        """Whether ``lo - atol <= slope <= hi + atol``."""
        return self.lo - atol <= slope <= self.hi + atol

    def clip(self, slopes):
        """Clip slopes into ``[lo, hi]`` (works on scalars and arrays)."""
        return np.clip(slopes, self.lo, self.hi)

    def scaled(self, factor: float) -> "SlopeBounds":
        """Bounds after rescaling the abscissa: if ``g(u) = f(a + b u)`` with ``b = factor > 0``
        then ``g' = b f'``, so the bounds of ``g`` are ``[b lo, b hi]``."""
        if not factor > 0:
            raise ValueError(f"factor must be > 0, got {show(factor)}")
        return SlopeBounds(self.lo * factor, self.hi * factor)

    def to_tuple(self) -> tuple[float, float]:
        """The pair ``(lo, hi)``."""
        return (self.lo, self.hi)

    def __iter__(self):
        return iter((self.lo, self.hi))


def as_bounds(bounds) -> SlopeBounds:
    """Convert ``None``, a :class:`SlopeBounds` or a ``(lo, hi)`` pair to :class:`SlopeBounds`.

    The pair is ordered (a tuple, list, array or other sequence of two numbers); dicts, sets and
    strings are refused, since their order or meaning as bounds is not defined.

    Examples
    --------
    >>> from tvspline.bounds import as_bounds
    >>> as_bounds((0, 1))
    SlopeBounds(lo=0.0, hi=1.0)
    """
    if bounds is None:
        return SlopeBounds()
    if isinstance(bounds, SlopeBounds):
        return bounds
    if isinstance(bounds, np.ndarray):
        if bounds.shape != (2,):
            raise TypeError(f"bounds must be a SlopeBounds or an ordered (lo, hi) pair, got an array of shape {bounds.shape}")
        bounds = tuple(bounds.tolist())
    if isinstance(bounds, (Mapping, Set, str, bytes)) or not isinstance(bounds, Iterable):
        raise TypeError(
            f"bounds must be a SlopeBounds or an ordered (lo, hi) pair (tuple, list or array), got "
            f"{type(bounds).__name__} {bounds!r}"
        )
    try:
        lo, hi = bounds
    except (TypeError, ValueError):
        raise TypeError(
            f"bounds must be a SlopeBounds or a (lo, hi) pair, got {len(bounds)} values {bounds!r}"
        ) from None
    return SlopeBounds(lo, hi)


def unbounded() -> SlopeBounds:
    """No slope constraint: ``(-inf, inf)``.

    Examples
    --------
    >>> unbounded()
    SlopeBounds(lo=-inf, hi=inf)
    """
    return SlopeBounds()


def lipschitz(L: float = 1.0) -> SlopeBounds:
    """Slopes in ``[-L, L]``: an L-Lipschitz nonlinearity.

    Examples
    --------
    >>> lipschitz(1)
    SlopeBounds(lo=-1.0, hi=1.0)
    """
    L = _as_float(L, "L")
    if not L >= 0:
        raise ValueError(f"L must be >= 0, got {show(L)}")
    return SlopeBounds(-L, L)


def monotone() -> SlopeBounds:
    """Slopes in ``[0, inf)``: a non-decreasing nonlinearity.

    Examples
    --------
    >>> monotone()
    SlopeBounds(lo=0.0, hi=inf)
    """
    return SlopeBounds(0.0, math.inf)


def firmly_nonexpansive() -> SlopeBounds:
    """Slopes in ``[0, 1]``: the proximal operator of a convex function.

    Examples
    --------
    >>> firmly_nonexpansive()
    SlopeBounds(lo=0.0, hi=1.0)
    """
    return SlopeBounds(0.0, 1.0)


def invertible(eps: float = 0.1) -> SlopeBounds:
    """Slopes in ``[eps, 1/eps]`` for ``0 < eps <= 1``: invertible with a bounded inverse.

    Examples
    --------
    >>> invertible(0.5)
    SlopeBounds(lo=0.5, hi=2.0)
    """
    eps = _as_float(eps, "eps")
    if not 0 < eps <= 1:
        raise ValueError(f"eps must be in (0, 1], got {show(eps)}")
    return SlopeBounds(eps, 1.0 / eps)
