"""Profiles and potentials evaluated at filter responses in one Numba pass per filter.

A ridge regulariser evaluates, at every iteration of a reconstruction or of training, each
profile ``sigma_i`` (and its potential ``psi_i``, or its slope) at every response ``(w_i * x)_p``.
With NumPy that is a binary search (``np.searchsorted``) and a dozen temporaries per filter: at
128x128 pixels and 15 filters, about 75 % of the time of ``value_and_grad``. These kernels do the
same in one pass. The segment of a response is guessed from a lookup table on a fine uniform
grid (:func:`segment_table`) and then corrected against the knots themselves, so it is exactly
``clip(searchsorted(t, z, "right") - 1, 0, K - 2)`` whatever the knots (uniform or not, NaN
included); the values use the very formulas of :meth:`LinearSpline.__call__`,
:class:`tvspline.imaging.ridge._Potential` and :func:`tvspline.imaging.bilevel._sigma_all`,
operation for operation, so the results are bitwise the same as theirs
(``tests/test_imaging_ridge.py``, ``tests/test_imaging_bilevel.py``).

The arrays are 3-D ``(n, h, w)`` views (strided slices of ``(n, F, h, w)`` stacks are fine).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["profile_and_potential", "profile_and_slope", "segment_table"]


def segment_table(t: np.ndarray) -> tuple[np.ndarray, float]:
    """Lookup table of the segment at the left edge of each of ``n`` equal cells of ``[t_0, t_K]``
    (cells no wider than half the smallest knot spacing, at most 2^16 of them), and ``n / span``."""
    t = np.asarray(t, dtype=np.float64)
    span = t[-1] - t[0]
    h_min = float(np.min(np.diff(t)))
    n = int(min(1 << 16, max(1, math.ceil(2.0 * span / h_min)))) if h_min > 0 else 1 << 16
    edges = t[0] + span * (np.arange(n) / n)
    table = np.clip(np.searchsorted(t, edges, side="right") - 1, 0, t.size - 2).astype(np.int64)
    return table, n / span


@numba.njit(cache=True, error_model="numpy")
def _potential_row(z, t, c, s, cum, psi0, table, inv_cell, sig, pot, want_pot):
    K = t.size
    t0 = t[0]
    tl = t[K - 1]
    for e in range(z.size):
        zi = z[e]
        # segment: clip(searchsorted(t, zi, "right") - 1, 0, K - 2), a table guess corrected
        # against the knots (written out here: a helper function made the loop 2.3x slower)
        g = (zi - t0) * inv_cell
        if g > 0.0:
            k = table[int(g)] if g < table.size else K - 2
        elif g <= 0.0:
            k = 0
        else:  # NaN sorts after every knot (and the loops below leave it there)
            k = K - 2
        while k > 0 and t[k] > zi:
            k -= 1
        while k < K - 2 and t[k + 1] <= zi:
            k += 1
        if zi < t0:
            sig[e] = c[0] + s[0] * (zi - t0) if s[0] != 0 else c[0]
        elif zi > tl:
            sig[e] = c[K - 1] + s[K - 2] * (zi - tl) if s[K - 2] != 0 else c[K - 1]
        else:
            theta = (zi - t[k]) / (t[k + 1] - t[k])
            sig[e] = (1.0 - theta) * c[k] + theta * c[k + 1]
        if want_pot:
            d = zi - t[k]
            pot[e] = cum[k] + d * (c[k] + 0.5 * s[k] * d) - psi0


@numba.njit(cache=True, error_model="numpy")
def profile_and_potential(z, t, c, s, cum, psi0, table, inv_cell, sig, pot):
    """``sig = sigma(z)`` (as :meth:`LinearSpline.__call__`) and ``pot = psi(z)`` (as ``_Potential``);
    ``pot`` may be an empty array to skip the potential. Row by row (1-D inner loops: 3-D
    indexing costs a wrap-around test per index)."""
    want_pot = pot.size > 0
    for a in range(z.shape[0]):
        for b in range(z.shape[1]):
            row = sig[a, b]
            _potential_row(z[a, b], t, c, s, cum, psi0, table, inv_cell, row,
                           pot[a, b] if want_pot else row, want_pot)


@numba.njit(cache=True, error_model="numpy")
def _slope_row(z, t, c, S, table, inv_cell, sig, der, ks, ths):
    K = t.size
    t0 = t[0]
    for e in range(z.size):
        zi = z[e]
        # segment: clip(searchsorted(t, zi, "right") - 1, 0, K - 2), a table guess corrected
        # against the knots (written out here: a helper function made the loop 2.3x slower)
        g = (zi - t0) * inv_cell
        if g > 0.0:
            k = table[int(g)] if g < table.size else K - 2
        elif g <= 0.0:
            k = 0
        else:  # NaN sorts after every knot (and the loops below leave it there)
            k = K - 2
        while k > 0 and t[k] > zi:
            k -= 1
        while k < K - 2 and t[k + 1] <= zi:
            k += 1
        th = (zi - t[k]) / (t[k + 1] - t[k])
        ks[e] = k
        ths[e] = th
        sig[e] = c[k] * (1.0 - th) + c[k + 1] * th
        der[e] = S[k]


@numba.njit(cache=True, error_model="numpy")
def profile_and_slope(z, t, c, S, table, inv_cell, sig, der, ks, ths):
    """As ``bilevel._sigma_all`` for one filter: segment ``ks``, fraction ``ths``, value
    ``sig = c[k] (1 - th) + c[k + 1] th`` (no special case beyond the end knots) and slope
    ``der = S[k]``. Row by row."""
    for a in range(z.shape[0]):
        for b in range(z.shape[1]):
            _slope_row(z[a, b], t, c, S, table, inv_cell, sig[a, b], der[a, b], ks[a, b], ths[a, b])
