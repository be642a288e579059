"""Solver comparison for the squared-loss problem: tvspline's dedicated path against its peers.

Optional peers (each is recorded as "not installed" when it cannot be imported)::

    pip install trendfilter pwlf        # trendfilter 0.3.2, pwlf 2.7.0 tested

For M random sites in [-3, 3] (spacings down to ~1e-12 relative at 1e6), y = sin(2x) + noise,
lambda = 0.1 and bounds (-1, 1), (0, inf), (-inf, inf), it times in one run:

- ``tvspline``: ``tvspline.fit`` (interior-point method + exact active-set step + certificate);
- ``cvxpy-clarabel``: CVXPY + Clarabel (default tolerances), slope variables, scaled coupling;
- ``cvxpy-osqp``: CVXPY + OSQP, default tolerances; ``cvxpy-osqp-1e-8``: eps_abs = eps_rel = 1e-8;
- ``trendfilter``: ``trendfilter.trend_filter`` (CVXPY + Clarabel, its defaults) set up to solve
  *our* problem, only for bounds (-inf, inf) and (0, inf); row "skipped" for (-1, 1). The package
  minimises ``sum_i huber(isig_i (c_i - y_i)) + alpha_2 ||D2 c||_1`` over the values c at sorted
  distinct x, with CVXPY's Huber (M = 1: u^2 for |u| <= 1, else 2|u| - 1),
  ``isig_i = 1 / sqrt(buff^2 + y_err_i^2)``, ``buff = 0.01 median|y|``, and D2 its
  non-equispaced second difference with ``scale_free=True``, which is exactly the slope change
  ``(c_{i+1}-c_i)/h_i - (c_i-c_{i-1})/h_{i-1}``: ||D2 c||_1 is our TV2. ``monotonic=True`` adds
  ``c_{i+1} >= c_i`` (our bounds (0, inf)); it has no other slope bound. We pass the unique sites
  with the mean y of repeated sites, ``y_err_i = sqrt(S^2 / W_i - buff^2)`` (W_i = multiplicity,
  S = 4 max(ptp(y), 1)) so that ``isig_i = sqrt(W_i) / S``, and ``alpha_2 = 2 lam / S^2``: while every
  ``|isig_i r_i| <= 1`` its objective is ``(2 / S^2)`` times ours plus a constant, so its minimiser
  is ours. The answer is checked: a status "(huber active ...)" says the check failed. The time is
  the whole ``trend_filter`` call (it builds D2 in a Python loop, then CVXPY compiles and solves);
  the status is read from the CVXPY problem (the package does not return it).
- ``pwlf``: ``pwlf.PiecewiseLinFit(x, y).fit_with_breaks(b)`` with b = [min x, tvspline's active
  knots (nonzero slope change) for the same bounds, max x]: ordinary least squares over the
  continuous piecewise-linear functions with those breakpoints, ``min sum (f(x_m) - y_m)^2``
  (dense M x (K+2) hinge basis, LAPACK gelsd), with no TV2 penalty and no slope bounds: a
  different problem: a feasible answer scores >= the optimum on ours, an infeasible one (bounds)
  may score below it (negative error, with its bound violation).
- ``pwlf-de`` (not run by default): ``pwlf.PiecewiseLinFit(x, y, seed=0).fit(K + 1)``, the same
  least squares with the K breakpoints placed by differential evolution (pwlf's defaults); only
  for M <= 1e3 (row "skipped" for larger M), it is far too slow beyond.

tvspline is timed ``REPEATS`` = 3 times in its process after a 200-point warm-up fit (which loads
the compiled kernels): "time" is the first of them, in a process whose memory is touched for the
first time (first-touch page faults, measured at ~2.7 ms per MB on the benchmark machine: 0.8-0.9 s
of the first 1e6 fit), "median of 3 in-process" the median of the three (the steady state of a
process that fits more than once). Ratios use the first. Peers run once each.

Each peer's answer is turned into a spline *exactly as the peer returned it* (values c at the
sites) and its objective recomputed; the error is measured against tvspline's certified lower
bound, so ``error <= 0`` is impossible and tvspline's own error is at most its certified gap.
Bound violations are those of the slopes between the sites, for every peer (pwlf included).
Peers run in a subprocess with a time limit (``--budget`` seconds) and report "timeout" beyond it.
Peak memory is the subprocess's maximum resident set size. The "note" column says what each
peer solves; benchmarks/README_peers.md has the details.

Usage::

    python benchmarks/solvers.py [--sizes 1e3 1e4 1e5 1e6] [--budget 300] [--peers NAME ...]
                                 [--bounds "(-1,1)" ...] [--name solvers]

By default ``--peers`` is cvxpy-clarabel cvxpy-osqp cvxpy-osqp-1e-8 trendfilter pwlf (add pwlf-de by
name); ``--peers`` with no name runs tvspline alone (used for the M = 1e6 table).

Writes ``benchmarks/results/solvers.csv``, ``solvers.md`` and ``solvers.png`` (log-log).
"""

