"""tvspline.imaging.reconstruct: stationarity, closed forms, monotone gradient descent, 1-Lipschitz denoiser."""

import warnings

import numpy as np
import pytest
from scipy.sparse.linalg import LinearOperator, cg

from tvspline import LinearSpline
from tvspline.imaging import (
    GaussianBlur,
    Identity,
    ParallelBeamCT,
    ReconstructionWarning,
    RidgeRegularizer,
    dct_bank,
    random_bank,
    reconstruct,
    shepp_logan,
)


def random_profile(rng, lo, hi, n_knots=8, width=0.3):
    """Slopes in [lo, hi], end slopes in [0.2, hi]: the potential is coercive, as in WCRR-NN."""
    t = np.sort(rng.uniform(-width, width, n_knots))
    s = rng.uniform(lo, hi, n_knots - 1)
    s[[0, -1]] = rng.uniform(0.2, hi, 2)
    f = LinearSpline.from_slopes(t, 0.0, s)
    return LinearSpline(t, f.values - f(0.0))


def make_reg(kind, seed=0, n=8, k=3):
    rng = np.random.default_rng(seed)
    W = random_bank(n, k, random_state=seed).normalized()
    lo = 0.0 if kind == "convex" else -1.0
    return RidgeRegularizer(W, [random_profile(rng, lo, 1.0) for _ in range(n)], kind,
                            rho=None if kind == "convex" else 1.0)


def assert_monotone(res):
    """Non-increasing up to a relative evaluation slack of 1e-13 (gradient descent, L-BFGS)."""
    f = res.objective
    assert f.size == res.n_iter + 1
    d = np.diff(f)
    assert (d <= 1e-13 * np.abs(f[:-1])).all(), f"objective increased by {d.max():.3g}"


def tikhonov_solution(H, W, alpha, c, y, shape):
    """Solve (H^T H + alpha c W^T W) x = H^T y by conjugate gradients (an independent solver)."""
    n = shape[0] * shape[1]
    M = LinearOperator(
        (n, n),
        matvec=lambda v: (H.adjoint(H.forward(v.reshape(shape))) + alpha * c * W.adjoint(W.apply(v.reshape(shape)))).ravel(),
        dtype=np.float64,
    )
    x, info = cg(M, H.adjoint(y).ravel(), rtol=1e-14, atol=0.0, maxiter=20000)
    assert info == 0
    return x.reshape(shape)


@pytest.mark.parametrize("c, alpha", [(1.0, 2.0), (0.3, 10.0)])
def test_linear_profiles_give_the_tikhonov_solution_denoising(c, alpha):
    W = dct_bank(3).normalized()
    reg = RidgeRegularizer(W, [LinearSpline.affine(c, 0.0, -1, 1)] * W.n_filters, L=1.0)
    y = np.random.default_rng(0).random((20, 18))
    res = reconstruct(y, Identity(), reg, alpha, tol=1e-11, max_iter=5000, method="engine")
    assert res.converged and res.method == "fista" and res.convex
    ref = tikhonov_solution(Identity(), W, alpha, c, y, y.shape)
    assert np.abs(res.x - ref).max() <= 1e-8


def linear_deblurring_problem():
    """Gaussian deblurring ("valid") of a 16x16 image with identity profiles: a quadratic objective."""
    W = dct_bank(2).normalized()
    H = GaussianBlur(1.0, boundary="valid")
    reg = RidgeRegularizer(W, [LinearSpline.affine(1.0, 0.0, -1, 1)] * W.n_filters)
    rng = np.random.default_rng(1)
    shape = (16, 16)
    y = H.forward(rng.random(shape)) + 0.01 * rng.standard_normal(H.output_shape(shape))
    return W, H, reg, y, shape


def test_linear_profiles_give_the_tikhonov_solution_deblurring():
    W, H, reg, y, shape = linear_deblurring_problem()
    res = reconstruct(y, H, reg, 0.05, tol=1e-11, max_iter=20000, method="engine")
    assert res.converged and res.method == "fista"
    ref = tikhonov_solution(H, W, 0.05, 1.0, y, shape)
    assert np.abs(res.x - ref).max() <= 1e-8


@pytest.mark.parametrize("kind, alpha, expected", [("convex", 1.0, "fista"), ("weakly_convex", 0.3, "fista"),
                                                   ("weakly_convex", 5.0, "gd")])
def test_denoising_ends_stationary_and_gradient_descent_is_monotone(kind, alpha, expected):
    reg = make_reg(kind, seed=2)
    y = np.random.default_rng(2).random((24, 24))
    tol = 1e-8
    res = reconstruct(y, Identity(), reg, alpha, tol=tol, max_iter=20000, record_objective=True, method="engine")
    assert res.method == expected
    assert res.convex == (1.0 - alpha * reg.weak_convexity() >= 0)
    assert res.converged and res.grad_norm <= res.threshold == tol * np.linalg.norm(y)
    # the reported gradient norm is the true one at the returned image
    _, gR = reg.value_and_grad(res.x)
    assert np.linalg.norm(res.x - y + alpha * gR) == pytest.approx(res.grad_norm, rel=1e-6, abs=1e-12)
    assert res.objective[-1] == pytest.approx(
        0.5 * np.sum((res.x - y) ** 2) + alpha * reg.value(res.x), rel=1e-13)
    assert res.n_iter == res.objective.size - 1
    if expected == "gd":
        assert_monotone(res)


