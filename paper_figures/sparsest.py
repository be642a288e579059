"""Figure 4: the canonical (data-site) minimiser, the sparsest one, and the set of all minimisers.

For the squared loss all minimisers share their values at the data sites (strict convexity), so
the solution set is ``{f : f(x_m) = v_m, TV2(f) <= TV2*, slopes in bounds}``. It is not a
singleton when the canonical solution has *zones*: knots at consecutive sites whose slope changes
have the same sign. Within a zone pairs of knots can be merged (Debarre, Denoyelle, Unser & Fageot,
J. Comput. Appl. Math. 2022) without changing the values at the sites or TV2;
:meth:`tvspline.FitResult.sparsest` does this and leaves ``sum_z ceil(n_z / 2)`` knots.

The shaded band is the pointwise range of the solution set, ``[min f(t), max f(t)]`` over all
minimisers, computed independently of tvspline: by the representer argument with ``t`` added as
an extra site, the extremes of ``f(t)`` are attained by linear splines with knots at the sites and
``t``, whose only free value is ``f(t)``; minimising and maximising it subject to ``TV2 <= TV2*``
(to 1e-9 relative) is a small LP, solved with ``scipy.optimize.linprog`` (HiGHS).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linprog

import tvspline

from ._common import FigureOutput
from ._style import COLOR_ALT, COLOR_DATA, COLOR_EXACT, COLOR_SHADE, apply_style

NAME = "sparsest"
TITLE = "Canonical vs sparsest minimiser, and the set of all minimisers"

SEED = 1
M = 14
LAM = 0.01
TV2_RTOL = 1e-9


def dataset(m: int = M, seed: int = SEED):
    """Noisy samples of sin(1.2 x) at non-uniform sites."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-3.0, 3.0, m))
    y = np.sin(1.2 * x) + 0.05 * rng.standard_normal(m)
    return x, y


def zones(spline, sites):
    """Zones of the canonical spline: runs of knots at consecutive sites with same-sign slope changes.

    Returns a list of lists of knot abscissae. Computed here from the spline's knots and slopes
    (independently of tvspline's own merging code).
    """
    sites = np.unique(sites)
    k = spline.knots
    jumps = np.diff(np.diff(spline.values) / np.diff(k))
    out, cur, prev_idx, prev_sign = [], [], None, 0
    for t, a in zip(k[1:-1], jumps):
        if a == 0:
            continue
        idx = int(np.searchsorted(sites, t))
        sign = 1 if a > 0 else -1
        if cur and idx == prev_idx + 1 and sign == prev_sign:
            cur.append(float(t))
        else:
            if cur:
                out.append(cur)
            cur = [float(t)]
        prev_idx, prev_sign = idx, sign
    if cur:
        out.append(cur)
    return out


def solution_range(sites, values, tv2_max, bounds, t):
    """``(min f(t), max f(t))`` over linear splines through ``(sites, values)`` with TV2 <= tv2_max.

    Knots: the sites and ``t``; the only free value is ``c = f(t)``. Variables ``[c, u_1..u_{K-2}]``
    with ``u_k >= |slope change k|``, ``sum u <= tv2_max`` and the slope bounds. If ``t`` is a
    site the value is fixed.
    """
    sites = np.asarray(sites, dtype=float)
    j = int(np.searchsorted(sites, t))
    if j < sites.size and sites[j] == t:
        v = float(values[j])
        return v, v
    knots = np.insert(sites, j, t)
    K = knots.size
    h = np.diff(knots)
    # values = base + c * e_j (e_j: unit vector at the inserted knot)
    base = np.insert(np.asarray(values, dtype=float), j, 0.0)
    e = np.zeros(K)
    e[j] = 1.0
    s0 = np.diff(base) / h  # slopes = s0 + c * s1
    s1 = np.diff(e) / h
    d0 = np.diff(s0)  # slope changes = d0 + c * d1
    d1 = np.diff(s1)
    n = K - 2
    nvar = 1 + n
    A, b = [], []
    for k in range(n):  # |d0_k + c d1_k| <= u_k
        row = np.zeros(nvar)
        row[0] = d1[k]
        row[1 + k] = -1.0
        A.append(row.copy())
        b.append(-d0[k])
        row[0] = -d1[k]
        A.append(row)
        b.append(d0[k])
    row = np.zeros(nvar)
    row[1:] = 1.0
    A.append(row)
    b.append(tv2_max)
    lo, hi = bounds.lo, bounds.hi
    for k in range(K - 1):
        if s1[k] == 0:
            continue
        if not math.isinf(hi):
            row = np.zeros(nvar)
            row[0] = s1[k]
            A.append(row)
            b.append(hi - s0[k])
        if not math.isinf(lo):
            row = np.zeros(nvar)
            row[0] = -s1[k]
            A.append(row)
            b.append(s0[k] - lo)
    A = np.array(A)
    b = np.array(b)
    var_bounds = [(None, None)] + [(0, None)] * n
    out = []
    for sign in (1.0, -1.0):
        cost = np.zeros(nvar)
        cost[0] = sign
        res = linprog(cost, A_ub=A, b_ub=b, bounds=var_bounds, method="highs")
        if res.status != 0:
            raise RuntimeError(f"solution-range LP failed at t={t}: {res.message}")
        out.append(float(res.x[0]))
    return out[0], out[1]


