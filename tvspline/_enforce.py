"""Make a spline's slopes obey the bounds in floating-point arithmetic.

Slopes recomputed from values, ``(c[k+1] - c[k]) / h[k]``, carry a rounding error of order
``ulp(c) / h``, which is large for nearly tied knots. This pass walks left to right and moves each
value by single ulps (after a jump to the bound when it is more than a few ulps out) until its
recomputed slope lies in the bounds, so that anyone re-deriving the
slopes from the stored knots and values finds them inside the bounds.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["enforce_slope_bounds"]


@numba.njit(cache=True)
def _enforce(t, c, lo, hi, max_steps):
    n = t.size
    for k in range(n - 1):
        h = t[k + 1] - t[k]
        steps = 0
        s = (c[k + 1] - c[k]) / h
        if s > hi and (s - hi) * h > 4 * np.spacing(abs(c[k + 1])):
            c[k + 1] = c[k] + h * hi  # far out (tiny h): jump to the bound, then nudge
            s = (c[k + 1] - c[k]) / h
        elif s < lo and (lo - s) * h > 4 * np.spacing(abs(c[k + 1])):
            c[k + 1] = c[k] + h * lo
            s = (c[k + 1] - c[k]) / h
        while s > hi and steps < max_steps:
            c[k + 1] = np.nextafter(c[k + 1], -np.inf)
            s = (c[k + 1] - c[k]) / h
            steps += 1
        while s < lo and steps < max_steps:
            c[k + 1] = np.nextafter(c[k + 1], np.inf)
            s = (c[k + 1] - c[k]) / h
            steps += 1
    return c


def enforce_slope_bounds(knots, values, lo: float, hi: float, max_steps: int = 64) -> np.ndarray:
    """Return a copy of ``values`` nudged by ulps so that every recomputed slope is in ``[lo, hi]``.

    Values that need more than ``max_steps`` ulps are left as they are (the caller re-checks).
    """
    c = np.array(values, dtype=np.float64)
    return _enforce(np.asarray(knots, dtype=np.float64), c, float(lo), float(hi), int(max_steps))
