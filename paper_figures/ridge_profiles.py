r"""The learned profiles of the shipped ridge regularisers (CRR-NN / WCRR-NN type).

``R(x) = sum_i sum_p psi_i((w_i * x)_p)`` with linear-spline profiles ``sigma_i = psi_i'``:
:func:`tvspline.imaging.pretrained` ``("convex")`` has slopes of every ``sigma_i`` in ``[0, L]``
(so every ``psi_i`` is convex), ``("weakly_convex")`` in ``[-rho, L]``. Drawn: every ``sigma_i``
and ``psi_i`` of both models, and their filters ``w_i`` as small images. The bounds are read
from the models' certificates (:meth:`RidgeRegularizer.check_certificate`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from tvspline.imaging import pretrained

from ._common import FigureOutput
from ._style import COLOR_BOUND, apply_style

NAME = "ridge_profiles"
TITLE = "Learned profiles sigma_i, potentials psi_i and filters of the convex and weakly convex regularisers"

MODELS = ("convex", "weakly_convex")


def _mosaic(filters, pad=1):
    """The filters (F, k, k) as one image of a near-square grid, NaN between them."""
    F, k1, k2 = filters.shape
    cols = int(np.ceil(np.sqrt(F)))
    rows = int(np.ceil(F / cols))
    out = np.full((rows * (k1 + pad) - pad, cols * (k2 + pad) - pad), np.nan)
    for i, w in enumerate(filters):
        r, c = divmod(i, cols)
        out[r * (k1 + pad): r * (k1 + pad) + k1, c * (k2 + pad): c * (k2 + pad) + k2] = w
    return out


def make(quick: bool = False) -> FigureOutput:
    apply_style()
    fig, axes = plt.subplots(2, 3, figsize=(11, 7), gridspec_kw=dict(width_ratios=[1, 1, 0.75]), layout="constrained")
    rows, numbers, checks = [], {}, {}
    for m, kind in enumerate(MODELS):
        reg = pretrained(kind)
        cert = reg.check_certificate()
        lo, hi = cert.bounds
        W = reg.filters.filters
        F = len(reg.profiles)
        tmax = max(float(np.abs(p.knots).max()) for p in reg.profiles)
        t = np.linspace(-1.1 * tmax, 1.1 * tmax, 801)
        cmap = plt.cm.viridis
        ax_s, ax_p, ax_f = axes[m]
        for i, p in enumerate(reg.profiles):
            col = cmap(i / max(F - 1, 1))
            ax_s.plot(t, reg.profile(i, t), color=col, lw=1.0)
            ax_p.plot(t, reg.potential(i, t), color=col, lw=1.0)
            s = p.slopes
            rows.append(dict(model=kind, filter=i + 1, slope_min=float(s.min()), slope_max=float(s.max()),
                             bound_lo=lo, bound_hi=hi, n_knots=int(p.knots.size), knot_min=float(p.knots.min()),
                             knot_max=float(p.knots.max()), filter_l2=float(np.linalg.norm(W[i])),
                             filter_norm_bound=cert.filter_norm))
        ax_s.set_xlabel("filter response t")
        ax_s.set_ylabel(r"$\sigma_i(t)$")
        label = kind.replace("_", " ")
        ax_s.set_title(f"{label}: " + r"$\sigma_i=\psi_i'$" + f" (slopes in [{lo:.2g}, {hi:.2g}])", fontsize=9)
        ax_p.set_xlabel("filter response t")
        ax_p.set_ylabel(r"$\psi_i(t)$")
        ax_p.set_title(f"{label}: " + r"$\psi_i$" + (" (all convex)" if kind == "convex" else
                                                        f" (R is {cert.weak_convexity:.2g}-weakly convex)"), fontsize=9)
        ax_p.axhline(0, color=COLOR_BOUND, lw=0.6)
        vmax = float(np.abs(W).max())
        im = ax_f.imshow(_mosaic(W), cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
        ax_f.set_xticks([])
        ax_f.set_yticks([])
        ax_f.grid(False)
        ax_f.set_title(f"{label}: {F} filters {W.shape[1]}x{W.shape[2]}\n" + r"$\|W\| \leq$" + f" {cert.filter_norm:.7f}",
                       fontsize=9)
        fig.colorbar(im, ax=ax_f, fraction=0.046, pad=0.04)
        numbers[f"{kind}_slope_min"] = float(cert.slope_min.min())
        numbers[f"{kind}_slope_max"] = float(cert.slope_max.max())
        numbers[f"{kind}_filter_norm_bound"] = float(cert.filter_norm)
        numbers[f"{kind}_weak_convexity"] = float(cert.weak_convexity)
        checks[f"{kind}: every slope of every sigma_i within [{lo:.6g}, {hi:.6g}]"] = bool(cert.slopes_ok)
        checks[f"{kind}: certified filter norm bound <= 1"] = bool(cert.norm_ok)
    sm = plt.cm.ScalarMappable(cmap=plt.cm.viridis, norm=plt.Normalize(1, F))
    fig.colorbar(sm, ax=axes[:, 1].tolist(), label="filter index i (curve colour)", fraction=0.05, pad=0.02)
    fig.suptitle("Shipped ridge regularisers R(x) = sum_i sum_p psi_i((w_i * x)_p)", fontsize=10)
    caption = (
        "The profiles sigma_i (left), their potentials psi_i with psi_i(0) = 0 (middle) and the filters w_i (right, "
        "colour = filter index on the left) of tvspline.imaging.pretrained('convex') (top) and ('weakly_convex') "
        f"(bottom). Slopes of the convex model in [{numbers['convex_slope_min']:.3g}, "
        f"{numbers['convex_slope_max']:.6g}] (bounds [0, 1]); weakly convex in "
        f"[{numbers['weakly_convex_slope_min']:.6g}, {numbers['weakly_convex_slope_max']:.6g}]; certified filter "
        f"norms {numbers['convex_filter_norm_bound']:.7f} and {numbers['weakly_convex_filter_norm_bound']:.7f} "
        "(<= 1), so the convex model's R is convex with a 1-Lipschitz gradient."
    )
    return FigureOutput(figure=fig, table=rows, caption=caption, numbers=numbers, checks=checks)
