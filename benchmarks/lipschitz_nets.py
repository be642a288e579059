"""The Lipschitz paper's 1-D experiments: exact spline networks against the paper's baselines.

Fitting table (``lipschitz_nets_fit``). For each target (:func:`tvspline.datasets.lipschitz_regression`:
f1, f2, f3, sawtooth, threshold as the authors define them; 1000 training points uniform on
[-1, 1], no noise; test on a 10 000-point grid) and seed, every network ``[1, 10, 10, 10, 1]`` with
1-Lipschitz layers is trained and tested:

- ``spline (exact)``: :class:`tvspline.nn.SplineNetwork` with learned splines (slopes in [-1, 1],
  orthonormal weights), trained by :meth:`~tvspline.nn.SplineNetwork.fit` with its default
  ``start="auto"``: the network starts at the certified solution of the 1-D problem carried along
  one path (its objective is the 1-D optimum), then the outer loop alternates projected weight
  steps and activation steps (the last hidden layer exactly, with a certified gap, by block
  coordinate descent; the others by linearised proximal steps), never raising the objective;
- ``spline (exact, random start)``: the same outer loop from the constructor's random orthonormal
  weights and AbsVal activations (``start="current"``): what the alternating loop reaches alone;
- ``relu``, ``absval``, ``prelu``, ``groupsort`` (group size 5), ``householder``: the paper's
  baselines trained the paper's way by :meth:`~tvspline.nn.SplineNetwork.fit_adam` (mini-batch
  Adam, batch 10, 1000 epochs, learning rate 2e-3, He-uniform start, Björck-orthonormalised
  weights with 15 iterations);
- ``1-D optimum``: a single spline fitted exactly (``tvspline.fit``, slopes in [-1, 1]), the best
  any 1-Lipschitz function does on the training objective: a reference, not a network;
- ``spline (Adam, torch)``: the paper's gradient training of spline networks, read from
  ``torch_peer_runs.csv`` when ``benchmarks/torch_peer.py`` was run on the same targets and seeds.

Every row records the test MSE, the training MSE, the certified Lipschitz bound
(:meth:`~tvspline.nn.SplineNetwork.lipschitz_bound`) and the largest finite-difference slope
of the trained network on the test grid (it can never exceed the bound), the wall and CPU time.
The summary compares medians over the seeds. Training curves (training MSE against time, seed 0)
go to ``lipschitz_nets_curves.png``.

W1 table (``lipschitz_nets_w1``): for sample sets in 1-D and 2-D, the exact empirical W1
(:func:`tvspline.nn.empirical_w1`) against the estimates of 1-Lipschitz critics ``[d, 10, 10, 1]``
(spline with the default start, which in 1-D is the exact critic; spline from the random start;
ReLU; GroupSort) trained by :func:`tvspline.nn.estimate_w1`; medians over seeds.

Time profile (``network_profile``): :mod:`benchmarks.network_profile` on the same targets and
seeds, where the time of :meth:`~tvspline.nn.SplineNetwork.fit` goes.

Usage (one command regenerates every table and figure of this part)::

    OPENBLAS_NUM_THREADS=1 python benchmarks/lipschitz_nets.py [--kinds f1 f2 f3] [--seeds 3]
        [--max-iter 6] [--weight-steps 100] [--epochs 1000] [--lam 1e-4] [--n-jobs 2]
        [--torch] [--skip-fit] [--skip-w1] [--skip-profile] [--journal RUNS.jsonl [--report-only]]

``--torch`` first runs ``benchmarks/torch_peer.py --protocol paper`` on the same targets and
seeds (PyTorch needed; about 8 minutes of one core per run); without it, the torch rows are read
from an earlier run's ``torch_peer_runs.csv`` where it covers the targets and seeds asked.
Writes ``benchmarks/results/lipschitz_nets_fit{,_runs}.{csv,md}``, ``lipschitz_nets_curves.png``,
``lipschitz_nets_w1{,_runs}.{csv,md}`` and ``network_profile.{csv,md}``; every CSV row carries
the package version, git commit and date.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
RESULTS = os.path.join(HERE, "results")
BASELINES = ("relu", "absval", "prelu", "groupsort", "householder")
SPLINE = "spline (exact)"
SPLINE_RANDOM = "spline (exact, random start)"
TORCH = "spline (Adam, torch)"
REFERENCE = "1-D optimum"
WIDTHS = [1, 10, 10, 10, 1]


def _fd_slope(predict, x):
    """Largest finite-difference slope of a 1-D function on the sorted grid ``x``."""
    f = predict(x[:, None])
    return float(np.max(np.abs(np.diff(f)) / np.diff(x)))


def _fit_one(kind, seed, method, lam, max_iter, weight_steps, epochs):
    import tvspline
    from tvspline.datasets import lipschitz_regression
    from tvspline.nn import SplineNetwork

    d = lipschitz_regression(kind, n_train=1000, n_test=10000, random_state=seed)
    start, cpu = time.perf_counter(), time.process_time()
    row = dict(kind=kind, seed=seed, method=method)
    if method == REFERENCE:
        res = tvspline.fit(d.x_train, d.y_train, lam, tvspline.lipschitz(1))
        pred_test, pred_train = res.spline(d.x_test), res.spline(d.x_train)
        bound = res.spline.lipschitz_constant()
        fd = float(np.max(np.abs(np.diff(pred_test)) / np.diff(d.x_test)))
        curve = {}
        iterations = res.n_iter
    elif method in (SPLINE, SPLINE_RANDOM):
        net = SplineNetwork(WIDTHS, tvspline.lipschitz(1), weights="orthonormal", activation="spline", lam=lam,
                            random_state=seed)
        net.fit(d.x_train[:, None], d.y_train, start="auto" if method == SPLINE else "current",
                max_iter=max_iter, weight_steps=weight_steps, progress=False)
        pred_test, pred_train = net.predict(d.x_test[:, None]), net.predict(d.x_train[:, None])
        bound, fd = net.lipschitz_bound(), _fd_slope(net.predict, d.x_test)
        n = d.x_train.size
        curve = dict(time=net.history["time"], train_mse=[2.0 * v / n for v in net.history["data"]])
        iterations = len(net.history["objective"]) - 1
    else:
        net = SplineNetwork(WIDTHS, tvspline.lipschitz(1), weights="orthonormal", activation=method,
                            group_size=5, random_state=seed)
        net.fit_adam(d.x_train[:, None], d.y_train, epochs=epochs, batch_size=10, lr=2e-3, bjorck_iter=15,
                     random_state=seed)
        pred_test, pred_train = net.predict(d.x_test[:, None]), net.predict(d.x_train[:, None])
        bound, fd = net.lipschitz_bound(), _fd_slope(net.predict, d.x_test)
        mse = net.history["train_mse"]
        total = net.history["time"][0]
        curve = dict(time=list(np.linspace(0.0, total, len(mse))), train_mse=mse)
        iterations = epochs
    row.update(test_mse=float(np.mean((pred_test - d.y_test) ** 2)),
               train_mse=float(np.mean((pred_train - d.y_train) ** 2)),
               lipschitz_bound=float(bound), fd_slope=fd, time=time.perf_counter() - start,
               cpu_time=time.process_time() - cpu, iterations=iterations)
    row["curve"] = json.dumps(curve)
    return row


def fit_table(kinds, seeds, lam, max_iter, weight_steps, epochs, n_jobs, journal=None, run=True):
    """Every (target, seed, method) run; with a ``journal`` (JSON lines), finished runs are appended
    as they complete and runs already there are not repeated (an interrupted benchmark resumes)."""
    from joblib import Parallel, delayed

    methods = (SPLINE, SPLINE_RANDOM) + BASELINES + (REFERENCE,)
    jobs = [(k, s, m) for k in kinds for s in range(seeds) for m in methods]
    rows = []
    if journal and os.path.exists(journal):
        with open(journal) as fh:
            done = [json.loads(line) for line in fh if line.strip()]
        rows = [r for r in done if (r["kind"], r["seed"], r["method"]) in set(jobs)]
        finished = {(r["kind"], r["seed"], r["method"]) for r in rows}
        jobs = [j for j in jobs if j not in finished]
    if not run:
        return rows
    # longest jobs first so that the workers finish together
    jobs.sort(key=lambda j: j[2] == REFERENCE)
    for row in Parallel(n_jobs=n_jobs, verbose=5, return_as="generator_unordered")(
            delayed(_fit_one)(k, s, m, lam, max_iter, weight_steps, epochs) for k, s, m in jobs):
        rows.append(row)
        if journal:
            with open(journal, "a") as fh:
                fh.write(json.dumps(row) + "\n")
        print(json.dumps({k: v for k, v in row.items() if k != "curve"}), flush=True)
    return rows


def _torch_rows(kinds, seeds):
    """Rows of the PyTorch peer (the paper's training of spline networks) on the same runs."""
    path = os.path.join(RESULTS, "torch_peer_runs.csv")
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as fh:
        for r in csv.DictReader(fh):
            if r["kind"] in kinds and int(r["seed"]) < seeds:
                out.append(dict(kind=r["kind"], seed=int(r["seed"]), method=TORCH, test_mse=float(r["test_mse"]),
                                train_mse=float(r["train_mse"]), lipschitz_bound=float(r["lipschitz_bound"]),
                                fd_slope=float(r["fd_slope"]), time=float(r["time"]),
                                cpu_time=float(r["cpu_time"]), iterations=int(r["iterations"]),
                                commit=r.get("commit", ""), curve="{}"))
    return out


def _summarise(rows):
    out = []
    for kind in dict.fromkeys(r["kind"] for r in rows):
        for method in dict.fromkeys(r["method"] for r in rows):
            sel = [r for r in rows if r["kind"] == kind and r["method"] == method]
            if not sel:
                continue
            mse = np.array([r["test_mse"] for r in sel])
            out.append(dict(kind=kind, method=method, seeds=len(sel), median_test_mse=float(np.median(mse)),
                            min_test_mse=float(mse.min()), max_test_mse=float(mse.max()),
                            median_train_mse=float(np.median([r["train_mse"] for r in sel])),
                            max_lipschitz_bound=float(max(r["lipschitz_bound"] for r in sel)),
                            max_fd_slope=float(max(r["fd_slope"] for r in sel)),
                            median_time=float(np.median([r["time"] for r in sel])),
                            median_cpu_time=float(np.median([r["cpu_time"] for r in sel]))))
    return out


def _write(name, rows, command, prov, note=""):
    from benchmarks._provenance import write_results

    path = os.path.join(RESULTS, name)
    os.makedirs(RESULTS, exist_ok=True)
    rows = [{**r, **prov} if "commit" not in r or not r["commit"] else {**prov, **r} for r in rows]
    header = f"Command: `{command}` (tvspline {prov['version']}, commit {prov['commit']}, {prov['date']})"
    write_results(path, rows, header + ("\n\n" + note.rstrip("\n") if note else ""), exclude=("curve",))
    print(open(path + ".md").read())


def _curves(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    ncols = min(3, len(kinds))
    nrows = -(-len(kinds) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5 * ncols, 4 * nrows), squeeze=False)
    for ax in axes.flat[len(kinds):]:
        ax.set_visible(False)
    for ax, kind in zip(axes.flat, kinds):
        for r in rows:
            if r["kind"] != kind or r["seed"] != 0 or r["method"] in (REFERENCE, TORCH):
                continue
            c = json.loads(r["curve"])
            t = np.asarray(c["time"], dtype=float)
            exact = r["method"] in (SPLINE, SPLINE_RANDOM)
            ax.plot(np.maximum(t, 1e-2), c["train_mse"], label=r["method"], lw=2.0 if exact else 1.0,
                    marker="o" if exact else None, ms=3)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("wall time (s)")
        ax.set_ylabel("training MSE")
        ax.set_title(f"{kind}, seed 0")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


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


W1_CRITICS = ("spline", "spline (random start)", "relu", "groupsort")


def _w1_one(case, seed, critic, n, lam, max_iter):
    from tvspline.nn import empirical_w1, estimate_w1

    dim, gen = W1_CASES[case]
    rng = np.random.default_rng(1000 + seed)
    p, q = gen(rng, n)
    exact = empirical_w1(p, q)
    activation = "spline" if critic.startswith("spline") else critic
    start = time.perf_counter()
    est = estimate_w1(p, q, [dim, 10, 10, 1], activation=activation, lam=lam if activation == "spline" else 0.0,
                      random_state=seed, max_iter=max_iter, progress=False,
                      start="current" if critic == "spline (random start)" else "auto")
    return dict(case=case, seed=seed, critic=critic, exact_w1=exact, estimate=est.estimate,
                exact_minus_estimate=exact - est.estimate, lipschitz_bound=est.lipschitz_bound,
                time=time.perf_counter() - start)


def w1_table(seeds, n, lam, max_iter, n_jobs):
    from joblib import Parallel, delayed

    jobs = [(c, s, a) for c in W1_CASES for s in range(seeds) for a in W1_CRITICS]
    return Parallel(n_jobs=n_jobs, verbose=5)(delayed(_w1_one)(c, s, a, n, lam, max_iter) for c, s, a in jobs)


def main(argv=None):
    global RESULTS
    from benchmarks._provenance import provenance

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--kinds", nargs="+", default=["f1", "f2", "f3"])
    ap.add_argument("--lam", type=float, default=1e-4)
    ap.add_argument("--max-iter", type=int, default=6, help="outer iterations of the exact spline training")
    ap.add_argument("--weight-steps", type=int, default=100, help="weight steps per outer iteration")
    ap.add_argument("--epochs", type=int, default=1000, help="Adam epochs of the baselines")
    ap.add_argument("--w1-seeds", type=int, default=3)
    ap.add_argument("--w1-samples", type=int, default=200)
    ap.add_argument("--w1-iter", type=int, default=15)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--torch", action="store_true",
                    help="run the PyTorch peer (the paper's training of spline networks) first")
    ap.add_argument("--skip-profile", action="store_true")
    ap.add_argument("--results", default=RESULTS, help="directory of the tables and figure (default: %(default)s)")
    ap.add_argument("--skip-fit", action="store_true")
    ap.add_argument("--skip-w1", action="store_true")
    ap.add_argument("--journal", help="JSON-lines file of finished runs: appended to, and resumed from")
    ap.add_argument("--report-only", action="store_true",
                    help="write the tables and figure from the runs in --journal without running more")
    ap.add_argument("--runs-commit", help="with --report-only: the commit the journal's runs were made with")
    args = ap.parse_args(argv)
    RESULTS = args.results
    command = "OPENBLAS_NUM_THREADS=1 python benchmarks/lipschitz_nets.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    prov = provenance()
    if args.report_only and args.runs_commit:
        prov["commit"] = args.runs_commit
    if args.torch and not args.report_only:
        import subprocess

        subprocess.run([sys.executable, os.path.join(HERE, "torch_peer.py"), "--protocol", "paper", "--kinds",
                        *args.kinds, "--seeds", *map(str, range(args.seeds))], check=True)
    if not args.skip_fit:
        load0 = os.getloadavg()
        start = time.perf_counter()
        rows = fit_table(args.kinds, args.seeds, args.lam, args.max_iter, args.weight_steps, args.epochs,
                         args.n_jobs, args.journal, not args.report_only)
        total = time.perf_counter() - start
        load1 = os.getloadavg()
        rows += _torch_rows(args.kinds, args.seeds)
        order = {m: i for i, m in enumerate((SPLINE, SPLINE_RANDOM, TORCH) + BASELINES + (REFERENCE,))}
        rows.sort(key=lambda r: (args.kinds.index(r["kind"]), order[r["method"]], r["seed"]))
        nets = [r for r in rows if r["method"] not in (REFERENCE, TORCH)]
        cpu = sum(r["cpu_time"] for r in nets)
        note = f"{len(nets)} network fits (the torch rows excluded), {cpu:.0f} s of CPU time in all (one core each). "
        if args.report_only:
            note += "Tables written from the runs in the journal.\n\n"
        else:
            note += (f"This invocation: {total:.0f} s wall time with {args.n_jobs} workers; load average (1, 5, "
                     f"15 min) before {', '.join(f'{v:.2f}' for v in load0)}, after "
                     f"{', '.join(f'{v:.2f}' for v in load1)}.\n\n")
        _write("lipschitz_nets_fit_runs", rows, command, prov, note)
        _write("lipschitz_nets_fit", _summarise(rows), command, prov,
               note + "Medians over the seeds; test MSE on the 10 000-point grid.\n\n")
        _curves(rows, os.path.join(RESULTS, "lipschitz_nets_curves.png"))
    if not args.skip_profile and not args.report_only:
        from benchmarks import network_profile

        extra = [] if RESULTS == network_profile.RESULTS else ["--results", RESULTS]
        network_profile.main(["--kinds", *args.kinds, "--seeds", str(args.seeds), *extra])
    if not args.skip_w1:
        rows = w1_table(args.w1_seeds, args.w1_samples, args.lam, args.w1_iter, args.n_jobs)
        _write("lipschitz_nets_w1_runs", rows, command, prov)
        summary = []
        for case in W1_CASES:
            for critic in W1_CRITICS:
                sel = [r for r in rows if r["case"] == case and r["critic"] == critic]
                summary.append(dict(case=case, critic=critic, seeds=len(sel),
                                    median_exact_w1=float(np.median([r["exact_w1"] for r in sel])),
                                    median_estimate=float(np.median([r["estimate"] for r in sel])),
                                    median_shortfall=float(np.median([r["exact_minus_estimate"] for r in sel])),
                                    min_shortfall=float(min(r["exact_minus_estimate"] for r in sel)),
                                    max_lipschitz_bound=float(max(r["lipschitz_bound"] for r in sel)),
                                    median_time=float(np.median([r["time"] for r in sel]))))
        _write("lipschitz_nets_w1", summary, command, prov,
               "Medians over the seeds (exact W1 and estimates alike); shortfall = exact - estimate >= 0 "
               "for a 1-Lipschitz critic.\n\n")


if __name__ == "__main__":
    main()