from __future__ import annotations

import argparse
import csv
import math
import multiprocessing as mp
import os
import resource
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BOUNDS = {"(-1,1)": (-1.0, 1.0), "(0,inf)": (0.0, math.inf), "(-inf,inf)": (-math.inf, math.inf)}
LAM = 0.1
#: tvspline fits timed in its process: ``time`` is the first (a new process: its memory is touched
#: for the first time), ``time_median`` the median of all (the steady state of a long-running process).
REPEATS = 3
CVXPY_PEERS = ("cvxpy-clarabel", "cvxpy-osqp", "cvxpy-osqp-1e-8")
NOTES = {
    "tvspline": "our problem; certified optimum",
    "cvxpy-clarabel": "our problem (scaled slope variables)",
    "cvxpy-osqp": "our problem (scaled slope variables)",
    "cvxpy-osqp-1e-8": "our problem (scaled slope variables)",
    "trendfilter": "our problem (Huber kept quadratic, monotonic=True for (0,inf))",
    "pwlf": "least squares, breaks = tvspline's knots; no TV2, no bounds",
    "pwlf-de": "least squares, K+1 segments placed by differential evolution; no TV2, no bounds",
}
SKIP = {"trendfilter": "skipped: only monotonic bounds", "pwlf-de": "skipped: M > 1e3 (too slow)"}


def data(M, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, M)
    y = np.sin(2 * x) + 0.3 * rng.standard_normal(M)
    return x, y


def objective_of_values(t, c, x, y, lam):
    """Objective of the linear interpolant of values c at sites t (knots at the sites)."""
    f = np.interp(x, t, c)
    s = np.diff(c) / np.diff(t)
    return 0.5 * float(np.sum((f - y) ** 2)) + lam * float(np.sum(np.abs(np.diff(s)))), s


def run_peer(name, M, bname, queue):
    import cvxpy as cp

    x, y = data(M)
    lo, hi = BOUNDS[bname]
    t, inv = np.unique(x, return_inverse=True)
    W = np.bincount(inv, minlength=t.size)
    Y = np.bincount(inv, weights=y, minlength=t.size) / W
    span = t[-1] - t[0]
    h = np.diff(t) / span
    c = cp.Variable(t.size)
    s = cp.Variable(t.size - 1)
    cons = [c[1:] - c[:-1] == cp.multiply(h, s)]
    if math.isfinite(lo):
        cons.append(s >= lo * span)
    if math.isfinite(hi):
        cons.append(s <= hi * span)
    obj = 0.5 * cp.sum(cp.multiply(W, cp.square(c - Y))) + (LAM / span) * cp.norm1(cp.diff(s))
    prob = cp.Problem(cp.Minimize(obj), cons)
    start = time.perf_counter()
    try:
        if name == "cvxpy-clarabel":
            prob.solve(solver="CLARABEL")
        elif name == "cvxpy-osqp":
            prob.solve(solver="OSQP")
        else:
            prob.solve(solver="OSQP", eps_abs=1e-8, eps_rel=1e-8, max_iter=1_000_000)
        status = prob.status
    except Exception as exc:  # a failed peer is a result too
        status = f"failed: {type(exc).__name__}"
    elapsed = time.perf_counter() - start
    value = float("nan")
    viol = float("nan")
    if c.value is not None:
        value, slopes = objective_of_values(t, np.asarray(c.value), x, y, LAM)
        viol = float(max(np.max(slopes - hi), np.max(lo - slopes), 0.0))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(dict(time=elapsed, objective=value, status=status, bound_violation=viol, peak_mb=rss))


def run_tvspline(M, bname, queue):
    import tvspline

    x, y = data(M)
    tvspline.fit(x[:200], y[:200], LAM, BOUNDS[bname])  # load compiled kernels outside the timing
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        res = tvspline.fit(x, y, LAM, BOUNDS[bname])
        times.append(time.perf_counter() - start)
    elapsed = times[0]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    viol = float(max(np.max(res.spline.slopes - res.bounds.hi), np.max(res.bounds.lo - res.spline.slopes), 0.0))
    breaks = np.concatenate(([x.min()], res.spline.active_knots, [x.max()])).tolist()  # for pwlf
    queue.put(dict(time=elapsed, time_median=float(np.median(times)), objective=res.objective, status=res.status.name, bound_violation=viol,
                   peak_mb=rss, lower_bound=res.lower_bound, gap=res.gap, knots=res.n_knots, breaks=breaks))


