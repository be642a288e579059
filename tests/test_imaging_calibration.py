"""calibrate_noise_table: against a brute-force grid, the weakly convex cap, determinism, bad input."""

import math
import warnings

import numpy as np
import pytest

from tvspline import LinearSpline
from tvspline.imaging import (Identity, NoiseCalibration, ReconstructionWarning, RidgeRegularizer,
                              calibrate_noise_table, difference_bank, load_image, psnr, reconstruct)

SIGMA = 0.1


def small_images():
    return [load_image("camera", 24), load_image("coins", (20, 28))]


def convex_regularizer(alpha):
    bank = difference_bank(1).normalized()
    profile = LinearSpline([-0.05, 0.05], [-0.05, 0.05])  # slopes in [0, 1]: a Huber potential
    return RidgeRegularizer(bank, [profile] * bank.n_filters, noise_levels=[SIGMA], alphas=[alpha])


def weakly_convex_regularizer(alpha):
    bank = difference_bank(1).normalized()
    profile = LinearSpline([-0.2, -0.05, 0.05, 0.2], [0.0, -0.05, 0.05, 0.0])  # slopes -1/3 and 1
    return RidgeRegularizer(bank, [profile] * bank.n_filters, "weakly_convex", rho=0.5, noise_levels=[SIGMA],
                            alphas=[alpha])


def mean_psnr(reg, images, noisy, alpha):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReconstructionWarning)
        return float(np.mean([psnr(reconstruct(y, Identity(), reg, alpha, max_iter=3000).x, x) for x, y in zip(images, noisy)]))


def noisy_copies(images, seed):
    rng = np.random.default_rng(seed)
    return [x + SIGMA * rng.standard_normal(x.shape) for x in images]


def test_calibrated_alpha_is_as_good_as_a_brute_force_grid():
    images = small_images()
    reg = convex_regularizer(4.0)
    cal = calibrate_noise_table(reg, images, random_state=7, progress=False)
    assert isinstance(cal, NoiseCalibration) and cal.converged
    noisy = noisy_copies(images, 7)  # the noise calibrate_noise_table draws for its one level
    grid = np.geomspace(1.0, 16.0, 81)  # the whole search interval, steps of 3.5 %
    scores = np.array([mean_psnr(reg, images, noisy, a) for a in grid])
    k = int(np.argmax(scores))
    assert 0 < k < len(grid) - 1, "the optimum must be inside the interval for this test to mean anything"
    # recomputed from the chosen alpha, not read from the result
    chosen = mean_psnr(reg, images, noisy, float(cal.alphas[0]))
    assert chosen == pytest.approx(cal.psnr[0], abs=1e-12)
    assert chosen >= scores[k] - 1e-3
    assert abs(math.log(cal.alphas[0] / grid[k])) <= 0.1
    assert not cal.at_search_edge[0]
    assert cal.regularizer.alpha(SIGMA) == pytest.approx(cal.alphas[0], rel=1e-12)
    assert cal.initial_alphas[0] == 4.0
    assert cal.initial_psnr[0] == pytest.approx(mean_psnr(reg, images, noisy, 4.0), abs=1e-12)


@pytest.mark.parametrize("alpha", [0.3, 4.0, 60.0])
def test_calibration_never_lowers_the_mean_psnr_and_is_deterministic(alpha):
    images = small_images()
    a = calibrate_noise_table(convex_regularizer(alpha), images, random_state=3, progress=False)
    b = calibrate_noise_table(convex_regularizer(alpha), images, random_state=3, progress=False)
    assert np.all(a.psnr >= a.initial_psnr)
    assert np.array_equal(a.alphas, b.alphas) and np.array_equal(a.psnr, b.psnr)
    assert a.regularizer == b.regularizer
    assert a.n_evaluations >= 2
    assert math.isinf(a.cap)


def test_weakly_convex_alpha_stays_under_the_convexity_cap():
    images = small_images()
    reg = weakly_convex_regularizer(50.0)  # far above the cap
    wc = reg.weak_convexity()
    assert wc > 0
    cal = calibrate_noise_table(reg, images, random_state=0, progress=False)
    assert cal.cap == 1.0 / wc
    assert cal.initial_alphas[0] == cal.cap  # the starting point is capped too
    assert cal.alphas[0] <= cal.cap
    assert 1.0 - cal.alphas[0] * wc >= -1e-15
    assert cal.regularizer.check_certificate().ok
    assert not cal.at_search_edge[0]


def test_levels_default_to_the_table_and_can_be_replaced():
    bank = difference_bank(1).normalized()
    profile = LinearSpline([-0.05, 0.05], [-0.05, 0.05])
    reg = RidgeRegularizer(bank, [profile] * bank.n_filters, noise_levels=[0.05, 0.1], alphas=[1.0, 4.0])
    images = [load_image("camera", 16)]
    cal = calibrate_noise_table(reg, images, progress=False, xatol=0.1)
    assert np.array_equal(cal.noise_levels, [0.05, 0.1]) and cal.initial_alphas.tolist() == [1.0, 4.0]
    cal = calibrate_noise_table(reg, images, [0.2, 0.02], progress=False, xatol=0.1)
    assert np.array_equal(cal.noise_levels, [0.02, 0.2])
    assert np.array_equal(cal.regularizer.noise_table[0], [0.02, 0.2])


def test_a_denoising_stopped_early_is_reported():
    with pytest.warns(ReconstructionWarning, match=r"\d+ of \d+ denoisings stopped at max_iter=1 .*largest gradient norm"):
        cal = calibrate_noise_table(convex_regularizer(4.0), small_images(), max_iter=1, xatol=0.5, progress=False)
    assert not cal.converged


@pytest.mark.parametrize("kwargs, match", [
    (dict(images=[]), "at least one image"),
    (dict(images=[np.full((8, 8), np.nan)]), r"images\[0\] contains NaN"),
    (dict(images=[np.zeros(8)]), r"images\[0\] must be 2-D"),
    (dict(sigmas=[0.1, -0.2]), "sigmas must be finite and > 0, got -0.2"),
    (dict(sigmas=[np.inf]), "sigmas must be finite"),
    (dict(sigmas=[0.1, 0.1]), "must not repeat"),
    (dict(sigmas=[]), "non-empty"),
    (dict(search_factor=1.0), "search_factor must be > 1, got 1.0"),
    (dict(search_factor=np.nan), "search_factor must be > 0 and finite, got nan"),
    (dict(xatol=0.0), "xatol must be"),
    (dict(tol=-1.0), "tol must be"),
    (dict(max_iter=0), "max_iter must be a positive integer, got 0"),
])
def test_bad_input_is_rejected_with_the_argument_named(kwargs, match):
    args = dict(images=[load_image("camera", 8)])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        calibrate_noise_table(convex_regularizer(1.0), progress=False, **args)


def test_missing_levels_and_wrong_regularizer_are_rejected():
    bank = difference_bank(1).normalized()
    reg = RidgeRegularizer(bank, [LinearSpline([-0.05, 0.05], [-0.05, 0.05])] * bank.n_filters)
    with pytest.raises(ValueError, match="no noise table"):
        calibrate_noise_table(reg, [load_image("camera", 8)], progress=False)
    with pytest.raises(TypeError, match="RidgeRegularizer"):
        calibrate_noise_table(object(), [load_image("camera", 8)], progress=False)
