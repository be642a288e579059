"""The reconstruction engine: bitwise the training denoiser, stationarity, convergence flags, cap."""

import warnings

import numpy as np
import pytest

from tvspline import LinearSpline
from tvspline.imaging import (
    GaussianBlur,
    Identity,
    ParallelBeamCT,
    ReconstructionWarning,
    RidgeRegularizer,
    load_image,
    pretrained,
    random_bank,
    reconstruct,
)
from tvspline.exceptions import TVSplineWarning
from tvspline.imaging import bilevel as B
from tvspline.imaging.engine import certified_convex, fista_stack


def reference_fista(W, prof, c, S, y, alphas, x0, tol, max_iter, lip):
    """FISTA with gradient restart on a stack, written out: step 1/(1 + alpha lip) per image, stop
    when every image's RMS gradient is <= tol, returning the point whose gradient was measured."""
    a3 = alphas[:, None, None]
    step = (1.0 / (1.0 + alphas * lip))[:, None, None]
    npix = y.shape[-1] * y.shape[-2]
    x = x0.copy()
    z = x.copy()
    t = np.ones(len(y))
    for it in range(max_iter):
        sig, _, _, _ = B._sigma_all(prof, c, S, W.apply(z))
        g = z - y + a3 * W.adjoint(sig, y.shape[-2:])
        gn = np.sqrt(np.sum(g**2, axis=(1, 2)) / npix)
        if (gn <= tol).all():
            return z, it, gn
        x_new = z - step * g
        t_new = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
        beta = ((t - 1) / t_new)[:, None, None]
        restart = np.sum(g * (x_new - x), axis=(1, 2)) > 0
        beta = np.where(restart[:, None, None], 0.0, beta)
        t = np.where(restart, 1.0, t_new)
        z = x_new + beta * (x_new - x)
        x = x_new
    sig, _, _, _ = B._sigma_all(prof, c, S, W.apply(z))
    g = z - y + a3 * W.adjoint(sig, y.shape[-2:])
    return z, max_iter, np.sqrt(np.sum(g**2, axis=(1, 2)) / npix)


def training_stack(kind, seed=0, n=5, size=14):
    rng = np.random.default_rng(seed)
    clean = np.stack([load_image("camera", 64)[a:a + size, a:a + size] for a in rng.integers(0, 40, n)])
    sig = np.array([5, 15, 25, 15, 5][:n]) / 255
    noisy = clean + sig[:, None, None] * rng.standard_normal(clean.shape)
    W = random_bank(6, 3, random_state=seed).normalized()
    prof = B._Profiles(B._knots(0.5, 15, 2.0), W.n_filters)
    rho = 0.0 if kind == "convex" else 0.05
    S = rng.uniform(-rho, 1.0, (prof.F, prof.K - 1))
    S[:, [0, -1]] = np.abs(S[:, [0, -1]])
    alphas = np.minimum(sig * 40.0, 0.999 / rho if rho else np.inf)
    return W, prof, prof.values(S), S, noisy, alphas, max(1.0, rho) * W.norm_bound() ** 2


@pytest.mark.parametrize("kind, tol, max_iter", [("convex", 1e-6, 3000), ("weakly_convex", 1e-7, 3000),
                                                  ("convex", 1e-12, 9)])
def test_training_denoiser_is_bitwise_the_reference_fista(kind, tol, max_iter):
    W, prof, c, S, y, alphas, lip = training_stack(kind)
    x0 = y + 0.01  # a warm start different from y, as in training
    got = B._denoise(W, prof, c, S, y, alphas, x0, tol, max_iter, lip)
    ref = reference_fista(W, prof, c, S, y, alphas, x0, tol, max_iter, lip)
    np.testing.assert_array_equal(got[0], ref[0])
    assert got[1] == ref[1]
    np.testing.assert_array_equal(got[2], ref[2])
    assert (got[1] < max_iter) == (got[2] <= tol).all()


def test_engine_runs_gradient_descent_where_not_accelerated():
    # separable quadratics 1/2 d (x - 1)^2: gradient descent with step 1/d lands in one step,
    # FISTA too; with step 1/(2d) gradient descent contracts by exactly 1/2 per step
    d = np.array([1.0, 4.0])[:, None]
    res = fista_stack(lambda z: d * (z - 1.0), np.zeros((2, 3)), 0.5 / d, 2.0**-10, 100, accelerate=[False, False])
    # x_k = 1 - 2^-k; the larger curvature needs 4 * 2^-k <= 2^-10
    assert res.n_iter == 12 and res.converged.all() and (res.n_restarts == 0).all()
    np.testing.assert_array_equal(res.x, np.full((2, 3), 1.0 - 2.0**-12))
    fast = fista_stack(lambda z: d * (z - 1.0), np.zeros((2, 3)), 0.5 / d, 2.0**-10, 100)
    assert fast.converged.all() and fast.n_restarts.sum() > 0


def test_engine_stops_on_a_non_finite_gradient():
    def grad(z):
        return np.where(z > 3.0, np.nan, -np.ones_like(z))  # f = -x up to 3, then undefined

    res = fista_stack(grad, np.zeros((1, 2, 2)), 1.0, 1e-9, 50)
    assert not res.finite and not res.converged.any() and np.isfinite(res.x).all()
    assert (res.x <= 3.0).all()


