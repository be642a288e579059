"""Regularisation path: ``tvspline.fit_path`` (warm starts) against independent ``tvspline.fit`` calls.

For M random sites in [-3, 3], y = sin(2x) + noise and bounds (-1, 1), both compute the fits at
the same geometric grid of λ in one run; the script prints the two wall times, their ratio and
the largest relative difference between the objectives (they must agree: both are certified).

Usage::

    python benchmarks/path.py [--M 20000] [--n-lams 12] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import tvspline


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--M", type=int, default=20000)
    ap.add_argument("--n-lams", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    x = rng.uniform(-3, 3, args.M)
    y = np.sin(2 * x) + 0.3 * rng.standard_normal(args.M)
    lams = np.geomspace(10.0, 0.01, args.n_lams)
    bounds = (-1.0, 1.0)
    tvspline.fit(x[:500], y[:500], 0.1, bounds)  # load compiled kernels outside the timing
    start = time.perf_counter()
    path = tvspline.fit_path(x, y, lams, bounds, progress=False)
    t_path = time.perf_counter() - start
    start = time.perf_counter()
    cold = [tvspline.fit(x, y, lam, bounds) for lam in lams]
    t_cold = time.perf_counter() - start
    diff = max(abs(a.objective - b.objective) / max(1.0, abs(b.objective)) for a, b in zip(path.results, cold))
    print(f"M = {args.M}, {args.n_lams} values of lambda in [0.01, 10], bounds {bounds}")
    print(f"fit_path: {t_path:.2f} s   independent fits: {t_cold:.2f} s   ratio {t_cold / t_path:.2f}x")
    print(f"largest relative objective difference: {diff:.1e}")


if __name__ == "__main__":
    main()