def test_ct_reconstruction_is_stationary_and_gradient_descent_monotone():
    n = 16
    A = ParallelBeamCT(n, 12)
    rng = np.random.default_rng(3)
    y = A.forward(shepp_logan(n)) + 0.5 * rng.standard_normal(A.sinogram_shape)
    res = reconstruct(y, A, make_reg("convex", seed=3), 20.0, tol=1e-6, max_iter=5000, method="engine")
    assert res.method == "fista" and res.converged and res.grad_norm <= 1e-6 * np.linalg.norm(A.adjoint(y))
    # weakly convex R and a singular H^T H: not certified convex, gradient descent, still monotone
    with pytest.warns(ReconstructionWarning, match="max_iter=300"):
        res = reconstruct(y, A, make_reg("weakly_convex", seed=3), 50.0, tol=1e-6, max_iter=300,
                          record_objective=True, method="engine")
    assert res.method == "gd" and not res.convex and res.n_iter == 300
    assert_monotone(res)
    assert res.grad_norm < np.linalg.norm(A.adjoint(y))  # progress from x0 = 0


def test_unbounded_objective_stops_with_a_message():
    W = dct_bank(2).normalized()
    concave = LinearSpline([-1.0, 1.0], [1.0, -1.0])  # psi(t) = -t^2 / 2: R unbounded below
    reg = RidgeRegularizer(W, [concave] * 3, "weakly_convex")
    A = ParallelBeamCT(8, 4)
    y = np.random.default_rng(0).random(A.sinogram_shape)
    with pytest.warns(ReconstructionWarning, match="unbounded below"):
        res = reconstruct(y, A, reg, 10.0, max_iter=100000)
    assert np.isfinite(res.x).all() and np.isfinite(res.objective).all()


def test_convex_denoiser_is_one_lipschitz():
    reg = make_reg("convex", seed=4)
    rng = np.random.default_rng(4)
    for trial in range(6):
        y1 = rng.random((16, 16))
        scale = [1e-3, 1e-1, 1.0][trial % 3]
        y2 = y1 + scale * rng.standard_normal(y1.shape)
        d1 = reconstruct(y1, Identity(), reg, 2.0, tol=1e-12, max_iter=20000).x
        d2 = reconstruct(y2, Identity(), reg, 2.0, tol=1e-12, max_iter=20000).x
        assert np.linalg.norm(d1 - d2) <= np.linalg.norm(y1 - y2) * (1 + 1e-8)


def test_certified_convex_weak_model_has_a_unique_minimiser():
    reg = make_reg("weakly_convex", seed=5)
    alpha = 0.9 / reg.weak_convexity()  # 1 - alpha rho > 0: strongly convex objective
    rng = np.random.default_rng(5)
    y = rng.random((16, 16))
    a = reconstruct(y, Identity(), reg, alpha, tol=1e-11, max_iter=20000, method="engine")
    b = reconstruct(y, Identity(), reg, alpha, x0=rng.random((16, 16)) * 3, tol=1e-11, max_iter=20000,
                    method="engine")
    assert a.method == b.method == "fista" and a.converged and b.converged
    # strong convexity 1 - alpha rho = 0.1: ||x_a - x_b|| <= (||g_a|| + ||g_b||) / 0.1
    assert np.linalg.norm(a.x - b.x) <= (a.grad_norm + b.grad_norm) / 0.1 + 1e-12


def test_denoise_method_uses_the_noise_table():
    reg = make_reg("convex", seed=6).with_noise_table([0.05, 0.1], [0.5, 2.0])
    y = np.random.default_rng(6).random((12, 12))
    r1 = reg.denoise(y, 0.1, tol=1e-10)
    r2 = reconstruct(y, Identity(), reg, 2.0, tol=1e-10)
    np.testing.assert_array_equal(r1.x, r2.x)


def test_forced_gd_on_convex_problem_and_iteration_limit_warns():
    reg = make_reg("convex", seed=7)
    y = np.random.default_rng(7).random((12, 12))
    res = reconstruct(y, Identity(), reg, 1.0, method="gd", tol=1e-9, max_iter=10000, record_objective=True)
    assert res.method == "gd" and res.converged and res.n_restarts == 0
    assert_monotone(res)
    with pytest.warns(ReconstructionWarning, match="gradient norm"):
        short = reconstruct(y, Identity(), reg, 50.0, tol=1e-14, max_iter=3)
    assert not short.converged and short.n_iter == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zero = reconstruct(np.zeros((8, 8)), Identity(), make_reg("convex", seed=8), 1.0)
    assert zero.n_iter == 0 and zero.converged  # 0 is a stationary point: sigma_i(0) = 0


