"""A linear spline evaluated at increasing abscissae in one pass (the fit's distinct sites).

:meth:`LinearSpline.__call__` handles any input with NumPy (a binary search per point and several
temporaries); at the million sorted sites of a large fit that is ~50 ms a call against ~8 ms for
this single merge-like pass, which computes the same formula and so bitwise the same values.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["values_at_sorted"]


@numba.njit(cache=True)
def _values_at_sorted(t, c, x, out):
    K = t.size
    s_left = (c[1] - c[0]) / (t[1] - t[0])
    s_right = (c[K - 1] - c[K - 2]) / (t[K - 1] - t[K - 2])
    k = 0
    for i in range(x.size):
        xi = x[i]
        if xi < t[0]:  # linear extension, as in LinearSpline.__call__ (a zero slope keeps c[0])
            out[i] = c[0] + s_left * (xi - t[0]) if s_left != 0 else c[0]
        elif xi > t[K - 1]:
            out[i] = c[K - 1] + s_right * (xi - t[K - 1]) if s_right != 0 else c[K - 1]
        else:
            while k < K - 2 and t[k + 1] <= xi:
                k += 1
            theta = (xi - t[k]) / (t[k + 1] - t[k])
            out[i] = (1.0 - theta) * c[k] + theta * c[k + 1]
    return out


def values_at_sorted(spline, x: np.ndarray) -> np.ndarray:
    """``spline(x)`` for a finite, non-decreasing float64 array ``x`` (not checked: callers pass
    a problem's distinct sites), bitwise equal to :meth:`LinearSpline.__call__`.

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline import LinearSpline
    >>> f = LinearSpline([0.0, 1.0, 2.0], [0.0, 1.0, 0.0])
    >>> x = np.array([-1.0, 0.5, 1.0, 3.0])
    >>> values_at_sorted(f, x)
    array([-1. ,  0.5,  1. , -1. ])
    >>> bool(np.array_equal(values_at_sorted(f, x), f(x)))
    True
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    return _values_at_sorted(spline.knots, spline.values, x, np.empty_like(x))
