"""Time the interior-point kernels: the reference fused one against the twisted two-thread one.

    OPENBLAS_NUM_THREADS=1 python benchmarks/ipm_kernel.py [--sizes 1e4 1e5 1e6] [--repeat 3]
        [--no-fit] [--par-min N]

Data: ``rng = np.random.default_rng(0); x = rng.uniform(-3, 3, M);
y = np.sin(2 x) + 0.3 rng.standard_normal(M)``, lam = 0.1, bounds (-1, 1). For each size the
kernel alone (``tvspline.solvers.ipm._ipm_loop`` on the prepared problem: best of ``--repeat``
runs, in ns per site per iteration and in total), then the whole ``tvspline.fit`` at the largest
size with each kernel. The machine load (1-minute average) is printed before and after each row:
other processes on the two cores change the timings, the threaded kernel's most.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

import tvspline
from tvspline._problem import prepare
from tvspline.solvers import _ipm_kernels, ipm


def data(M):
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, M)
    y = np.sin(2 * x) + 0.3 * rng.standard_normal(M)
    return x, y


def time_kernel(problem, kernel, par_min, repeat):
    best = np.inf
    it = None
    for _ in range(repeat):
        args, reg, _ = ipm._setup(problem)
        t0 = time.perf_counter()
        it, conv = ipm._ipm_loop(*args, 1e-9, 200, reg, kernel=kernel, par_min=par_min)
        best = min(best, time.perf_counter() - t0)
    return it, conv, best


def load():
    return os.getloadavg()[0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e4, 1e5, 1e6])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-fit", action="store_true", help="skip the full tvspline.fit timing")
    ap.add_argument("--par-min", type=int, default=None,
                    help=f"threads from this many slopes (default {_ipm_kernels.PARALLEL_MIN_PAIRS})")
    a = ap.parse_args(argv)
    bounds, lam = (-1.0, 1.0), 0.1
    # compile (or load from the cache) both kernels and both paths first
    warm = prepare(*data(2000), lam, bounds)
    for kernel, pm in (("reference", None), ("twisted", 10**9), ("twisted", 1)):
        time_kernel(warm, kernel, pm, 1)
    kernels = [("reference", "reference", None), ("twisted, serial", "twisted", 10**9),
               ("twisted (default)", "twisted", a.par_min)]
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, cpus={os.cpu_count()}, "
          f"twisted threads from n >= {a.par_min or _ipm_kernels.PARALLEL_MIN_PAIRS}")
    print(f"{'M':>9} {'kernel':<18} {'iter':>4} {'total s':>8} {'ns/site/it':>10} {'speed-up':>8}"
          f"  load before/after")
    for M in [int(m) for m in a.sizes]:
        problem = prepare(*data(M), lam, bounds)
        base = None
        for name, kernel, pm in kernels:
            l0 = load()
            it, conv, best = time_kernel(problem, kernel, pm, a.repeat if M <= 1e5 else max(1, a.repeat - 1))
            base = best if base is None else base
            print(f"{M:>9} {name:<18} {it:>4} {best:>8.3f} {best / it / M * 1e9:>10.1f} "
                  f"{base / best:>7.2f}x  {l0:.2f}/{load():.2f}" + ("" if conv else "  (not converged)"),
                  flush=True)
    if not a.no_fit:
        M = int(max(a.sizes))
        x, y = data(M)
        print(f"\ntvspline.fit, M = {M}, bounds {bounds}, lam = {lam}")
        for kernel in ("reference", "twisted"):
            times = []
            for _ in range(max(1, a.repeat - 1)):
                l0 = load()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t0 = time.perf_counter()
                    res = tvspline.fit(x, y, lam, bounds, solver_options={"ipm": {"kernel": kernel}})
                    times.append(time.perf_counter() - t0)
            print(f"  {kernel:<10} best {min(times):6.3f} s  (runs: "
                  f"{', '.join(f'{t:.3f}' for t in times)})  objective {res.objective:.10g}  "
                  f"load {l0:.2f}/{load():.2f}", flush=True)

if __name__ == "__main__":
    main()
