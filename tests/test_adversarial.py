"""A seeded adversarial sweep of ``tvspline.fit`` against an independent CVXPY + Clarabel reference.

Small problems (3 to 30 points) in eight hostile categories, each under the three losses:

- ``span``: sites spanning 1e-8 to 1e8, far from the origin or not;
- ``near_ties``: sites closer than 1e-12 relative, and exact ties;
- ``big_y``: targets up to 1e12 with an offset;
- ``weights``: weights spanning 1e-8 to 1e8;
- ``lam``: lambda 0, tiny, or up to 1e12 (far above lambda_max);
- ``equal_bounds``: ``lo == hi`` (the fit is affine with that slope);
- ``one_sided``: ``(lo, inf)`` or ``(-inf, hi)``;
- ``ulp_bounds``: ``hi`` one to four ulps above ``lo``.

The contract checked for every problem (``_check``):

1. no exception (the inputs are valid; :func:`tvspline._problem.prepare` accepts them) and no hang
   (a watchdog of :data:`FIT_SECONDS` of CPU time per fit);
2. the reported objective is the objective of the returned spline, recomputed independently
   (:func:`reference.objective`), to rounding;
3. the spline's slopes, recomputed from its knots and values, are in the bounds to rounding;
4. the reported lower bound is at most the objective, and at most the reference's feasible
   objective: no dishonest certificate;
5. the objective is never below the reference's lower bound (Clarabel's dual objective, used when
   the reference converged and that bound is below its own feasible objective to rounding);
6. ``OPTIMAL`` means the objective is within the certified gap of the reference's feasible
   objective.

"Rounding" is measured from the data (:func:`_rounding`): the float64 error of evaluating the data
term at targets of that size, of the slopes of values of that size on intervals of that length, plus
a relative ``1e-9`` of the objective. The reference solves the problem with sites mapped to
``[0, 1]``, targets divided by their largest magnitude and weights by their largest value (the
objective is scaled back exactly), and rebuilds a bound-exact spline in the original coordinates.
"""

from __future__ import annotations

import math
import signal
import warnings

import numpy as np
import pytest

import tvspline
from tvspline._problem import prepare
from tvspline.exceptions import TVSplineWarning

from reference import data_term, evaluate_spline, max_bound_violation, objective

CATEGORIES = ["span", "near_ties", "big_y", "weights", "lam", "equal_bounds", "one_sided", "ulp_bounds"]
LOSSES = ["squared", "absolute", "huber"]
#: Problems per (category, loss): 8 x 3 x 12 = 288 problems.
SEEDS = range(12)
#: Watchdog per fit (seconds of CPU time, so that a busy machine does not trip it): a fit of at
#: most 30 points that takes longer is a hang.
FIT_SECONDS = 30.0
EPS = np.finfo(np.float64).eps
#: Relative slack of the comparisons with the reference on top of the rounding of the data: the
#: reference is an interior-point solution at tolerance 1e-10 on the scaled problem.
REF_RTOL = 1e-8