def make(quick: bool = False) -> FigureOutput:
    apply_style()
    import matplotlib.pyplot as plt

    x, y = dataset()
    bounds = tvspline.unbounded()
    canon = tvspline.fit(x, y, LAM, bounds=bounds)
    sparse = canon.sparsest()
    sites = np.unique(x)
    values = canon.spline(sites)
    tv2_star = canon.tv2
    tv2_max = tv2_star * (1.0 + TV2_RTOL) + 1e-15

    n_eval = 161 if quick else 801
    grid = np.linspace(x.min() - 0.25, x.max() + 0.25, n_eval)
    # the knots of both solutions and the midpoints of zone intervals are evaluated too
    grid = np.unique(np.concatenate([grid, sparse.spline.active_knots, sites]))
    env = np.array([solution_range(sites, values, tv2_max, bounds, t) for t in grid])
    lo_env, hi_env = env[:, 0], env[:, 1]
    width = hi_env - lo_env

    zs = zones(canon.spline, sites)
    expected_sparse = sum(math.ceil(len(z) / 2) for z in zs)
    scale = max(1.0, abs(canon.objective))
    tol_in = 1e-9 * max(1.0, float(np.max(np.abs(values))))
    f_c = canon.spline(grid)
    f_s = sparse.spline(grid)
    inside = bool(np.all(f_c >= lo_env - tol_in) and np.all(f_c <= hi_env + tol_in)
                  and np.all(f_s >= lo_env - tol_in) and np.all(f_s <= hi_env + tol_in))

    table = []
    for label, r in (("canonical", canon), ("sparsest", sparse)):
        table.append({
            "solution": label,
            "objective": r.objective,
            "data_fit": r.data_fit,
            "tv2": r.tv2,
            "gap": r.gap,
            "lower_bound": r.lower_bound,
            "n_knots": r.n_knots,
            "knots": " ".join(repr(float(k)) for k in r.spline.active_knots),
            "lam": LAM,
            "M": int(x.size),
        })
    checks = {
        "same objective to 1e-9 relative": bool(abs(sparse.objective - canon.objective) <= 1e-9 * scale),
        "sparsest has no more knots than canonical": bool(sparse.n_knots <= canon.n_knots),
        "sparsest has strictly fewer knots (the minimiser is not unique)": bool(sparse.n_knots < canon.n_knots),
        "sparsest knot count = sum over zones of ceil(n/2)": bool(sparse.n_knots == expected_sparse),
        "same values at every data site": bool(np.allclose(sparse.spline(sites), values, rtol=0,
                                                            atol=1e-10 * max(1.0, np.abs(values).max()))),
        "both solutions inside the computed solution set": inside,
        "canonical fit certified optimal": bool(canon.success),
    }
    numbers = {
        "M": int(x.size),
        "lam": LAM,
        "canonical_knots": int(canon.n_knots),
        "sparsest_knots": int(sparse.n_knots),
        "zones": len(zs),
        "zone_sizes": ",".join(str(len(z)) for z in zs),
        "objective": canon.objective,
        "objective_difference": float(sparse.objective - canon.objective),
        "max_solution_set_width": float(width.max()),
        "n_eval_points": int(grid.size),
    }

    # ------------------------------------------------------------------ figure
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 4.4), gridspec_kw={"width_ratios": [1.6, 1.0]})
    ax = axes[0]
    ax.fill_between(grid, lo_env, hi_env, color=COLOR_SHADE, alpha=0.8, lw=0,
                    label="set of all minimisers (pointwise range)")
    ax.plot(x, y, "o", color=COLOR_DATA, ms=4, label="data", zorder=4)
    ax.plot(grid, f_c, "-", color=COLOR_EXACT, lw=1.6, label=f"canonical (knots at sites): {canon.n_knots} knots")
    ax.plot(grid, f_s, "--", color=COLOR_ALT, lw=1.6, label=f"sparsest: {sparse.n_knots} knots")
    kc = canon.spline.active_knots
    ks = sparse.spline.active_knots
    ax.plot(kc, canon.spline(kc), "o", mfc="none", mec=COLOR_EXACT, ms=8, mew=1.3, zorder=5,
            label="canonical knots (data sites)")
    ax.plot(ks, sparse.spline(ks), "D", color=COLOR_ALT, ms=5, zorder=6, label="sparsest knots")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.set_title(f"(a) M = {x.size}, lambda = {LAM}: same objective {canon.objective:.6f}")
    ax.legend(loc="lower right")

    # (b) zoom on the widest zone
    ax = axes[1]
    if zs:
        zwidths = []
        for z in zs:
            sel = (grid >= min(z)) & (grid <= max(z))
            zwidths.append(width[sel].max() if sel.any() else 0.0)
        z = zs[int(np.argmax(zwidths))]
        i0 = max(int(np.searchsorted(sites, min(z))) - 1, 0)
        i1 = min(int(np.searchsorted(sites, max(z))) + 1, sites.size - 1)
        a, b = sites[i0], sites[i1]
        pad = 0.08 * (b - a)
        sel = (grid >= a - pad) & (grid <= b + pad)
        ax.fill_between(grid[sel], lo_env[sel], hi_env[sel], color=COLOR_SHADE, alpha=0.8, lw=0,
                        label="set of minimisers")
        ax.plot(grid[sel], f_c[sel], "-", color=COLOR_EXACT, lw=1.6, label="canonical")
        ax.plot(grid[sel], f_s[sel], "--", color=COLOR_ALT, lw=1.6, label="sparsest")
        seln = (x >= a - pad) & (x <= b + pad)
        ax.plot(x[seln], y[seln], "o", color=COLOR_DATA, ms=4, label="data", zorder=4)
        ax.plot(sites[i0:i1 + 1], values[i0:i1 + 1], "x", color="k", ms=6, label="fitted values (shared)")
        kcs = kc[(kc >= a - pad) & (kc <= b + pad)]
        kss = ks[(ks >= a - pad) & (ks <= b + pad)]
        ax.plot(kcs, canon.spline(kcs), "o", mfc="none", mec=COLOR_EXACT, ms=8, mew=1.3, zorder=5)
        ax.plot(kss, sparse.spline(kss), "D", color=COLOR_ALT, ms=5, zorder=6)
        ax.set_title(f"(b) zoom on a zone of {len(z)} same-sign knots -> {math.ceil(len(z) / 2)}")
        ax.legend(loc="best", fontsize=7)
    else:  # pragma: no cover - the chosen data has zones
        ax.text(0.5, 0.5, "unique minimiser", ha="center", transform=ax.transAxes)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    fig.tight_layout()

    caption = (
        f"M = {x.size} noisy samples of sin(1.2x), squared loss, lambda = {LAM}, no slope bound. The "
        f"canonical minimiser from tvspline.fit has {canon.n_knots} knots, all at data sites, in "
        f"{len(zs)} zones of consecutive same-sign knots (sizes {numbers['zone_sizes']}); "
        f"FitResult.sparsest() merges them pairwise into {sparse.n_knots} knots (sum of ceil(n/2)) "
        "with the same values at the sites, the same TV2 and the same objective. The band is the "
        "pointwise range of the whole solution set, computed independently: for each t, min and max "
        "of f(t) over linear splines with knots at the sites and t, through the shared fitted values, "
        "with TV2 <= TV2* (1 + 1e-9), a small LP (scipy linprog, HiGHS). Outside the zones the "
        "minimiser is unique. (b) zooms on the zone where the set is widest."
    )
    return FigureOutput(figure=fig, table=table, caption=caption, numbers=numbers, checks=checks)
