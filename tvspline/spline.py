r"""Continuous piecewise-linear functions with nonuniform knots.

A linear spline is stored by its knots :math:`t_1 < \dots < t_K` and its values
:math:`c_k = f(t_k)` (its coefficients in the degree-1 B-spline "hat" basis). Between knots it
interpolates linearly; outside :math:`[t_1, t_K]` it extends linearly with the end slopes. With
:math:`h_k = t_{k+1} - t_k` and slopes :math:`s_k = (c_{k+1} - c_k) / h_k`,

.. math::

    f'(x) = s_k \text{ on } (t_k, t_{k+1}), \qquad
    \mathrm{TV}^{(2)}(f) = \sum_{k=1}^{K-2} |s_{k+1} - s_k|,

the total variation of :math:`f'` (an L1 norm of slope changes, not scaled by :math:`h`). Its
interior knots whose slope change is nonzero are the "knots" counted by :attr:`n_knots`.

The representation is plain data (two float arrays), so splines pickle and serialise losslessly.
"""

from __future__ import annotations

import json
import math

import numpy as np

from ._validate import _kind_problem, as_1d_float, show

__all__ = ["LinearSpline"]


def _points(x) -> np.ndarray:
    """Evaluation points as float64 of any shape (NaN allowed); non-real types refused."""
    if type(x) is np.ndarray and x.dtype == np.float64:
        return x
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError("x is a masked array; masks are not applied: evaluate at x.compressed() or fill it")
    raw = np.asarray(x)
    problem = _kind_problem(raw.dtype.kind, "x")
    if problem is not None:
        raise problem
    try:
        return raw.astype(np.float64)
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"x must be real numbers, got {type(x).__name__} of dtype {raw.dtype}") from None

_FORMAT = "tvspline.LinearSpline"
_FORMAT_VERSION = 1