def _answer(t, c, x, y, lo, hi, elapsed, status, queue):
    """Score values c at the sites t on our objective and report, like ``run_peer``."""
    value = float("nan")
    viol = float("nan")
    if c is not None and np.all(np.isfinite(c)):
        value, slopes = objective_of_values(t, np.asarray(c, dtype=float), x, y, LAM)
        viol = float(max(np.max(slopes - hi), np.max(lo - slopes), 0.0))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(dict(time=elapsed, objective=value, status=status, bound_violation=viol, peak_mb=rss))


def _not_run(status):
    return dict(time=float("nan"), time_median=float("nan"), objective=float("nan"), status=status, bound_violation=float("nan"), peak_mb=float("nan"))


def _import_trendfilter():
    # trendfilter 0.3.2's __init__ imports plot_model -> bokeh_theme, which opens "bokeh_theme.yaml"
    # relative to the *current directory* (the file is not shipped), so `import trendfilter` fails
    # anywhere else with FileNotFoundError. The bokeh plotting theme plays no part in the fit: an
    # empty module stands in for it.
    import types

    sys.modules.setdefault("trendfilter.bokeh_theme", types.ModuleType("trendfilter.bokeh_theme"))
    from trendfilter import trend_filter

    return trend_filter


def run_trendfilter(M, bname, queue):
    try:
        trend_filter = _import_trendfilter()
    except ImportError:
        return queue.put(_not_run("not installed"))
    except Exception as exc:
        return queue.put(_not_run(f"import failed: {type(exc).__name__}"))
    import cvxpy as cp

    x, y = data(M)
    lo, hi = BOUNDS[bname]
    # trend_filter needs sorted distinct x: merge repeated sites (mean y, multiplicity W)
    t, inv = np.unique(x, return_inverse=True)
    W = np.bincount(inv, minlength=t.size)
    Y = np.bincount(inv, weights=y, minlength=t.size) / W
    S = 4.0 * max(float(np.ptp(y)), 1.0)  # residual scale: Huber stays quadratic while |r_i| <= S / sqrt(W_i)
    buff = 0.01 * np.median(np.abs(Y))  # trendfilter's own "buffer", undone by y_err
    y_err = np.sqrt(S**2 / W - buff**2)
    isig = 1.0 / np.sqrt(buff**2 + y_err**2)  # what trendfilter computes: sqrt(W) / S
    statuses = []
    solve = cp.Problem.solve

    def recording_solve(self, *args, **kwargs):  # trend_filter does not return the problem's status
        try:
            return solve(self, *args, **kwargs)
        finally:
            statuses.append(self.status)

    cp.Problem.solve = recording_solve
    start = time.perf_counter()
    try:
        res = trend_filter(t, Y, y_err=y_err, alpha_2=2.0 * LAM / S**2, l_norm=1, monotonic=(lo == 0.0))
        c = res["y_fit"]
        status = statuses[-1] if statuses else "unknown"
    except Exception as exc:  # a failed peer is a result too
        c, status = None, f"failed: {type(exc).__name__}"
    elapsed = time.perf_counter() - start
    if c is not None:
        huber = float(np.max(isig * np.abs(np.asarray(c) - Y)))
        if not huber <= 1.0:
            status += f" (huber active: max |isig r| = {huber:.3g})"
    _answer(t, c, x, y, lo, hi, elapsed, status, queue)


def run_pwlf(name, M, bname, breaks, queue):
    try:
        import pwlf
    except ImportError:
        return queue.put(_not_run("not installed"))
    x, y = data(M)
    lo, hi = BOUNDS[bname]
    t = np.unique(x)
    start = time.perf_counter()
    try:
        model = pwlf.PiecewiseLinFit(x, y, seed=0)
        if name == "pwlf":
            ssr = model.fit_with_breaks(breaks)
        else:
            model.fit(len(breaks) - 1)
            ssr = model.ssr
        status = "solved" if np.isfinite(ssr) else "failed: lstsq"
    except Exception as exc:  # a failed peer is a result too
        model, status = None, f"failed: {type(exc).__name__}"
    elapsed = time.perf_counter() - start
    c = model.predict(t) if model is not None and status == "solved" else None
    _answer(t, c, x, y, lo, hi, elapsed, status, queue)


def in_subprocess(target, args, budget):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=args + (q,))
    p.start()
    p.join(budget)
    if p.is_alive():
        p.kill()
        p.join()
        return dict(_not_run("timeout"), time=budget)
    return q.get() if not q.empty() else _not_run("crashed")


