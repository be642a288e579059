r"""Training a ridge regulariser on a large image set, in resumable rounds.

The objective is the bilevel loss of :mod:`tvspline.imaging.bilevel`: the mean squared error of
the *exact* denoiser :math:`\hat x(y) = \arg\min_x \tfrac12\|x - y\|^2 + \alpha_\sigma R(x)` over
clean / noisy patch pairs, differentiated implicitly (conjugate gradients on
:math:`I + \alpha W^T \Sigma' W`). The variables are the slopes of every profile, one
:math:`\log\alpha_\sigma` per training noise level and, with ``filters_every``, the unnormalised
filters :math:`V` (the model uses :math:`W = V / s(V)` with the certified bound
:math:`s(V) \ge \|V\|`, so :math:`\|W\| \le 1` throughout).

A large image set does not fit in one evaluation, so the training runs in *rounds*. Round
:math:`r` draws ``patches_per_round`` clean patches (image ``order[(r P + j) mod n]`` for patch
``j``, where ``order`` is a seeded permutation of the images, so that every image contributes
before any contributes twice), gives patch :math:`j` the noise level ``sigmas[j mod len(sigmas)]``,
and runs ``evals_per_round`` evaluations of L-BFGS-B (SciPy) from the previous round's variables;
the variables of the best evaluation of the round are kept. Everything a round draws comes from
``numpy.random.default_rng([random_state, r])``, so a round depends only on the seed, its index and
the variables it starts from.

Checkpoints. After every round the variables, the knots and the loss history are written to an
``.npz`` file (no pickle) together with the settings they belong to; a later call with the same
settings and ``checkpoint`` path resumes after the last completed round and returns bit for bit
the model an uninterrupted run returns (an evaluation's arithmetic does not depend on where the
run started).

What is exact: every returned model satisfies its certificate (slopes within the kind's bounds by
construction, :math:`\|W\| \le 1` certified, :math:`\alpha \rho \le 1` for the weakly convex
kind); each loss is computed from reconstructions to the stated tolerance. What is not: the
training problem is non-convex and each round sees a sample of the data.

Why blocks. Learned all at once, the filters take over: the filter gradient is orders of magnitude
larger than the slope gradient, and L-BFGS-B, restarted every round without its curvature pairs,
moves the filters while the slopes stay at their bounds. With ``filters_every = k`` the rounds
alternate between blocks instead: round ``r`` updates the filters (and the noise table) when
``r mod k = k - 1`` and the profiles (and the noise table) otherwise, each block a well-scaled
problem of its own.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
from scipy.optimize import minimize

from .._progress import progress as _progress_bar
from .bilevel import _Profiles, _evaluate, _filter_grad, _joint_filter_grad, _knots, _normalised_filters
from .filters import FilterBank, _check_int
from .ridge import KINDS, RidgeRegularizer

__all__ = ["train_ridge_rounds"]

_CHECKPOINT_FORMAT = "tvspline.imaging.train_ridge_rounds/1"


def _round_batch(images, order, r, P, size, sigmas, seed):
    """Clean patches, noisy patches and noise level per patch of round ``r`` (module docstring)."""
    rng = np.random.default_rng([seed, r])
    n = len(images)
    clean = np.empty((P, size, size))
    for j in range(P):
        im = images[order[(r * P + j) % n]]
        a = rng.integers(0, im.shape[0] - size + 1)
        b = rng.integers(0, im.shape[1] - size + 1)
        clean[j] = im[a:a + size, b:b + size]
    noise_of = np.asarray(sigmas)[np.arange(P) % len(sigmas)]
    noisy = clean + noise_of[:, None, None] * rng.standard_normal(clean.shape)
    return clean, noisy, noise_of


def _settings_key(settings) -> str:
    return json.dumps(settings, sort_keys=True)


def train_ridge_rounds(images, kind: str = "convex", sigmas=(5 / 255, 15 / 255, 25 / 255), *, filters: FilterBank,
                       n_rounds: int = 10, patches_per_round: int = 96, patch_size: int = 40,
                       evals_per_round: int = 20, n_knots: int = 41, knot_power: float = 2.0, L: float = 1.0,
                       rho: float = 0.005, recon_tol: float = 2e-6, filters_every: int = 2,
                       random_state: int = 0, checkpoint=None, progress=None) -> RidgeRegularizer:
    """Learn filters, profiles and the noise table of a ridge regulariser from many images.

    Parameters
    ----------
    images : sequence of 2-D arrays
        Clean training images in ``[0, 1]``, each at least ``patch_size`` on both sides.
    kind : {"convex", "weakly_convex"}
        Slopes in ``[0, L]`` or ``[-rho, L]`` (the two end slopes in ``[0, L]`` in both cases).
    sigmas : sequence of float
        Training noise levels (data range 1); one learned ``alpha`` each.
    filters : FilterBank
        Starting filters (``boundary="valid"``).
    n_rounds, patches_per_round, patch_size, evals_per_round : int
        The schedule (module docstring).
    n_knots, knot_power : int, float
        Knots of every profile on ``[-T, T]`` (``T`` = 1.5 times the largest response of the first
        round's noisy patches to the starting filters), denser near 0.
    L, rho : float
        Slope bounds; for ``weakly_convex`` every ``alpha`` is capped at ``1 / rho`` (``||W|| <= 1``).
    recon_tol : float
        Root-mean-square gradient tolerance of the inner reconstructions.
    filters_every : int
        ``0``: the filters stay fixed; ``k >= 1``: every ``k``-th round updates the filters and
        the other rounds the profiles (module docstring; ``k = 1`` updates only the filters).
    random_state : int
        Seed of everything the training draws.
    checkpoint : str or os.PathLike, optional
        ``.npz`` file written after every round and read at the start to resume.
    progress : bool or None
        Show a progress bar (one tick per evaluation); ``None`` shows it when standard error is a
        terminal.

    Returns
    -------
    RidgeRegularizer
        Certified for its kind, with the learned noise table.

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline.imaging import initial_bank, load_image, train_ridge_rounds
    >>> reg = train_ridge_rounds([load_image("camera", 64)], filters=initial_bank(3, 3), n_rounds=1,
    ...                          patches_per_round=3, patch_size=16, evals_per_round=2, n_knots=9,
    ...                          progress=False)
    >>> reg.check_certificate().ok, reg.filters.n_filters
    (True, 3)
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    sig = tuple(sorted(float(s) for s in np.atleast_1d(sigmas)))
    if not sig or min(sig) <= 0 or not all(math.isfinite(s) for s in sig):
        raise ValueError(f"sigmas must be positive finite noise levels, got {sigmas!r}")
    filters_every = _check_int(filters_every, "filters_every", minimum=0)
    n_rounds, patches_per_round, patch_size, evals_per_round, n_knots = (
        _check_int(v, name) for name, v in (("n_rounds", n_rounds), ("patches_per_round", patches_per_round),
                                            ("patch_size", patch_size), ("evals_per_round", evals_per_round),
                                            ("n_knots", n_knots)))
    if not isinstance(filters, FilterBank) or filters.boundary != "valid":
        raise ValueError("filters must be a FilterBank with boundary='valid'")
    imgs = [np.asarray(im, dtype=np.float64) for im in images]
    if not imgs:
        raise ValueError("images must contain at least one image")
    for j, im in enumerate(imgs):
        if im.ndim != 2 or min(im.shape) < patch_size or not np.isfinite(im).all():
            raise ValueError(f"images[{j}] must be a finite 2-D image of at least {patch_size} x {patch_size}, "
                             f"got shape {im.shape}")
    rho = 0.0 if kind == "convex" else float(rho)
    if kind == "weakly_convex" and not rho > 0:
        raise ValueError(f"rho must be positive for kind='weakly_convex', got {rho!r}")
    settings = dict(kind=kind, sigmas=list(sig), n_images=len(imgs), patches_per_round=patches_per_round,
                    patch_size=patch_size, evals_per_round=evals_per_round, n_knots=n_knots,
                    knot_power=float(knot_power), L=float(L), rho=rho, recon_tol=float(recon_tol),
                    filters_every=filters_every, random_state=int(random_state),
                    filters_shape=list(filters.filters.shape))
    key = _settings_key(settings)
    order = np.random.default_rng([random_state, 2**31]).permutation(len(imgs))
    nL = len(sig)
    state = _load_checkpoint(checkpoint, key)
    if state is None:
        clean, noisy, _ = _round_batch(imgs, order, 0, patches_per_round, patch_size, sig, random_state)
        T = 1.5 * float(np.max(np.abs(filters.apply(noisy))))
        t = _knots(T, n_knots, knot_power)
        K = t.size
        delta = 0.02 * T
        S = np.tile(np.where(np.abs(0.5 * (t[:-1] + t[1:])) < delta, L, 0.0), (filters.n_filters, 1))
        la = np.log(np.array([(s / max(sig)) * 0.2 / (L * delta) for s in sig]))
        if rho > 0:
            la = np.minimum(la, math.log(0.999 / rho))
        state = dict(round=0, knots=t, S=S, la=la, V=np.array(filters.filters), history=np.zeros(0))
    t = state["knots"]
    prof = _Profiles(t, filters.n_filters)
    nS = prof.F * (prof.K - 1)
    lo = np.full((prof.F, prof.K - 1), -rho)
    lo[:, [0, -1]] = 0.0
    cap = math.log(1.0 / rho) if rho > 0 else None
    profile_bounds = [(a, L) for a in lo.ravel()] + [(None, cap)] * nL
    filter_bounds = [(None, cap)] * nL + [(None, None)] * state["V"].size
    lip = max(L, rho)  # ||W|| <= 1

    def bank(V):
        """The model's filters for the variables ``V``: normalised when the filters are learned."""
        return _normalised_filters(V, "valid")[0] if filters_every > 0 else FilterBank(V, "valid")

    bar = _progress_bar(n_rounds * evals_per_round, enabled=progress, desc=f"train[{kind}]",
                        initial=min(state["round"], n_rounds) * evals_per_round)
    try:
        for r in range(state["round"], n_rounds):
            clean, noisy, noise_of = _round_batch(imgs, order, r, patches_per_round, patch_size, sig, random_state)
            lev = np.searchsorted(np.asarray(sig), noise_of)
            V0, S0 = state["V"], state["S"]
            learn_filters = filters_every > 0 and r % filters_every == filters_every - 1
            if learn_filters:
                theta0, bounds = np.concatenate([state["la"], V0.ravel()]), filter_bounds
            else:
                theta0, bounds = np.concatenate([S0.ravel(), state["la"]]), profile_bounds
            W0 = bank(V0)
            warm = {"x": noisy.copy()}
            best = {"loss": math.inf, "theta": theta0.copy()}

            def fg(theta):
                if learn_filters:
                    S_, la_ = S0, theta[:nL]
                    V = theta[nL:].reshape(V0.shape)
                    W, scale, dscale = _normalised_filters(V, "valid")
                else:
                    S_, la_, W = theta[:nS].reshape(prof.F, prof.K - 1), theta[nS:], W0
                alphas = np.exp(la_)[lev]
                loss, xh, (gS, gla, extra) = _evaluate(W, prof, S_, alphas, clean, noisy, warm["x"], recon_tol, lip, True)
                warm["x"] = xh
                if loss < best["loss"]:
                    best.update(loss=loss, theta=theta.copy())
                bar.set_postfix(round=r, block="filters" if learn_filters else "profiles",
                                psnr=f"{-10 * math.log10(2 * loss):.3f}")
                bar.update(1)
                gla = np.bincount(lev, gla, minlength=nL)
                if learn_filters:
                    gV = _joint_filter_grad(_filter_grad(W, *extra, alphas), V, scale, dscale)
                    return loss, np.concatenate([gla, gV.ravel()])
                return loss, np.concatenate([gS.ravel(), gla])

            res = minimize(fg, theta0, jac=True, method="L-BFGS-B", bounds=bounds,
                           options={"maxiter": evals_per_round, "maxfun": evals_per_round, "gtol": 0.0, "ftol": 0.0})
            if res.nfev < evals_per_round:  # the line search ended the round early: the next one starts
                bar.update(evals_per_round - res.nfev)
            th = best["theta"]
            if learn_filters:
                state = dict(state, la=th[:nL], V=th[nL:].reshape(V0.shape))
            else:
                state = dict(state, S=np.clip(th[:nS].reshape(prof.F, prof.K - 1), lo, L), la=th[nS:])
            state.update(round=r + 1, history=np.append(state["history"], best["loss"]))
            if checkpoint is not None:
                _save_checkpoint(checkpoint, key, state)
    finally:
        bar.close()
    W = bank(state["V"])
    if rho > 0:  # ||W|| <= 1 holds; the table keeps alpha * rho * ||W||^2 <= 1
        state["la"] = np.minimum(state["la"], math.log(1.0 / (rho * W.norm_bound() ** 2)))
    return RidgeRegularizer(W, prof.splines(state["S"], -rho, L, kind), kind, L=L,
                            rho=(rho if kind == "weakly_convex" else None), noise_levels=list(sig),
                            alphas=np.exp(state["la"]))


def _save_checkpoint(path, key, state):
    tmp = os.fspath(path) + ".tmp.npz"
    np.savez(tmp, format=np.array(_CHECKPOINT_FORMAT), settings=np.array(key), round=np.array(state["round"]),
             knots=state["knots"], S=state["S"], la=state["la"], V=state["V"], history=state["history"])
    os.replace(tmp, path)


def _load_checkpoint(path, key):
    if path is None or not os.path.exists(path):
        return None
    with np.load(path, allow_pickle=False) as f:
        if str(f["format"]) != _CHECKPOINT_FORMAT:
            raise ValueError(f"{os.fspath(path)!r} is not a train_ridge_rounds checkpoint")
        if str(f["settings"]) != key:
            raise ValueError(f"checkpoint {os.fspath(path)!r} was written with other settings: "
                             f"{str(f['settings'])} (now {key})")
        return dict(round=int(f["round"]), knots=f["knots"], S=f["S"], la=f["la"], V=f["V"], history=f["history"])
