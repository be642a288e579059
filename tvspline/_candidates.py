"""Candidate splines of one fit: how they are built, checked and ranked.

Every spline presented by :func:`tvspline.fit` comes from here: its values are moved into the
slope bounds to rounding (:func:`finish`), its objective is recomputed on the data
(:func:`evaluate`), and the :class:`CandidatePool` keeps the best feasible one with the best
certified lower bound (:func:`tvspline.certificate.certify`) over every candidate seen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._affine import affine_slope
from ._enforce import enforce_slope_bounds
from ._sorted_eval import values_at_sorted
from .certificate import certify, gradient_dual_estimate
from .losses import data_term
from .spline import LinearSpline

__all__ = ["Candidate", "CandidatePool", "affine_spline", "evaluate", "finish", "spline_from_slopes"]

#: Relative objective difference under which two candidate splines count as equally good (the
#: one with fewer knots is kept, then an exactly polished one).
TIE_RTOL = 1e-11
#: From this many distinct sites on, the certificate of a far-from-optimal affine fit is deferred.
DEFER_AFFINE_MIN_SITES = 10_000


#: Slopes recomputed from a spline's knots and values may leave the bounds by rounding: by at most
#: this much relative to the bound's magnitude is accepted.
BOUND_RTOL = 1e-12
#: The affine fit, which must always be available, may in addition leave them by this many units
#: in the last place of its values divided by the segment's length: no pair of floats near ``c``
#: has a slope closer than ``ulp(c) / h`` to a given one, so ``lo == hi`` can be met only to that.
BOUND_ULPS = 4


def bound_scale(bounds) -> float:
    finite = [abs(b) for b in (bounds.lo, bounds.hi) if math.isfinite(b)]
    return max([1.0] + finite)


def bound_excess(spline, bounds, ulps=0) -> float:
    """How far the spline's slopes (recomputed from knots and values) leave the bounds beyond the
    tolerance (> 0: the spline breaks its bounds); ``ulps`` adds that many units in the last place
    of the segment's values over its length."""
    s = spline.slopes
    out = np.maximum(s - bounds.hi, bounds.lo - s) - BOUND_RTOL * bound_scale(bounds)
    if ulps:
        c = np.abs(spline.values)
        out = out - ulps * np.spacing(np.maximum(c[:-1], c[1:])) / np.diff(spline.knots)
    return float(np.max(out))


def evaluate(spline, problem):
    """``(objective, data term, TV2)`` of ``spline`` on a prepared problem (evaluated once per site).

    For the squared loss the data term is summed per site, ``1/2 sum_k W_k (f(t_k) - ybar_k)^2``
    plus the constant ``problem.const`` of the merged ties: the same sum, regrouped.
    """
    f = values_at_sorted(spline, problem.t)
    if problem.loss == "squared":
        r = f - problem.site_y
        data = 0.5 * float(np.dot(problem.site_w, r * r)) + problem.const
    else:
        data = data_term(f[problem.site_of] - problem.y, problem.w, problem.loss, problem.delta)
    tv2 = spline.tv2()
    return data + problem.lam * tv2, data, tv2



#: Newton steps that finish the Huber offset after the bounded scalar search.
OFFSET_NEWTON_STEPS = 8


def best_offset(fx, y, w, loss, delta):
    """The constant b minimising sum w E(fx + b - y) (exact for squared and absolute)."""
    r = y - fx
    if loss == "squared":
        return float(np.dot(w, r) / w.sum())
    if loss == "absolute":
        order = np.argsort(r, kind="stable")
        cw = np.cumsum(w[order])
        j = int(np.searchsorted(cw, 0.5 * cw[-1]))
        return float(r[order][min(j, r.size - 1)])
    from scipy.optimize import minimize_scalar

    lo, hi = float(r.min()), float(r.max())
    if lo == hi:
        return lo
    res = minimize_scalar(
        lambda b: data_term(fx + b - y, w, loss, delta), bounds=(lo, hi), method="bounded",
        options={"xatol": 1e-14 * max(1.0, abs(lo), abs(hi))},
    )
    # Newton on the piecewise-quadratic Huber objective: once the points in the quadratic zone
    # are right, one step is exact (the bounded search alone leaves ~1e-14 relative to |y|)
    b = float(res.x)
    f = data_term(fx + b - y, w, loss, delta)
    for _ in range(OFFSET_NEWTON_STEPS):
        res_b = fx + b - y
        inside = np.abs(res_b) <= delta
        curvature = float(np.sum(w[inside]))
        if curvature <= 0:
            break
        slope = float(np.dot(w, np.clip(res_b, -delta, delta)))
        b_new = b - slope / curvature
        f_new = data_term(fx + b_new - y, w, loss, delta)
        if not f_new <= f or b_new == b:
            break
        b, f = b_new, f_new
    return b


