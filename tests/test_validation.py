"""Bad inputs to ``tvspline.fit`` and ``tvspline.lambda_max`` raise errors naming the argument."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tvspline

X = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
Y = np.array([0.0, 1.0, 0.5, 2.0, 1.0])
W = np.ones(5)
NAN, INF = math.nan, math.inf


def _with(arr, i, v):
    out = np.array(arr, dtype=float)
    out[i] = v
    return out


@pytest.mark.parametrize("bad", [NAN, INF, -INF])
@pytest.mark.parametrize("name", ["x", "y", "weights"])
def test_non_finite_data(name, bad):
    args = dict(x=X, y=Y, weights=W)
    args[name] = _with(args[name], 2, bad)
    with pytest.raises(ValueError, match=rf"\b{name}\b.*finite"):
        tvspline.fit(args["x"], args["y"], 0.1, weights=args["weights"])
    with pytest.raises(ValueError, match=rf"\b{name}\b.*finite"):
        tvspline.lambda_max(args["x"], args["y"], weights=args["weights"])


@pytest.mark.parametrize("n", [4, 6])
def test_mismatched_x_y(n):
    y = np.arange(n, dtype=float)
    with pytest.raises(ValueError, match=r"x and y"):
        tvspline.fit(X, y, 0.1)
    with pytest.raises(ValueError, match=r"x and y"):
        tvspline.lambda_max(X, y)


@pytest.mark.parametrize("n", [4, 6])
def test_mismatched_weights(n):
    with pytest.raises(ValueError, match=r"weights"):
        tvspline.fit(X, Y, 0.1, weights=np.ones(n))
    with pytest.raises(ValueError, match=r"weights"):
        tvspline.lambda_max(X, Y, weights=np.ones(n))


@pytest.mark.parametrize(
    "x",
    [np.array([1.0]), np.array([2.0, 2.0, 2.0]), np.array([-1.5] * 5)],
    ids=["one-point", "three-ties", "five-ties"],
)
def test_fewer_than_two_distinct_sites(x):
    y = np.linspace(0.0, 1.0, x.size)
    with pytest.raises(ValueError, match=r"\bx\b.*distinct"):
        tvspline.fit(x, y, 0.1)
    with pytest.raises(ValueError, match=r"\bx\b.*distinct"):
        tvspline.lambda_max(x, y)


def test_empty_data():
    with pytest.raises(ValueError, match=r"\bx\b"):
        tvspline.fit([], [], 0.1)


@pytest.mark.parametrize("lam", [-1e-12, -1.0, -INF, NAN, INF])
def test_bad_lambda(lam):
    with pytest.raises(ValueError, match=r"\blam\b"):
        tvspline.fit(X, Y, lam)


def test_lambda_wrong_type():
    with pytest.raises(TypeError, match=r"\blam\b"):
        tvspline.fit(X, Y, "big")
    with pytest.raises(TypeError, match=r"\blam\b"):
        tvspline.fit(X, Y, None)


@pytest.mark.parametrize("i", [0, 4])
def test_negative_weights(i):
    w = _with(W, i, -0.5)
    with pytest.raises(ValueError, match=r"weights.*>= 0"):
        tvspline.fit(X, Y, 0.1, weights=w)
    with pytest.raises(ValueError, match=r"weights.*>= 0"):
        tvspline.lambda_max(X, Y, weights=w)


@pytest.mark.parametrize("bounds", [(1.0, -1.0), (0.5, 0.4999), (INF, INF), (-INF, -INF)])
def test_inverted_or_empty_bounds(bounds):
    with pytest.raises(ValueError, match=r"bounds"):
        tvspline.fit(X, Y, 0.1, bounds)
    with pytest.raises(ValueError, match=r"bounds"):
        tvspline.lambda_max(X, Y, bounds)


@pytest.mark.parametrize("bounds", [(NAN, 1.0), (-1.0, NAN), (NAN, NAN)])
def test_nan_bounds(bounds):
    with pytest.raises(ValueError, match=r"bounds.*NaN"):
        tvspline.fit(X, Y, 0.1, bounds)
    with pytest.raises(ValueError, match=r"bounds.*NaN"):
        tvspline.lambda_max(X, Y, bounds)


@pytest.mark.parametrize("bounds", [5.0, (1.0, 2.0, 3.0), "ab", ("a", 1.0)])
def test_bounds_wrong_type(bounds):
    with pytest.raises(TypeError, match=r"bounds"):
        tvspline.fit(X, Y, 0.1, bounds)


@pytest.mark.parametrize("loss", ["l2", "Squared", "", None, "hinge"])
def test_unknown_loss(loss):
    with pytest.raises(ValueError, match=r"\bloss\b"):
        tvspline.fit(X, Y, 0.1, loss=loss)


@pytest.mark.parametrize("solver", ["gurobi", "CLARABEL", "", None, "scs"])
def test_unknown_solver(solver):
    with pytest.raises(ValueError, match=r"\bsolver\b"):
        tvspline.fit(X, Y, 0.1, solver=solver)


@pytest.mark.parametrize("delta", [0.0, -1.0, NAN, -INF])
def test_non_positive_delta_for_huber(delta):
    with pytest.raises(ValueError, match=r"\bdelta\b"):
        tvspline.fit(X, Y, 0.1, loss="huber", delta=delta)


def test_delta_wrong_type_for_huber():
    with pytest.raises(TypeError, match=r"\bdelta\b"):
        tvspline.fit(X, Y, 0.1, loss="huber", delta="wide")


@pytest.mark.parametrize("tol", [0.0, -1e-9, NAN, INF])
def test_non_positive_tol(tol):
    with pytest.raises(ValueError, match=r"\btol\b"):
        tvspline.fit(X, Y, 0.1, tol=tol)


def test_tol_wrong_type():
    with pytest.raises(TypeError, match=r"\btol\b"):
        tvspline.fit(X, Y, 0.1, tol="tight")


@pytest.mark.parametrize("name", ["x", "y", "weights"])
def test_wrong_type_data(name):
    args = dict(x=X, y=Y, weights=W)
    args[name] = ["a", "b", "c", "d", "e"]
    with pytest.raises(TypeError, match=rf"\b{name}\b"):
        tvspline.fit(args["x"], args["y"], 0.1, weights=args["weights"])


@pytest.mark.parametrize("name", ["x", "y", "weights"])
def test_two_dimensional_data(name):
    args = dict(x=X, y=Y, weights=W)
    args[name] = np.ones((5, 2))
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        tvspline.fit(args["x"], args["y"], 0.1, weights=args["weights"])


def test_valid_edge_inputs_are_accepted():
    """Things that are not errors: zero weights (dropped), lam = 0, equal bounds, lists."""
    res = tvspline.fit(list(X), list(Y), 0.0, (0.5, 0.5), weights=[1, 0, 1, 1, 1])
    assert np.allclose(res.spline.slopes, 0.5)
    res = tvspline.fit(X, Y, 0.1, tvspline.lipschitz(1.0), loss="huber", delta=0.2, tol=1e-6)
    assert res.success
