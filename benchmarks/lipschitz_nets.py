"""The Lipschitz paper's experiments: 1-D fitting of 1-Lipschitz targets, and W1 estimation.

Table 1 (``lipschitz_nets_fit``): for each target family (f1: slopes +-1 with 9 random knots; f2:
slopes in {-1, 0, 1}; f3: cos(7 pi x) / (7 pi)), each seed draws a new target and 1000 uniform
training points in [-1, 1] (no noise); every network ``[1, 10, 10, 10, 1]`` with orthonormal
weights and 1-Lipschitz activations is trained by ``SplineNetwork.fit`` (the same outer loop for
all activations: the baselines take weight steps only, the splines also exact / linearised
activation steps), and tested on a 10 000-point grid. Reported: median and best test MSE over the
seeds, median training objective, largest certified Lipschitz bound, median time. The row
"exact 1-D fit" is the single-activation optimum ``tvspline.fit(x, y, lam, lipschitz(1))``, the
best any 1-Lipschitz function can do on the training objective (the representer theorem).

Table 2 (``lipschitz_nets_w1``): for sample sets in 1-D and 2-D, the exact empirical W1
(:func:`tvspline.wasserstein.empirical_w1`) against the estimates of 1-Lipschitz critics
``[d, 10, 10, 1]`` (spline, ReLU, GroupSort) trained by :func:`tvspline.wasserstein.estimate_w1`.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/lipschitz_nets.py [--seeds 10] [--kinds f1 f2 f3]
        [--max-iter 10] [--baseline-iter 100] [--weight-steps 100] [--lam 1e-4] [--n-jobs 2]
        [--skip-w1] [--skip-fit]

Writes ``benchmarks/results/lipschitz_nets_fit.{csv,md}`` and ``lipschitz_nets_w1.{csv,md}``.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ACTIVATIONS = ("relu", "absval", "groupsort", "householder", "spline")
WIDTHS = [1, 10, 10, 10, 1]


def _fit_one(kind, seed, activation, lam, max_iter, baseline_iter, weight_steps):
    import tvspline
    from tvspline.datasets import lipschitz_regression
    from tvspline.nn import SplineNetwork

    d = lipschitz_regression(kind, n_train=1000, n_test=10000, random_state=seed)
    start = time.perf_counter()
    if activation == "exact 1-D fit":
        res = tvspline.fit(d.x_train, d.y_train, lam, tvspline.lipschitz(1))
        pred = res.spline(d.x_test)
        return dict(kind=kind, seed=seed, method=activation, test_mse=float(np.mean((pred - d.y_test) ** 2)),
                    train_objective=res.objective, lipschitz=res.spline.lipschitz_constant(),
                    time=time.perf_counter() - start, iterations=res.n_iter)
    net = SplineNetwork(WIDTHS, tvspline.lipschitz(1), weights="orthonormal", activation=activation, lam=lam,
                        random_state=seed)
    net.fit(d.x_train[:, None], d.y_train, max_iter=max_iter if activation == "spline" else baseline_iter,
            weight_steps=weight_steps, progress=False)
    pred = net.predict(d.x_test[:, None])
    return dict(kind=kind, seed=seed, method=activation, test_mse=float(np.mean((pred - d.y_test) ** 2)),
                train_objective=net.history["objective"][-1], lipschitz=net.lipschitz_bound(),
                time=time.perf_counter() - start, iterations=len(net.history["objective"]) - 1)


def fit_table(kinds, seeds, lam, max_iter, baseline_iter, weight_steps, n_jobs):
    from joblib import Parallel, delayed

    jobs = [(k, s, a) for k in kinds for s in range(seeds) for a in ("exact 1-D fit",) + ACTIVATIONS]
    rows = Parallel(n_jobs=n_jobs, verbose=5)(
        delayed(_fit_one)(k, s, a, lam, max_iter, baseline_iter, weight_steps) for k, s, a in jobs)
    return rows


def _summarise_fit(rows):
    out = []
    for kind in dict.fromkeys(r["kind"] for r in rows):
        for method in dict.fromkeys(r["method"] for r in rows):
            sel = [r for r in rows if r["kind"] == kind and r["method"] == method]
            mse = np.array([r["test_mse"] for r in sel])
            out.append(dict(kind=kind, method=method, seeds=len(sel), median_test_mse=float(np.median(mse)),
                            best_test_mse=float(mse.min()),
                            median_train_objective=float(np.median([r["train_objective"] for r in sel])),
                            max_lipschitz=float(max(r["lipschitz"] for r in sel)),
                            median_time=float(np.median([r["time"] for r in sel]))))
    return out


W1_CASES = {
    "1-D: N(0,1) vs N(1,2^2)": (1, lambda rng, n: (rng.normal(0, 1, (n, 1)), rng.normal(1, 2, (n, 1)))),
    "1-D: bimodal vs N(0,1)": (1, lambda rng, n: (np.concatenate([rng.normal(-2, 0.5, (n // 2, 1)),
                                                                   rng.normal(2, 0.5, (n - n // 2, 1))]),
                                                   rng.normal(0, 1, (n, 1)))),
    "2-D: N(0,I) vs anisotropic, shifted": (2, lambda rng, n: (rng.normal(0, 1, (n, 2)),
                                                               rng.normal(0, 1, (n, 2)) * [2.0, 0.5] + [1.0, 0.0])),
    "2-D: ring vs N(0,I)": (2, lambda rng, n: (_ring(rng, n), rng.normal(0, 1, (n, 2)))),
}


def _ring(rng, n):
    a = rng.uniform(0, 2 * np.pi, n)
    r = 2 + 0.2 * rng.standard_normal(n)
    return np.column_stack([r * np.cos(a), r * np.sin(a)])


def _w1_one(case, seed, activation, n, lam, max_iter):
    from tvspline.wasserstein import empirical_w1, estimate_w1

    dim, gen = W1_CASES[case]
    rng = np.random.default_rng(1000 + seed)
    p, q = gen(rng, n)
    exact = empirical_w1(p, q)
    start = time.perf_counter()
    est = estimate_w1(p, q, [dim, 10, 10, 1], activation=activation, lam=lam if activation == "spline" else 0.0,
                      random_state=seed, max_iter=max_iter, progress=False)
    return dict(case=case, seed=seed, critic=activation, exact_w1=exact, estimate=est.estimate,
                exact_minus_estimate=exact - est.estimate, lipschitz=est.lipschitz_bound,
                time=time.perf_counter() - start)


def w1_table(seeds, n, lam, max_iter, n_jobs):
    from joblib import Parallel, delayed

    jobs = [(c, s, a) for c in W1_CASES for s in range(seeds) for a in ("spline", "relu", "groupsort")]
    return Parallel(n_jobs=n_jobs, verbose=5)(delayed(_w1_one)(c, s, a, n, lam, max_iter) for c, s, a in jobs)


def _write(name, rows, command):
    path = os.path.join(HERE, "results", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    keys = list(rows[0])
    with open(path + ".csv", "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=keys)
        wr.writeheader()
        wr.writerows(rows)

    def fmt(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    with open(path + ".md", "w") as fh:
        fh.write(f"`{command}`\n\n| " + " | ".join(keys) + " |\n|" + "---|" * len(keys) + "\n")
        for r in rows:
            fh.write("| " + " | ".join(fmt(r[k]) for k in keys) + " |\n")
    print(open(path + ".md").read())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--kinds", nargs="+", default=["f1", "f2", "f3"])
    ap.add_argument("--lam", type=float, default=1e-4)
    ap.add_argument("--max-iter", type=int, default=10, help="outer iterations of the spline networks")
    ap.add_argument("--baseline-iter", type=int, default=100,
                    help="outer iterations of the baselines (they stop earlier when the objective stalls)")
    ap.add_argument("--weight-steps", type=int, default=100, help="projected Adam steps per outer iteration")
    ap.add_argument("--w1-seeds", type=int, default=3)
    ap.add_argument("--w1-samples", type=int, default=200)
    ap.add_argument("--w1-iter", type=int, default=20)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--skip-fit", action="store_true")
    ap.add_argument("--skip-w1", action="store_true")
    args = ap.parse_args(argv)
    command = "OPENBLAS_NUM_THREADS=1 python benchmarks/lipschitz_nets.py " + " ".join(argv or sys.argv[1:])
    if not args.skip_fit:
        rows = fit_table(args.kinds, args.seeds, args.lam, args.max_iter, args.baseline_iter, args.weight_steps,
                         args.n_jobs)
        _write("lipschitz_nets_fit_runs", rows, command)
        _write("lipschitz_nets_fit", _summarise_fit(rows), command)
    if not args.skip_w1:
        rows = w1_table(args.w1_seeds, args.w1_samples, args.lam, args.w1_iter, args.n_jobs)
        _write("lipschitz_nets_w1_runs", rows, command)
        summary = []
        for case in W1_CASES:
            for critic in ("spline", "relu", "groupsort"):
                sel = [r for r in rows if r["case"] == case and r["critic"] == critic]
                summary.append(dict(case=case, critic=critic, exact_w1=float(np.mean([r["exact_w1"] for r in sel])),
                                    median_estimate=float(np.median([r["estimate"] for r in sel])),
                                    median_shortfall=float(np.median([r["exact_minus_estimate"] for r in sel])),
                                    min_shortfall=float(min(r["exact_minus_estimate"] for r in sel)),
                                    max_lipschitz=float(max(r["lipschitz"] for r in sel)),
                                    median_time=float(np.median([r["time"] for r in sel]))))
        _write("lipschitz_nets_w1", summary, command)


if __name__ == "__main__":
    main()
