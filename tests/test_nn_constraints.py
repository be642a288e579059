"""Tests of tvspline.nn.constraints.

References: the SVD (numpy), the defining properties of the projections (norm bound,
orthonormality, idempotence, fixed points), the Fan-Hoffman optimality of the polar factor against
random orthonormal matrices from scipy.stats.ortho_group, and scipy.linalg.polar.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.linalg import polar
from scipy.stats import ortho_group

from tvspline.exceptions import TVSplineWarning
from tvspline.nn.constraints import (
    bjorck_orthonormalize,
    project_orthonormal,
    project_spectral,
    spectral_norm,
)

SHAPES = [(1, 1), (5, 5), (8, 3), (3, 8), (10, 1), (1, 7), (20, 20)]


def random_matrix(shape, seed, scale=3.0):
    return scale * np.random.default_rng(seed).standard_normal(shape)


def identity_error(P):
    """max |P^T P - I| (tall or square) or max |P P^T - I| (wide)."""
    G = P.T @ P if P.shape[0] >= P.shape[1] else P @ P.T
    return np.abs(G - np.eye(G.shape[0])).max()


@pytest.mark.parametrize("shape", SHAPES)
def test_project_spectral(shape):
    for seed in range(5):
        W = random_matrix(shape, seed)
        P = project_spectral(W)
        assert P.shape == W.shape and P is not W
        assert np.linalg.norm(P, 2) <= 1 + 1e-12
        sW, sP = np.linalg.svd(W, compute_uv=False), np.linalg.svd(P, compute_uv=False)
        np.testing.assert_allclose(sP, np.minimum(sW, 1.0), atol=1e-12)
        np.testing.assert_allclose(project_spectral(P), P, atol=1e-12)  # idempotent
        # the residual W - P has the same singular vectors: it is orthogonal to P in the trace inner
        # product exactly when the clipped part is the excess (s - 1)_+ (first-order optimality)
        excess_times_kept = np.sum(np.maximum(sW - 1, 0) * np.minimum(sW, 1))
        np.testing.assert_allclose(np.sum((W - P) * P), excess_times_kept, rtol=1e-9)


@pytest.mark.parametrize("shape", SHAPES)
def test_project_spectral_fixed_points(shape):
    W = random_matrix(shape, 1)
    inside = 0.9 * W / np.linalg.norm(W, 2)
    out = project_spectral(inside)
    np.testing.assert_array_equal(out, inside)  # unchanged, bit for bit
    out[...] = 0.0
    assert inside.any()  # a copy, not a view


@pytest.mark.parametrize("shape", SHAPES)
def test_project_orthonormal(shape):
    for seed in range(5):
        W = random_matrix(shape, seed)
        P = project_orthonormal(W)
        assert identity_error(P) <= 1e-12
        assert np.linalg.norm(P, 2) <= 1 + 1e-12
        np.testing.assert_allclose(project_orthonormal(P), P, atol=1e-12)  # idempotent
        if shape[0] == shape[1]:
            np.testing.assert_allclose(P, polar(W)[0], atol=1e-11)


@pytest.mark.parametrize("n", [2, 4, 9])
def test_polar_factor_is_closest_orthogonal(n):
    W = random_matrix((n, n), n)
    P = project_orthonormal(W)
    best = np.linalg.norm(W - P)
    others = ortho_group.rvs(dim=n, size=300, random_state=np.random.default_rng(n))
    for Q in others:
        assert best <= np.linalg.norm(W - Q) + 1e-12
    # and P itself is the best among small rotations of P (local check, ties excluded)
    rng = np.random.default_rng(0)
    for _ in range(50):
        A = rng.standard_normal((n, n))
        R = np.linalg.qr(np.eye(n) + 1e-3 * (A - A.T))[0]
        R *= np.sign(np.diag(R))  # keep R close to I
        assert best < np.linalg.norm(W - P @ R)


@pytest.mark.parametrize("m, n", [(6, 3), (3, 6), (10, 4)])
def test_polar_factor_is_closest_rectangular(m, n):
    # closest matrix with orthonormal columns (rows): compare with random ones built from ortho_group
    W = random_matrix((m, n), m + n)
    P = project_orthonormal(W)
    best = np.linalg.norm(W - P)
    k = max(m, n)
    for Q in ortho_group.rvs(dim=k, size=300, random_state=np.random.default_rng(1)):
        C = Q[:m, :n]  # orthonormal columns (m >= n) or rows (m < n)
        assert identity_error(C) <= 1e-12
        assert best <= np.linalg.norm(W - C) + 1e-12


@pytest.mark.parametrize("shape", [s for s in SHAPES if min(s) >= 1])
@pytest.mark.parametrize("order", [1, 2, 3])
def test_bjorck_matches_svd_polar_factor(shape, order):
    for seed in range(3):
        W = random_matrix(shape, seed)
        Q = bjorck_orthonormalize(W, order=order)
        assert Q.shape == W.shape
        np.testing.assert_allclose(Q, project_orthonormal(W), atol=1e-10)
        assert identity_error(Q) <= 1e-11


def test_bjorck_ill_conditioned_and_scaled():
    rng = np.random.default_rng(4)
    U = np.linalg.qr(rng.standard_normal((7, 7)))[0]
    V = np.linalg.qr(rng.standard_normal((5, 5)))[0]
    s = np.logspace(-4, 3, 5)  # condition number 1e7, norm 1e3
    W = (U[:, :5] * s) @ V.T
    np.testing.assert_allclose(bjorck_orthonormalize(W), U[:, :5] @ V.T, atol=1e-10)
    np.testing.assert_allclose(bjorck_orthonormalize(1e-8 * W), U[:, :5] @ V.T, atol=1e-10)


def test_bjorck_orthonormal_input_is_fixed_point():
    Q = ortho_group.rvs(dim=6, random_state=np.random.default_rng(2))
    np.testing.assert_allclose(bjorck_orthonormalize(Q), Q, atol=1e-13)


def test_bjorck_warns_when_not_converged():
    W = np.diag([1.0, 1e-6])
    with pytest.warns(TVSplineWarning, match=r"did not converge in 3 iterations: max\|I - W\^T W\|"):
        bjorck_orthonormalize(W, n_iter=3)
    with pytest.warns(TVSplineWarning, match="rank-deficient"):
        bjorck_orthonormalize(np.array([[1.0, 0.0], [0.0, 0.0]]), n_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bjorck_orthonormalize(W)  # converges with the default budget


@pytest.mark.parametrize("shape", SHAPES)
def test_spectral_norm(shape):
    W = random_matrix(shape, 3)
    ref = np.linalg.norm(W, 2)
    assert spectral_norm(W) == pytest.approx(ref, rel=1e-14)
    est = spectral_norm(W, method="power", random_state=0)
    assert est <= ref * (1 + 1e-14)  # Rayleigh-type estimate: a lower bound
    assert est == pytest.approx(ref, rel=1e-8)


def test_spectral_norm_power_seeding_and_gap():
    rng = np.random.default_rng(0)
    U = np.linalg.qr(rng.standard_normal((30, 30)))[0]
    V = np.linalg.qr(rng.standard_normal((20, 20)))[0]
    s = np.linspace(1.0, 0.1, 20)
    s[0] = 2.0
    W = (U[:, :20] * s) @ V.T
    a = spectral_norm(W, method="power", random_state=5)
    assert a == spectral_norm(W, method="power", random_state=5)
    assert a == pytest.approx(2.0, rel=1e-10)
    few = spectral_norm(W, method="power", n_iter=1, random_state=5)
    assert few < 2.0  # one step is a strict lower bound
    assert spectral_norm(np.zeros((3, 2)), method="power") == 0.0
    assert spectral_norm(np.zeros((3, 2))) == 0.0


@pytest.mark.parametrize(
    "func", [project_spectral, project_orthonormal, bjorck_orthonormalize, spectral_norm]
)
@pytest.mark.parametrize(
    "W, match",
    [
        (np.array([[1.0, np.nan]]), "W must be finite, got nan at index \\(0, 1\\)"),
        (np.array([[np.inf]]), "W must be finite, got inf"),
        (np.ones(3), r"W must be a non-empty 2-D array, got shape \(3,\)"),
        (np.ones((0, 3)), r"got shape \(0, 3\)"),
        (np.ones((2, 2, 2)), r"got shape \(2, 2, 2\)"),
    ],
)
def test_matrix_validation(func, W, match):
    with pytest.raises(ValueError, match=match):
        func(W)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(n_iter=0), ValueError, "n_iter must be >= 1, got 0"),
        (dict(order=0), ValueError, "order must be >= 1, got 0"),
        (dict(order=1.5), TypeError, "order"),
        (dict(tol=0.0), ValueError, "tol must be finite and > 0, got 0.0"),
        (dict(tol=float("nan")), ValueError, "tol .* nan"),
    ],
)
def test_bjorck_parameter_validation(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        bjorck_orthonormalize(np.eye(2), **kwargs)


def test_bjorck_zero_matrix_and_spectral_norm_params():
    with pytest.raises(ValueError, match="W must be nonzero"):
        bjorck_orthonormalize(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="method 'lanczos'"):
        spectral_norm(np.eye(2), method="lanczos")
    with pytest.raises(ValueError, match="n_iter must be >= 1"):
        spectral_norm(np.eye(2), method="power", n_iter=0)
    with pytest.raises(TypeError, match="random_state"):
        spectral_norm(np.eye(2), method="power", random_state="seed")
