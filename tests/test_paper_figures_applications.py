"""The application figures of ``paper_figures`` in quick mode: the numbers behind them, rechecked.

Each figure's ``make(quick=True)`` runs once per module (fixtures); the tests recompute what the
figure claims from tvspline's public API (and scipy / scikit-image) instead of trusting its table.
"""

import math
import os
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import tvspline  # noqa: E402
from paper_figures import FIGURES, _networks  # noqa: E402
from paper_figures._common import FigureOutput  # noqa: E402

APPLICATION_FIGURES = ["network_knots", "lipschitz_fits", "learned_activations", "wasserstein", "ridge_profiles",
                       "denoising_examples", "ct_example", "solver_benchmark"]

_CACHE = {}


def output(name) -> FigureOutput:
    if name not in _CACHE:
        import importlib

        mod = importlib.import_module(f"paper_figures.{name}")
        _CACHE[name] = mod.make(quick=True)
    return _CACHE[name]


@pytest.fixture(scope="module", autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("name", APPLICATION_FIGURES)
def test_contract(name):
    import importlib

    mod = importlib.import_module(f"paper_figures.{name}")
    assert name in FIGURES
    assert mod.NAME == name and isinstance(mod.TITLE, str) and mod.TITLE
    out = output(name)
    assert isinstance(out, FigureOutput)
    assert isinstance(out.figure, matplotlib.figure.Figure)
    assert out.table and all(set(r) == set(out.table[0]) for r in out.table)
    assert out.caption and out.checks
    # every axis that draws curves has labelled axes
    for ax in out.figure.axes:
        if ax.lines and ax.get_label() != "<colorbar>":
            assert ax.get_xlabel() or ax.get_ylabel() or not ax.get_xticks().size


# ------------------------------------------------------------------------------ network knots
def _forward_preactivations(net, X):
    """Pre-activations recomputed here, independently of paper_figures._networks."""
    h = X
    zs = []
    for l, layer in enumerate(net.activations):
        z = h @ net.weights[l].T + net.biases[l]
        zs.append(z)
        h = np.column_stack([f(z[:, j]) for j, f in enumerate(layer)])
    return zs


def test_network_knots_at_preactivations():
    out = output("network_knots")
    rows = out.table
    # the table's distances are |knot - nearest| and the figure's maximum is theirs
    d = np.array([r["distance"] for r in rows])
    assert np.array_equal(d, np.abs(np.array([r["knot"] - r["nearest_preactivation"] for r in rows])))
    assert out.numbers["max_distance"] == d.max()
    # recompute from the trained network: every knot of every activation is a pre-activation value
    net = _networks.lipschitz_network("f1", "spline", True)["net"]
    data = _networks.lipschitz_data("f1", True)
    zs = _forward_preactivations(net, data.x_train[:, None])
    assert net.predict(data.x_train[:, None]).shape == data.x_train.shape
    n = 0
    worst = 0.0
    for l, layer in enumerate(net.activations):
        for j, f in enumerate(layer):
            z = zs[l][:, j]
            dist = np.min(np.abs(f.knots[:, None] - z[None, :]), axis=1)
            worst = max(worst, float(dist.max()))
            n += f.knots.size
    assert n == len(rows) == out.numbers["n_knots"]
    scale = max(1.0, max(float(np.abs(z).max()) for z in zs))
    assert worst <= 1e-12 * scale
    assert worst == out.numbers["max_distance"]
    assert all(out.checks.values())


# ----------------------------------------------------------------------------- lipschitz fits
def test_lipschitz_fits_bounds_and_mse():
    out = output("lipschitz_fits")
    rows = out.table
    assert {(r["kind"], r["method"]) for r in rows} == {
        (k, m) for k in ("f1", "f2", "f3") for m in ("exact 1-D fit", "spline", "relu", "absval", "groupsort")}
    grid = np.linspace(-1.5, 1.5, 30_001)
    for r in rows:
        assert r["lipschitz_bound"] <= 1 + 1e-9
        d = _networks.lipschitz_data(r["kind"], True)
        if r["method"] == "exact 1-D fit":
            res = tvspline.fit(d.x_train, d.y_train, _networks.LAM, tvspline.lipschitz(1))
            f = res.spline
            assert res.status.name == "OPTIMAL"
            assert f.lipschitz_constant() <= 1.0
        else:
            net = _networks.lipschitz_network(r["kind"], r["method"], True)["net"]
            assert net.lipschitz_bound() == pytest.approx(r["lipschitz_bound"], rel=0, abs=0)

            def f(x, net=net):
                return net.predict(np.asarray(x)[:, None])
        mse = float(np.mean((f(d.x_test) - d.y_test) ** 2))
        assert mse == pytest.approx(r["test_mse"], rel=1e-12, abs=1e-18)
        fd = np.abs(np.diff(f(grid)) / np.diff(grid))
        assert fd.max() <= r["lipschitz_bound"] + 1e-9
    # the exact 1-D fit is the best 1-Lipschitz function on the training objective: lowest test MSE here
    for k in ("f1", "f2", "f3"):
        sel = {r["method"]: r["test_mse"] for r in rows if r["kind"] == k}
        assert sel["exact 1-D fit"] == min(sel.values())
    assert all(out.checks.values())


def test_learned_activations_slopes():
    out = output("learned_activations")
    net = _networks.lipschitz_network("f3", "spline", True)["net"]
    acts = net.activations
    assert len(out.table) == sum(len(a) for a in acts)
    for r in out.table:
        f = acts[r["layer"] - 1][r["neuron"] - 1]
        s = f.slopes
        assert -1.0 <= s.min() and s.max() <= 1.0
        assert (r["min_slope"], r["max_slope"]) == (s.min(), s.max())
        assert r["n_active_knots"] == f.active_knots.size
    assert net.lipschitz_bound() <= 1 + 1e-9
    assert all(out.checks.values())


# -------------------------------------------------------------------------------- wasserstein
def test_wasserstein_estimates_below_exact():
    from scipy.stats import wasserstein_distance

    from paper_figures import wasserstein as fig_w

    out = output("wasserstein")
    s = fig_w.settings(True)
    for case in s["cases"]:
        p, q = fig_w.CASES[case](np.random.default_rng(1000 + s["seed"]), s["n"])
        exact = tvspline.nn.empirical_w1(p, q)
        if p.shape[1] == 1:
            assert exact == pytest.approx(wasserstein_distance(p[:, 0], q[:, 0]), rel=1e-12)
        else:  # equal sample counts: an optimal assignment
            from scipy.optimize import linear_sum_assignment

            C = np.linalg.norm(p[:, None, :] - q[None, :, :], axis=2)
            i, j = linear_sum_assignment(C)
            assert exact == pytest.approx(C[i, j].mean(), rel=1e-12)
        rows = [r for r in out.table if r["case"] == case]
        assert {r["critic"] for r in rows} == {"spline", "relu", "groupsort"}
        for r in rows:
            assert r["exact_w1"] == pytest.approx(exact, rel=1e-12)
            assert r["lipschitz_bound"] <= 1 + 1e-9
            assert r["estimate"] <= exact + 1e-6
    assert all(out.checks.values())


# ----------------------------------------------------------------------------- ridge profiles
def test_ridge_profiles_certificates():
    from tvspline.imaging import pretrained

    out = output("ridge_profiles")
    for kind in ("convex", "weakly_convex"):
        reg = pretrained(kind)
        lo, hi = (0.0, reg.L) if kind == "convex" else (-reg.rho, reg.L)
        rows = [r for r in out.table if r["model"] == kind]
        assert len(rows) == len(reg.profiles)
        for r, p in zip(rows, reg.profiles):
            s = np.diff(p.values) / np.diff(p.knots)
            assert lo <= s.min() and s.max() <= hi
            assert (r["slope_min"], r["slope_max"]) == (s.min(), s.max())
        bound = reg.filters.norm_bound()
        assert bound <= 1.0
        est = reg.filters.operator_norm((40, 40), n_iter=200, random_state=0)
        assert est <= bound
        assert out.numbers[f"{kind}_filter_norm_bound"] == bound
    assert all(out.checks.values())


# ------------------------------------------------------------------------------- denoising
def test_denoising_psnr_table():
    from tvspline.imaging import TEST_IMAGES, load_image, psnr

    from paper_figures import denoising_examples as fig_d

    out = output("denoising_examples")
    p = {r["method"]: r["psnr"] for r in out.table}
    assert set(p) == {"noisy", "learned convex", "learned weakly convex", "TV (Chambolle)"}
    size = fig_d.settings(True)["size"]
    x = load_image(fig_d.IMAGE, size)
    rng = np.random.default_rng(1000 * 25 + TEST_IMAGES.index(fig_d.IMAGE))
    y = x + (25 / 255) * rng.standard_normal(x.shape)
    assert p["noisy"] == pytest.approx(psnr(y, x), abs=1e-12)
    assert p["noisy"] == pytest.approx(10 * math.log10(1 / (25 / 255) ** 2), abs=0.5)
    for k in p:
        if k != "noisy":
            assert p[k] > p["noisy"]
    assert out.checks["every denoised image has a higher PSNR than the noisy one"]
    # the comparison with TV is reported, not asserted; the caption must state the measured numbers
    for k in p:
        assert f"{p[k]:.2f}" in out.caption


# ------------------------------------------------------------------------------------- CT
def test_ct_example():
    from skimage.transform import iradon

    from tvspline.imaging import ParallelBeamCT, psnr, shepp_logan

    from paper_figures import ct_example as fig_c

    out = output("ct_example")
    ct = ParallelBeamCT(fig_c.SIZE, angles=fig_c.ANGLES)
    x = shepp_logan(fig_c.SIZE)
    s = ct.forward(x)
    y = s + fig_c.NOISE * np.abs(s).max() * np.random.default_rng(2).standard_normal(s.shape)
    fbp = iradon(y, theta=ct.angles, circle=True, filter_name="ramp")
    assert out.numbers["psnr_fbp"] == pytest.approx(psnr(fbp, x), abs=1e-9)
    assert out.checks["reconstruction objective non-increasing (to 1e-13 relative rounding)"]
    assert out.numbers["worst_relative_objective_increase"] <= 1e-13
    rows = {r["method"]: r for r in out.table}
    assert rows["learned convex"]["psnr"] == out.numbers["psnr_learned"]


# ------------------------------------------------------------------------- solver benchmark
def test_solver_benchmark_objectives():
    from paper_figures import solver_benchmark as fig_s

    out = output("solver_benchmark")
    rows = out.table
    sizes = fig_s.settings(True)
    assert sorted(r["M"] for r in rows if r["solver"] == "tvspline") == sorted(sizes["tvspline"])
    ref = {}
    for M in sizes["tvspline"]:
        x, y = fig_s.data(M)
        res = tvspline.fit(x, y, fig_s.LAM, fig_s.BOUNDS)
        r = next(r for r in rows if r["solver"] == "tvspline" and r["M"] == M)
        assert res.status.name == "OPTIMAL" and r["status"] == "OPTIMAL"
        assert r["objective"] == pytest.approx(res.objective, rel=1e-12)
        # the objective formula: 1/2 sum of squared residuals + lam TV2, recomputed by hand here
        f = res.spline
        resid = np.interp(x, f.knots, f.values) - y
        own = 0.5 * float(resid @ resid) + fig_s.LAM * float(np.abs(np.diff(np.diff(f.values) / np.diff(f.knots))).sum())
        assert own == pytest.approx(res.objective, rel=1e-10)
        ref[M] = res
    for r in rows:
        assert r["time_s"] > 0  # timings are measurements: only their presence is checked
        if r["solver"] != "tvspline" and math.isfinite(r["objective"]):
            res = ref[r["M"]]
            assert res.objective <= r["objective"] + res.gap + 1e-12 * abs(r["objective"])
    assert all(out.checks.values())
