"""tvspline.imaging.bilevel: implicit gradients (vs finite differences), certificates, determinism."""

import os
import tempfile

import numpy as np
import pytest

from tvspline.imaging import FilterBank, RidgeRegularizer, load_image, random_patches, reconstruct, Identity
from tvspline.imaging import bilevel as B


def tiny(seed=0, n=3, size=14, sigma=0.08):
    rng = np.random.default_rng(seed)
    imgs = [load_image("camera", 64), load_image("coins", 64)]
    clean = random_patches(imgs, size, n, random_state=rng)
    noisy = clean + sigma * rng.standard_normal(clean.shape)
    return clean, noisy


def setup(kind="weakly_convex", seed=0):
    clean, noisy = tiny(seed)
    W = B.difference_bank(2)
    T = 1.05 * float(np.max(np.abs(W.apply(noisy))))
    t = B._knots(T, 11, 2.0)
    prof = B._Profiles(t, W.n_filters)
    rng = np.random.default_rng(seed + 1)
    lo = -0.02 if kind == "weakly_convex" else 0.0
    S = rng.uniform(lo, 1.0, (prof.F, prof.K - 1))
    alphas = np.full(len(clean), 3.0)
    return clean, noisy, W, prof, S, alphas


def loss_and_grads(W, prof, S, alphas, clean, noisy):
    lip = max(1.0, 0.02) * W.norm_bound() ** 2
    return B._evaluate(W, prof, S, alphas, clean, noisy, noisy, 1e-13, lip, True)


def test_difference_bank_is_normalised():
    for order in (1, 2):
        W = B.difference_bank(order)
        assert W.norm_bound() <= 1.0
    with pytest.raises(ValueError, match="order"):
        B.difference_bank(3)


def test_profile_values_and_slope_chain_rule():
    t = B._knots(1.0, 9, 2.0)
    prof = B._Profiles(t, 2)
    rng = np.random.default_rng(0)
    S = rng.standard_normal((2, 8))
    c = prof.values(S)
    assert np.all(c[:, prof.mid] == 0.0)
    np.testing.assert_allclose(np.diff(c, axis=1) / prof.dt, S, rtol=1e-12, atol=1e-12)
    # the chain rule is the transpose of the (linear) map slopes -> values
    gc = rng.standard_normal((2, 9))
    gS = prof.values_to_slopes_grad(gc)
    dS = rng.standard_normal((2, 8))
    assert abs(np.sum(gc * prof.values(dS)) - np.sum(gS * dS)) < 1e-12


@pytest.mark.parametrize("kind", ["convex", "weakly_convex"])
def test_implicit_gradients_match_finite_differences(kind):
    clean, noisy, W, prof, S, alphas = setup(kind)
    loss, xh, (gS, gla_n, (xh, v, sig, der)) = loss_and_grads(W, prof, S, alphas, clean, noisy)
    h = 1e-6
    rng = np.random.default_rng(3)
    for _ in range(4):  # random directions in the slopes
        d = rng.standard_normal(S.shape)
        lp = loss_and_grads(W, prof, S + h * d, alphas, clean, noisy)[0]
        lm = loss_and_grads(W, prof, S - h * d, alphas, clean, noisy)[0]
        np.testing.assert_allclose(np.sum(gS * d), (lp - lm) / (2 * h), rtol=2e-4, atol=1e-12)
    # log alpha (all images share one alpha here)
    lp = loss_and_grads(W, prof, S, alphas * np.exp(h), clean, noisy)[0]
    lm = loss_and_grads(W, prof, S, alphas * np.exp(-h), clean, noisy)[0]
    np.testing.assert_allclose(gla_n.sum(), (lp - lm) / (2 * h), rtol=2e-4)
    # filters
    g = B._filter_grad(W, xh, v, sig, der, alphas)
    d = rng.standard_normal(W.filters.shape)
    lp = loss_and_grads(FilterBank(W.filters + h * d), prof, S, alphas, clean, noisy)[0]
    lm = loss_and_grads(FilterBank(W.filters - h * d), prof, S, alphas, clean, noisy)[0]
    np.testing.assert_allclose(np.sum(g * d), (lp - lm) / (2 * h), rtol=2e-4)