def finish(problem, t, c):
    """Spline on knots ``t`` with values ``c`` made bound-exact and pruned of exact zeros."""
    lo, hi = problem.bounds.lo, problem.bounds.hi
    c = enforce_slope_bounds(t, c, lo, hi)
    return LinearSpline(t, c).prune()


def site_offset(problem, site_values):
    """The best constant offset of a function known by its values at the distinct sites."""
    if problem.loss == "squared":  # exact at site level: site_y is the weighted mean of its points
        W = problem.site_w
        return float(np.dot(W, problem.site_y - site_values) / W.sum())
    return best_offset(site_values[problem.site_of], problem.y, problem.w, problem.loss, problem.delta)


def spline_from_slopes(problem, slopes, value0):
    """Integrate clipped slopes from the first site, then re-fit the offset exactly."""
    s = np.clip(slopes, problem.bounds.lo, problem.bounds.hi)
    base = LinearSpline.from_slopes(problem.t, 0.0, s)
    b = site_offset(problem, base.values)
    # Store only the sites where the slope changes: re-deriving a slope from values across a
    # nearly tied pair of sites would turn rounding into spurious knots.
    keep = np.ones(problem.K, dtype=bool)
    keep[1:-1] = s[1:] != s[:-1]
    return finish(problem, problem.t[keep], base.values[keep] + b)


#: Units in the last place of the largest target by which each residual is known: the data are
#: rounded to that, and so is every spline value compared with them.
ROUNDING_ULPS = 2


def objective_rounding(problem, spline) -> float:
    """What rounding of the data and values alone changes in the data term near ``spline``:
    ``ROUNDING_ULPS ulp(max|y|) sum_m w_m |E'(r_m)|``. Below ``tol * |objective|`` for ordinary
    data; above it for targets far from 0 (``y ~ 1e9`` in single-precision steps of ``1e-7``),
    where no float spline is certified closer than that."""
    ulp = float(np.spacing(np.max(np.abs(problem.y))))
    if problem.loss == "squared":  # per site (a lower estimate of sum_m w_m |r_m|)
        g = np.abs(values_at_sorted(spline, problem.t) - problem.site_y)
        return ROUNDING_ULPS * ulp * float(np.dot(problem.site_w, g))
    if problem.loss == "absolute":
        return ROUNDING_ULPS * ulp * float(np.sum(problem.w))
    r = values_at_sorted(spline, problem.t)[problem.site_of] - problem.y
    return ROUNDING_ULPS * ulp * float(np.dot(problem.w, np.minimum(np.abs(r), problem.delta)))


def affine_spline(problem) -> LinearSpline:
    """The best affine fit for the loss (:mod:`tvspline._affine`), offset refitted exactly."""
    s = affine_slope(problem)
    t0, t1 = problem.t[0], problem.t[-1]
    base = LinearSpline.affine(s, 0.0, t0, t1)
    b = site_offset(problem, values_at_sorted(base, problem.t))
    line = finish(problem, base.knots, base.values + b)
    if bound_excess(line, problem.bounds) > 0:
        # Sites so close that no pair of floats on them has a slope within the bounds (e.g.
        # 1e-17 apart with lo == hi): the same line on knots a unit apart is exact.
        wide = t0 + max(1.0, abs(t0))
        line = finish(problem, np.array([t0, wide]), np.array([s * t0 + b, s * wide + b]))
    return line


