r"""Bilevel training of the profiles of a ridge regulariser (exact denoiser, implicit gradients).

For fixed filters :math:`W` (``||W|| <= 1``) and profiles :math:`\sigma_i` (linear splines on fixed
knots, slopes the variables), the denoiser of a noisy patch :math:`y` at noise level
:math:`\sigma` is the minimiser

.. math::

    \hat x(y) = \arg\min_x \tfrac12 \|x - y\|^2 + \alpha_\sigma R(x),
    \qquad R(x) = \sum_i \sum_p \psi_i((w_i * x)_p), \quad \psi_i' = \sigma_i.

The training loss is the mean squared error :math:`\ell = \frac{1}{2N}\sum_n \|\hat x(y_n) -
x_n\|^2` over clean/noisy pairs. Its gradient comes from the optimality condition
:math:`\hat x - y + \alpha W^T \sigma(W \hat x) = 0` by implicit differentiation: with
:math:`v = (I + \alpha W^T \Sigma' W)^{-1} (\hat x - x) / N` (conjugate gradients; :math:`\Sigma'`
the diagonal of the profiles' slopes at the responses :math:`z = W\hat x`),

.. math::

    \frac{\partial \ell}{\partial c_{ik}} = -\alpha \sum_p \varphi_{ik}(z_{ip}) (W v)_{ip},
    \qquad
    \frac{\partial \ell}{\partial \log\alpha} = -\alpha \langle W v, \sigma(z) \rangle,

where :math:`c_{ik}` are the profile values at the knots and :math:`\varphi_{ik}` the hat
functions. The variables are the slopes of the profiles (the value at 0 pinned to 0) and
:math:`\log\alpha_\sigma` per noise level; the constraints are boxes: slopes in the kind's bounds
(``[0, L]`` convex, ``[-rho, L]`` weakly convex, the two end slopes in ``[0, L]`` so the potentials
are bounded below) and :math:`\alpha_\sigma \rho \le 1` (the denoising objective then stays
convex, so :math:`\hat x` is unique and :math:`I + \alpha W^T\Sigma' W` is positive semi-definite).
The problem goes to L-BFGS-B (``scipy.optimize.minimize``), each evaluation warm-started from the
previous reconstructions.

What is exact here: every returned model satisfies its certificate (slopes within bounds by
construction, ``||W|| <= 1`` certified); every evaluation of the loss uses the reconstructions to
the stated tolerance. What is not: the training problem is non-convex, so L-BFGS-B finds a
stationary point, not a global minimiser.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize

from .._random import as_generator
from ._profile_eval import profile_and_slope, segment_table
from .engine import fista_stack
from .filters import FilterBank
from .ridge import RidgeRegularizer
from .training import _balanced_patches, _corr_grad, _splines_from_coefficients

__all__ = ["difference_bank", "train_bilevel"]


def difference_bank(order: int = 1) -> FilterBank:
    """Finite differences in four directions (2x2 support), normalised to ``||W|| <= 1``.

    ``order=2`` adds the three second differences of a 3x3 support (horizontal, vertical,
    mixed) to the four first differences (zero-padded to 3x3).

    Examples
    --------
    >>> from tvspline.imaging.bilevel import difference_bank
    >>> W = difference_bank()
    >>> W.n_filters, W.kernel_shape, W.norm_bound() <= 1
    (4, (2, 2), True)
    """
    first = np.array([[[1.0, -1.0], [0.0, 0.0]], [[1.0, 0.0], [-1.0, 0.0]],
                      [[1.0, 0.0], [0.0, -1.0]], [[0.0, 1.0], [-1.0, 0.0]]])
    if order == 1:
        return FilterBank(first).normalized()
    if order != 2:
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    f = np.zeros((7, 3, 3))
    f[:4, :2, :2] = first
    f[4, 1] = [1.0, -2.0, 1.0]
    f[5, :, 1] = [1.0, -2.0, 1.0]
    f[6] = [[1.0, 0.0, -1.0], [0.0, 0.0, 0.0], [-1.0, 0.0, 1.0]]
    f[6] /= 2.0
    return FilterBank(f).normalized()


def _normalised_filters(V, boundary):
    """``W = V / s(V)`` with ``s = (1 + margin) * norm_bound(V)`` (so ``||W|| <= 1``), and the
    gradient of ``s`` in ``V``: the norm bound is the maximum of the spectrum on a fine grid
    (:meth:`FilterBank.norm_bound`), differentiated at the maximising frequency."""
    from .filters import DEFAULT_MARGIN

    bank = FilterBank(V, boundary)
    nb = bank.norm_bound()
    scale = (1.0 + DEFAULT_MARGIN) * nb
    F, k1, k2 = V.shape
    g = bank._norm_grid()
    hats = np.fft.rfft2(V, s=g)
    spec = np.sum(np.abs(hats) ** 2, axis=0)
    a, b = np.unravel_index(int(np.argmax(spec)), spec.shape)
    w1, w2 = 2 * np.pi * a / g[0], 2 * np.pi * b / g[1]
    m, n = np.arange(k1)[:, None], np.arange(k2)[None, :]
    phase = np.exp(-1j * (w1 * m + w2 * n))  # d hat v_i(w*) / d v_i[m, n]
    dP = 2.0 * np.real(np.conj(hats[:, a, b])[:, None, None] * phase[None])
    ds = scale * dP / (2.0 * spec[a, b])  # s = C sqrt(P_max)
    return FilterBank(V / scale, boundary), scale, ds


def _joint_filter_grad(gW, V, scale, dscale):
    """Chain rule for ``W = V / s(V)``: the gradient in ``V`` from the gradient ``gW`` in ``W``."""
    return gW / scale - (np.sum(gW * V) / scale**2) * dscale


def _knots(half_width: float, n_knots: int, power: float) -> np.ndarray:
    """Symmetric knots on [-T, T] with a knot at 0, denser near 0 (``|u|**power`` spacing)."""
    h = n_knots // 2
    u = np.arange(1, h + 1) / h
    pos = half_width * u**power
    return np.concatenate([-pos[::-1], [0.0], pos])


class _Profiles:
    """Profiles on fixed knots parametrised by their slopes, value 0 at the middle knot."""

    def __init__(self, knots: np.ndarray, n_filters: int):
        self.t = knots
        self.F = n_filters
        self.K = knots.size
        self.mid = self.K // 2
        self.dt = np.diff(knots)
        self.table, self.inv_cell = segment_table(knots)  # for the compiled evaluation

    def values(self, S: np.ndarray) -> np.ndarray:
        inc = S * self.dt  # (F, K-1)
        c = np.zeros((self.F, self.K))
        c[:, self.mid + 1:] = np.cumsum(inc[:, self.mid:], axis=1)
        c[:, :self.mid] = -np.cumsum(inc[:, :self.mid][:, ::-1], axis=1)[:, ::-1]
        return c

    def values_to_slopes_grad(self, gc: np.ndarray) -> np.ndarray:
        """Chain rule: gradient in the values -> gradient in the slopes."""
        gS = np.zeros((self.F, self.K - 1))
        # c[j] for j > mid depends on slopes mid..j-1 with weight dt; c[j] for j < mid on slopes
        # j..mid-1 with weight -dt.
        right = np.cumsum(gc[:, self.mid + 1:][:, ::-1], axis=1)[:, ::-1]  # sum over j >= k+1
        gS[:, self.mid:] = right * self.dt[self.mid:]
        left = np.cumsum(gc[:, :self.mid], axis=1)  # sum over j <= k
        gS[:, :self.mid] = -left * self.dt[:self.mid]
        return gS

    def splines(self, S: np.ndarray, lo: float, hi: float, kind: str) -> tuple:
        """The profiles as splines whose slopes, recomputed from the stored values, satisfy the
        bounds exactly (clipped, integrated from the knot at 0, nudged by ulps)."""
        return _splines_from_coefficients([self.t] * self.F, self.values(S), lo, hi, kind)


def _locate(t, z):
    """Segment index (clipped to the end segments) and fraction of every response."""
    k = np.clip(np.searchsorted(t, z, side="right") - 1, 0, t.size - 2)
    th = (z - t[k]) / (t[k + 1] - t[k])
    return k, th


def _sigma_all(prof, c, S, Z):
    """Profile values and slopes at the responses Z (n, F, h, w); returns sigma, slope, k, th.

    One compiled pass per filter (:func:`~tvspline.imaging._profile_eval.profile_and_slope`),
    bitwise the values of :func:`_sigma_all_numpy`."""
    sig = np.empty_like(Z)
    der = np.empty_like(Z)
    ks, ths = [], []
    for i in range(prof.F):
        k = np.empty(Z.shape[:1] + Z.shape[2:], dtype=np.intp)
        th = np.empty(Z.shape[:1] + Z.shape[2:])
        profile_and_slope(Z[:, i], prof.t, c[i], S[i], prof.table, prof.inv_cell, sig[:, i], der[:, i], k, th)
        ks.append(k)
        ths.append(th)
    return sig, der, ks, ths


def _sigma_all_numpy(prof, c, S, Z):
    """The NumPy reference of :func:`_sigma_all`."""
    sig = np.empty_like(Z)
    der = np.empty_like(Z)
    ks, ths = [], []
    for i in range(prof.F):
        k, th = _locate(prof.t, Z[:, i])
        sig[:, i] = c[i, k] * (1.0 - th) + c[i, k + 1] * th
        der[:, i] = S[i, k]
        ks.append(k)
        ths.append(th)
    return sig, der, ks, ths


def _denoise(W, prof, c, S, y, alphas, x0, tol, max_iter, lip):
    """The exact denoiser of a stack by the engine (:func:`~tvspline.imaging.engine.fista_stack`):
    FISTA with gradient restart (the denoising objective is convex here), step ``1 / (1 + alpha
    lip)`` per patch, stopped when every patch's root-mean-square gradient is ``<= tol``. Returns
    the denoised stack, the iteration count and the root-mean-square gradients."""
    a3 = alphas[:, None, None]
    step = (1.0 / (1.0 + alphas * lip))[:, None, None]
    shape = y.shape[-2:]

    def grad(z):
        sig, _, _, _ = _sigma_all(prof, c, S, W.apply(z))
        return z - y + a3 * W.adjoint(sig, shape)

    res = fista_stack(grad, x0, step, tol, max_iter)
    return res.x, res.n_iter, res.grad_rms


def _cg(W, der, alphas, r, tol=1e-10, max_iter=300):
    """Solve (I + alpha W^T diag(der) W) v = r per image by conjugate gradients."""
    a3 = alphas[:, None, None]
    shape = r.shape[-2:]

    def A(v):
        return v + a3 * W.adjoint(der * W.apply(v), shape)

    v = np.zeros_like(r)
    res = r.copy()
    p = res.copy()
    rr = np.sum(res * res, axis=(1, 2))
    r0 = np.sqrt(rr)
    for _ in range(max_iter):
        if (np.sqrt(rr) <= tol * np.maximum(r0, 1e-300)).all():
            break
        Ap = A(p)
        pAp = np.sum(p * Ap, axis=(1, 2))
        a = np.where(pAp > 0, rr / np.where(pAp > 0, pAp, 1.0), 0.0)
        v += a[:, None, None] * p
        res -= a[:, None, None] * Ap
        rr_new = np.sum(res * res, axis=(1, 2))
        b = np.where(rr > 0, rr_new / np.where(rr > 0, rr, 1.0), 0.0)
        p = res + b[:, None, None] * p
        rr = rr_new
    return v


def _filter_grad(W, xh, v, sig, der, alphas):
    """Gradient of the loss in the filters (implicit differentiation; module docstring)."""
    a4 = alphas[:, None, None, None]
    Wv = W.apply(v)
    k = W.kernel_shape
    g = _corr_grad(v[:, None], a4 * sig, k) + _corr_grad(xh[:, None], a4 * der * Wv, k)
    return -g


def _evaluate(W, prof, S, alphas, clean, noisy, x0, recon_tol, lip, grads):
    """Loss, reconstructions and (if ``grads``) the gradients in values, log-alphas and filters."""
    c = prof.values(S)
    xh, _, _ = _denoise(W, prof, c, S, noisy, alphas, x0, recon_tol, 3000, lip)
    N = clean.size
    r = xh - clean
    loss = 0.5 * float(np.sum(r * r)) / N
    if not grads:
        return loss, xh, None
    Z = W.apply(xh)
    sig, der, ks, ths = _sigma_all(prof, c, S, Z)
    v = _cg(W, der, alphas, r / N)
    Wv = W.apply(v)
    gc = np.zeros((prof.F, prof.K))
    for i in range(prof.F):
        q = (-(alphas[:, None, None] * Wv[:, i])).ravel()
        k = ks[i].ravel()
        th = ths[i].ravel()
        gc[i] = np.bincount(k, q * (1 - th), minlength=prof.K) + np.bincount(k + 1, q * th, minlength=prof.K)
    gS = prof.values_to_slopes_grad(gc)
    gla_n = -(alphas * np.sum(Wv * sig, axis=(1, 2, 3)))
    return loss, xh, (gS, gla_n, (xh, v, sig, der))


def train_bilevel(clean, noisy, noise_of, *, filters=None, kind: str = "convex", L: float = 1.0,
                  rho: float | None = None, n_knots: int = 41, knot_power: float = 2.0,
                  init=None, alpha_init=None, max_iter: int = 100, recon_tol: float = 1e-6,
                  n_rounds: int = 1, filter_steps: int = 0, joint_filters: bool = False,
                  callback=None):
    """Learn the profiles (and alpha per noise level) of a ridge regulariser, optionally the filters.

    Parameters
    ----------
    clean, noisy : ndarray, shape (N, h, w)
        Clean patches and their noisy versions.
    noise_of : ndarray, shape (N,)
        Noise level of each pair (the distinct values get one alpha each).
    filters : FilterBank, optional
        Starting filters, ``||W|| <= 1`` (default :func:`difference_bank`).
    kind : {"convex", "weakly_convex"}
    L, rho : float
        Slope bounds ``[0, L]`` or ``[-rho, L]``; for ``weakly_convex`` alpha is capped at
        ``1 / (rho ||W||^2)``.
    n_knots, knot_power : int, float
        Knots on ``[-T, T]`` (``T`` above every response of the noisy patches), denser near 0.
    init : RidgeRegularizer, optional
        Starting profiles (resampled at the knots); default a clipped identity (Huber-like).
    alpha_init : dict, optional
        Starting alpha per noise level.
    max_iter : int
        L-BFGS-B iterations per round.
    recon_tol : float
        Root-mean-square gradient tolerance of the reconstructions.
    n_rounds, filter_steps : int
        Rounds of (profiles by L-BFGS-B, then ``filter_steps`` normalised gradient steps on the
        filters, each accepted only if the loss decreases).
    joint_filters : bool
        Learn the filters jointly with the profiles and the noise table in each round's
        L-BFGS-B: the variables are unnormalised filters ``V`` and the model uses
        ``W = V / ((1 + margin) norm_bound(V))`` (so ``||W|| <= 1`` throughout), differentiated
        at the frequency where the bound's spectrum peaks. On small training sets this overfits:
        on 32 patches (7 filters 3x3, 60 iterations, two rounds) it reached the training loss of
        fixed filters but lost 0.7 dB on the test images at sigma = 25/255. Learn filters on many
        patches.
    callback : callable, optional
        ``callback(stage, n_eval, loss)`` after every evaluation.

    Returns
    -------
    RidgeRegularizer
        With the learned profiles and the noise table.
    """
    clean = np.asarray(clean, dtype=np.float64)
    noisy = np.asarray(noisy, dtype=np.float64)
    noise_of = np.asarray(noise_of, dtype=np.float64)
    W = difference_bank() if filters is None else filters
    if kind not in ("convex", "weakly_convex"):
        raise ValueError(f"unknown kind {kind!r}")
    rho = 0.0 if kind == "convex" else (1.0 if rho is None else float(rho))
    levels = np.unique(noise_of)
    lev_idx = np.searchsorted(levels, noise_of)
    T = 1.05 * float(np.max(np.abs(W.apply(noisy))))
    t = _knots(T, n_knots, knot_power)
    prof = _Profiles(t, W.n_filters)
    nS = prof.F * (prof.K - 1)
    if init is None:
        delta = 0.02 * T
        S0 = np.where(np.abs(0.5 * (t[:-1] + t[1:])) < delta, L, 0.0)
        S0 = np.tile(S0, (prof.F, 1))
    else:
        c0 = np.array([p(t) for p in init.profiles])
        S0 = np.diff(c0, axis=1) / prof.dt
    lo = np.full((prof.F, prof.K - 1), -rho)
    lo[:, 0] = 0.0
    lo[:, -1] = 0.0
    S = np.clip(S0, lo, L)
    if alpha_init is None:
        # the initial profile is L * clip(z, -delta, delta) with delta = 0.02 T: alpha * L * delta
        # plays the part of a TV weight (about 0.2 at the largest noise level, proportional to sigma)
        alpha_init = {s: (s / levels.max()) * 0.2 / (L * 0.02 * T) for s in levels}
    la = np.array([math.log(alpha_init[s]) for s in levels])
    state = {"x": noisy.copy(), "n": 0}

    def report(stage, loss):
        state["n"] += 1
        if callback is not None:
            callback(stage, state["n"], loss)

    nL = len(levels)
    for _ in range(n_rounds):
        nb = 1.0 if joint_filters else W.norm_bound()  # joint: every W has ||W|| <= 1
        lip = max(L, rho) * nb * nb
        cap = math.inf if rho == 0 else 1.0 / (rho * nb * nb)
        la = np.minimum(la, math.log(0.999 * cap) if math.isfinite(cap) else np.inf)
        bounds = [(lo_, L) for lo_ in lo.ravel()] + [(None, math.log(cap) if math.isfinite(cap) else None)] * nL
        theta0 = [S.ravel(), la]
        if joint_filters:
            theta0.append(W.filters.ravel())
            bounds += [(None, None)] * W.filters.size
        best = {"loss": math.inf, "theta": np.concatenate(theta0)}

        def fg(theta):
            S_ = theta[:nS].reshape(prof.F, prof.K - 1)
            alphas = np.exp(theta[nS:nS + nL])[lev_idx]
            Wc = W
            if joint_filters:
                V = theta[nS + nL:].reshape(W.filters.shape)
                Wc, scale, dscale = _normalised_filters(V, W.boundary)
            loss, xh, (gS, gla_n, extra) = _evaluate(Wc, prof, S_, alphas, clean, noisy, state["x"], recon_tol, lip, True)
            state["x"] = xh
            if loss < best["loss"]:
                best.update(loss=loss, theta=theta.copy())
            report("profiles", loss)
            grad = [gS.ravel(), np.bincount(lev_idx, gla_n, minlength=nL)]
            if joint_filters:
                gW = _filter_grad(Wc, *extra, alphas)
                grad.append(_joint_filter_grad(gW, V, scale, dscale).ravel())
            return loss, np.concatenate(grad)

        minimize(fg, best["theta"], jac=True, method="L-BFGS-B", bounds=bounds,
                 options={"maxiter": max_iter, "maxfun": 2 * max_iter, "gtol": 0.0, "ftol": 1e-12})
        S = np.clip(best["theta"][:nS].reshape(prof.F, prof.K - 1), lo, L)
        la = best["theta"][nS:nS + nL]
        if joint_filters:
            W = _normalised_filters(best["theta"][nS + nL:].reshape(W.filters.shape), W.boundary)[0]
        cur = best["loss"]
        eta = 0.05
        for _ in range(filter_steps):
            alphas = np.exp(la)[lev_idx]
            cur, xh, (_, _, (xh, v, sig, der)) = _evaluate(W, prof, S, alphas, clean, noisy, state["x"],
                                                          recon_tol, max(L, rho) * W.norm_bound() ** 2, True)
            g = _filter_grad(W, xh, v, sig, der, alphas)
            w = W.filters
            accepted = False
            for _try in range(3):
                cand = FilterBank(w - eta * np.linalg.norm(w) / np.linalg.norm(g) * g, W.boundary).normalized()
                if rho > 0:  # keep the cap alpha * rho * ||W||^2 <= 1
                    la_c = np.minimum(la, math.log(0.999 / (rho * cand.norm_bound() ** 2)))
                else:
                    la_c = la
                lc, xc, _ = _evaluate(cand, prof, S, np.exp(la_c)[lev_idx], clean, noisy, xh, recon_tol,
                                      max(L, rho) * cand.norm_bound() ** 2, False)
                report("filters", lc)
                if lc < cur:
                    W, la, state["x"], cur, accepted = cand, la_c, xc, lc, True
                    eta *= 1.5
                    break
                eta *= 0.3
            if not accepted:
                break
    return RidgeRegularizer(W, prof.splines(S, -rho, L, kind), kind, L=L, rho=(rho if kind == "weakly_convex" else None),
                            noise_levels=levels, alphas=np.exp(la))


def train_ridge_bilevel(images, kind: str = "convex", sigmas=(5 / 255, 15 / 255, 25 / 255), *,
                        filters=None, n_patches: int = 32, patch_size: int = 40, n_knots: int = 41,
                        L: float = 1.0, rho: float = 0.01, max_iter: int = 40, n_rounds: int = 2,
                        filter_steps: int = 4, recon_tol: float = 1e-6, joint_filters: bool = False,
                        random_state=0, progress: bool = True):
    """Train a ridge regulariser from clean images by :func:`train_bilevel` (patches and noise).

    ``n_patches`` clean patches of ``patch_size`` pixels, spread evenly over ``images``, are drawn
    from ``random_state``; each noise level gets the same clean patches with its own noise. The
    profiles and the noise table are learned jointly for the exact denoiser, then (``n_rounds``
    rounds) the filters take ``filter_steps`` gradient steps. Returns the :class:`RidgeRegularizer`.
    For ``kind="weakly_convex"`` the slopes are bounded below by ``-rho`` and every tabulated alpha
    by ``1 / (rho ||W||^2)``, so each denoising problem stays convex.

    Examples
    --------
    >>> from tvspline.imaging import initial_bank, load_image
    >>> reg = train_ridge_bilevel([load_image("camera", 48)], "convex", (0.1,), filters=initial_bank(2, 3),
    ...                           n_patches=2, patch_size=12, n_knots=7, max_iter=2, n_rounds=1,
    ...                           filter_steps=0, progress=False)
    >>> reg.check_certificate().ok, reg.filters.n_filters
    (True, 2)
    """
    sigmas = tuple(sorted(float(s) for s in np.atleast_1d(sigmas)))
    if not sigmas or min(sigmas) <= 0:
        raise ValueError(f"sigmas must be a non-empty sequence of positive noise levels, got {sigmas!r}")
    rng = as_generator(random_state)
    clean0 = _balanced_patches(images, patch_size, n_patches, rng)
    clean = np.concatenate([clean0] * len(sigmas))
    noise_of = np.repeat(np.array(sigmas), len(clean0))
    noisy = clean + noise_of[:, None, None] * rng.standard_normal(clean.shape)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_rounds * (2 * max_iter + 3 * filter_steps), desc=f"train[{kind}]")

    def cb(stage, n, loss):
        if bar is not None:
            bar.set_postfix(stage=stage, psnr=f"{-10 * math.log10(2 * loss):.3f}")
            bar.update(1)

    try:
        return train_bilevel(clean, noisy, noise_of, filters=filters, kind=kind, L=L,
                             rho=rho if kind == "weakly_convex" else None, n_knots=n_knots,
                             max_iter=max_iter, n_rounds=n_rounds, filter_steps=filter_steps,
                             recon_tol=recon_tol, joint_filters=joint_filters, callback=cb)
    finally:
        if bar is not None:
            bar.close()
