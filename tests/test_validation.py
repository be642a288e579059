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


# --------------------------------------------------------------------------- refused, not converted
@pytest.mark.parametrize("bounds", [{3: 0, 5: 1}, {0.0, 1.0}, frozenset({-1.0, 1.0}), np.zeros((2, 1))],
                         ids=["dict", "set", "frozenset", "array-2x1"])
def test_unordered_or_misshapen_bounds_are_refused(bounds):
    with pytest.raises(TypeError, match=r"bounds.*\(lo, hi\) pair"):
        tvspline.fit(X, Y, 0.1, bounds)


def test_bounds_as_list_or_array_pair_are_accepted():
    a = tvspline.fit(X, Y, 0.1, (-1.0, 1.0))
    for bounds in ([-1.0, 1.0], np.array([-1.0, 1.0])):
        assert tvspline.fit(X, Y, 0.1, bounds).spline == a.spline


@pytest.mark.parametrize("name", ["x", "y", "weights"])
def test_masked_arrays_are_refused(name):
    args = dict(x=X, y=Y, weights=W)
    args[name] = np.ma.array(args[name], mask=[0, 0, 1, 0, 0])
    with pytest.raises(TypeError, match=rf"{name} is a masked array"):
        tvspline.fit(args["x"], args["y"], 0.1, weights=args["weights"])


@pytest.mark.parametrize("name", ["x", "y", "weights"])
@pytest.mark.parametrize(
    "kind, convert, message",
    [
        ("complex", lambda a: a + 0j, "complex"),
        ("bool", lambda a: a > 0.5, "booleans"),
        ("datetime", lambda a: np.datetime64("2024-01-01") + a.astype(int).astype("timedelta64[D]"), "dates"),
        ("timedelta", lambda a: a.astype(int).astype("timedelta64[s]"), "dates or time spans"),
        ("numeric strings", lambda a: a.astype(str), "strings"),
    ],
)
def test_non_real_data_are_refused(name, kind, convert, message):
    args = dict(x=X, y=Y, weights=W)
    args[name] = convert(np.arange(5.0) if name == "x" else args[name])
    with pytest.raises(TypeError, match=rf"\b{name}\b.*{message}"):
        tvspline.fit(args["x"], args["y"], 0.1, weights=args["weights"])


def test_object_arrays_of_numbers_are_accepted():
    from fractions import Fraction

    x = np.array([0, 1, Fraction(5, 2), 3.0, np.float32(4)], dtype=object)
    assert tvspline.fit(x, Y, 0.1).spline == tvspline.fit([0, 1, 2.5, 3, 4], Y, 0.1).spline
    with pytest.raises(TypeError, match=r"\bx\b.*element None"):
        tvspline.fit(np.array([0, 1, None, 3, 4], dtype=object), Y, 0.1)


@pytest.mark.parametrize("name", ["x", "y", "weights"])
def test_huge_python_integers_give_a_value_error(name):
    args = dict(x=list(X), y=list(Y), weights=list(W))
    args[name][3] = 10**400
    with pytest.raises(ValueError, match=rf"{name} holds a value too large for float64: an integer with 401 digits"):
        tvspline.fit(args["x"], args["y"], 0.1, weights=args["weights"])


def test_huge_scalars_give_a_value_error():
    with pytest.raises(ValueError, match=r"lam is too large for float64"):
        tvspline.fit(X, Y, 10**400)
    with pytest.raises(ValueError, match=r"bounds hi \(s_max\) is too large for float64"):
        tvspline.fit(X, Y, 0.1, (0, 10**400))
    with pytest.raises(ValueError, match=r"tol is too large for float64"):
        tvspline.fit(X, Y, 0.1, tol=10**400)


@pytest.mark.parametrize("lam", ["0.1", b"0.1", True, False, np.bool_(True), 1 + 0j])
def test_lambda_string_bool_or_complex_is_refused(lam):
    with pytest.raises(TypeError, match=r"lam must be a real number"):
        tvspline.fit(X, Y, lam)


