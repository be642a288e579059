"""Independent reference implementations used by the tests.

Everything here is written from the maths of ``docs/math.md``, not from the
library's code, so that the tests compare ``tvspline`` against a second opinion:

- :func:`reference_fit` solves the single-activation problem with CVXPY + Clarabel at tight
  tolerances, on the slope formulation with the *scaled* coupling ``c_{k+1} - c_k = h_k s_k``
  (``docs/math.md``), with every original data point kept (ties share a value by indexing, no
  merging), ``x`` affinely normalised to ``[0, 1]`` inside the helper and mapped back. The returned
  objective is recomputed in the original coordinates from a spline rebuilt from the reference's
  own (clipped) slopes, so it is the objective of a feasible spline: an upper bound on the optimum
  that is tight to the solver's accuracy.
- :func:`objective` evaluates data term + lam * TV2 of any spline given only its knots and values
  (np.interp inside the knots, linear extension outside).
- :func:`max_bound_violation` recomputes slopes from knots and values and returns the largest
  violation of the slope bounds.
- Small closed forms: weighted least-squares line with clipped slope, weighted median, the
  Huber loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "RefSolution",
    "reference_fit",
    "evaluate_spline",
    "data_term",
    "tv2_of",
    "objective",
    "max_bound_violation",
    "weighted_median",
    "clipped_ls_line",
    "affine_objective",
    "rel_scale",
]


# ----------------------------------------------------------------------------- losses
def huber(r, delta):
    """huber_delta(r) = r^2/2 for |r| <= delta, delta |r| - delta^2/2 otherwise."""
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * a - 0.5 * delta * delta)


def data_term(residual, weights, loss="squared", delta=1.0) -> float:
    r = np.asarray(residual, dtype=np.float64)
    w = np.ones_like(r) if weights is None else np.asarray(weights, dtype=np.float64)
    if loss == "squared":
        e = 0.5 * r * r
    elif loss == "absolute":
        e = np.abs(r)
    elif loss == "huber":
        e = huber(r, delta)
    else:  # pragma: no cover - test helper misuse
        raise AssertionError(loss)
    return float(math.fsum(w * e))


# ----------------------------------------------------------------------------- splines
def _knots_values(spline):
    t = np.asarray(spline.knots, dtype=np.float64)
    c = np.asarray(spline.values, dtype=np.float64)
    return t, c


def evaluate_spline(spline, x):
    """f(x) from knots/values only: np.interp inside, linear extension with end slopes outside."""
    t, c = _knots_values(spline)
    x = np.asarray(x, dtype=np.float64)
    out = np.interp(x, t, c)
    s_left = (c[1] - c[0]) / (t[1] - t[0])
    s_right = (c[-1] - c[-2]) / (t[-1] - t[-2])
    left = x < t[0]
    right = x > t[-1]
    out = np.where(left, c[0] + s_left * (x - t[0]), out)
    out = np.where(right, c[-1] + s_right * (x - t[-1]), out)
    return out


def slopes_of(spline):
    t, c = _knots_values(spline)
    return np.diff(c) / np.diff(t)


def tv2_of(spline) -> float:
    """Sum of absolute slope changes, from knots and values."""
    s = slopes_of(spline)
    return float(math.fsum(np.abs(np.diff(s))))


def objective(spline, x, y, lam, weights=None, loss="squared", delta=1.0) -> float:
    """Independent objective: data term at the data + lam * TV2 (slope changes from knots/values)."""
    r = evaluate_spline(spline, x) - np.asarray(y, dtype=np.float64)
    return data_term(r, weights, loss, delta) + lam * tv2_of(spline)


def max_bound_violation(spline, bounds) -> float:
    """Largest violation of lo <= f' <= hi, slopes recomputed from knots and values.

    The two linear extensions carry the first and last segment slopes; they are included
    explicitly (recomputed from the end values) although they coincide with those segments.
    """
    lo, hi = (float(b) for b in bounds)
    t, c = _knots_values(spline)
    s = np.diff(c) / np.diff(t)
    ext = np.array([(c[1] - c[0]) / (t[1] - t[0]), (c[-1] - c[-2]) / (t[-1] - t[-2])])
    allslopes = np.concatenate([s, ext])
    if not np.all(np.isfinite(allslopes)):
        return math.inf
    viol = 0.0
    if math.isfinite(lo):
        viol = max(viol, float(np.max(lo - allslopes)))
    if math.isfinite(hi):
        viol = max(viol, float(np.max(allslopes - hi)))
    return max(viol, 0.0)


def bound_tol(bounds) -> float:
    """1e-9 * max(1, |finite bounds|)."""
    m = 1.0
    for b in bounds:
        if math.isfinite(b):
            m = max(m, abs(float(b)))
    return 1e-9 * m


def rel_scale(v) -> float:
    return max(1.0, abs(float(v)))


# ----------------------------------------------------------------------------- closed forms
def weighted_median(values, weights):
    """A minimiser of sum w |v - b| over b (the lower weighted median)."""
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    order = np.argsort(v)
    v, w = v[order], w[order]
    cw = np.cumsum(w)
    j = int(np.searchsorted(cw, 0.5 * cw[-1]))
    return float(v[min(j, v.size - 1)])


def clipped_ls_line(x, y, weights, bounds):
    """Weighted least-squares line, its slope clipped into the bounds, intercept refitted.

    Returns (slope, intercept) with f(x) = slope * x + intercept.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    sw = np.sqrt(w)
    A = np.column_stack([x, np.ones_like(x)]) * sw[:, None]
    coef, *_ = np.linalg.lstsq(A, y * sw, rcond=None)
    slope = float(np.clip(coef[0], bounds[0], bounds[1]))
    intercept = float(np.sum(w * (y - slope * x)) / np.sum(w))
    return slope, intercept


