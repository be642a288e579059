r"""The best affine fit :math:`f(x) = a x + b`, :math:`s_{\min} \le a \le s_{\max}`, for each loss.

For :math:`\lambda \ge \lambda_{\max}` the minimiser of the regularised problem is affine (its
TV2 is zero), so this fit must be exact for the certificate to close there.

- Squared loss: the weighted least-squares line, its slope clipped into the bounds (the objective
  is a convex quadratic in the slope once the intercept is eliminated), then the intercept refitted.
- Absolute loss: a linear programme in two unknowns whose optimum is a line through two data
  points, or a line at a slope bound through one. The direct descent of Wesolowsky (1981) moves
  between such lines: rotating a line about one of its data points, the best slope is a weighted
  median of the slopes to the other points (weights :math:`w_i |x_i - x_p|`); with the slope at a
  bound, the best intercept is a weighted median of the residuals. It stops when neither move
  lowers the objective: a vertex where no edge descends, the optimum of this convex problem.
- Huber loss: Newton's method on the two unknowns with the Hessian of the points in the quadratic
  zone, with backtracking; once the zone is right, one step lands on the exact minimiser.
"""

from __future__ import annotations

import numpy as np

from .losses import data_term

__all__ = ["affine_slope"]

#: Iteration caps of the descents below (they stop far earlier: at most a few dozen moves).
_LAD_MAX_MOVES = 200
_HUBER_MAX_STEPS = 100


def _median_index(values: np.ndarray, weights: np.ndarray) -> int:
    """Index of a weighted median of ``values`` (the lower one on a tie)."""
    order = np.argsort(values, kind="stable")
    cw = np.cumsum(weights[order])
    j = int(np.searchsorted(cw, 0.5 * cw[-1]))
    return int(order[min(j, values.size - 1)])


def ls_slope(x, y, w, lo, hi) -> float:
    """The weighted least-squares slope, clipped into ``[lo, hi]``."""
    xm = np.dot(w, x) / w.sum()
    ym = np.dot(w, y) / w.sum()
    dx = x - xm
    # scaled so that (x - xm)^2 cannot underflow for sites packed within ~1e-160
    dscale = float(np.max(np.abs(dx)))
    dxs = dx / dscale if dscale > 0 else dx
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        slope = np.dot(w, dxs * (y - ym)) / np.dot(w, dxs * dxs) / dscale
    if not np.isfinite(slope):
        slope = 0.0
    return float(np.clip(slope, lo, hi))


def lad_slope(x, y, w, lo, hi, start: float) -> float:
    """Slope of a weighted least-absolute-deviations line with slope in ``[lo, hi]``."""
    def objective(a, b):
        return float(np.dot(w, np.abs(y - a * x - b)))

    def rotate(p):  # best line through point p: (slope, index of the second point or None)
        dx = x - x[p]
        other = np.flatnonzero(dx != 0)
        if other.size == 0:
            return None, None
        slopes = (y[other] - y[p]) / dx[other]
        j = _median_index(slopes, w[other] * np.abs(dx[other]))
        a = float(slopes[j])
        if not np.isfinite(a):
            return None, None
        if a < lo or a > hi:
            return float(np.clip(a, lo, hi)), None
        return a, int(other[j])

    def translate(a):
        r = y - a * x
        p = _median_index(r, w)
        return float(r[p]), p

    a = float(np.clip(start, lo, hi))
    b, p = translate(a)
    f = objective(a, b)
    pivots = [p]  # the data points the current line passes through
    for _ in range(_LAD_MAX_MOVES):
        moved = False
        for p in pivots:
            a2, q = rotate(p)
            if a2 is None:
                continue
            b2 = float(y[p] - a2 * x[p])
            f2 = objective(a2, b2)
            if f2 < f:
                a, b, f = a2, b2, f2
                pivots = [q, p] if q is not None else [p]
                moved = True
                break
        if not moved and len(pivots) == 1:
            b2, p2 = translate(a)
            f2 = objective(a, b2)
            if f2 < f:
                b, f, pivots, moved = b2, f2, [p2], True
        if not moved:
            break
    return a


def huber_slope(x, y, w, lo, hi, delta, start: float) -> float:
    """Slope of the weighted Huber-loss line with slope in ``[lo, hi]`` (Newton, see above)."""
    xm = float(np.dot(w, x) / w.sum())
    xs = float(np.max(np.abs(x - xm))) or 1.0
    u = (x - xm) / xs  # normalised sites: the slope in these units is a * xs
    lo_u, hi_u = lo * xs, hi * xs

    def objective(a, b):
        return data_term(a * u + b - y, w, "huber", delta)

    a = float(np.clip(start * xs, lo_u, hi_u))
    b = float(np.median(y - a * u))
    f = objective(a, b)
    for _ in range(_HUBER_MAX_STEPS):
        r = a * u + b - y
        quad = np.abs(r) <= delta
        psi = np.where(quad, r, delta * np.sign(r))
        g = np.array([np.dot(w, psi * u), np.dot(w, psi)])
        wq = w * quad
        H = np.array([[np.dot(wq, u * u), np.dot(wq, u)], [np.dot(wq, u), wq.sum()]])
        at_bound = (a <= lo_u and g[0] > 0) or (a >= hi_u and g[0] < 0)
        if at_bound or abs(np.linalg.det(H)) <= 1e-14 * max(1.0, H[0, 0] * H[1, 1]):
            # intercept only (slope held at its bound, or too few points in the quadratic zone)
            step = np.array([0.0, -g[1] / H[1, 1] if H[1, 1] > 0 else -np.sign(g[1]) * delta])
        else:
            step = -np.linalg.solve(H, g)
        t = 1.0
        improved = False
        for _ in range(40):
            a2 = float(np.clip(a + t * step[0], lo_u, hi_u))
            b2 = b + t * step[1]
            f2 = objective(a2, b2)
            if f2 < f:
                a, b, f, improved = a2, b2, f2, True
                break
            t *= 0.5
        if not improved:
            break
    return a / xs


def affine_slope(problem) -> float:
    """Slope of the best affine fit of a prepared problem (see the module docstring)."""
    lo, hi = problem.bounds.lo, problem.bounds.hi
    if problem.loss == "squared":
        return ls_slope(problem.t, problem.site_y, problem.site_w, lo, hi)
    start = ls_slope(problem.x, problem.y, problem.w, lo, hi)
    if lo == hi:
        return start
    if problem.loss == "absolute":
        return lad_slope(problem.x, problem.y, problem.w, lo, hi, start)
    return huber_slope(problem.x, problem.y, problem.w, lo, hi, problem.delta, start)
