"""Benchmark of the degree-1 B-spline design matrix (``tvspline.basis.design_matrix``).

Run from the repository root::

    python benchmarks/design_matrix.py            # full grid, about a minute
    python benchmarks/design_matrix.py --quick    # M <= 1e4 only, writes nothing

For M in {1e3, 1e4, 1e5, 1e6} sites, K in {1e2, 1e4} knots, uniform (``np.linspace``) and random
nonuniform knots (sorted uniform draws), and sites in random or sorted order, it times

* ``numba``  -- ``design_matrix`` with the Numba kernel (the library default), CSR matrix;
* ``numpy``  -- the same function with the pure-numpy twin (``np.searchsorted``), CSR matrix;
* ``scipy``  -- ``scipy.interpolate.BSpline.design_matrix(x, t_padded, 1)``, CSR matrix. Degree 1
  needs the knot vector padded with one repeated end knot on each side, and by default it refuses
  sites outside the knots (no linear extension), so *all methods get sites inside the knots*;
* ``interp`` -- ``np.interp(x, t, c)``: values only, not a matrix (a lower bound for any matrix
  method, since it does the same search but writes M numbers instead of 2M entries and indices).

Every timing is the median of several repeats after one warm-up call (which also compiles or
loads the Numba kernel). Each ratio is ``time(method) / time(default)``: above 1 means slower than
the default. The results go to ``benchmarks/results/design_matrix.csv`` and ``.md``; the
Markdown table is printed at the end. Before timing, every method is checked against the default
(the twin must agree exactly, SciPy to 1e-12, ``np.interp`` to ``B @ c`` to 1e-12).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy
from scipy.interpolate import BSpline

ROOT = Path(__file__).resolve().parents[1]
try:
    import tvspline.basis as basis
except ImportError:  # not installed: use the source tree this script lives in
    sys.path.insert(0, str(ROOT))
    import tvspline.basis as basis

import numba  # noqa: E402  (after the path fix so that version reporting matches the kernel)

RESULTS = ROOT / "benchmarks" / "results"
METHODS = ("numba", "numpy", "scipy", "interp")
DEFAULT = basis._DEFAULT_BACKEND
LO, HI = -3.0, 3.0


def make_knots(K: int, kind: str, rng) -> np.ndarray:
    if kind == "uniform":
        return np.linspace(LO, HI, K)
    t = np.sort(rng.uniform(LO, HI, K))
    t[0], t[-1] = LO, HI  # same support as the uniform grid
    return np.unique(t)


def make_methods(t: np.ndarray, c: np.ndarray):
    t_padded = np.r_[t[0], t, t[-1]]
    return {
        "numba": lambda x: basis._design_matrix(x, t, backend="numba"),
        "numpy": lambda x: basis._design_matrix(x, t, backend="numpy"),
        "scipy": lambda x: BSpline.design_matrix(x, t_padded, 1),
        "interp": lambda x: np.interp(x, t, c),
    }


def check(methods, x, c) -> None:
    """Every method computes the same thing as the default before it is timed."""
    A = methods["numba"](x)
    B = methods["numpy"](x)
    if not (np.array_equal(A.indices, B.indices) and np.array_equal(A.data, B.data)):
        raise AssertionError("numba kernel and numpy twin disagree")
    S = methods["scipy"](x)
    if abs(A - S).max() > 1e-12:
        raise AssertionError("scipy BSpline.design_matrix disagrees")
    v = methods["interp"](x)
    if not np.allclose(A @ c, v, rtol=1e-12, atol=1e-12):
        raise AssertionError("np.interp disagrees with B @ c")


def time_one(fn, x, repeats: int) -> float:
    fn(x)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def run(Ms, Ks, seed: int = 0):
    rng = np.random.default_rng(seed)
    rows = []
    for K in Ks:
        for kind in ("uniform", "random"):
            t = make_knots(K, kind, rng)
            c = rng.standard_normal(t.size)
            methods = make_methods(t, c)
            for M in Ms:
                x_random = rng.uniform(LO, HI, M)
                for order, x in (("random", x_random), ("sorted", np.sort(x_random))):
                    check(methods, x, c)
                    repeats = 15 if M <= 10_000 else (9 if M <= 100_000 else 5)
                    times = {name: time_one(fn, x, repeats) for name, fn in methods.items()}
                    for name in METHODS:
                        rows.append(
                            dict(
                                M=M, K=t.size, knots=kind, x_order=order, method=name,
                                uniform_detected=basis.is_uniform(t),
                                median_s=times[name], repeats=repeats,
                                ratio_to_default=times[name] / times[DEFAULT],
                            )
                        )
                    print(
                        f"M={M:>8d} K={t.size:>6d} knots={kind:<8s} x={order:<7s} "
                        + "  ".join(f"{n}={times[n] * 1e3:9.3f} ms" for n in METHODS),
                        flush=True,
                    )
    return rows


def write_csv(rows, path: Path) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6e}" if isinstance(v, float) else v) for k, v in row.items()})


def markdown(rows) -> str:
    keyed = {}
    for r in rows:
        keyed.setdefault((r["M"], r["K"], r["knots"], r["x_order"]), {})[r["method"]] = r
    env = (
        f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"numba {numba.__version__}, {platform.machine()}, {os.cpu_count()} logical CPUs; "
        f"generated {time.strftime('%Y-%m-%d %H:%M')}."
    )
    lines = [
        "# Design matrix benchmark (`python benchmarks/design_matrix.py`)",
        "",
        env,
        "",
        "Median wall time in ms (ratio to the default `numba`; > 1 is slower). Sites uniform in the"
        " knot range [-3, 3] for every method (SciPy's `BSpline.design_matrix` refuses sites outside"
        " the knots unless `extrapolate=True`; degree 1 needs the end knots repeated). `np.interp`"
        " returns the M values only, not a matrix. `numba` and `numpy` include input validation,"
        " uniformity detection and CSR construction.",
        "",
        "| M | K | knots | x order | numba (default) | numpy twin | scipy BSpline | np.interp (values) |",
        "|---:|---:|---|---|---:|---:|---:|---:|",
    ]
    for (M, K, kind, order), by in keyed.items():
        cells = [f"{by[DEFAULT]['median_s'] * 1e3:.3f}"]
        for name in ("numpy", "scipy", "interp"):
            r = by[name]
            cells.append(f"{r['median_s'] * 1e3:.3f} ({r['ratio_to_default']:.2f})")
        lines.append(f"| {M:.0e} | {K:.0e} | {kind} | {order} | " + " | ".join(cells) + " |")
    ratios = np.array([r["ratio_to_default"] for r in rows if r["method"] == "numpy"])
    big = np.array([r["ratio_to_default"] for r in rows if r["method"] == "numpy" and r["M"] >= 100_000])
    lines += [
        "",
        f"numpy twin / numba kernel: min {ratios.min():.2f}, median {np.median(ratios):.2f}, "
        f"max {ratios.max():.2f} over all cases"
        + (f"; median {np.median(big):.2f} for M >= 1e5." if big.size else "."),
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only M <= 1e4 (smoke test)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    Ms = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000, 1_000_000]
    Ks = [100, 10_000]
    rows = run(Ms, Ks, seed=args.seed)
    table = markdown(rows)
    if not args.quick:  # a smoke test must not overwrite the stored results
        RESULTS.mkdir(parents=True, exist_ok=True)
        write_csv(rows, RESULTS / "design_matrix.csv")
        (RESULTS / "design_matrix.md").write_text(table)
    print()
    print(table)


if __name__ == "__main__":
    main()
