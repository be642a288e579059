"""Exactness of tvspline.fit on random problems against an independent tight reference.

For each random problem (sites uniform / with exact ties / with pairs 1e-9 apart, random weights,
squared or absolute loss, bounds among (-1,1), (0,inf), (0,1), (0.1,10), (-inf,inf), lambda among
1e-4 .. 1 and lambda_max) it compares tvspline's answer with CVXPY + Clarabel at tolerance 1e-12
(slope variables, scaled coupling, x normalised to [0, 1]; written here independently of the
library) and records: the bound violation of the returned spline, the relative objective error,
whether the reported gap covers the error, the status and the time.

Usage::

    python benchmarks/exactness.py [--n 300] [--seed 0]

Writes ``benchmarks/results/exactness.csv`` and ``benchmarks/results/exactness.md``.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
import warnings

import cvxpy as cp
import numpy as np

import tvspline

BOUNDS = [(-1.0, 1.0), (0.0, np.inf), (0.0, 1.0), (0.1, 10.0), (-np.inf, np.inf)]
HERE = os.path.dirname(os.path.abspath(__file__))


def reference(x, y, w, lam, lo, hi, loss):
    t, inv = np.unique(x, return_inverse=True)
    K = t.size
    a, b = t[0], t[-1] - t[0]
    h = np.diff((t - a) / b)
    c = cp.Variable(K)
    s = cp.Variable(K - 1)
    cons = [c[1:] - c[:-1] == cp.multiply(h, s)]
    if np.isfinite(lo):
        cons.append(s >= lo * b)
    if np.isfinite(hi):
        cons.append(s <= hi * b)
    r = c[inv] - y
    data = 0.5 * cp.sum(cp.multiply(w, cp.square(r))) if loss == "squared" else cp.sum(cp.multiply(w, cp.abs(r)))
    obj = data + (lam / b) * cp.norm1(cp.diff(s)) if K > 2 else data
    prob = cp.Problem(cp.Minimize(obj), cons)
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12, max_iter=1000)
    return prob.value


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=300, help="number of random problems (default 300)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    rows = []
    warnings.simplefilter("ignore", tvspline.TVSplineWarning)
    for _ in range(args.n):
        M = int(rng.choice([5, 12, 40, 150, 600]))
        kind = str(rng.choice(["uniform", "ties", "close"]))
        x = rng.uniform(-3, 3, M)
        if kind == "ties":
            x = np.round(x, 1)
        if kind == "close":
            x[1::3] = x[0::3][: len(x[1::3])] + 1e-9
        if np.unique(x).size < 2:
            continue
        y = np.sin(2 * x) + 0.5 * rng.standard_normal(M)
        w = rng.uniform(0.2, 3, M)
        lo, hi = BOUNDS[rng.integers(len(BOUNDS))]
        loss = str(rng.choice(["squared", "absolute"]))
        lam = float(rng.choice([1e-4, 1e-3, 1e-2, 1e-1, 1.0, tvspline.lambda_max(x, y, (lo, hi), w)]))
        t0 = time.perf_counter()
        res = tvspline.fit(x, y, lam, (lo, hi), weights=w, loss=loss)
        elapsed = time.perf_counter() - t0
        ref = reference(x, y, w, lam, lo, hi, loss)
        s = res.spline.slopes
        viol = float(max(np.max(s - hi), np.max(lo - s), 0.0))
        err = (res.objective - ref) / max(1.0, abs(ref))
        honest = res.objective - ref <= res.gap + 1e-9 * max(1.0, abs(ref))
        rows.append(dict(M=M, sites=kind, lo=lo, hi=hi, loss=loss, lam=lam, status=res.status.name,
                         rel_error=err, rel_gap=res.relative_gap, bound_violation=viol,
                         gap_honest=honest, knots=res.n_knots, time=elapsed))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "exactness.csv"), "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
    lines = [
        f"Command: `python benchmarks/exactness.py --n {args.n} --seed {args.seed}`",
        "",
        "| loss | sites | problems | OPTIMAL | max rel. objective error | max bound violation | gap honest | median time (s) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for loss in ("squared", "absolute"):
        for kind in ("uniform", "ties", "close"):
            sub = [r for r in rows if r["loss"] == loss and r["sites"] == kind]
            if not sub:
                continue
            lines.append(
                f"| {loss} | {kind} | {len(sub)} | {sum(r['status'] == 'OPTIMAL' for r in sub)} | "
                f"{max(r['rel_error'] for r in sub):.1e} | {max(r['bound_violation'] for r in sub):.1e} | "
                f"{sum(r['gap_honest'] for r in sub)}/{len(sub)} | {np.median([r['time'] for r in sub]):.3f} |"
            )
    text = "\n".join(lines) + "\n"
    with open(os.path.join(HERE, "results", "exactness.md"), "w") as fh:
        fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
