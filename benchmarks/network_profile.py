"""Where the time of ``SplineNetwork.fit`` goes, for the Lipschitz paper's ``[1, 10, 10, 10, 1]``.

For each target and seed (1000 training points of :func:`tvspline.datasets.lipschitz_regression`)
and each start (``auto``: the embedded 1-D solution; ``current``: the random weights), the fit is
run twice in one process after a warm-up:

1. untouched, for its wall and CPU time, final training objective and test MSE;
2. with timers around its phases (the start, the weight steps, the interpolation steps, the exact
   activation step of the last hidden layer, the linearised steps of the earlier layers, and the
   objective evaluations inside them), for the share of each.

Timing wrappers add a few microseconds per call; the shares are of the instrumented run. Same
settings as ``benchmarks/lipschitz_nets.py`` (``lam=1e-4``, 6 outer iterations, 100 weight steps).

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/network_profile.py [--kinds f1 f2 f3] [--seeds 3]

Writes ``benchmarks/results/network_profile.{csv,md}`` with the package version and git commit.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
RESULTS = os.path.join(HERE, "results")
WIDTHS = [1, 10, 10, 10, 1]
PHASES = ("start", "weight_steps", "interpolation", "exact_step", "linearised_steps")


def _instrument(totals):
    """Wrap the phases of ``SplineNetwork.fit`` with timers adding into ``totals``; returns an undo."""
    import tvspline.nn.network as network

    cls = network.SplineNetwork
    saved = {name: getattr(cls, name) for name in ("_start", "_weight_steps", "_interpolate_at_data")}
    saved_fit_layer = network.fit_layer

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[name] += time.perf_counter() - t0
        return wrapper

    cls._start = timed("start", saved["_start"])
    cls._weight_steps = timed("weight_steps", saved["_weight_steps"])
    cls._interpolate_at_data = timed("interpolation", saved["_interpolate_at_data"])

    def fit_layer(*args, **kwargs):  # exact (certified) or linearised (certify=False) step
        name = "exact_step" if kwargs.get("certify", True) else "linearised_steps"
        return timed(name, saved_fit_layer)(*args, **kwargs)

    network.fit_layer = fit_layer

    def undo():
        for name, fn in saved.items():
            setattr(cls, name, fn)
        network.fit_layer = saved_fit_layer

    return undo


def profile_one(kind, seed, start, lam=1e-4, max_iter=6, weight_steps=100):
    import tvspline
    from tvspline.datasets import lipschitz_regression
    from tvspline.nn import SplineNetwork

    d = lipschitz_regression(kind, n_train=1000, n_test=10000, random_state=seed)
    X = d.x_train[:, None]

    def run():
        net = SplineNetwork(WIDTHS, tvspline.lipschitz(1), weights="orthonormal", lam=lam, random_state=seed)
        t0, c0 = time.perf_counter(), time.process_time()
        net.fit(X, d.y_train, start=start, max_iter=max_iter, weight_steps=weight_steps, progress=False)
        return net, time.perf_counter() - t0, time.process_time() - c0

    net, wall, cpu = run()
    totals = defaultdict(float)
    undo = _instrument(totals)
    try:
        _, wall_instr, _ = run()
    finally:
        undo()
    # the start's time includes the one exact 1-D solve; the exact step's time is outside it
    row = dict(kind=kind, seed=seed, start=start, mode=net.start_["mode"], wall_s=wall, cpu_s=cpu,
               outer_iterations=len(net.history["objective"]) - 1,
               objective_start=net.history["objective"][0], objective_final=net.history["objective"][-1],
               test_mse=float(np.mean((net.predict(d.x_test[:, None]) - d.y_test) ** 2)),
               lipschitz_bound=net.lipschitz_bound())
    for p in PHASES:
        row[p + "_share"] = totals[p] / wall_instr
    row["other_share"] = max(0.0, 1.0 - sum(row[p + "_share"] for p in PHASES))
    return row


def main(argv=None):
    from benchmarks._provenance import provenance, write_results

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kinds", nargs="+", default=["f1", "f2", "f3"])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--results", default=RESULTS, help="directory of the table (default: %(default)s)")
    args = ap.parse_args(argv)
    command = "OPENBLAS_NUM_THREADS=1 python benchmarks/network_profile.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    prov = provenance()
    profile_one("f1", 0, "auto", max_iter=1, weight_steps=2)  # warm-up: compile the Numba kernels
    rows = []
    for kind in args.kinds:
        for seed in range(args.seeds):
            for start in ("auto", "current"):
                row = {**profile_one(kind, seed, start), **prov}
                rows.append(row)
                print({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    os.makedirs(args.results, exist_ok=True)
    base = os.path.join(args.results, "network_profile")
    write_results(base, rows, f"Command: `{command}` (tvspline {prov['version']}, commit {prov['commit']}, "
                              f"{prov['date']})")
    print(open(base + ".md").read())


if __name__ == "__main__":
    main()
