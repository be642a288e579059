"""tvspline.imaging.ridge: exact potentials, gradients, certificates, scaling, save / load."""

import pickle

import numpy as np
import pytest
from scipy.integrate import quad

from tvspline import LinearSpline
from tvspline.imaging import FilterBank, RidgeRegularizer, dct_bank, random_bank


def random_profile(rng, lo, hi, n_knots=7, width=0.4):
    """A linear spline with slopes in [lo, hi] and sigma(0) = 0."""
    t = np.sort(rng.uniform(-width, width, n_knots))
    f = LinearSpline.from_slopes(t, 0.0, rng.uniform(lo, hi, n_knots - 1))
    return LinearSpline(t, f.values - f(0.0))


def make_reg(kind="convex", seed=0, n=6, k=3, boundary="valid"):
    rng = np.random.default_rng(seed)
    W = random_bank(n, k, random_state=seed, boundary=boundary).normalized()
    lo = 0.0 if kind == "convex" else -0.5
    return RidgeRegularizer(W, [random_profile(rng, lo, 1.0) for _ in range(n)], kind, rho=None if kind == "convex" else 0.5)


def test_potential_is_the_exact_integral_from_zero():
    rng = np.random.default_rng(0)
    for trial in range(20):
        prof = random_profile(rng, -2.0, 3.0, n_knots=rng.integers(2, 9), width=rng.uniform(0.1, 5))
        reg = RidgeRegularizer(np.ones((1, 1, 1)), [prof], "weakly_convex")
        t0, t1 = prof.knots[0], prof.knots[-1]
        pts = np.concatenate([rng.uniform(t0 - 3, t1 + 3, 15), prof.knots, [0.0, t0 - 10, t1 + 10]])
        psi = reg.potential(0, pts)
        breaks = [b for b in prof.knots]
        for p, v in zip(pts, psi):
            ref, err = quad(prof, 0.0, p, points=[b for b in breaks if min(0, p) < b < max(0, p)] or None, limit=200)
            assert abs(v - ref) <= 1e-10 * max(1.0, abs(ref)), (trial, p, v, ref)
        assert reg.potential(0, 0.0) == 0.0


def test_potential_derivative_is_the_profile():
    rng = np.random.default_rng(1)
    prof = random_profile(rng, -1.0, 1.0, n_knots=6)
    reg = RidgeRegularizer(np.ones((1, 2, 2)), [prof], "weakly_convex")
    t = rng.uniform(-1, 1, 50)
    h = 1e-6
    fd = (reg.potential(0, t + h) - reg.potential(0, t - h)) / (2 * h)
    np.testing.assert_allclose(fd, prof(t), atol=1e-7)


@pytest.mark.parametrize("boundary", ["valid", "full", "periodic"])
def test_value_is_the_sum_of_potentials_of_the_responses(boundary):
    reg = make_reg("weakly_convex", seed=2, boundary=boundary)
    x = np.random.default_rng(2).random((15, 12))
    z = reg.filters.apply(x)
    ref = sum(reg.potential(i, z[i]).sum() for i in range(reg.filters.n_filters))
    assert reg.value(x) == pytest.approx(ref, rel=1e-13)
    stack = np.stack([x, 2 * x])
    np.testing.assert_allclose(reg.value(stack), [reg.value(x), reg.value(2 * x)], rtol=1e-13)


@pytest.mark.parametrize("kind", ["convex", "weakly_convex"])
@pytest.mark.parametrize("boundary", ["valid", "full", "periodic"])
def test_gradient_matches_finite_differences(kind, boundary):
    reg = make_reg(kind, seed=3, boundary=boundary)
    rng = np.random.default_rng(3)
    x = rng.random((14, 13))
    g = reg.grad(x)
    val, g2 = reg.value_and_grad(x)
    np.testing.assert_array_equal(g, g2)
    assert val == reg.value(x)
    for _ in range(3):
        d = rng.standard_normal(x.shape)
        h = 1e-6
        fd = (reg.value(x + h * d) - reg.value(x - h * d)) / (2 * h)
        assert abs(fd - np.vdot(g, d)) <= 1e-6 * max(1.0, abs(fd))
    # gradient equals sum_i w_i^T sigma_i(w_i * x) assembled filter by filter
    z = reg.filters.apply(x)
    parts = np.zeros((reg.filters.n_filters,) + z.shape[1:])
    for i, p in enumerate(reg.profiles):
        parts[i] = p(z[i])
    np.testing.assert_allclose(g, reg.filters.adjoint(parts), atol=1e-14)