class LinearSpline:
    """A continuous piecewise-linear function with linear extension beyond its end knots.

    Parameters
    ----------
    knots : array_like, shape (K,)
        Strictly increasing finite abscissae, ``K >= 2``.
    values : array_like, shape (K,)
        Finite values of the function at the knots.

    Raises
    ------
    ValueError
        If the knots are not strictly increasing, fewer than two, of a different length than
        ``values``, anything is NaN or infinite, or a slope overflows float64.
    TypeError
        If knots or values are not real numbers (strings, booleans, complex numbers, dates).

    Examples
    --------
    >>> from tvspline import LinearSpline
    >>> f = LinearSpline([-1.0, 0.0, 1.0], [1.0, 0.0, 1.0])   # |x| on [-1, 1]
    >>> f([-2.0, -0.5, 0.25, 3.0])
    array([2.  , 0.5 , 0.25, 3.  ])
    >>> f.slopes
    array([-1.,  1.])
    >>> f.tv2(), f.n_knots
    (2.0, 1)
    """

    __slots__ = ("_knots", "_values")

    def __init__(self, knots, values):
        # private copies: the caller's arrays stay writable and cannot change the spline
        t = np.array(as_1d_float(knots, "knots"), copy=True)
        c = np.array(as_1d_float(values, "values"), copy=True)
        if t.size < 2:
            raise ValueError(f"a LinearSpline needs at least 2 knots, got {t.size}")
        if c.size != t.size:
            raise ValueError(f"knots and values must have the same length, got {t.size} and {c.size}")
        h = np.diff(t)
        if not (h > 0).all():
            i = int(np.flatnonzero(~(h > 0))[0])
            raise ValueError(
                f"knots must be strictly increasing, got knots[{i}]={show(t[i])} >= knots[{i + 1}]={show(t[i + 1])}"
            )
        with np.errstate(over="ignore", invalid="ignore"):
            slopes = np.diff(c) / h
        if not np.isfinite(slopes).all():
            i = int(np.flatnonzero(~np.isfinite(slopes))[0])
            raise ValueError(
                f"the slope between knots[{i}]={show(t[i])} and knots[{i + 1}]={show(t[i + 1])} "
                f"(values {show(c[i])} and {show(c[i + 1])}) overflows float64"
            )
        t.setflags(write=False)
        c.setflags(write=False)
        self._knots = t
        self._values = c

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_slopes(cls, knots, value0: float, slopes) -> "LinearSpline":
        """Build the spline with ``f(knots[0]) = value0`` and the given segment slopes.

        The values are the cumulative sums ``value0 + sum_j h_j s_j``; a spline built this way has
        exactly the requested slopes up to rounding, which is how solvers' slopes become splines
        whose bounds hold.
        """
        t = as_1d_float(knots, "knots")
        if t.size < 2:
            raise ValueError(f"a LinearSpline needs at least 2 knots, got {t.size}")
        value0 = float(value0)
        if not math.isfinite(value0):
            raise ValueError(f"value0 must be finite, got {show(value0)}")
        s = as_1d_float(slopes, "slopes")
        if s.size != t.size - 1:
            raise ValueError(f"need len(slopes) == len(knots) - 1, got {s.size} and {t.size}")
        c = np.empty_like(t)
        c[0] = float(value0)
        np.cumsum(np.diff(t) * s, out=c[1:])
        c[1:] += c[0]
        return cls(t, c)

    @classmethod
    def affine(cls, slope: float, intercept: float, lo: float = 0.0, hi: float = 1.0) -> "LinearSpline":
        """The affine function ``slope * x + intercept`` stored on the knots ``[lo, hi]``."""
        return cls([lo, hi], [slope * lo + intercept, slope * hi + intercept])

    # ------------------------------------------------------------------ data
    @property
    def knots(self) -> np.ndarray:
        """The knots ``t_1 < ... < t_K`` (read-only array)."""
        return self._knots

    @property
    def values(self) -> np.ndarray:
        """The values ``f(t_k)`` at the knots (read-only array)."""
        return self._values

    @property
    def slopes(self) -> np.ndarray:
        """Segment slopes ``s_k = (c_{k+1} - c_k) / h_k``, shape ``(K-1,)``."""
        return np.diff(self._values) / np.diff(self._knots)

    @property
    def slope_changes(self) -> np.ndarray:
        """Slope changes ``s_{k+1} - s_k`` at the interior knots, shape ``(K-2,)``."""
        return np.diff(self.slopes)

    @property
    def n_knots(self) -> int:
        """Number of interior knots where the slope actually changes (nonzero slope change)."""
        return int(np.count_nonzero(self.slope_changes))

    @property
    def active_knots(self) -> np.ndarray:
        """Abscissae of the interior knots with a nonzero slope change."""
        return self._knots[1:-1][self.slope_changes != 0]

    def tv2(self) -> float:
        """Second-order total variation: the sum of absolute slope changes."""
        return float(np.abs(self.slope_changes).sum())

    def slope_range(self) -> tuple[float, float]:
        """``(min f', max f')`` over the real line (extensions included)."""
        s = self.slopes
        return float(s.min()), float(s.max())

    def lipschitz_constant(self) -> float:
        """``max |f'|`` over the real line."""
        return float(np.abs(self.slopes).max())

    # ------------------------------------------------------------------ evaluation
    def _segment(self, x: np.ndarray) -> np.ndarray:
        k = np.searchsorted(self._knots, x, side="right") - 1
        return np.clip(k, 0, self._knots.size - 2)

    def __call__(self, x):
        """Evaluate at ``x`` (scalar or array); linear extension outside the knots."""
        xa = _points(x)
        t, c = self._knots, self._values
        k = self._segment(xa)
        h = t[k + 1] - t[k]
        theta = (xa - t[k]) / h
        out = (1.0 - theta) * c[k] + theta * c[k + 1]
        # Outside [t_1, t_K] the convex-combination form loses accuracy far away; use the slope form.
        left = xa < t[0]
        right = xa > t[-1]
        if left.any() or right.any():
            s = self.slopes
            with np.errstate(invalid="ignore"):
                # a zero end slope extends the end value even to +-inf (avoid 0 * inf = nan)
                ext_left = c[0] + s[0] * (xa - t[0]) if s[0] != 0 else np.full_like(xa, c[0])
                ext_right = c[-1] + s[-1] * (xa - t[-1]) if s[-1] != 0 else np.full_like(xa, c[-1])
            out = np.where(left, ext_left, out)
            out = np.where(right, ext_right, out)
        return out if out.ndim else float(out)

    def derivative(self, x):
        """Slope of the segment containing ``x`` (right derivative at a knot)."""
        xa = _points(x)
        out = self.slopes[self._segment(xa)]
        return out if out.ndim else float(out)

    def design_matrix(self, x):
        """Sparse matrix ``B`` with ``B @ self.values == self(x)`` (see :func:`tvspline.design_matrix`)."""
        from .basis import design_matrix

        return design_matrix(x, self._knots)

    # ------------------------------------------------------------------ transformations
    def prune(self, tol: float = 0.0) -> "LinearSpline":
        """Remove interior knots whose absolute slope change is ``<= tol``.

        With ``tol = 0`` (the default) only exactly collinear knots go and the function is
        unchanged. With ``tol > 0`` the values at the remaining knots are kept; between them the
        function becomes the chord, so it moves by at most the sum of the removed slope changes
        times the length of the chord.

        Examples
        --------
        >>> f = LinearSpline([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 2.0])
        >>> f.prune().knots
        array([0., 2., 3.])
        """
        if not (tol >= 0 and math.isfinite(tol)):
            raise ValueError(f"tol must be finite and >= 0, got {show(tol)}")
        keep = np.ones(self._knots.size, dtype=bool)
        keep[1:-1] = np.abs(self.slope_changes) > tol
        if keep.all():
            return self
        return LinearSpline(self._knots[keep], self._values[keep])

    def with_knots(self, knots) -> "LinearSpline":
        """The same function stored on ``knots`` (exact when they include every active knot)."""
        t = as_1d_float(knots, "knots")
        return LinearSpline(t, self(t))

    def inverse(self) -> "LinearSpline":
        """The inverse function of a strictly monotone spline, itself a linear spline.

        If every slope (the two end slopes included, which also drive the linear extension) is
        nonzero and all have one sign, ``f`` is a bijection of the real line and ``f^{-1}`` is the
        linear spline with knots ``f(t_k)`` and values ``t_k`` (both reversed when ``f`` is
        decreasing). The construction is exact: no arithmetic is done on the stored numbers, so
        ``f.inverse()(f.values[k]) == f.knots[k]`` bit for bit, each segment slope is ``1 / s_k``
        and the extensions beyond the end knots use ``1 / s_1`` and ``1 / s_{K-1}``.

        Returns
        -------
        LinearSpline
            ``g`` with ``g(f(x)) = x`` and ``f(g(y)) = y`` for all real ``x``, ``y`` (to rounding).

        Raises
        ------
        ValueError
            If some slope is zero or the slopes change sign (``f`` is not strictly monotone).

        Examples
        --------
        >>> f = LinearSpline([0.0, 1.0, 2.0], [0.0, 2.0, 2.5])   # slopes 2 and 0.5
        >>> g = f.inverse()
        >>> g.knots, g.values
        (array([0. , 2. , 2.5]), array([0., 1., 2.]))
        >>> g(f([-1.0, 0.5, 3.0]))
        array([-1. ,  0.5,  3. ])
        """
        dc = np.diff(self._values)  # sign of each slope = sign of its value increment (h_k > 0)
        if (dc > 0).all():
            return LinearSpline(self._values, self._knots)
        if (dc < 0).all():
            return LinearSpline(self._values[::-1], self._knots[::-1])
        s = self.slopes
        zero = np.flatnonzero(dc == 0)
        if zero.size:
            k = int(zero[0])
            raise ValueError(
                f"the spline is not invertible: slope {k} on [{show(self._knots[k])}, {show(self._knots[k + 1])}] "
                f"is 0 ({zero.size} zero slopes); inverse() needs strictly monotone splines"
            )
        k = int(np.flatnonzero(np.sign(dc) != np.sign(dc[0]))[0])
        raise ValueError(
            f"the spline is not invertible: its slopes change sign (slope 0 = {show(s[0])}, "
            f"slope {k} = {show(s[k])}); inverse() needs strictly monotone splines"
        )

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        """JSON-safe dictionary; :meth:`from_dict` restores the spline bit for bit."""
        return {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "knots": [float(v) for v in self._knots],
            "values": [float(v) for v in self._values],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "LinearSpline":
        """Inverse of :meth:`to_dict`.

        ``format`` and ``version`` may be left out of a hand-written dict; when present they must
        be ``"tvspline.LinearSpline"`` and a version this release reads (1). Knots and values go
        through the checks of the constructor.

        Raises
        ------
        TypeError
            If ``data`` is not a dict, or knots or values are not lists of real numbers.
        ValueError
            For another format or version, a missing key, or knots and values the constructor
            refuses (not increasing, non-finite, slopes overflowing float64).

        Examples
        --------
        >>> from tvspline import LinearSpline
        >>> f = LinearSpline([0.0, 1.0, 3.0], [0.0, 1.0, 0.0])
        >>> LinearSpline.from_dict(f.to_dict()) == f
        True
        """
        if not isinstance(data, dict):
            raise TypeError(f"data must be a dict, got {type(data).__name__}")
        if data.get("format", _FORMAT) != _FORMAT:
            raise ValueError(f"data is not a LinearSpline (format={data.get('format')!r})")
        version = data.get("version", _FORMAT_VERSION)
        if isinstance(version, bool) or not isinstance(version, int) or version != _FORMAT_VERSION:
            raise ValueError(
                f"unsupported LinearSpline format version {version!r}; this release of tvspline "
                f"reads version {_FORMAT_VERSION}"
            )
        for key in ("knots", "values"):
            if key not in data:
                raise ValueError(f"data lacks the key {key!r}")
        return cls(data["knots"], data["values"])

    def to_json(self) -> str:
        """``json.dumps(self.to_dict())`` (floats round-trip exactly)."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> "LinearSpline":
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    # ------------------------------------------------------------------ python protocol
    def __reduce__(self):
        return (LinearSpline, (np.array(self._knots), np.array(self._values)))

    def __eq__(self, other):
        if not isinstance(other, LinearSpline):
            return NotImplemented
        return np.array_equal(self._knots, other._knots) and np.array_equal(self._values, other._values)

    __hash__ = None

    def __repr__(self):
        return (
            f"LinearSpline(n_knots={self.n_knots}, support=[{self._knots[0]:.6g}, {self._knots[-1]:.6g}], "
            f"slopes in [{self.slopes.min():.6g}, {self.slopes.max():.6g}], tv2={self.tv2():.6g})"
        )