# --------------------------------------------------------------------------- problems
def _problem(category: str, loss: str, seed: int) -> dict:
    """The arguments of ``tvspline.fit`` for one problem (deterministic in its three keys)."""
    rng = np.random.default_rng([CATEGORIES.index(category), LOSSES.index(loss), seed, 19])
    M = int(rng.integers(3, 31))
    u = np.sort(rng.uniform(-1.0, 1.0, M))
    shape = rng.choice(["abs", "sin", "step", "noise"])
    base = {"abs": np.abs(u), "sin": np.sin(4 * u), "step": (u > 0).astype(float), "noise": 0 * u}[shape]
    y = base + 0.2 * rng.standard_normal(M)
    x = u.copy()
    w = None
    lam = float(10 ** rng.uniform(-3, 1))
    bounds = [(-math.inf, math.inf), (-1.0, 1.0), (0.0, math.inf), (0.0, 1.0), (0.1, 10.0)][int(rng.integers(5))]

    if category == "span":
        span = 10 ** rng.uniform(-8, 8)
        offset = float(rng.choice([0.0, 1.0, -1e3, 1e6])) * max(span, 1.0)
        x = offset + span * u
        bounds = tuple(b / span for b in bounds)  # the same shapes in the new units
        lam = lam / span
    elif category == "near_ties":
        k = max(1, M // 3)
        idx = rng.choice(M, k, replace=False)
        rel = 10 ** rng.uniform(-15, -12, k)
        extra = x[idx] + np.where(rng.random(k) < 0.3, 0.0, rel * np.maximum(1.0, np.abs(x[idx])))
        x = np.concatenate([x, extra])
        y = np.concatenate([y, y[idx] + 0.1 * rng.standard_normal(k)])
    elif category == "big_y":
        scale = 10 ** rng.uniform(0, 12)
        y = scale * y + float(rng.choice([0.0, 1.0, -3.0])) * scale
        bounds = tuple(b * scale for b in bounds)
        lam = lam * scale
    elif category == "weights":
        w = 10 ** rng.uniform(-8, 8, M)
        lam = lam * float(np.median(w))
    elif category == "lam":
        lam = float(rng.choice([0.0, 10 ** rng.uniform(-9, -3), 10 ** rng.uniform(3, 12)]))
    elif category == "equal_bounds":
        s = float(rng.choice([0.0, 1.0, -2.5, 1e-3, 10 ** rng.uniform(-4, 4)]))
        bounds = (s, s)
    elif category == "one_sided":
        b = float(rng.uniform(-2, 2))
        bounds = (b, math.inf) if rng.random() < 0.5 else (-math.inf, b)
    elif category == "ulp_bounds":
        lo = float(rng.choice([0.0, 1.0, -1.0, 0.3, 10 ** rng.uniform(-6, 6)]))
        hi = lo
        for _ in range(int(rng.integers(1, 5))):
            hi = float(np.nextafter(hi, math.inf))
        bounds = (lo, hi)
    args = dict(x=x, y=y, lam=lam, bounds=bounds, weights=w, loss=loss)
    if loss == "huber":
        args["delta"] = float(10 ** rng.uniform(-1, 0.5)) * max(1e-300, float(np.std(y)))
    return args


# --------------------------------------------------------------------------- the reference
def _reference(args):
    """(feasible objective, lower bound, Clarabel status) of the problem, solved independently."""
    import cvxpy as cp

    x = np.asarray(args["x"], dtype=float)
    y = np.asarray(args["y"], dtype=float)
    w = np.ones_like(x) if args["weights"] is None else np.asarray(args["weights"], dtype=float)
    keep = w > 0
    x, y, w = x[keep], y[keep], w[keep]
    lam, loss, delta = args["lam"], args["loss"], args.get("delta", 1.0)
    lo, hi = (float(b) for b in args["bounds"])
    t = np.unique(x)
    idx = np.searchsorted(t, x)
    K = t.size
    span = float(t[-1] - t[0])
    hu = np.diff(t) / span
    ys = max(float(np.max(np.abs(y))), 1e-300)
    ws = float(np.max(w))
    yt, wt = y / ys, w / ws
    # f = ys * g((x - t0) / span): g' = span f' / ys, TV2(g) = span TV2(f) / ys, r = ys * r_g.
    if loss == "absolute":
        factor, lam_g = ws * ys, lam / ws / span
    else:
        factor, lam_g = ws * ys * ys, lam / (ws * ys) / span
    lo_g, hi_g = lo * span / ys, hi * span / ys

    c = cp.Variable(K)
    s = cp.Variable(K - 1)
    cons = [c[1:] - c[:-1] == cp.multiply(hu, s)]
    if math.isfinite(lo_g):
        cons.append(s >= lo_g)
    if math.isfinite(hi_g):
        cons.append(s <= hi_g)
    r = c[idx] - yt
    if loss == "squared":
        data = 0.5 * cp.sum(cp.multiply(wt, cp.square(r)))
    elif loss == "absolute":
        data = cp.sum(cp.multiply(wt, cp.abs(r)))
    else:
        data = 0.5 * cp.sum(cp.multiply(wt, cp.huber(r, delta / ys)))  # CVXPY's huber is twice ours
    obj = data + (lam_g * cp.norm1(cp.diff(s)) if K > 2 and lam > 0 else 0)
    prob = cp.Problem(cp.Minimize(obj), cons)
    pdata, chain, _ = prob.get_problem_data(cp.CLARABEL)
    quad = "P" in pdata
    # the constant of the objective, which the conic form leaves out
    offset = float(pdata["param_prob"].apply_parameters(quad_obj=quad)[2 if quad else 1])
    raw = chain.solver.solve_via_data(pdata, False, False, dict(
        tol_gap_abs=1e-12, tol_gap_rel=1e-10, tol_feas=1e-10, tol_ktratio=1e-10, max_iter=400))
    status = str(raw.status)
    lower = factor * (float(raw.obj_val_dual) + offset)
    sol = pdata["param_prob"].split_solution(np.asarray(raw.x, dtype=float))
    sv = np.asarray(sol.get(s.id), dtype=float).reshape(-1) if s.id in sol else None
    cv = np.asarray(sol.get(c.id), dtype=float).reshape(-1) if c.id in sol else None
    if sv is None or cv is None or not (np.isfinite(sv).all() and np.isfinite(cv).all()):
        return math.inf, lower, status
    slopes = np.clip(sv * ys / span, lo, hi)
    vals = ys * cv[0] + np.concatenate([[0.0], np.cumsum(np.diff(t) * slopes)])
    # the best constant shift of the rebuilt values (slopes and TV2 unchanged)
    res = y - vals[idx]
    if loss == "squared":
        shift = float(np.dot(w, res) / w.sum())
    else:
        order = np.argsort(res)
        cw = np.cumsum(w[order])
        shift = float(res[order][min(int(np.searchsorted(cw, 0.5 * cw[-1])), res.size - 1)])
    best = min(data_term(vals[idx] - y, w, loss, delta), data_term(vals[idx] + shift - y, w, loss, delta))
    tv2 = float(math.fsum(np.abs(np.diff(slopes))))
    return best + lam * tv2, lower, status


# --------------------------------------------------------------------------- rounding of the data
def _rounding(spline, args) -> tuple[float, float]:
    """(objective rounding, slope rounding) of a spline on the data, in float64."""
    x = np.asarray(args["x"], dtype=float)
    y = np.asarray(args["y"], dtype=float)
    w = np.ones_like(x) if args["weights"] is None else np.asarray(args["weights"], dtype=float)
    f = evaluate_spline(spline, x)
    r = np.abs(f - y)
    d = 16 * EPS * np.maximum(np.abs(y), np.abs(f)) + 1e-300
    if args["loss"] == "squared":
        data = float(np.sum(w * (r * d + d * d)))
    elif args["loss"] == "absolute":
        data = float(np.sum(w * d))
    else:
        data = float(np.sum(w * np.minimum(r + d, args["delta"]) * d))
    t, c = np.asarray(spline.knots), np.asarray(spline.values)
    slope_err = 8 * EPS * np.maximum(np.abs(c[1:]), np.abs(c[:-1])) / np.diff(t)
    s = np.diff(c) / np.diff(t)
    slope_err = slope_err + 8 * EPS * np.abs(s)
    tv = args["lam"] * 2 * float(np.sum(slope_err))
    return data + tv, float(np.max(slope_err))


def _bound_tol(bounds, slope_round) -> float:
    finite = [abs(b) for b in bounds if math.isfinite(b)]
    return 1e-12 * max([1.0] + finite) + slope_round


class _Hang(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Hang(f"fit used more than {FIT_SECONDS} s of CPU time")


def _fit_with_watchdog(args):
    old = signal.signal(signal.SIGPROF, _on_alarm)
    signal.setitimer(signal.ITIMER_PROF, FIT_SECONDS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TVSplineWarning)
            return tvspline.fit(**args)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)


def _check(category, loss, seed):
    """The list of broken promises for one problem (empty when the contract holds)."""
    args = _problem(category, loss, seed)
    try:
        prepare(args["x"], args["y"], args["lam"], args["bounds"], args["weights"], loss, args.get("delta", 1.0))
    except (ValueError, TypeError):
        return []  # a documented refusal of the input
    try:
        res = _fit_with_watchdog(args)
    except Exception as exc:  # noqa: BLE001 - every exception on valid input breaks the contract
        return [f"raised {type(exc).__name__}: {exc}"]
    w = args["weights"]
    obj = objective(res.spline, args["x"], args["y"], args["lam"], w, loss, args.get("delta", 1.0))
    obj_round, slope_round = _rounding(res.spline, args)
    scale = max(1.0, abs(obj))
    out = []
    if not abs(res.objective - obj) <= obj_round + 1e-9 * scale:
        out.append(f"reported objective {res.objective!r} but the spline's is {obj!r}")
    viol = max_bound_violation(res.spline, args["bounds"])
    if not viol <= _bound_tol(args["bounds"], slope_round):
        out.append(f"slopes leave the bounds {args['bounds']} by {viol:.3e}")
    if not res.lower_bound <= res.objective + obj_round + 1e-9 * scale:
        out.append(f"lower bound {res.lower_bound!r} above the objective {res.objective!r}")
    ref_obj, ref_lower, ref_status = _reference(args)
    if math.isfinite(ref_obj):  # the objective of a feasible spline: an upper bound on the optimum
        slack = obj_round + REF_RTOL * max(1.0, abs(ref_obj))
        if not res.lower_bound <= ref_obj + slack:
            out.append(f"lower bound {res.lower_bound!r} above the reference's feasible objective {ref_obj!r}")
        # Clarabel's dual objective is a lower bound only when the reference converged and is
        # consistent with its own feasible objective (with weights spanning 16 decades it can
        # exceed it: then it bounds nothing and is not used).
        if ref_status == "Solved" and ref_lower <= ref_obj + obj_round and not obj >= ref_lower - slack:
            out.append(f"objective {obj!r} below the reference's lower bound {ref_lower!r}")
        if res.status == tvspline.Status.OPTIMAL and not obj <= ref_obj + res.gap + slack:
            out.append(
                f"OPTIMAL with gap {res.gap:.3e} but objective {obj!r} exceeds the reference's {ref_obj!r} "
                f"by {obj - ref_obj:.3e}"
            )
    if out:
        out = [f"{m} [status {res.status.name}, solver {res.solver}, reference {ref_status}]" for m in out]
    return out


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("category", CATEGORIES)
def test_adversarial_sweep(category, loss):
    failures = []
    for seed in SEEDS:
        for message in _check(category, loss, seed):
            failures.append(f"_problem({category!r}, {loss!r}, {seed}): {message}")
    assert not failures, "\n".join(failures)


def test_problems_are_deterministic_and_valid():
    for category in CATEGORIES:
        for loss in LOSSES:
            a, b = _problem(category, loss, 3), _problem(category, loss, 3)
            np.testing.assert_array_equal(a["x"], b["x"])
            np.testing.assert_array_equal(a["y"], b["y"])
            assert a["lam"] == b["lam"] and a["bounds"] == b["bounds"]
            prepare(a["x"], a["y"], a["lam"], a["bounds"], a["weights"], loss, a.get("delta", 1.0))


def test_reference_agrees_with_a_closed_form():
    """The reference on lo == hi: the best line of that slope (a weighted mean or median offset)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 12)
    y = rng.standard_normal(12)
    for loss in ["squared", "absolute"]:
        args = dict(x=x, y=y, lam=0.3, bounds=(0.5, 0.5), weights=None, loss=loss)
        ref_obj, ref_lower, status = _reference(args)
        r = y - 0.5 * x
        b = float(np.mean(r)) if loss == "squared" else float(np.median(r))
        exact = data_term(0.5 * x + b - y, None, loss)
        assert status == "Solved"
        assert ref_obj == pytest.approx(exact, rel=1e-9)
        assert ref_lower <= exact * (1 + 1e-9) and ref_lower == pytest.approx(exact, rel=1e-7)