def affine_objective(x, y, slope, intercept, weights=None, loss="squared", delta=1.0):
    return data_term(slope * np.asarray(x) + intercept - np.asarray(y), weights, loss, delta)


# ----------------------------------------------------------------------------- the reference solver
@dataclass
class RefSolution:
    objective: float  # recomputed in original coordinates from the rebuilt spline
    sites: np.ndarray  # distinct sites, increasing
    values: np.ndarray  # rebuilt values at the sites (bound-exact slopes)
    slopes: np.ndarray  # clipped slopes in original coordinates
    status: str
    raw_objective: float  # CVXPY's objective value mapped back (for information)

    @property
    def tv2(self) -> float:
        return float(np.sum(np.abs(np.diff(self.slopes))))

    def n_knots(self, rtol=1e-6) -> int:
        """Interior sites whose slope change exceeds rtol * max(1, max|slope|)."""
        if self.slopes.size < 2:
            return 0
        scale = max(1.0, float(np.max(np.abs(self.slopes))))
        return int(np.count_nonzero(np.abs(np.diff(self.slopes)) > rtol * scale))

    def __call__(self, x):
        return np.interp(np.asarray(x, dtype=np.float64), self.sites, self.values)


def _site_data_term(c_sites, idx, y, w, loss, delta):
    return data_term(c_sites[idx] - y, w, loss, delta)


def _best_shift(c_sites, idx, y, w, loss, delta):
    """Constant shift b of the values minimising the data term (slopes, so TV2, unchanged)."""
    r = y - c_sites[idx]
    if loss == "squared":
        return float(np.sum(w * r) / np.sum(w))
    if loss == "absolute":
        return weighted_median(r, w)
    from scipy.optimize import minimize_scalar

    lo, hi = float(r.min()), float(r.max())
    if lo == hi:
        return lo
    res = minimize_scalar(
        lambda b: data_term(c_sites[idx] + b - y, w, loss, delta),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-13 * max(1.0, abs(lo), abs(hi))},
    )
    return float(res.x)


def reference_fit(x, y, lam, bounds=(-math.inf, math.inf), weights=None, loss="squared", delta=1.0,
                  tol=1e-11) -> RefSolution:
    """Independent CVXPY + Clarabel solution of the single-activation problem (see module doc)."""
    import cvxpy as cp

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    lo, hi = float(bounds[0]), float(bounds[1])
    t = np.unique(x)
    idx = np.searchsorted(t, x)  # every point keeps its own term; ties share c[idx]
    K = t.size
    assert K >= 2
    x0, span = float(t[0]), float(t[-1] - t[0])
    u = (t - x0) / span  # sites in [0, 1]
    u[-1] = 1.0
    hu = np.diff(u)
    # g(u) = f(x0 + span * u): g' = span * f', TV2(g) = span * TV2(f)
    lam_u = lam / span
    lo_u, hi_u = lo * span, hi * span

    c = cp.Variable(K)
    s = cp.Variable(K - 1)
    cons = [c[1:] - c[:-1] == cp.multiply(hu, s)]
    if math.isfinite(lo_u):
        cons.append(s >= lo_u)
    if math.isfinite(hi_u):
        cons.append(s <= hi_u)
    r = c[idx] - y
    if loss == "squared":
        data = 0.5 * cp.sum(cp.multiply(w, cp.square(r)))
    elif loss == "absolute":
        data = cp.sum(cp.multiply(w, cp.abs(r)))
    elif loss == "huber":
        data = 0.5 * cp.sum(cp.multiply(w, cp.huber(r, delta)))  # cvxpy's huber is twice ours
    else:  # pragma: no cover
        raise AssertionError(loss)
    obj = data
    if K > 2 and lam > 0:
        obj = obj + lam_u * cp.norm1(cp.diff(s))
    prob = cp.Problem(cp.Minimize(obj), cons)
    prob.solve(
        solver=cp.CLARABEL,
        tol_gap_abs=tol,
        tol_gap_rel=tol,
        tol_feas=tol,
        tol_ktratio=1e-10,
        max_iter=400,
    )
    if s.value is None:
        raise RuntimeError(f"reference solver failed: {prob.status}")

    # Rebuild a bound-exact spline in original coordinates from the reference's slopes.
    slopes = np.clip(np.asarray(s.value, dtype=np.float64) / span, lo, hi)
    h = np.diff(t)
    vals = float(c.value[0]) + np.concatenate([[0.0], np.cumsum(h * slopes)])
    best = _site_data_term(vals, idx, y, w, loss, delta)
    shifted = vals + _best_shift(vals, idx, y, w, loss, delta)
    cand = _site_data_term(shifted, idx, y, w, loss, delta)
    if cand < best:
        vals, best = shifted, cand
    tv2 = float(math.fsum(np.abs(np.diff(slopes))))
    return RefSolution(
        objective=best + lam * tv2,
        sites=t,
        values=vals,
        slopes=slopes,
        status=str(prob.status),
        raw_objective=float(prob.value),
    )
