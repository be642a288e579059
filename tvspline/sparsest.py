r"""The sparsest minimiser: merging same-sign knot pairs (Debarre, Denoyelle, Unser, Fageot 2022).

Let :math:`f` interpolate fixed values at the data sites with minimal TV2. Its knots at
consecutive sites :math:`t_j < t_{j+1}` with slope changes of the same sign (a *zone*) can be
merged pairwise: with slopes :math:`s_L` before :math:`t_j`, :math:`s_M` between and :math:`s_R`
after :math:`t_{j+1}`, the lines through :math:`(t_j, f(t_j))` with slope :math:`s_L` and through
:math:`(t_{j+1}, f(t_{j+1}))` with slope :math:`s_R` meet at

.. math:: \tau = t_j + h\,\frac{s_M - s_R}{s_L - s_R} \in [t_j, t_{j+1}],

and replacing the two knots by one at :math:`\tau` keeps the values at every site, TV2
(:math:`|s_R - s_L| = |s_M - s_L| + |s_R - s_M|` for same signs) and the set of slopes (so every
slope bound). A zone of :math:`n` knots needs :math:`\lceil n/2 \rceil` knots, which is the
minimum. Knots at non-consecutive sites, or of opposite signs, cannot be merged.
"""

from __future__ import annotations

import numpy as np

from .spline import LinearSpline

__all__ = ["sparsest_spline", "knot_zones", "canonical_form"]


def knot_zones(spline: LinearSpline, sites: np.ndarray) -> list[list[int]]:
    """Zones of active knots: indices into ``spline.knots`` of same-sign knots at consecutive sites."""
    t = spline.knots
    jumps = spline.slope_changes
    site_index = np.searchsorted(sites, t)
    if not np.array_equal(sites[np.clip(site_index, 0, sites.size - 1)], t):
        raise ValueError("the spline's knots must be data sites (a canonical solution)")
    zones: list[list[int]] = []
    current: list[int] = []
    for i in range(1, t.size - 1):
        a = jumps[i - 1]
        if a == 0:
            if current:
                zones.append(current)
            current = []
            continue
        if current:
            prev = current[-1]
            consecutive = site_index[i] == site_index[prev] + 1
            same = np.sign(jumps[prev - 1]) == np.sign(a)
            if consecutive and same:
                current.append(i)
                continue
            zones.append(current)
        current = [i]
    if current:
        zones.append(current)
    return zones


def canonical_form(spline: LinearSpline, sites) -> LinearSpline:
    """The interpolant of ``spline`` at the data ``sites`` (knots only at sites), pruned.

    Between consecutive sites lying on one segment of ``spline`` the slope is copied exactly, so
    no rounding-level slope changes (spurious knots) appear; elsewhere it is the chord. This is
    a minimiser whenever ``spline`` is (same values at the sites, TV2 no larger, same bounds).
    """
    sites = np.unique(np.asarray(sites, dtype=np.float64))
    t = spline.knots
    if np.isin(t, sites).all():
        return spline.prune()
    last = t.size - 2
    left = np.clip(np.searchsorted(t, sites[:-1], side="right") - 1, 0, last)
    right = np.clip(np.searchsorted(t, sites[1:], side="left") - 1, 0, last)
    values = spline(sites)
    slopes = np.where(left == right, spline.slopes[left], np.diff(values) / np.diff(sites))
    keep = np.ones(sites.size, dtype=bool)
    keep[1:-1] = slopes[1:] != slopes[:-1]
    full = LinearSpline.from_slopes(sites, values[0], slopes)
    return LinearSpline(sites[keep], full.values[keep])


def sparsest_spline(spline: LinearSpline, sites) -> LinearSpline:
    """Merge same-sign knot pairs at consecutive ``sites``; see the module docstring.

    Parameters
    ----------
    spline : LinearSpline
        A canonical solution (its knots are data sites).
    sites : array_like
        The sorted distinct data sites.

    Returns
    -------
    LinearSpline
        The same values at all sites, the same TV2 and slopes, ``sum ceil(n/2)`` knots.

    Examples
    --------
    >>> from tvspline import LinearSpline
    >>> from tvspline.sparsest import sparsest_spline
    >>> f = LinearSpline([0, 1, 2, 3], [0, 0, 1, 3])   # slope changes +1, +1 at sites 1 and 2
    >>> g = sparsest_spline(f, [0, 1, 2, 3])
    >>> g.n_knots, g([0, 1, 2, 3]).tolist()
    (1, [0.0, 0.0, 1.0, 3.0])
    """
    sites = np.unique(np.asarray(sites, dtype=np.float64))
    spline = canonical_form(spline, sites)
    t = spline.knots
    c = spline.values
    s = spline.slopes
    zones = knot_zones(spline, sites)
    new_t = [t[0]]
    new_c = [c[0]]
    for zone in zones:
        for p in range(0, len(zone) - 1, 2):
            i, j = zone[p], zone[p + 1]  # knots at t[i] < t[j] (consecutive sites), j = i + 1
            sL, sM, sR = s[i - 1], s[i], s[j]
            h = t[j] - t[i]
            frac = (sM - sR) / (sL - sR)
            frac = min(max(frac, 0.0), 1.0)
            tau = t[i] + h * frac
            if tau <= new_t[-1]:
                tau = np.nextafter(new_t[-1], np.inf)
            new_t.append(tau)
            new_c.append(c[i] + sL * (tau - t[i]))
        if len(zone) % 2 == 1:
            k = zone[-1]
            new_t.append(t[k])
            new_c.append(c[k])
    new_t.append(t[-1])
    new_c.append(c[-1])
    # Keep the canonical ordering with the zones sorted (zones are produced left to right).
    return LinearSpline(np.array(new_t), np.array(new_c))