@pytest.mark.parametrize("seed, alpha", [(2, 1.0), (5, 20.0)])
def test_lbfgs_reaches_the_fista_minimiser_of_a_convex_problem(seed, alpha):
    # denoising with a convex R is 1-strongly convex: ||x - x*|| <= ||grad f(x)||, so two answers
    # with gradient norms <= tol are within 2 tol of each other
    reg = make_reg("convex", seed=seed)
    y = np.random.default_rng(seed).random((24, 24))
    tol = 1e-9
    a = reconstruct(y, Identity(), reg, alpha, tol=tol, max_iter=20000, method="fista")
    b = reconstruct(y, Identity(), reg, alpha, tol=tol, max_iter=20000, method="lbfgs", record_objective=True)
    assert a.converged and b.converged and b.method == "lbfgs"
    assert np.linalg.norm(a.x - b.x) <= a.threshold + b.threshold
    _, gR = reg.value_and_grad(b.x)
    assert np.linalg.norm(b.x - y + alpha * gR) == pytest.approx(b.grad_norm, rel=1e-6, abs=1e-12)
    assert b.objective[-1] == pytest.approx(0.5 * np.sum((b.x - y) ** 2) + alpha * reg.value(b.x), rel=1e-13)
    assert b.n_iter == b.objective.size - 1


def test_lbfgs_deblurring_gives_the_tikhonov_solution_and_weakly_convex_is_stationary():
    W, H, reg, y, shape = linear_deblurring_problem()
    res = reconstruct(y, H, reg, 0.05, tol=1e-10, max_iter=20000, method="lbfgs", record_objective=True)
    assert res.converged
    # f is quadratic with Hessian M = H^T H + alpha W^T W: ||x - x*|| <= ||grad f(x)|| / lambda_min(M)
    n = shape[0] * shape[1]
    M = np.column_stack([(H.adjoint(H.forward(e.reshape(shape))) + 0.05 * W.adjoint(W.apply(e.reshape(shape)))).ravel()
                         for e in np.eye(n)])
    mu = np.linalg.eigvalsh(0.5 * (M + M.T))[0]
    ref = tikhonov_solution(H, W, 0.05, 1.0, y, shape)
    assert np.linalg.norm(res.x - ref) <= res.grad_norm / mu * (1 + 1e-6) + 1e-12
    # not certified convex (alpha rho ||W||^2 > 1): a stationary point, monotone on the way
    wreg = make_reg("weakly_convex", seed=2)
    yd = np.random.default_rng(2).random((24, 24))
    res = reconstruct(yd, Identity(), wreg, 5.0, tol=1e-8, max_iter=20000, method="lbfgs")
    assert not res.convex and res.converged and res.grad_norm <= 1e-8 * np.linalg.norm(yd)


def test_lbfgs_iteration_limit_unbounded_objective_and_zero_iterations():
    reg = make_reg("convex", seed=7)
    y = np.random.default_rng(7).random((12, 12))
    with pytest.warns(ReconstructionWarning, match="max_iter=3"):
        short = reconstruct(y, Identity(), reg, 50.0, tol=1e-14, max_iter=3, method="lbfgs", record_objective=True)
    assert not short.converged and short.n_iter == 3 and short.objective.size == 4
    assert_monotone(short)
    with pytest.warns(ReconstructionWarning, match="max_iter=0"):
        none = reconstruct(y, Identity(), reg, 50.0, max_iter=0, method="lbfgs")
    np.testing.assert_array_equal(none.x, y)
    W = dct_bank(2).normalized()
    concave = LinearSpline([-1.0, 1.0], [1.0, -1.0])  # psi(t) = -t^2 / 2: R unbounded below
    A = ParallelBeamCT(8, 4)
    yc = np.random.default_rng(0).random(A.sinogram_shape)
    with pytest.warns(ReconstructionWarning, match="unbounded below"):
        res = reconstruct(yc, A, RidgeRegularizer(W, [concave] * 3, "weakly_convex"), 10.0, max_iter=100000,
                          method="lbfgs")
    assert np.isfinite(res.x).all() and np.isfinite(res.objective).all()


def test_validation_names_the_argument():
    reg = make_reg("convex")
    y = np.zeros((8, 8))
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        reconstruct(y, Identity(), reg, -1.0)
    with pytest.raises(ValueError, match="tol must be > 0"):
        reconstruct(y, Identity(), reg, 1.0, tol=0)
    with pytest.raises(ValueError, match="max_iter"):
        reconstruct(y, Identity(), reg, 1.0, max_iter=-1)
    assert reconstruct(y, Identity(), reg, 1.0).method == "lbfgs"  # the default, chosen by measurement
    with pytest.raises(ValueError, match="unknown method 'adam'"):
        reconstruct(y, Identity(), reg, 1.0, method="adam")
    with pytest.raises(ValueError, match="y must be finite"):
        reconstruct(np.full((8, 8), np.nan), Identity(), reg, 1.0)
    with pytest.raises(ValueError, match="x0 must be finite"):
        reconstruct(y, Identity(), reg, 1.0, x0=np.full((8, 8), np.inf))