@pytest.mark.parametrize("kind", ["convex", "weakly_convex"])
def test_certified_constants_hold_on_random_pairs(kind):
    reg = make_reg(kind, seed=4)
    lip, rho = reg.lipschitz_gradient(), reg.weak_convexity()
    smin = min(p.slopes.min() for p in reg.profiles)
    smax = max(p.slopes.max() for p in reg.profiles)
    nb = reg.filters.norm_bound()
    assert lip == pytest.approx(max(smax, -smin) * nb**2, rel=1e-15)
    assert rho == (0.0 if kind == "convex" else pytest.approx(-smin * nb**2, rel=1e-15))
    rng = np.random.default_rng(4)
    for _ in range(20):
        x, y = rng.random((12, 12)), rng.random((12, 12))
        if rng.random() < 0.5:
            y = x + 1e-2 * rng.standard_normal(x.shape)
        dg = reg.grad(x) - reg.grad(y)
        dx = x - y
        assert np.linalg.norm(dg) <= lip * np.linalg.norm(dx) * (1 + 1e-12)
        assert np.vdot(dg, dx) >= -rho * np.vdot(dx, dx) - 1e-14


def test_check_certificate_reports_slopes_and_filter_norm():
    cert = make_reg("convex").check_certificate()
    assert cert.ok and cert.slopes_ok and cert.norm_ok and cert.bounds == (0.0, 1.0)
    assert cert.filter_norm <= 1.0 and cert.weak_convexity == 0.0
    assert cert.slope_min.shape == (6,) and (cert.slope_min >= 0).all() and (cert.slope_max <= 1).all()

    W = dct_bank(2).normalized()
    negative = LinearSpline([-1.0, 0.0, 1.0], [0.2, 0.0, 1.0])  # slopes -0.2, 1
    bad = RidgeRegularizer(W, [negative] * 3, "convex").check_certificate()
    assert not bad.slopes_ok and bad.norm_ok and not bad.ok
    assert bad.weak_convexity > 0  # the constants follow the actual slopes
    ok = RidgeRegularizer(W, [negative] * 3, "weakly_convex", rho=0.2).check_certificate()
    assert ok.ok and ok.bounds == (-0.2, 1.0)
    steep = RidgeRegularizer(W, [LinearSpline([0.0, 1.0], [0.0, 2.0])] * 3, "convex").check_certificate()
    assert not steep.slopes_ok
    unnorm = RidgeRegularizer(dct_bank(3), [LinearSpline([0.0, 1.0], [0.0, 1.0])] * 8).check_certificate()
    assert unnorm.slopes_ok and not unnorm.norm_ok and unnorm.filter_norm > 2.9


def test_scaled_multiplies_value_gradient_and_bounds():
    reg = make_reg("weakly_convex", seed=5).with_noise_table([0.02, 0.1], [0.3, 1.0])
    x = np.random.default_rng(5).random((10, 10))
    s = reg.scaled(2.5)
    assert s.value(x) == pytest.approx(2.5 * reg.value(x), rel=1e-13)
    np.testing.assert_allclose(s.grad(x), 2.5 * reg.grad(x), rtol=1e-12, atol=1e-15)
    assert (s.L, s.rho) == (2.5, 1.25) and s.check_certificate().ok
    assert s.lipschitz_gradient() == pytest.approx(2.5 * reg.lipschitz_gradient(), rel=1e-14)
    assert s.alpha(0.05) * 2.5 == pytest.approx(reg.alpha(0.05), rel=1e-13)


def test_alpha_table_interpolates_in_log_log():
    W = dct_bank(2)
    f = [LinearSpline.affine(1.0, 0.0)] * 3
    assert RidgeRegularizer(W, f).alpha(0.2) == pytest.approx(0.04)
    reg = RidgeRegularizer(W, f, noise_levels=[0.02, 0.06, 0.1], alphas=[0.1, 0.5, 0.9])
    for s, a in [(0.02, 0.1), (0.06, 0.5), (0.1, 0.9)]:
        assert reg.alpha(s) == pytest.approx(a, rel=1e-13)
    mid = np.exp(0.5 * (np.log(0.1) + np.log(0.5)))
    assert reg.alpha(np.sqrt(0.02 * 0.06)) == pytest.approx(mid, rel=1e-13)
    one = RidgeRegularizer(W, f, noise_levels=[0.1], alphas=[0.5])
    assert one.alpha(0.2) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="sigma"):
        reg.alpha(0.0)
    with pytest.raises(ValueError, match="noise_levels must be strictly increasing"):
        RidgeRegularizer(W, f, noise_levels=[0.1, 0.05], alphas=[1, 2])
    with pytest.raises(ValueError, match="alphas must be finite and > 0"):
        RidgeRegularizer(W, f, noise_levels=[0.1], alphas=[-1])