def peer_result(name, M, bname, ref, budget):
    """Run one peer in its subprocess (or say why it is not run)."""
    if name in CVXPY_PEERS:
        return in_subprocess(run_peer, (name, M, bname), budget)
    if name == "trendfilter":
        if BOUNDS[bname] not in ((-math.inf, math.inf), (0.0, math.inf)):
            return _not_run(SKIP[name])
        return in_subprocess(run_trendfilter, (M, bname), budget)
    if name in ("pwlf", "pwlf-de"):
        if name == "pwlf-de" and M > 1000:
            return _not_run(SKIP[name])
        if "breaks" not in ref:
            return _not_run("skipped: no tvspline knots")
        return in_subprocess(run_pwlf, (name, M, bname, ref["breaks"]), budget)
    raise ValueError(f"unknown peer {name!r}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="+", default=["1e3", "1e4", "1e5", "1e6"])
    ap.add_argument("--budget", type=float, default=300.0, help="time limit per peer run (s)")
    ap.add_argument("--bounds", nargs="+", default=list(BOUNDS), choices=list(BOUNDS))
    ap.add_argument("--peers", nargs="*", default=list(CVXPY_PEERS) + ["trendfilter", "pwlf"],
                    choices=list(NOTES)[1:], metavar="NAME",
                    help=f"peer solvers to run, of {', '.join(list(NOTES)[1:])} (none: tvspline only)")
    ap.add_argument("--name", default="solvers", help="basename of the result files (default solvers)")
    args = ap.parse_args(argv)
    rows = []
    for M in [int(float(s)) for s in args.sizes]:
        for bname in args.bounds:
            ref = in_subprocess(run_tvspline, (M, bname), 10 * args.budget)
            lb = ref.get("lower_bound", float("nan"))
            rows.append(dict(M=M, bounds=bname, solver="tvspline", **{k: ref[k] for k in ("time", "time_median", "objective", "status", "bound_violation", "peak_mb")},
                             rel_error=(ref["objective"] - lb) / abs(lb) if lb == lb else float("nan"), note=NOTES["tvspline"]))
            print(rows[-1], flush=True)
            for name in args.peers:
                r = peer_result(name, M, bname, ref, args.budget)
                rows.append(dict(M=M, bounds=bname, solver=name, time_median=float("nan"), **{k: r[k] for k in ("time", "objective", "status", "bound_violation", "peak_mb")},
                                 rel_error=(r["objective"] - lb) / abs(lb) if lb == lb else float("nan"), note=NOTES[name]))
                print(rows[-1], flush=True)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", f"{args.name}.csv"), "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
    cmd = f"python benchmarks/solvers.py --sizes {' '.join(args.sizes)} --budget {args.budget:g}"
    if args.peers != ap.get_default("peers"):
        cmd += " --peers " + " ".join(args.peers)
    if args.bounds != ap.get_default("bounds"):
        cmd += " --bounds " + " ".join(f'"{b}"' for b in args.bounds)
    if args.name != ap.get_default("name"):
        cmd += f" --name {args.name}"
    lines = [f"Command: `{cmd}`", "",
             "| M | bounds | solver | time (s) | median of 3 in-process (s) | time / tvspline | rel. objective error | max bound violation | peak MB | status | note |",
             "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for r in rows:
        base = next(q for q in rows if q["M"] == r["M"] and q["bounds"] == r["bounds"] and q["solver"] == "tvspline")
        ratio = r["time"] / base["time"] if base["time"] > 0 else float("nan")
        med = f"{r['time_median']:.3g}" if r["time_median"] == r["time_median"] else "-"
        lines.append(f"| {r['M']:.0e} | {r['bounds']} | {r['solver']} | {r['time']:.3g} | {med} | {ratio:.3g} | {r['rel_error']:.2e} | "
                     f"{r['bound_violation']:.1e} | {r['peak_mb']:.0f} | {r['status']} | {r['note']} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(HERE, "results", f"{args.name}.md"), "w") as fh:
        fh.write(text)
    print(text)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(args.bounds), figsize=(4.2 * len(args.bounds), 3.6), sharey=True)
    axes = np.atleast_1d(axes)
    handles = {}
    for ax, bname in zip(axes, args.bounds):
        for i, name in enumerate(NOTES):  # one colour per solver in every panel
            pts = [(r["M"], r["time"]) for r in rows if r["bounds"] == bname and r["solver"] == name and math.isfinite(r["time"])
                   and r["status"] != "timeout" and not r["status"].startswith(("failed", "crashed"))]
            if pts:  # dashed: a different problem (pwlf)
                (handles[name],) = ax.loglog(*zip(*pts), marker="o", color=f"C{i}",
                                             linestyle="--" if name.startswith("pwlf") else "-", label=name)
        ax.set_title(f"bounds {bname}")
        ax.set_xlabel("M (data points)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("wall time (s)")
    names = [n for n in NOTES if n in handles]
    axes[0].legend([handles[n] for n in names], names, fontsize=8)  # every solver plotted in any panel
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "results", f"{args.name}.png"), dpi=110)


if __name__ == "__main__":
    sys.exit(main())
