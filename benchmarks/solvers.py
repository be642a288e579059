"""Solver comparison for the squared-loss problem: tvspline's dedicated path against CVXPY solvers.

For M random sites in [-3, 3] (spacings down to ~1e-12 relative at 1e6), y = sin(2x) + noise,
lambda = 0.1 and bounds (-1, 1), (0, inf), (-inf, inf), it times in one run:

- ``tvspline``: ``tvspline.fit`` (interior-point method + exact active-set step + certificate);
- ``cvxpy-clarabel``: CVXPY + Clarabel (default tolerances), slope variables, scaled coupling;
- ``cvxpy-osqp``: CVXPY + OSQP, default tolerances; ``cvxpy-osqp-1e-8``: eps_abs = eps_rel = 1e-8.

Each peer's answer is turned into a spline *exactly as the peer returned it* (values c at the
sites) and its objective recomputed; the error is measured against tvspline's certified lower
bound, so ``error <= 0`` is impossible and tvspline's own error is at most its certified gap.
Peers run in a subprocess with a time limit (``--budget`` seconds) and report "timeout" beyond it.
Peak memory is the subprocess's maximum resident set size.

Usage::

    python benchmarks/solvers.py [--sizes 1e3 1e4 1e5 1e6] [--budget 300] [--peers NAME ...]
                                 [--bounds "(-1,1)" ...] [--name solvers]

``--peers`` with no name runs tvspline alone (used for the M = 1e6 table).

Writes ``benchmarks/results/solvers.csv``, ``solvers.md`` and ``solvers.png`` (log-log).
The ``trendfilter`` and ``pwlf`` packages are not run: trendfilter solves TV2 without slope
bounds with a fixed ADMM tolerance and pwlf fits a given number of breakpoints by least squares
(a different problem); see the README.
"""

from __future__ import annotations

import argparse
import csv
import json
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
    start = time.perf_counter()
    res = tvspline.fit(x, y, LAM, BOUNDS[bname])
    elapsed = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    viol = float(max(np.max(res.spline.slopes - res.bounds.hi), np.max(res.bounds.lo - res.spline.slopes), 0.0))
    queue.put(dict(time=elapsed, objective=res.objective, status=res.status.name, bound_violation=viol,
                   peak_mb=rss, lower_bound=res.lower_bound, gap=res.gap, knots=res.n_knots))


def in_subprocess(target, args, budget):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=args + (q,))
    p.start()
    p.join(budget)
    if p.is_alive():
        p.kill()
        p.join()
        return dict(time=budget, objective=float("nan"), status="timeout", bound_violation=float("nan"), peak_mb=float("nan"))
    return q.get() if not q.empty() else dict(time=float("nan"), objective=float("nan"), status="crashed",
                                                  bound_violation=float("nan"), peak_mb=float("nan"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="+", default=["1e3", "1e4", "1e5", "1e6"])
    ap.add_argument("--budget", type=float, default=300.0, help="time limit per peer run (s)")
    ap.add_argument("--bounds", nargs="+", default=list(BOUNDS))
    ap.add_argument("--peers", nargs="*", default=["cvxpy-clarabel", "cvxpy-osqp", "cvxpy-osqp-1e-8"],
                    help="peer solvers to run (none: tvspline only)")
    ap.add_argument("--name", default="solvers", help="basename of the result files (default solvers)")
    args = ap.parse_args(argv)
    rows = []
    for M in [int(float(s)) for s in args.sizes]:
        for bname in args.bounds:
            ref = in_subprocess(run_tvspline, (M, bname), 10 * args.budget)
            lb = ref.get("lower_bound", float("nan"))
            rows.append(dict(M=M, bounds=bname, solver="tvspline", **{k: ref[k] for k in ("time", "objective", "status", "bound_violation", "peak_mb")},
                             rel_error=(ref["objective"] - lb) / abs(lb) if lb == lb else float("nan")))
            print(rows[-1], flush=True)
            for name in args.peers:
                r = in_subprocess(run_peer, (name, M, bname), args.budget)
                rows.append(dict(M=M, bounds=bname, solver=name, **{k: r[k] for k in ("time", "objective", "status", "bound_violation", "peak_mb")},
                                 rel_error=(r["objective"] - lb) / abs(lb) if lb == lb else float("nan")))
                print(rows[-1], flush=True)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", f"{args.name}.csv"), "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
    cmd = f"python benchmarks/solvers.py --sizes {' '.join(args.sizes)} --budget {args.budget:g}"
    if args.peers != ap.get_default("peers"):
        cmd += " --peers " + " ".join(args.peers) + f" --bounds {' '.join(repr(b) for b in args.bounds)} --name {args.name}"
    lines = [f"Command: `{cmd}`", "",
             "| M | bounds | solver | time (s) | time / tvspline | rel. objective error | max bound violation | peak MB | status |",
             "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        base = next(q for q in rows if q["M"] == r["M"] and q["bounds"] == r["bounds"] and q["solver"] == "tvspline")
        ratio = r["time"] / base["time"] if base["time"] > 0 else float("nan")
        lines.append(f"| {r['M']:.0e} | {r['bounds']} | {r['solver']} | {r['time']:.3g} | {ratio:.3g} | {r['rel_error']:.2e} | "
                     f"{r['bound_violation']:.1e} | {r['peak_mb']:.0f} | {r['status']} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(HERE, "results", f"{args.name}.md"), "w") as fh:
        fh.write(text)
    print(text)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(args.bounds), figsize=(4.2 * len(args.bounds), 3.6), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, bname in zip(axes, args.bounds):
        for name in ("tvspline", "cvxpy-clarabel", "cvxpy-osqp", "cvxpy-osqp-1e-8"):
            pts = [(r["M"], r["time"]) for r in rows if r["bounds"] == bname and r["solver"] == name and r["status"] not in ("timeout", "crashed")]
            if pts:
                ax.loglog(*zip(*pts), marker="o", label=name)
        ax.set_title(f"bounds {bname}")
        ax.set_xlabel("M (data points)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("wall time (s)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "results", f"{args.name}.png"), dpi=110)


if __name__ == "__main__":
    sys.exit(main())