@pytest.mark.parametrize("bounds", [(True, 2.0), (0.0, "1"), (0.0, 1j)])
def test_bounds_bool_string_or_complex_are_refused(bounds):
    with pytest.raises(TypeError, match=r"bounds"):
        tvspline.fit(X, Y, 0.1, bounds)


@pytest.mark.parametrize("loss", ["squared", "absolute"])
@pytest.mark.parametrize("delta", [-1.0, 0.5, 2, NAN, "wide", True])
def test_delta_is_refused_for_losses_that_do_not_use_it(loss, delta):
    with pytest.raises(ValueError, match=rf"delta is used only by loss='huber'.*loss='{loss}'"):
        tvspline.fit(X, Y, 0.1, loss=loss, delta=delta)


def test_default_delta_with_other_losses_is_accepted():
    a = tvspline.fit(X, Y, 0.1, loss="absolute")
    assert tvspline.fit(X, Y, 0.1, loss="absolute", delta=1.0).spline == a.spline


@pytest.mark.parametrize("w", [np.zeros(5), [0, 0, 0, 0, 0], np.zeros(5, dtype=int)])
def test_all_zero_weights_are_blamed_on_weights(w):
    with pytest.raises(ValueError, match=r"^weights are all zero"):
        tvspline.fit(X, Y, 0.1, weights=w)
    with pytest.raises(ValueError, match=r"^weights are all zero"):
        tvspline.lambda_max(X, Y, weights=w)


@pytest.mark.parametrize(
    "call, shown",
    [
        (lambda: tvspline.fit(X, Y, np.float64("nan")), "got nan"),
        (lambda: tvspline.fit(X, Y, np.float64(-2.5)), "got -2.5"),
        (lambda: tvspline.fit(_with(X, 1, np.nan), Y, 0.1), "got nan at index 1"),
        (lambda: tvspline.fit(X, Y, 0.1, weights=_with(W, 2, -3.0)), "got -3.0 at index 2"),
        (lambda: tvspline.fit(X, Y, 0.1, (np.float64(2.0), np.float64(1.0))), "s_min=2.0 > s_max=1.0"),
        (lambda: tvspline.fit(X, Y, 0.1, (np.float64("nan"), 1.0)), "got nan"),
        (lambda: tvspline.fit(X, Y, 0.1, tol=np.float32(-1)), "got -1.0"),
        (lambda: tvspline.fit_path(X, Y, np.array([0.1, -0.5])), "got -0.5"),
    ],
)
def test_messages_show_plain_numbers(call, shown):
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert shown in message
    assert "np." not in message and "float64(" not in message


def test_show_formats_numpy_scalars_as_python_numbers():
    from tvspline._validate import show

    assert [show(v) for v in (np.float64(np.inf), np.float32(0.5), np.int64(-3), np.bool_(True))] == [
        "inf", "0.5", "-3", "True"
    ]


# --------------------------------------------------------------------------- loaders check what they load
def _rewrite_npz(src, dst, **changes):
    with np.load(src) as data:
        arrays = {k: data[k] for k in data.files}
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    np.savez(dst, **arrays)


@pytest.fixture(scope="module")
def saved_network(tmp_path_factory):
    from tvspline.nn import SplineNetwork

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (40, 1))
    net = SplineNetwork([1, 3, 1], lam=1e-3, random_state=0).fit(x, np.abs(x[:, 0]), max_iter=2, progress=False)
    path = tmp_path_factory.mktemp("net") / "net.npz"
    net.save(path)
    return path


