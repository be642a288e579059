r"""Learning the profiles and filters of a ridge regulariser from images (``docs/math.md``).

Exact profile fit for fixed filters
-----------------------------------
Each profile :math:`\sigma_i` is a linear spline on a fixed grid of knots
:math:`t_{i,1} < \dots < t_{i,K}` (uniform, symmetric, with a knot at 0; linear extension beyond
the ends), :math:`\sigma_i(z) = \sum_k c_{ik}\,\varphi_{ik}(z)` in the hat basis (the two end hats
extended linearly). The *gradient-step denoiser* with the responses taken at an image :math:`u`

.. math::

    D_c(y; u) = y - \alpha \sum_i w_i^T \sigma_i(w_i * u)
              = y - \alpha \sum_{i,k} c_{ik}\, w_i^T \varphi_{ik}(w_i * u)

is affine in the coefficients :math:`c`: one column :math:`a_{ik} = \alpha\, w_i^T
\varphi_{ik}(w_i * u)` (an image) per coefficient. With :math:`u = y` it is the one-step denoiser
of ``docs/math.md``; with :math:`u = \hat x` (the current reconstruction, see below) it is the
*fixed-point linearisation* of the full reconstruction map. For pairs :math:`(x_n, y_n)` (clean,
noisy; weights :math:`\alpha_n` per pair) :func:`fit_profiles` solves exactly the QP

.. math::

    \min_c \; \frac{1}{2 N} \sum_n \big\|D_c(y_n; u_n) - x_n\big\|^2
           + \lambda \sum_i \mathrm{TV2}(\sigma_i)
    \quad\text{s.t.}\quad lo \le \sigma_i' \le hi, \quad \sigma_i(0) = 0,

(:math:`N` the total number of pixels, so the data term is half the mean squared error) with
:math:`[lo, hi] = [0, L]` for ``kind="convex"`` and :math:`[-\rho, L]` for
``kind="weakly_convex"``, where in addition the two end slopes (which continue to infinity) are
kept in :math:`[0, L]` so that every potential :math:`\psi_i` is bounded below. The profiles are
pinned by :math:`\sigma_i(0) = 0` (the value of the knot at 0 is fixed; no odd symmetry is imposed,
so the profiles can be asymmetric). The normal equations :math:`G = A^T A / N`,
:math:`b = A^T r_0 / N` (:math:`r_0 = y - x`) have one row per coefficient (:math:`(FK)^2`
numbers); they are accumulated over chunks of images (a symmetric rank-k update per chunk), never
forming the full design. The QP (with auxiliary variables :math:`u \ge |\Delta s|` for TV2) goes to
Clarabel with tight tolerances. The slopes of the solution are then clipped to the bounds, the
values re-integrated from the knot at 0 and nudged by ulps (:func:`tvspline._enforce`) so that the
slopes recomputed from the stored knots and values satisfy the bounds exactly; the objective is
recomputed from those splines on the original images (not from the normal equations). The
:class:`ProfileFit` carries Clarabel's primal and dual residuals and its dual objective; the
difference ``objective - dual_objective`` is reported as ``gap`` (a solver's number, not an
independently certified bound).

Training (heuristic outer loop)
-------------------------------
:func:`train_ridge` is deterministic given ``random_state``:

1. patches from the images, Gaussian noise at each noise level (seeded); a separate set of
   validation patches from the same images (with their own noise);
2. initial filters: the lowest-frequency atoms of the 2-D DCT without the constant one, scaled so
   that :math:`\|W\| \le 1` (certified);
3. profiles fitted exactly for the one-step denoiser (:math:`u = y`, :math:`\alpha_n =
   \sigma_n / \max\sigma`);
4. the noise table :math:`\alpha(\sigma)`: for each training noise level the search of
   :func:`~tvspline.imaging.calibrate_noise_table` (bounded search on :math:`\log\alpha` over
   :math:`[\alpha_0/4, 4\alpha_0]`, capped for a weakly convex model) maximising the mean PSNR of
   the full reconstruction of the validation patches;
5. ``n_outer`` times: (a) profiles re-fitted exactly for the fixed-point linearisation at the
   current reconstructions :math:`\hat x_n` of the training patches (at the current profiles the
   linearised loss equals the true reconstruction loss, since
   :math:`\hat x = y - \alpha\nabla R(\hat x)`; the refit can only lower the linearised loss), the
   table re-tuned, accepted only if the validation PSNR of the full reconstruction increases;
   (b) gradient steps on the filters for the same linearised loss (hand-written adjoint gradient,
   :math:`\hat x` held fixed), the bank re-normalised to :math:`\|W\| \le 1` after each step,
   accepted only if the validation PSNR increases (step halved twice on failure).

Exact: every profile fit (a QP solved to interior-point tolerance, bounds enforced exactly), the
certificate of the returned model (slopes within the kind's bounds, :math:`\|W\| \le 1`
certified), the validation PSNR used for every acceptance (the minimiser of the reconstruction
objective to a small gradient tolerance). Heuristic: the linearisation, the filter gradient (which
ignores the dependence of :math:`\hat x` on the filters), the schedule and all hyper-parameters.

The validation patches are denoised by :func:`~tvspline.imaging.reconstruct`; the training
patches, as one stack, by the same engine (:func:`~tvspline.imaging.engine.fista_stack`: step
:math:`1/L_f` from the certified constants, FISTA with gradient restart when the objective is
certified convex, gradient descent otherwise), stopped when every patch's root-mean-square gradient
is below ``DEFAULT_RECON_TOL``.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.linalg.blas import dsyrk
from scipy.signal import fftconvolve

from .._enforce import enforce_slope_bounds
from .._random import as_generator
from ..exceptions import TVSplineWarning
from ..spline import LinearSpline
from .data import random_patches
from .engine import certified_convex, fista_stack
from .reconstruction import DEFAULT_TOL
from .filters import FilterBank
from .ridge import KINDS, RidgeRegularizer

__all__ = ["fit_profiles", "ProfileFit", "ProfileFitWarning", "train_ridge", "initial_bank", "pretrained", "PRETRAINED_KINDS",
           "MODELS_DIR", "psnr"]

#: Default number of knots per profile (odd: one knot at 0).
DEFAULT_N_KNOTS = 25
#: Default quantile of the absolute filter responses that sets the knot range of each profile.
DEFAULT_KNOT_QUANTILE = 0.999
#: Default Clarabel tolerances (gap and feasibility) of :func:`fit_profiles`.
DEFAULT_QP_TOL = 1e-10
#: Default tolerance of the batched reconstructions (RMS of the gradient per pixel).
DEFAULT_RECON_TOL = 1e-5
#: Directory of the shipped models.
MODELS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")
#: Kinds with a shipped pretrained model.
PRETRAINED_KINDS = KINDS


class ProfileFitWarning(TVSplineWarning):
    """The QP of :func:`fit_profiles` was not solved to its tolerance (the message gives Clarabel's
    status, iteration count and residuals)."""


def psnr(x, ref, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio ``10 log10(data_range^2 / MSE)`` in dB.

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline.imaging import psnr
    >>> round(psnr(np.full((4, 4), 0.1), np.zeros((4, 4))), 6)
    20.0
    """
    mse = float(np.mean((np.asarray(x, dtype=np.float64) - np.asarray(ref, dtype=np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(data_range**2 / mse)


def _slope_bounds(kind, L, rho):
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(map(repr, KINDS))}")
    L = float(L)
    if not (L > 0 and math.isfinite(L)):
        raise ValueError(f"L must be > 0 and finite, got {L!r}")
    if kind == "convex":
        return 0.0, L
    rho = float(rho)
    if not (rho >= 0 and math.isfinite(rho)):
        raise ValueError(f"rho must be >= 0 and finite, got {rho!r}")
    return -rho, L


# ---------------------------------------------------------------------------------------------
# profile fit
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProfileFit:
    """Result of :func:`fit_profiles`.

    Attributes
    ----------
    profiles : tuple of LinearSpline
        The fitted profiles (slopes within the bounds exactly, value 0 at 0).
    objective : float
        The QP objective recomputed from ``profiles`` on the images (half mean squared error of
        the denoiser plus ``lam`` times the total TV2).
    data_fit, tv2 : float
        Its two parts (``tv2`` is the sum over the profiles, before the factor ``lam``).
    dual_objective : float
        Clarabel's dual objective (plus the constant of the data term).
    gap : float
        ``objective - dual_objective`` (from the solver's dual point; not independently certified).
    primal_residual, dual_residual : float
        Clarabel's relative primal and dual (KKT) residuals.
    status : str
        Clarabel's status.
    n_iter : int
        Interior-point iterations.
    time : float
        Wall time in seconds (assembly and solve).
    bounds : (float, float)
        The slope bounds of the interior segments.
    lam : float
        The TV2 weight.

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline.imaging import fit_profiles, initial_bank, load_image, random_patches
    >>> clean = random_patches([load_image("camera", 64)], 12, 4, random_state=0)
    >>> noisy = clean + 0.1 * np.random.default_rng(0).standard_normal(clean.shape)
    >>> fit = fit_profiles(initial_bank(2, 3), clean, noisy, lam=1e-6, n_knots=7)
    >>> type(fit).__name__, len(fit.profiles), fit.bounds
    ('ProfileFit', 2, (0.0, 1.0))
    """

    profiles: tuple
    objective: float
    data_fit: float
    tv2: float
    dual_objective: float
    gap: float
    primal_residual: float
    dual_residual: float
    status: str
    n_iter: int
    time: float
    bounds: tuple
    lam: float

    def __repr__(self):
        return (f"ProfileFit(status={self.status!r}, objective={self.objective:.10g}, gap={self.gap:.3g}, "
                f"primal_residual={self.primal_residual:.2g}, dual_residual={self.dual_residual:.2g}, "
                f"n_profiles={len(self.profiles)}, n_iter={self.n_iter}, time={self.time:.2f}s)")


def _as_stack(a, name):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ValueError(f"{name} must be an image (H, W) or a stack (n, H, W), got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite, got NaN or infinite values")
    return a


def _knot_grids(bank, at, n_knots, knot_range, quantile):
    F = bank.n_filters
    m = (n_knots - 1) // 2
    unit = np.arange(-m, m + 1, dtype=np.float64) / m  # exactly symmetric, exactly 0 in the middle
    if knot_range is None:
        T = np.empty(F)
        sample = at[: min(len(at), 64)]
        z = bank.apply(sample)
        for i in range(F):
            T[i] = np.quantile(np.abs(z[:, i]), quantile)
        T = np.maximum(T, 1e-6)
    else:
        T = np.broadcast_to(np.asarray(knot_range, dtype=np.float64), (F,)).copy()
        if not (np.isfinite(T).all() and (T > 0).all()):
            raise ValueError(f"knot_range must be > 0 and finite, got {knot_range!r}")
    return [T[i] * unit for i in range(F)]


def _hat_values(t, z):
    """Segment index j and local coordinate theta of each z (linear extension beyond the ends)."""
    j = np.clip(np.searchsorted(t, z, side="right") - 1, 0, t.size - 2)
    theta = (z - t[j]) / (t[j + 1] - t[j])
    return j, theta


def _normal_equations(bank, knots, clean, noisy, at, alphas, chunk):
    F = bank.n_filters
    K = knots[0].size
    n, H, Wd = clean.shape
    single = [FilterBank(bank.filters[i : i + 1], bank.boundary) for i in range(F)]
    ncol = F * K
    G = np.zeros((ncol, ncol))
    b = np.zeros(ncol)
    const = 0.0
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        u, r0, al = at[s:e], noisy[s:e] - clean[s:e], alphas[s:e]
        z = bank.apply(u)
        cols = np.empty((e - s, F, K, H, Wd))
        for i in range(F):
            j, th = _hat_values(knots[i], z[:, i])
            phi = np.zeros((e - s, K) + z.shape[-2:])
            np.put_along_axis(phi, j[:, None], (1.0 - th)[:, None], axis=1)
            np.put_along_axis(phi, j[:, None] + 1, th[:, None], axis=1)
            cols[:, i] = single[i].adjoint(phi[:, :, None], (H, Wd))
        cols *= al[:, None, None, None, None]
        M = np.ascontiguousarray(cols.transpose(1, 2, 0, 3, 4).reshape(ncol, -1))
        G += dsyrk(1.0, M)  # upper triangle of M M^T
        b += M @ r0.ravel()
        const += 0.5 * float(np.vdot(r0, r0))
    G = np.triu(G) + np.triu(G, 1).T
    npix = clean.size
    return G / npix, b / npix, const / npix


def _qp(G, b, knots, lo, hi, lam, kind, tol):
    """Clarabel QP in x = [c (F*K), u (F*(K-2))]; returns (c, solution)."""
    import clarabel

    F = len(knots)
    K = knots[0].size
    k0 = (K - 1) // 2
    nc, nu = F * K, F * (K - 2)
    Ds, Dd, his, los = [], [], [], []
    for t in knots:
        h = np.diff(t)
        D = sp.diags([-1.0 / h, 1.0 / h], [0, 1], shape=(K - 1, K))  # slopes
        E = sp.diags([-np.ones(K - 2), np.ones(K - 2)], [0, 1], shape=(K - 2, K - 1))  # slope changes
        Ds.append(D)
        Dd.append(E @ D)
        lo_k = np.full(K - 1, lo)
        if kind == "weakly_convex":
            lo_k[[0, -1]] = 0.0  # end slopes continue to infinity: keep the potentials bounded below
        los.append(lo_k)
        his.append(np.full(K - 1, hi))
    Dslope = sp.block_diag(Ds, format="csc")
    Dchg = sp.block_diag(Dd, format="csc")
    I_u = sp.identity(nu, format="csc")
    Zero_su = sp.csc_matrix((Dslope.shape[0], nu))
    pin = sp.csc_matrix((np.ones(F), (np.arange(F), np.arange(F) * K + k0)), shape=(F, nc + nu))
    A = sp.vstack([
        pin,
        sp.hstack([Dchg, -I_u]),
        sp.hstack([-Dchg, -I_u]),
        sp.hstack([Dslope, Zero_su]),
        sp.hstack([-Dslope, Zero_su]),
    ], format="csc")
    rhs = np.concatenate([np.zeros(F), np.zeros(2 * nu), np.concatenate(his), -np.concatenate(los)])
    P = sp.block_diag([sp.csc_matrix(np.triu(G)), sp.csc_matrix((nu, nu))], format="csc")
    q = np.concatenate([-b, np.full(nu, lam)])
    cones = [clarabel.ZeroConeT(F), clarabel.NonnegativeConeT(A.shape[0] - F)]
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.tol_gap_abs = tol
    settings.tol_gap_rel = tol
    settings.tol_feas = tol
    settings.tol_ktratio = 1e-8
    settings.max_iter = 400
    solver = clarabel.DefaultSolver(P, q, A, rhs, cones, settings)
    sol = solver.solve()
    return np.asarray(sol.x)[:nc].reshape(F, K), sol


def _splines_from_coefficients(knots, C, lo, hi, kind):
    out = []
    K = knots[0].size
    k0 = (K - 1) // 2
    for t, c in zip(knots, C):
        h = np.diff(t)
        s = np.clip(np.diff(c) / h, lo, hi)
        if kind == "weakly_convex":
            s[[0, -1]] = np.clip(s[[0, -1]], 0.0, hi)
        v = np.empty(K)
        v[k0] = 0.0
        for k in range(k0, K - 1):
            v[k + 1] = v[k] + h[k] * s[k]
        for k in range(k0, 0, -1):
            v[k - 1] = v[k] - h[k - 1] * s[k - 1]
        v = enforce_slope_bounds(t, v, lo, hi)
        if kind == "weakly_convex":
            for k in (0, K - 2):  # end segments: [0, hi]; nudge the outer value only
                idx = k if k == 0 else k + 1
                for _ in range(64):
                    sl = (v[k + 1] - v[k]) / h[k]
                    if sl >= 0.0:
                        break
                    v[idx] = np.nextafter(v[idx], -np.inf if k == 0 else np.inf)
        out.append(LinearSpline(t, v))
    return tuple(out)


def _denoiser_objective(bank, profiles, clean, noisy, at, alphas, lam, chunk=64):
    reg = RidgeRegularizer(bank, profiles, "weakly_convex", L=max(1.0, max(p.slopes.max() for p in profiles)),
                           rho=max(0.0, -min(p.slopes.min() for p in profiles)))
    sq = 0.0
    for s in range(0, len(clean), chunk):
        e = min(len(clean), s + chunk)
        d = noisy[s:e] - alphas[s:e, None, None] * reg.grad(at[s:e]) - clean[s:e]
        sq += float(np.vdot(d, d))
    data = 0.5 * sq / clean.size
    tv2 = float(sum(p.tv2() for p in profiles))
    return data + lam * tv2, data, tv2


def fit_profiles(filters, clean, noisy, *, kind: str = "convex", lam: float = 1e-6, alphas=1.0, at=None,
                 n_knots: int = DEFAULT_N_KNOTS, knot_range=None, knot_quantile: float = DEFAULT_KNOT_QUANTILE,
                 knots=None, L: float = 1.0, rho: float = 1.0, tol: float = DEFAULT_QP_TOL,
                 chunk: int = 16) -> ProfileFit:
    """Fit the profiles of a ridge regulariser exactly for fixed filters (module docstring).

    Parameters
    ----------
    filters : FilterBank or array_like, shape (F, k1, k2)
        The fixed filters.
    clean, noisy : array_like, shape (n, H, W) or (H, W)
        Pairs of clean and noisy images.
    kind : {"convex", "weakly_convex"}
        Slope bounds ``[0, L]`` or ``[-rho, L]`` (end slopes of weakly convex profiles in ``[0, L]``).
    lam : float
        Weight of the total TV2 of the profiles (``>= 0``).
    alphas : float or array_like, shape (n,)
        Step ``alpha_n`` of the denoiser for each pair.
    at : array_like, shape (n, H, W), optional
        Images ``u_n`` at which the responses are taken; default ``noisy`` (one-step denoiser).
    n_knots : int
        Knots per profile (odd, ``>= 3``), uniform on ``[-T_i, T_i]``.
    knot_range : float or array_like, shape (F,), optional
        ``T_i``; default the ``knot_quantile`` quantile of ``|w_i * u|`` on (up to 64 of) the images.
    knots : sequence of arrays, optional
        Explicit knot grids (odd length, symmetric, with ``0`` in the middle), overriding the above.
    L, rho : float
        Slope bounds.
    tol : float
        Clarabel gap and feasibility tolerance.
    chunk : int
        Images per block in the accumulation of the normal equations.

    Returns
    -------
    ProfileFit

    Raises
    ------
    ValueError
        On mismatched shapes, non-finite images, bad bounds, ``lam < 0`` or an even ``n_knots``.

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline.imaging import initial_bank, load_image, random_patches
    >>> clean = random_patches([load_image("camera", 64)], 12, 4, random_state=0)
    >>> noisy = clean + 0.1 * np.random.default_rng(0).standard_normal(clean.shape)
    >>> fit = fit_profiles(initial_bank(2, 3), clean, noisy, lam=1e-6, n_knots=7)
    >>> all(float(p.slopes.min()) >= 0.0 and float(p.slopes.max()) <= 1.0 for p in fit.profiles)
    True
    """
    t0 = time.perf_counter()
    bank = filters if isinstance(filters, FilterBank) else FilterBank(filters)
    clean = _as_stack(clean, "clean")
    noisy = _as_stack(noisy, "noisy")
    if clean.shape != noisy.shape:
        raise ValueError(f"clean and noisy must have the same shape, got {clean.shape} and {noisy.shape}")
    at = noisy if at is None else _as_stack(at, "at")
    if at.shape != clean.shape:
        raise ValueError(f"at must have the shape of clean {clean.shape}, got {at.shape}")
    alphas = np.broadcast_to(np.asarray(alphas, dtype=np.float64), (clean.shape[0],)).copy()
    if not (np.isfinite(alphas).all() and (alphas > 0).all()):
        raise ValueError(f"alphas must be > 0 and finite, got {alphas!r}")
    lam = float(lam)
    if not (lam >= 0 and math.isfinite(lam)):
        raise ValueError(f"lam must be >= 0 and finite, got {lam!r}")
    lo, hi = _slope_bounds(kind, L, rho)
    if knots is None:
        if not (isinstance(n_knots, (int, np.integer)) and n_knots >= 3 and n_knots % 2 == 1):
            raise ValueError(f"n_knots must be an odd integer >= 3, got {n_knots!r}")
        knots = _knot_grids(bank, at, int(n_knots), knot_range, knot_quantile)
    else:
        knots = [np.asarray(t, dtype=np.float64) for t in knots]
        if len(knots) != bank.n_filters or len({t.size for t in knots}) != 1 or knots[0].size % 2 == 0:
            raise ValueError("knots must be one grid per filter, all of the same odd length")
        if any(t[(t.size - 1) // 2] != 0.0 for t in knots):
            raise ValueError("each knot grid must have 0 as its middle knot")
    G, b, const = _normal_equations(bank, knots, clean, noisy, at, alphas, int(chunk))
    C, sol = _qp(G, b, knots, lo, hi, lam, kind, float(tol))
    profiles = _splines_from_coefficients(knots, C, lo, hi, kind)
    obj, data, tv2 = _denoiser_objective(bank, profiles, clean, noisy, at, alphas, lam)
    dual = float(sol.obj_val_dual) + const
    status = str(sol.status)
    if "Solved" not in status or status.startswith("AlmostSolved"):
        warnings.warn(f"profile QP not solved: Clarabel status {status} after {sol.iterations} iterations, primal "
                      f"residual {sol.r_prim:.3g}, dual residual {sol.r_dual:.3g} (tolerance {tol:.3g}); try a larger "
                      "lam or fewer knots", ProfileFitWarning, stacklevel=2)
    return ProfileFit(
        profiles=profiles, objective=obj, data_fit=data, tv2=tv2, dual_objective=dual, gap=obj - dual,
        primal_residual=float(sol.r_prim), dual_residual=float(sol.r_dual), status=status,
        n_iter=int(sol.iterations), time=time.perf_counter() - t0, bounds=(lo, hi), lam=lam,
    )


# ---------------------------------------------------------------------------------------------
# batched reconstruction (stacks of denoising problems, by the engine)
# ---------------------------------------------------------------------------------------------
def _reconstruct_stack(reg, y, alphas, *, tol=DEFAULT_RECON_TOL, max_iter=500):
    """Minimise ``1/2||x_n - y_n||^2 + alpha_n R(x_n)`` for every image of a stack by the engine
    (:func:`~tvspline.imaging.engine.fista_stack`; module docstring)."""
    y = np.asarray(y, dtype=np.float64)
    alphas = np.asarray(alphas, dtype=np.float64)
    step = (1.0 / (1.0 + alphas * reg.lipschitz_gradient()))[:, None, None]
    a3 = alphas[:, None, None]
    convex = certified_convex(alphas, reg.weak_convexity())
    return fista_stack(lambda z: z - y + a3 * reg.grad(z), y, step, tol, max_iter, convex).x


def _validation(vclean0, vnoisy, vsig, sigmas):
    """Validation pairs as :func:`~tvspline.imaging.calibration._search_table` takes them: the clean
    patches once, the noisy ones per noise level."""
    return list(vclean0), {s: list(vnoisy[vsig == s]) for s in sigmas}


def _val_psnr(reg, val, sigmas):
    """Mean validation PSNR of ``reg`` with its noise table (the score of the noise-table search)."""
    from .calibration import _mean_psnr

    clean, noisy = val
    return float(np.mean([_mean_psnr(reg, clean, noisy[s], reg.alpha(s), DEFAULT_TOL, 5000)[0] for s in sigmas]))


def _tune_table(reg, sigmas, val):
    """``alpha(sigma)`` per noise level by the search of :func:`~tvspline.imaging.calibrate_noise_table`
    (from ``reg``'s table; capped at ``1 / weak_convexity()`` for a weakly convex ``R``), on the
    validation pairs; returns the table and its mean validation PSNR."""
    from .calibration import _search_table

    clean, noisy = val
    found = _search_table(reg, clean, noisy, np.array(sigmas), search_factor=4.0, xatol=0.01, tol=DEFAULT_TOL,
                          max_iter=5000)
    alphas, scores = found[1], found[3]
    return dict(zip(sigmas, (float(a) for a in alphas))), float(np.mean(scores))


# ---------------------------------------------------------------------------------------------
# filter gradient of the linearised loss
# ---------------------------------------------------------------------------------------------
def _corr_grad(v, m, k):
    """Gradient in the filter of ``sum_n <w * v_n, m_n>`` ("valid" convolution), shape (..., k1, k2)."""
    c = fftconvolve(v, m[..., ::-1, ::-1], mode="valid", axes=(-2, -1))  # (n, F, k1, k2) correlation
    return c.sum(axis=0)[..., ::-1, ::-1]


def _filter_gradient(reg, clean, noisy, at, alphas):
    """Gradient in the filters of ``1/(2N) sum ||y - alpha grad R(u) - x||^2`` with ``u`` held fixed."""
    bank = reg.filters
    if bank.boundary != "valid":  # pragma: no cover - training uses "valid"
        raise ValueError("the filter gradient is implemented for boundary='valid'")
    k = bank.kernel_shape
    a3 = alphas[:, None, None]
    r = noisy - a3 * reg.grad(at) - clean  # D - x
    zu = bank.apply(at)  # (n, F, h, w)
    sig = np.empty_like(zu)
    dsig = np.empty_like(zu)
    for i, p in enumerate(reg.profiles):
        sig[:, i] = p(zu[:, i])
        dsig[:, i] = p.derivative(zu[:, i])
    zr = bank.apply(r)
    ar = a3[:, None] * r[:, None]  # alpha-weighted residual, (n, 1, H, W)
    au = np.broadcast_to(at[:, None], ar.shape)
    g = _corr_grad(ar, sig, k) + _corr_grad(au, dsig * zr * alphas[:, None, None, None], k)
    return -g / clean.size


# ---------------------------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------------------------
def initial_bank(n_filters: int = 16, kernel_size: int = 5, boundary: str = "valid") -> FilterBank:
    """The ``n_filters`` lowest-frequency 2-D DCT atoms without the constant one, ``||W|| <= 1``.

    Atoms ``(a, b)`` are ordered by ``a^2 + b^2`` (ties by ``a``), then the bank is normalised
    with :meth:`FilterBank.normalized` (certified).

    Examples
    --------
    >>> from tvspline.imaging import initial_bank
    >>> bank = initial_bank(24, 5)
    >>> bank.n_filters, bank.kernel_shape, bank.norm_bound() <= 1.0
    (24, (5, 5), True)
    """
    k = int(kernel_size)
    if k < 2:
        raise ValueError(f"kernel_size must be an integer >= 2, got {kernel_size!r}")
    if not (1 <= int(n_filters) <= k * k - 1):
        raise ValueError(f"n_filters must be in [1, {k * k - 1}] for kernel_size {k}, got {n_filters!r}")
    m = np.arange(k)
    C = np.cos(np.pi * (2 * m[None, :] + 1) * m[:, None] / (2 * k)) * math.sqrt(2.0 / k)
    C[0] /= math.sqrt(2.0)
    pairs = sorted(((a, b) for a in range(k) for b in range(k) if (a, b) != (0, 0)), key=lambda p: (p[0] ** 2 + p[1] ** 2, p[0]))
    atoms = np.stack([np.outer(C[a], C[b]) for a, b in pairs[: int(n_filters)]])
    return FilterBank(atoms, boundary).normalized()


def _balanced_patches(images, size, count, rng):
    """``count`` patches spread evenly over the images (image j gets ``count // n`` or one more),
    so that large images (e.g. retina, 1411 x 1411) do not dominate the training set."""
    if isinstance(images, np.ndarray) and images.ndim == 2:
        images = [images]
    n = len(images)
    per = np.full(n, count // n)
    per[: count % n] += 1
    return np.concatenate([random_patches([im], size, int(c), rng) for im, c in zip(images, per) if c > 0])


def _model(bank, profiles, kind, L, rho, sigmas, table):
    return RidgeRegularizer(bank, profiles, kind, L=L, rho=rho if kind == "weakly_convex" else None,
                            noise_levels=list(sigmas), alphas=[table[s] for s in sigmas])


def train_ridge(images, kind: str = "convex", sigmas=(5 / 255, 15 / 255, 25 / 255), *, n_filters: int = 16,
                kernel_size: int = 5, n_patches: int = 40, patch_size: int = 32, n_val: int = 8,
                val_size: int = 40, n_knots: int = DEFAULT_N_KNOTS, lam: float = 1e-7, L: float = 1.0,
                rho: float = 1.0, rho_headroom: float = 4.0, n_outer: int = 2, filter_step: float = 0.3, random_state=0,
                progress: bool = True, return_history: bool = False):
    """Learn a (weakly) convex ridge regulariser from clean images (module docstring).

    Parameters
    ----------
    images : sequence of 2-D arrays
        Clean training images in ``[0, 1]`` (e.g. :func:`~tvspline.imaging.train_images`).
    kind : {"convex", "weakly_convex"}
        Slope bounds ``[0, L]`` or ``[-rho, L]``.
    sigmas : sequence of float
        Training noise levels (pixel scale ``[0, 1]``); the model's noise table is tuned at them.
    n_filters, kernel_size : int
        Filter bank size.
    n_patches, patch_size : int
        Training patches (the same clean patches at every noise level, independent noise), spread
        evenly over the images (not proportionally to their areas).
    n_val, val_size : int
        Validation patches (from the same images, separate draw) for the acceptance tests and the
        noise table.
    n_knots, lam, L : see :func:`fit_profiles`.
    rho : float
        For ``kind="weakly_convex"``: at each profile refit the lower slope bound is
        ``-rho / (rho_headroom * max(alpha(sigma)))``, and the noise table is capped at
        ``alpha <= 1 / weak_convexity()``, so that the denoising objective
        ``1/2||x - y||^2 + alpha(sigma) R(x)`` of every tabulated noise level stays convex
        (``rho <= 1``; default 1). The model declares that bound as its ``rho``.
        The one-step fit that starts the training is convex.
    rho_headroom : float
        Factor (``>= 1``, default 4) by which alpha may still grow at the next table tuning.
    n_outer : int
        Outer iterations (each: a profile refit and a filter step, each accepted only if the
        validation PSNR increases).
    filter_step : float
        Initial relative filter step (``||dW|| = filter_step * ||W||`` at most, halved on rejection).
    random_state : None, int or numpy.random.Generator
        Seed of the patches and the noise; the same seed gives the same model bit for bit.
    progress : bool
        Show a tqdm progress bar.
    return_history : bool
        Also return a list of dicts (one per stage: validation PSNR, accepted, time).

    Returns
    -------
    RidgeRegularizer or (RidgeRegularizer, list)
        With the noise table ``alpha(sigma)`` at ``sigmas``.

    Examples
    --------
    >>> import warnings
    >>> from tvspline.imaging import load_image
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     reg = train_ridge([load_image("camera", 48)], "convex", (0.1,), n_filters=2, kernel_size=3,
    ...                       n_patches=2, patch_size=12, n_val=1, val_size=16, n_knots=7, n_outer=0,
    ...                       progress=False)
    >>> reg.check_certificate().ok, reg.filters.n_filters
    (True, 2)
    """
    lo, hi = _slope_bounds(kind, L, rho)
    sigmas = tuple(sorted(float(s) for s in np.atleast_1d(sigmas)))
    if not sigmas or min(sigmas) <= 0:
        raise ValueError(f"sigmas must be a non-empty sequence of positive noise levels, got {sigmas!r}")
    rng = as_generator(random_state)
    clean0 = _balanced_patches(images, patch_size, n_patches, rng)
    vclean0 = _balanced_patches(images, val_size, n_val, rng)
    clean = np.concatenate([clean0] * len(sigmas))
    sig = np.repeat(np.array(sigmas), n_patches)
    noisy = clean + sig[:, None, None] * rng.standard_normal(clean.shape)
    vclean = np.concatenate([vclean0] * len(sigmas))
    vsig = np.repeat(np.array(sigmas), n_val)
    vnoisy = vclean + vsig[:, None, None] * rng.standard_normal(vclean.shape)

    history = []
    t_start = time.perf_counter()
    try:
        from tqdm.auto import tqdm
        bar = tqdm(total=2 + 2 * n_outer, desc=f"train_ridge[{kind}]", disable=not progress)
    except ImportError:  # pragma: no cover - tqdm is a dependency
        bar = None

    def tick(stage, val, accepted):
        history.append(dict(stage=stage, val_psnr=val, accepted=accepted, time=time.perf_counter() - t_start))
        if bar is not None:
            bar.set_postfix(stage=stage, val_psnr=f"{best:.3f}")
            bar.update(1)

    bank = initial_bank(n_filters, kernel_size)
    a_one = {s: s / max(sigmas) for s in sigmas}
    # one-step fit; a weakly convex model starts from the convex one (its rho depends on alpha)
    fit = fit_profiles(bank, clean, noisy, kind="convex", lam=lam, alphas=np.array([a_one[s] for s in sig]),
                       n_knots=n_knots, L=L)
    profiles = fit.profiles
    knots = [p.knots for p in profiles]
    cur_rho = 0.0
    reg = _model(bank, profiles, kind, L, cur_rho, sigmas, a_one)
    best = -math.inf
    tick("one-step fit", None, True)
    pairs = _validation(vclean0, vnoisy, vsig, sigmas)
    table, best = _tune_table(reg, sigmas, pairs)
    reg = _model(bank, profiles, kind, L, cur_rho, sigmas, table)
    tick("noise table", best, True)

    step = float(filter_step)
    for _ in range(int(n_outer)):
        # (a) exact refit of the profiles for the fixed-point linearisation at the reconstructions
        al = np.array([table[s] for s in sig])
        xhat = _reconstruct_stack(reg, noisy, al)
        new_rho = 0.0 if kind == "convex" else rho / (rho_headroom * max(table.values()))
        fit = fit_profiles(bank, clean, noisy, kind=kind, lam=lam, alphas=al, at=xhat, knots=knots, L=L,
                           rho=new_rho if kind == "weakly_convex" else 1.0)
        cand = _model(bank, fit.profiles, kind, L, new_rho, sigmas, table)
        ctable, val = _tune_table(cand, sigmas, pairs)
        cand = _model(bank, fit.profiles, kind, L, new_rho, sigmas, ctable)
        ok = val > best
        if ok:
            reg, profiles, table, best, cur_rho = cand, fit.profiles, ctable, val, new_rho
        tick("profile refit", val, ok)
        # (b) filter step on the same linearised loss, re-normalised, accepted if validation improves
        al = np.array([table[s] for s in sig])
        xhat = _reconstruct_stack(reg, noisy, al)
        g = _filter_gradient(reg, clean, noisy, xhat, al)
        W = bank.filters
        gn = float(np.linalg.norm(g))
        ok, val = False, None
        for _try in range(3):
            if gn == 0:
                break
            Wn = FilterBank(W - (step * np.linalg.norm(W) / gn) * g, bank.boundary).normalized()
            cand = reg.with_filters(Wn)
            if cand.weak_convexity() * max(table.values()) > 1.0:
                step *= 0.5
                continue
            val = _val_psnr(cand, pairs, sigmas)
            if val > best:
                reg, bank, best, ok = cand, Wn, val, True
                break
            step *= 0.5
        tick("filter step", val, ok)
    if bar is not None:
        bar.close()
    cert = reg.check_certificate()
    if not cert.ok:  # pragma: no cover - guaranteed by construction
        raise RuntimeError(f"trained model fails its certificate: {cert!r}")
    return (reg, history) if return_history else reg


def pretrained(kind: str = "convex") -> RidgeRegularizer:
    """Load a model shipped with tvspline (trained by ``scripts/train_ridge.py``).

    Parameters
    ----------
    kind : {"convex", "weakly_convex"}

    Returns
    -------
    RidgeRegularizer
        With its noise table, so ``pretrained("convex").denoise(y, 25 / 255)`` works directly. The
        table was learned in training, then calibrated on the 128x128 centre crops of the TRAIN
        images by :func:`~tvspline.imaging.calibrate_noise_table`.

    Examples
    --------
    >>> from tvspline.imaging import pretrained
    >>> reg = pretrained("convex")
    >>> reg.kind, reg.check_certificate().ok
    ('convex', True)
    """
    if kind not in PRETRAINED_KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(map(repr, PRETRAINED_KINDS))}")
    path = os.path.join(MODELS_DIR, f"{kind}.npz")
    if not os.path.exists(path):
        raise FileNotFoundError(f"no shipped model at {path!r}; run scripts/train_ridge.py (and install the package data)")
    return RidgeRegularizer.load(path)