def test_normalised_filters_are_certified_and_scale_gradient_matches():
    rng = np.random.default_rng(7)
    V = 1.7 * B.difference_bank(2).filters + 0.05 * rng.standard_normal((7, 3, 3))
    W, scale, dscale = B._normalised_filters(V, "valid")
    assert W.norm_bound() <= 1.0
    np.testing.assert_allclose(W.filters * scale, V, rtol=1e-15)
    h = 1e-6
    for _ in range(3):
        d = rng.standard_normal(V.shape)
        sp = B._normalised_filters(V + h * d, "valid")[1]
        sm = B._normalised_filters(V - h * d, "valid")[1]
        np.testing.assert_allclose(np.sum(dscale * d), (sp - sm) / (2 * h), rtol=1e-6)


@pytest.mark.parametrize("kind", ["convex", "weakly_convex"])
def test_joint_filter_gradient_matches_finite_differences(kind):
    """The gradient in the unnormalised filters V of the loss with W = V / s(V) (joint_filters)."""
    clean, noisy, W0, prof, S, alphas = setup(kind)
    V = 1.7 * W0.filters + 0.05 * np.random.default_rng(3).standard_normal(W0.filters.shape)

    def loss_and_grad(V):
        W, scale, dscale = B._normalised_filters(V, "valid")
        loss, _, (_, _, extra) = loss_and_grads(W, prof, S, alphas, clean, noisy)
        return loss, B._joint_filter_grad(B._filter_grad(W, *extra, alphas), V, scale, dscale)

    _, g = loss_and_grad(V)
    h = 1e-6
    rng = np.random.default_rng(5)
    for _ in range(2):
        d = rng.standard_normal(V.shape)
        fd = (loss_and_grad(V + h * d)[0] - loss_and_grad(V - h * d)[0]) / (2 * h)
        np.testing.assert_allclose(np.sum(g * d), fd, rtol=2e-4)
    # the loss does not change along V itself (W is scale invariant): the gradient is orthogonal
    assert abs(np.sum(g * V)) <= 1e-9 * np.linalg.norm(g) * np.linalg.norm(V)


def test_joint_training_learns_filters_certified_and_deterministic():
    clean, noisy = tiny(1, n=4, size=16, sigma=0.1)
    losses = []
    kw = dict(kind="weakly_convex", rho=0.02, n_knots=11, max_iter=5, joint_filters=True)
    m1 = B.train_bilevel(clean, noisy, np.full(4, 0.1), callback=lambda st, n, loss: losses.append(loss), **kw)
    m2 = B.train_bilevel(clean, noisy, np.full(4, 0.1), **kw)
    assert m1 == m2
    assert min(losses) < losses[0]
    assert not np.array_equal(m1.filters.filters, B.difference_bank().filters)  # the filters moved
    cert = m1.check_certificate()
    assert cert.ok and cert.filter_norm <= 1.0
    assert m1.alpha(0.1) * m1.weak_convexity() <= 1.0


def test_denoiser_reaches_stationarity():
    clean, noisy, W, prof, S, alphas = setup("convex")
    c = prof.values(S)
    x, it, gn = B._denoise(W, prof, c, S, noisy, alphas, noisy, 1e-10, 5000, W.norm_bound() ** 2)
    assert (gn <= 1e-10).all()
    # the same minimiser as tvspline.imaging.reconstruct with the model built from the profiles
    reg = RidgeRegularizer(W, prof.splines(S, 0.0, 1.0, "convex"), "convex", L=1.0)
    r = reconstruct(noisy[0], Identity(), reg, float(alphas[0]), tol=1e-10, max_iter=20000)
    np.testing.assert_allclose(r.x, x[0], atol=1e-8)


def test_training_is_certified_deterministic_and_lowers_the_loss():
    imgs = [load_image("camera", 64), load_image("coins", 64), load_image("astronaut", 64)]
    kw = dict(n_patches=4, patch_size=16, n_knots=11, max_iter=4, n_rounds=2, filter_steps=1,
              random_state=5, progress=False)
    losses = []
    m1 = B.train_ridge_bilevel(imgs, "weakly_convex", (0.05, 0.1), rho=0.02, **kw)
    m2 = B.train_ridge_bilevel(imgs, "weakly_convex", (0.05, 0.1), rho=0.02, **kw)
    assert m1 == m2
    cert = m1.check_certificate()
    assert cert.ok and cert.filter_norm <= 1.0
    lo, hi = m1.slope_bounds
    assert lo == -0.02 and hi == 1.0
    for p in m1.profiles:  # end slopes keep every potential bounded below
        assert p.slopes[0] >= 0 and p.slopes[-1] >= 0
    for s in (0.05, 0.1):  # the denoising objective stays convex at every tabulated level
        assert m1.alpha(s) * m1.weak_convexity() <= 1.0
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.npz")
        m1.save(path)
        assert RidgeRegularizer.load(path) == m1
    # training lowers the loss from the start (callback sees every evaluation)
    clean, noisy = tiny(1, n=4, size=16, sigma=0.1)
    B.train_bilevel(clean, noisy, np.full(4, 0.1), kind="convex", n_knots=11, max_iter=6,
                    callback=lambda stage, n, loss: losses.append(loss))
    assert min(losses) < losses[0]