def test_convexity_test_accepts_the_cap_and_rejects_beyond():
    reg = pretrained("weakly_convex")
    wc = reg.weak_convexity()
    levels, alphas = reg.noise_table
    top = reg.alpha(levels[-1])
    assert top == alphas[-1]  # exact at a tabulated level
    assert all(reg.alpha(s) == a for s, a in zip(levels, alphas))
    assert certified_convex(1.0 / wc, wc) and not certified_convex((1.0 + 1e-12) / wc, wc)
    assert certified_convex(top, wc)
    y = load_image("camera", 24)
    with pytest.warns(ReconstructionWarning, match="max_iter=0"):
        res = reg.denoise(y, levels[-1], max_iter=0, method="engine")
    assert res.convex and res.method == "fista"


def objective(H, reg, alpha, y, x):
    r = H.forward(x) - y
    return 0.5 * float(np.vdot(r, r)) + alpha * reg.value(x)


@pytest.mark.parametrize("case", ["denoise", "blur", "ct"])
def test_returned_point_is_stationary_by_finite_differences(case):
    """The engine's gradient is the gradient of the objective: every central difference of f at the
    returned x is bounded by the reported gradient norm (plus the O(h^2) term)."""
    rng = np.random.default_rng(1)
    W = random_bank(5, 3, random_state=1).normalized()
    t = np.linspace(-0.4, 0.4, 9)
    profiles = [LinearSpline(t, np.cumsum(np.r_[0, rng.uniform(0.0, 1.0, 8)] * 0.1) - 0.4) for _ in range(5)]
    profiles = [LinearSpline(p.knots, p.values - p(0.0)) for p in profiles]
    reg = RidgeRegularizer(W, profiles)
    x = load_image("camera", 20)
    H = {"denoise": Identity(), "blur": GaussianBlur(1.0), "ct": ParallelBeamCT(20, 10)}[case]
    y = H.forward(x) + 0.02 * rng.standard_normal(H.forward(x).shape)
    alpha = 0.3
    res = reconstruct(y, H, reg, alpha, tol=1e-9, max_iter=20000)
    assert res.converged and res.grad_norm <= res.threshold
    h = 1e-5
    for _ in range(3):
        D = rng.standard_normal(x.shape)
        D /= np.linalg.norm(D)
        fd = (objective(H, reg, alpha, y, res.x + h * D) - objective(H, reg, alpha, y, res.x - h * D)) / (2 * h)
        scale = abs(objective(H, reg, alpha, y, res.x))
        assert abs(fd) <= res.grad_norm + 1e-9 * max(scale, 1.0) / h


def test_tolerance_is_relative_to_the_adjoint_of_the_data():
    reg = pretrained("convex")
    x = load_image("camera", 32)
    y = x + 0.05 * np.random.default_rng(0).standard_normal(x.shape)
    a = reg.alpha(0.05)
    r1 = reconstruct(y, Identity(), reg, a, tol=1e-4)
    assert r1.threshold == pytest.approx(1e-4 * np.linalg.norm(y), rel=1e-15)
    assert r1.converged and r1.grad_norm <= r1.threshold
    # the threshold scales with the data
    with pytest.warns(ReconstructionWarning, match="max_iter=0"):
        r2 = reconstruct(3.0 * y, Identity(), reg, a, tol=1e-4, max_iter=0)
    assert r2.threshold == pytest.approx(3.0 * r1.threshold, rel=1e-14)
    z = reconstruct(np.zeros((8, 8)), Identity(), reg, a, tol=1e-4)
    assert z.threshold == 1e-4 and z.n_iter == 0 and z.converged


def test_not_converged_warns_with_the_numbers():
    reg = pretrained("convex")
    y = load_image("camera", 24)
    with pytest.warns(ReconstructionWarning, match=r"gradient norm .* > threshold .* after 2 iterations \(fista\)"):
        res = reconstruct(y + 0.1, Identity(), reg, 80.0, tol=1e-12, max_iter=2, method="engine")
    assert not res.converged and res.n_iter == 2 and res.grad_norm > res.threshold
    assert issubclass(ReconstructionWarning, TVSplineWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ok = reconstruct(y, Identity(), reg, 1.0, tol=1e-3)
    assert ok.converged


def test_record_objective_matches_the_objective_and_the_default_is_the_final_value():
    reg = pretrained("convex")
    y = load_image("coins", 24) + 0.05
    a = reconstruct(y, Identity(), reg, 5.0, tol=1e-8, record_objective=True)
    b = reconstruct(y, Identity(), reg, 5.0, tol=1e-8)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.objective.size == a.n_iter + 1 and b.objective.size == 1
    assert a.fun == pytest.approx(b.fun, rel=1e-14)
    assert b.fun == pytest.approx(objective(Identity(), reg, 5.0, y, b.x), rel=1e-13)


def test_bad_input_names_the_argument():
    reg = pretrained("convex")
    y = np.zeros((8, 8))
    with pytest.raises(TypeError, match="alpha must be a real number"):
        reconstruct(y, Identity(), reg, "big")
    with pytest.raises(TypeError, match="alpha must be a real number"):
        reconstruct(y, Identity(), reg, True)
    with pytest.raises(TypeError, match="tol must be a real number"):
        reconstruct(y, Identity(), reg, 1.0, tol="tight")
    with pytest.raises(ValueError, match="tol must be > 0"):
        reconstruct(y, Identity(), reg, 1.0, tol=np.nan)
    with pytest.raises(ValueError, match=r"x0 must have the image shape \(8, 8\), got \(4, 4\)"):
        reconstruct(y, Identity(), reg, 1.0, x0=np.zeros((4, 4)))
    with pytest.raises(ValueError, match="max_iter must be an integer >= 0, got 2.5"):
        reconstruct(y, Identity(), reg, 1.0, max_iter=2.5)
    with pytest.raises(ValueError, match="y must be finite"):
        reconstruct(np.full((4, 4), np.inf), ParallelBeamCT(4, 2), reg, 1.0)