def affine_worth_certifying(problem, line) -> bool:
    """False when the affine fit cannot be the optimum: squared loss, a slope strictly inside the
    bounds, and free dual path partial sums (:func:`lambda_max`) above ``2 lam``.

    Its certificate (a full dual bound, about 0.2 s at a million sites) is then deferred to the
    end of :func:`fit`, where it is needed only if no solver's answer is certified. The test is a
    shortcut only: deferring never changes which spline is returned.
    """
    if problem.loss != "squared" or problem.K < DEFER_AFFINE_MIN_SITES or problem.lam <= 0:
        return True
    slope = float(line.slopes[0])
    lo, hi = problem.bounds.lo, problem.bounds.hi
    if not (lo < slope < hi):
        return True
    v = gradient_dual_estimate(problem, values_at_sorted(line, problem.t))
    return float(np.max(np.abs(np.cumsum(v)))) <= 2.0 * problem.lam


@dataclass(frozen=True)
class Candidate:
    """A feasible spline with its recomputed objective, and where it came from.

    ``exact`` marks the exact solution of a run structure (active-set step): among equally good
    candidates the one with fewer knots is kept, then an exact one.
    """

    spline: LinearSpline
    objective: float
    data: float
    tv2: float
    source: str
    exact: bool = False

    @property
    def rank(self) -> tuple:
        return (self.spline.n_knots, 0 if self.exact else 1)


class CandidatePool:
    """Candidate splines: keeps the best feasible one and the best certified lower bound.

    A candidate is certified unless the lower bound already certifies its objective (any
    dual-feasible point bounds the optimum, whichever candidate it was built from); with
    ``certify=False`` its certificate is deferred to :meth:`certify_deferred`, which computes it
    only when nothing else is certified.
    """

    def __init__(self, problem, tol):
        self.problem = problem
        self.tol = tol
        self.lower = -math.inf
        self.z = None
        self.best: Candidate | None = None
        self.deferred = []  # (spline, duals)
        self.rounding = 0.0  # the objective's own rounding (set from the affine fit)

    def threshold(self, obj) -> float:
        """The gap accepted for objective ``obj``: ``tol * max(1, |obj|)``, or the rounding of the
        objective when that is larger (see :func:`objective_rounding`)."""
        return max(self.tol * max(1.0, abs(obj)), self.rounding)

    def evaluate(self, spline, ulps=0):
        """``(objective, data, tv2)`` of a feasible spline, or ``None`` (bounds broken, not finite);
        ``ulps``: see :func:`bound_excess`."""
        problem = self.problem
        if bound_excess(spline, problem.bounds, ulps) > 0:
            return None  # never present a spline that breaks its bounds (nor certify with it)
        evaluated = evaluate(spline, problem)
        return evaluated if math.isfinite(evaluated[0]) else None

    def consider(self, spline, duals, source, evaluated=None, certify_now=True, exact=False):
        """Add a candidate (``evaluated``: its :meth:`evaluate` result, when already known)."""
        if evaluated is None:
            evaluated = self.evaluate(spline)
        if evaluated is None:
            return
        cand = Candidate(spline, *evaluated, source=source, exact=exact)
        target = cand.objective - self.threshold(cand.objective)
        if not certify_now:
            self.deferred.append((spline, duals))
        elif self.lower < target:
            self._raise_lower(spline, duals, target)
        best = self.best
        slack = TIE_RTOL * abs(cand.objective)
        if best is None or cand.objective < best.objective - slack or (
            cand.objective <= best.objective + slack and cand.rank < best.rank
        ):
            self.best = cand

    def _raise_lower(self, spline, duals, target):
        bound, z = certify(self.problem, spline, duals, target=target)
        if bound > self.lower:
            self.lower, self.z = bound, z

    def certified(self) -> bool:
        return self.best is not None and self.best.objective - self.lower <= self.threshold(self.best.objective)

    def certify_deferred(self) -> None:
        """Certificates of the deferred candidates (each can only raise the lower bound)."""
        if self.best is None:
            return
        target = self.best.objective - self.threshold(self.best.objective)
        while self.deferred and self.lower < target:
            spline, duals = self.deferred.pop(0)
            self._raise_lower(spline, duals, target)
        self.deferred.clear()

    def add_affine(self) -> None:
        """The best affine fit: always feasible (to the rounding of its values, see
        :data:`BOUND_ULPS`), and the optimum for ``lam >= lambda_max``."""
        line = affine_spline(self.problem)
        self.rounding = objective_rounding(self.problem, line)
        self.consider(line, [], "affine", evaluated=self.evaluate(line, ulps=BOUND_ULPS),
                      certify_now=affine_worth_certifying(self.problem, line))