def test_train_bilevel_rejects_unknown_kind():
    clean, noisy = tiny()
    with pytest.raises(ValueError, match="kind"):
        B.train_bilevel(clean, noisy, np.full(len(clean), 0.08), kind="concave")


def test_train_classmethod_dispatches_on_method():
    imgs = [load_image("camera", 48), load_image("coins", 48)]
    kw = dict(n_patches=2, patch_size=12, n_knots=9, max_iter=2, n_rounds=1, filter_steps=0, random_state=1,
              progress=False)
    m = RidgeRegularizer.train(imgs, kind="convex", sigmas=(0.1,), **kw)
    assert m == B.train_ridge_bilevel(imgs, "convex", (0.1,), **kw)
    with pytest.raises(ValueError, match="unknown method 'sgd'"):
        RidgeRegularizer.train(imgs, kind="convex", sigmas=(0.1,), method="sgd")
    # the method is defined on the class itself, in ridge.py
    assert "train" in vars(RidgeRegularizer) and RidgeRegularizer.train.__func__.__module__ == "tvspline.imaging.ridge"
    from tvspline.imaging import initial_bank, train_ridge_rounds

    kr = dict(filters=initial_bank(3, 3), n_rounds=1, patches_per_round=2, patch_size=12, evals_per_round=2, n_knots=9,
              progress=False)
    assert RidgeRegularizer.train(imgs, "convex", (0.1,), method="rounds", **kr) == train_ridge_rounds(
        imgs, "convex", (0.1,), **kr)


def test_reconstruct_with_callables_matches_operator_path():
    from tvspline.imaging import GaussianBlur, pretrained

    reg = pretrained("convex")
    x = load_image("camera", 24)
    H = GaussianBlur(1.0)
    y = H.forward(x) + 0.02 * np.random.default_rng(0).standard_normal(x.shape)
    a = reg.reconstruct(y, H, sigma=0.02, tol=1e-8, max_iter=20000)
    b = reg.reconstruct(y, H.forward, H.adjoint, sigma=0.02, norm_squared=H.norm_squared(), tol=1e-8, max_iter=20000)
    assert a.converged and b.converged
    np.testing.assert_allclose(a.x, b.x, atol=1e-7)
    c = reg.reconstruct(y, H.forward, H.adjoint, alpha=reg.alpha(0.02), tol=1e-8, max_iter=20000)  # estimated norm
    np.testing.assert_allclose(a.x, c.x, atol=1e-6)
    with pytest.raises(ValueError, match="adjoint"):
        reg.reconstruct(y, H.forward, lambda r: 2 * H.adjoint(r), sigma=0.02)
    with pytest.raises(ValueError, match="exactly one"):
        reg.reconstruct(y, H, sigma=0.02, alpha=1.0)
    with pytest.raises(TypeError):
        reg.reconstruct(y, "blur", sigma=0.02)


@pytest.mark.parametrize("seed", range(3))
def test_compiled_sigma_all_is_bitwise_the_numpy_one(seed):
    """Training's profile evaluation (one compiled pass per filter) against its NumPy reference:
    values, slopes, segments and fractions, bitwise, with responses beyond the knots."""
    rng = np.random.default_rng(seed)
    t = B._knots(rng.uniform(0.05, 1.0), int(rng.integers(3, 42)), rng.uniform(1.0, 3.0))
    prof = B._Profiles(t, 5)
    S = rng.uniform(-0.1, 1.0, (prof.F, prof.K - 1))
    c = prof.values(S)
    Z = rng.standard_normal((3, prof.F, 11, 12)) * t[-1]
    Z[0, 0, 0, : min(t.size, 12)] = t[:12]
    got, ref = B._sigma_all(prof, c, S, Z), B._sigma_all_numpy(prof, c, S, Z)
    for a, b in zip(got[:2], ref[:2]):
        np.testing.assert_array_equal(a, b)
    for name, j in (("segments", 2), ("fractions", 3)):
        for a, b in zip(got[j], ref[j]):
            np.testing.assert_array_equal(a, b, err_msg=name)