@pytest.mark.parametrize("kind", ["convex", "weakly_convex"])
def test_save_load_round_trip_is_lossless(tmp_path, kind):
    reg = make_reg(kind, seed=6, boundary="full").with_noise_table([0.01, 0.05, 0.1], [0.2, 0.7, 1.3])
    path = tmp_path / "model.npz"
    reg.save(path)
    back = RidgeRegularizer.load(path)
    assert back == reg and back.kind == kind and back.filters.boundary == "full"
    assert (back.L, back.rho) == (reg.L, reg.rho)
    for p, q in zip(back.profiles, reg.profiles):
        np.testing.assert_array_equal(p.knots, q.knots)
        np.testing.assert_array_equal(p.values, q.values)
    x = np.random.default_rng(6).random((11, 9))
    assert back.value(x) == reg.value(x)
    np.testing.assert_array_equal(back.grad(x), reg.grad(x))
    assert back.alpha(0.03) == reg.alpha(0.03)
    assert pickle.loads(pickle.dumps(reg)) == reg
    no_table = make_reg(kind, seed=7)
    no_table.save(tmp_path / "b.npz")
    assert RidgeRegularizer.load(tmp_path / "b.npz") == no_table
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="not a saved RidgeRegularizer"):
        RidgeRegularizer.load(tmp_path / "other.npz")


def test_profiles_and_filters_can_be_replaced():
    reg = make_reg("convex", seed=8)
    new = [LinearSpline([-1.0, 1.0], [-0.5, 0.5])] * 6
    r2 = reg.with_profiles(new)
    assert r2.profiles == tuple(new) and r2.filters == reg.filters and reg.profiles != r2.profiles
    x = np.random.default_rng(8).random((9, 9))
    z = reg.filters.apply(x)
    assert r2.value(x) == pytest.approx(0.25 * (z**2).sum(), rel=1e-13)  # psi(t) = t^2 / 4
    W2 = dct_bank(2, boundary="periodic")
    r3 = RidgeRegularizer(W2, new[:3]).with_filters(dct_bank(2))
    assert r3.filters.boundary == "valid"


def test_validation_names_the_argument():
    W = dct_bank(2)
    f = [LinearSpline.affine(1.0, 0.0)] * 3
    with pytest.raises(ValueError, match="profiles has 2 splines but there are 3 filters"):
        RidgeRegularizer(W, f[:2])
    with pytest.raises(ValueError, match="unknown kind 'concave'"):
        RidgeRegularizer(W, f, "concave")
    with pytest.raises(ValueError, match="rho must be None or 0"):
        RidgeRegularizer(W, f, "convex", rho=0.5)
    with pytest.raises(ValueError, match="L must be > 0"):
        RidgeRegularizer(W, f, L=0)
    with pytest.raises(ValueError, match="rho must be >= 0"):
        RidgeRegularizer(W, f, "weakly_convex", rho=-1)
    with pytest.raises(TypeError, match=r"profiles\[1\]"):
        RidgeRegularizer(W, [f[0], lambda t: t, f[0]])
    with pytest.raises(ValueError, match="alpha must be > 0"):
        RidgeRegularizer(W, f).scaled(0.0)
    with pytest.raises(ValueError, match="i must be an integer"):
        RidgeRegularizer(W, f).potential(3, 0.0)
    assert isinstance(RidgeRegularizer(np.ones((3, 2, 2)), f).filters, FilterBank)


@pytest.mark.parametrize("seed", range(6))
def test_compiled_profile_evaluation_is_bitwise_the_numpy_one(seed):
    """The one-pass kernels (tvspline.imaging._profile_eval) give bitwise the values of the NumPy
    path (LinearSpline.__call__ and the exact potentials): random non-uniform knots, responses
    inside, at the knots and beyond both ends, for one image and for stacks."""
    rng = np.random.default_rng(seed)
    n = 4
    W = random_bank(n, 3, random_state=seed).normalized()
    profiles = [random_profile(rng, -0.5, 1.0, n_knots=int(rng.integers(2, 30)), width=rng.uniform(0.01, 2))
                for _ in range(n)]
    reg = RidgeRegularizer(W, profiles, "weakly_convex", rho=0.5)
    for shape in [(12, 13), (2, 12, 13), (2, 3, 9, 8)]:
        z = reg.responses(rng.standard_normal(shape) * rng.uniform(0.01, 3))
        knots = profiles[0].knots
        z[..., 0, 0, : min(knots.size, z.shape[-1])] = knots[: z.shape[-1]]  # exactly at the knots
        sig, value = reg._sigma_and_value(z, want_value=True)
        np.testing.assert_array_equal(sig, reg._sigma_numpy(z))
        np.testing.assert_array_equal(np.asarray(value), np.asarray(reg._value_from(z)))
        x = rng.standard_normal(shape)
        v, g = reg.value_and_grad(x)
        np.testing.assert_array_equal(np.asarray(v), np.asarray(reg._value_from(reg.responses(x))))
        np.testing.assert_array_equal(g, reg._filters.adjoint(reg._sigma_numpy(reg.responses(x)), shape[-2:]))