def test_network_load_round_trip(saved_network):
    from tvspline.nn import SplineNetwork

    net = SplineNetwork.load(saved_network)
    assert net.widths == [1, 3, 1]


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(W0=np.full((3, 1), np.nan)), r"'W0' holds 3 non-finite values"),
        (dict(b1=np.array([np.inf])), r"'b1' holds 1 non-finite values"),
        (dict(W1=np.ones((2, 3))), r"'W1' has shape \(2, 3\), expected \(1, 3\)"),
        (dict(b0=np.zeros(4)), r"'b0' has shape \(4,\), expected \(3,\)"),
        (dict(W1=None), r"not a saved SplineNetwork: the array 'W1' is missing"),
        (dict(knots_0_2=None), r"the array 'knots_0_2' is missing"),
        (dict(values_0_1=np.array([0.0, 5.0, 0.0])), r"neuron 1 has slopes in .* outside the bounds \[-1, 1\]"),
        (dict(meta=None), r"no 'meta' record"),
        (dict(meta=np.frombuffer(b'{"widths": [1, 3, 1]}', dtype=np.uint8)), r"bad 'meta' record"),
    ],
)
def test_network_load_refuses_bad_arrays(saved_network, tmp_path, change, message):
    from tvspline.nn import SplineNetwork

    if "values_0_1" in change:  # a spline of the right size whose slopes break the bounds
        with np.load(saved_network) as data:
            t = data["knots_0_1"]
        change = {"values_0_1": np.where(np.arange(t.size) == t.size // 2, 5.0, 0.0) * (t[-1] - t[0])}
    bad = tmp_path / "bad.npz"
    _rewrite_npz(saved_network, bad, **change)
    with pytest.raises(ValueError, match=message):
        SplineNetwork.load(bad)


def _ridge(tmp_path):
    from tvspline import LinearSpline
    from tvspline.imaging import RidgeRegularizer, dct_bank

    reg = RidgeRegularizer(dct_bank(2).normalized(), [LinearSpline([-1.0, 0.0, 1.0], [0.0, 0.0, 0.5])] * 3)
    path = tmp_path / "ridge.npz"
    reg.save(path)
    return reg, path


def test_ridge_load_refuses_a_model_failing_its_certificate(tmp_path):
    from tvspline.imaging import RidgeRegularizer

    reg, path = _ridge(tmp_path)
    assert RidgeRegularizer.load(path) == reg
    with np.load(path) as data:
        values, filters = data["values"].copy(), data["filters"]
    values[1] = -0.5  # slope -0.5 on [-1, 0]: outside the convex kind's [0, L]
    _rewrite_npz(path, tmp_path / "slopes.npz", values=values)
    with pytest.raises(ValueError, match=r"fails its certificate: profile slopes in \[-0.5, 1\]"):
        RidgeRegularizer.load(tmp_path / "slopes.npz")
    _rewrite_npz(path, tmp_path / "norm.npz", filters=3.0 * filters)
    with pytest.raises(ValueError, match=r"fails its certificate: .*filter norm 3(\.\d+)? \(must be <= 1\)"):
        RidgeRegularizer.load(tmp_path / "norm.npz")


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(values=np.array([0.0, np.nan, 0.5] * 3)), r"values must be finite"),
        (dict(filters=np.full((3, 2, 2), np.nan)), r"filters must be finite"),
        (dict(offsets=np.array([0, 3, 6, 8])), r"inconsistent profile arrays"),
        (dict(offsets=np.array([0.0, 3.0, 6.0, 9.0])), r"inconsistent profile arrays"),
        (dict(knots=None), r"missing knots"),
        (dict(alphas=np.array([np.nan]), noise_levels=np.array([0.1])), r"alphas must be finite"),
    ],
)
def test_ridge_load_refuses_bad_arrays(tmp_path, change, message):
    from tvspline.imaging import RidgeRegularizer

    _, path = _ridge(tmp_path)
    _rewrite_npz(path, tmp_path / "bad.npz", **change)
    with pytest.raises(ValueError, match=message):
        RidgeRegularizer.load(tmp_path / "bad.npz")
