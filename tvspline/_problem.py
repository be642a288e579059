"""The prepared single-activation problem: validated data, distinct sites, merged ties.

Data points with zero weight do not enter the objective and are set aside (documented in
:func:`tvspline.fit`). Points sharing a site (exact ties) are grouped: for the squared loss they
are merged into one point with the summed weight and the weighted-mean target, which changes the
objective by the constant ``const`` recorded here; for the absolute and Huber losses each point
keeps its own term and only the unknown value ``f(t_k)`` is shared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._validate import as_1d_float, check_choice, check_delta, check_lam, check_weights
from .bounds import SlopeBounds, as_bounds
from .losses import LOSSES

__all__ = ["Problem", "prepare"]


@dataclass
class Problem:
    """Validated data of one fit (internal)."""

    x: np.ndarray  # points with positive weight, original order
    y: np.ndarray
    w: np.ndarray
    lam: float
    bounds: SlopeBounds
    loss: str
    delta: float
    t: np.ndarray  # distinct sites, increasing, K >= 2
    site_of: np.ndarray  # index into t of each point
    site_w: np.ndarray  # summed weight per site
    site_y: np.ndarray  # weighted-mean target per site (the point's own y when single)
    const: float  # squared loss: data term of the original points minus that of the merged ones
    ties: dict = field(default_factory=dict)  # site -> (y, w) of its points, when > 1 point

    @property
    def K(self) -> int:
        return self.t.size

    @property
    def h(self) -> np.ndarray:
        return np.diff(self.t)


def prepare(x, y, lam, bounds, weights=None, loss="squared", delta=1.0) -> Problem:
    """Validate the arguments of :func:`tvspline.fit` and build the :class:`Problem`."""
    x = as_1d_float(x, "x")
    y = as_1d_float(y, "y")
    if x.size != y.size:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    w = check_weights(weights, x.size)
    lam = check_lam(lam)
    bounds = as_bounds(bounds)
    check_choice(loss, "loss", LOSSES)
    delta = check_delta(delta, loss)

    keep = w > 0
    if not keep.all():
        x, y, w = x[keep], y[keep], w[keep]
    t, site_of = np.unique(x, return_inverse=True)
    if t.size < 2:
        raise ValueError(
            f"x must contain at least 2 distinct sites with positive weight, got {t.size}"
        )
    site_of = site_of.reshape(-1)
    site_w = np.bincount(site_of, weights=w, minlength=t.size)
    site_y = np.bincount(site_of, weights=w * y, minlength=t.size) / site_w
    const = 0.0
    ties: dict = {}
    if t.size < x.size:
        counts = np.bincount(site_of, minlength=t.size)
        resid = y - site_y[site_of]
        const = float(0.5 * np.dot(w, resid * resid))
        if loss != "squared":
            order = np.argsort(site_of, kind="stable")
            starts = np.concatenate([[0], np.cumsum(counts)])
            for k in np.flatnonzero(counts > 1):
                idx = order[starts[k] : starts[k + 1]]
                ties[int(k)] = (y[idx], w[idx])
    if not math.isfinite(const):
        raise ValueError("the data are too large to be represented in float64")
    return Problem(x, y, w, lam, bounds, loss, delta, t, site_of, site_w, site_y, const, ties)
