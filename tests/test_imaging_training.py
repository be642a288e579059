"""tvspline.imaging.training: exact profile fit (vs CVXPY), filter gradient, training, shipped models."""

import os
import tempfile
import warnings

import cvxpy as cp
import numpy as np
import pytest

from tvspline import LinearSpline
from tvspline.imaging import (
    FilterBank,
    Identity,
    RidgeRegularizer,
    fit_profiles,
    initial_bank,
    load_image,
    pretrained,
    random_patches,
    reconstruct,
    train_images,
    train_ridge,
)
from tvspline.imaging.training import _filter_gradient, _reconstruct_stack


def tiny_problem(seed=0, n=3, size=10):
    rng = np.random.default_rng(seed)
    imgs = [load_image("camera", 64), load_image("coins", 64)]
    clean = random_patches(imgs, size, n, random_state=rng)
    noisy = clean + 0.08 * rng.standard_normal(clean.shape)
    return clean, noisy, initial_bank(3, 3)


def cvxpy_reference(bank, clean, noisy, at, alphas, knots, lam, lo, hi, kind):
    """Independent formulation: design columns from RidgeRegularizer.grad with hat profiles."""
    F, K = bank.n_filters, knots[0].size
    cols = []
    for i in range(F):
        Wi = FilterBank(bank.filters[i : i + 1], bank.boundary)
        for k in range(K):
            e = np.zeros(K)
            e[k] = 1.0
            reg = RidgeRegularizer(Wi, [LinearSpline(knots[i], e)], "weakly_convex", rho=1.0)
            cols.append((alphas[:, None, None] * reg.grad(at)).ravel())
    A = np.stack(cols, axis=1)
    r0 = (noisy - clean).ravel()
    N = clean.size
    c = cp.Variable(F * K)
    cons, tv = [], 0
    for i in range(F):
        ci = c[i * K : (i + 1) * K]
        h = np.diff(knots[i])
        s = cp.multiply(1.0 / h, ci[1:] - ci[:-1])
        tv = tv + cp.sum(cp.abs(s[1:] - s[:-1]))
        cons += [ci[(K - 1) // 2] == 0, s <= hi]
        if kind == "weakly_convex":
            cons += [s[1:-1] >= lo, s[0] >= 0, s[-1] >= 0]
        else:
            cons += [s >= lo]
    prob = cp.Problem(cp.Minimize(0.5 / N * cp.sum_squares(r0 - A @ c) + lam * tv), cons)
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return prob.value


@pytest.mark.parametrize("kind", ["convex", "weakly_convex"])
def test_fit_profiles_matches_cvxpy_and_bounds_are_exact(kind):
    clean, noisy, bank = tiny_problem()
    rng = np.random.default_rng(1)
    at = noisy if kind == "convex" else clean + 0.5 * (noisy - clean)  # also the linearised design
    alphas = rng.uniform(0.5, 2.0, len(clean))
    lam, rho = 1e-5, 0.3
    fit = fit_profiles(bank, clean, noisy, kind=kind, lam=lam, alphas=alphas, at=at, n_knots=7, rho=rho)
    knots = [p.knots for p in fit.profiles]
    ref = cvxpy_reference(bank, clean, noisy, at, alphas, knots, lam, -rho if kind != "convex" else 0.0, 1.0, kind)
    assert fit.objective == pytest.approx(ref, rel=1e-7), (fit, ref)
    assert abs(fit.gap) <= 1e-7 * fit.objective and fit.status == "Solved"
    lo, hi = fit.bounds
    for p in fit.profiles:
        s = p.slopes
        assert (s >= lo).all() and (s <= hi).all()
        if kind == "weakly_convex":
            assert s[0] >= 0 and s[-1] >= 0
        assert p(0.0) == 0.0 or abs(p(0.0)) < 1e-15


def test_fit_profiles_rejects_bad_input():
    clean, noisy, bank = tiny_problem()
    with pytest.raises(ValueError, match="n_knots"):
        fit_profiles(bank, clean, noisy, n_knots=6)
    with pytest.raises(ValueError, match="lam"):
        fit_profiles(bank, clean, noisy, lam=-1.0)
    with pytest.raises(ValueError, match="same shape"):
        fit_profiles(bank, clean, noisy[:, :-1])
    with pytest.raises(ValueError, match="kind"):
        fit_profiles(bank, clean, noisy, kind="concave")


def test_filter_gradient_matches_finite_differences():
    clean, noisy, bank = tiny_problem(2)
    fit = fit_profiles(bank, clean, noisy, kind="weakly_convex", lam=1e-6, n_knots=9, rho=0.5)
    reg = RidgeRegularizer(bank, fit.profiles, "weakly_convex", rho=0.5)
    al = np.full(len(clean), 1.5)
    u = 0.9 * noisy

    def loss(w):
        d = noisy - al[:, None, None] * reg.with_filters(FilterBank(w)).grad(u) - clean
        return 0.5 * np.vdot(d, d) / clean.size

    g = _filter_gradient(reg, clean, noisy, u, al)
    rng = np.random.default_rng(3)
    for _ in range(3):
        D = rng.standard_normal(g.shape)
        h = 1e-6
        fd = (loss(bank.filters + h * D) - loss(bank.filters - h * D)) / (2 * h)
        assert abs(fd - np.vdot(g, D)) <= 1e-6 * max(abs(fd), 1e-8)


def test_batched_reconstruction_agrees_with_reconstruct():
    reg = pretrained("convex")
    clean = random_patches([load_image("camera", 96)], 20, 2, random_state=0)
    y = clean + 0.05 * np.random.default_rng(0).standard_normal(clean.shape)
    a = reg.alpha(0.05)
    xs = _reconstruct_stack(reg, y, np.full(2, a), tol=1e-8, max_iter=5000)
    for x, yy in zip(xs, y):
        ref = reconstruct(yy, Identity(), reg, a, tol=1e-8, max_iter=5000).x
        np.testing.assert_allclose(x, ref, atol=1e-6)


TINY = dict(n_filters=4, kernel_size=3, n_patches=6, patch_size=14, n_val=2, val_size=16, n_knots=9, n_outer=1,
            progress=False)


def test_training_is_reproducible_certified_and_saves_losslessly():
    imgs = train_images(64)
    m1 = train_ridge(imgs, "weakly_convex", (0.1,), random_state=7, **TINY)
    m2 = RidgeRegularizer.train(imgs, kind="weakly_convex", sigmas=(0.1,), random_state=7, method="linearised", **TINY)
    assert m1 == m2  # bit for bit: filters, knots, values, table
    cert = m1.check_certificate()
    assert cert.ok and cert.filter_norm <= 1.0
    assert m1.alpha(0.1) * m1.weak_convexity() <= 1.0  # convex denoising objective at the trained level
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.npz")
        m1.save(path)
        m3 = RidgeRegularizer.load(path)
    assert m3 == m1
    y = load_image("camera", 32) + 0.1 * np.random.default_rng(0).standard_normal((32, 32))
    np.testing.assert_array_equal(m1.denoise(y, 0.1).x, m3.denoise(y, 0.1).x)


@pytest.mark.parametrize("kind", ["convex", "weakly_convex"])
def test_shipped_models_are_certified_and_denoise(kind):
    reg = pretrained(kind)
    cert = reg.check_certificate()
    assert cert.ok and cert.filter_norm <= 1.0, cert
    lo, hi = reg.slope_bounds
    for p in reg.profiles:
        assert p.slopes.min() >= lo and p.slopes.max() <= hi
    assert reg.noise_table is not None
    x = load_image("camera", 40)
    y = x + (15 / 255) * np.random.default_rng(0).standard_normal(x.shape)
    res = reg.denoise(y, 15 / 255, tol=1e-8, max_iter=5000)
    assert res.converged and res.grad_norm <= 1e-8 * np.linalg.norm(y)
    assert res.fun <= reg.alpha(15 / 255) * reg.value(y)  # below the objective at the start x0 = y
    assert np.mean((res.x - x) ** 2) < np.mean((y - x) ** 2)


def test_shipped_convex_denoiser_is_1_lipschitz():
    reg = pretrained("convex")
    rng = np.random.default_rng(5)
    x = load_image("coins", 24)
    y = x + 0.06 * rng.standard_normal(x.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d0 = reg.denoise(y, 0.06, tol=1e-9, max_iter=20000).x
        for scale in (1e-3, 1e-1):
            dy = scale * rng.standard_normal(x.shape)
            d1 = reg.denoise(y + dy, 0.06, tol=1e-9, max_iter=20000).x
            assert np.linalg.norm(d1 - d0) <= np.linalg.norm(dy) * (1 + 1e-6) + 2e-9


def test_pretrained_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        pretrained("nonconvex")
