"""When does ``tvspline.fit_many`` gain from worker processes? The crossover, measured in CPU time.

A joblib worker process pays a start-up cost before its first fit: the interpreter, ``import
tvspline`` and loading the compiled kernels. With ``J`` workers started together the parallel wall
time is about ``start-up + serial / J``, so workers pay once the serial time exceeds
``start-up / (1 - 1/J)``. Both quantities are measured as CPU time (``time.process_time``), which
does not depend on what else the machine runs:

- ``startup``: a fresh Python process that imports tvspline and fits one 50-point problem (what
  each worker does before its first real fit), its whole CPU time;
- ``per point``: the serial CPU time of ``fit_many(problems, n_jobs=1)`` divided by the number of
  data points, for P problems of M random sites (y = sin(2x) + noise, λ = 0.1, bounds (-1, 1)).

The CSV has one row per (P, M) with the serial CPU time, the predicted parallel wall time for ``J``
workers, their ratio, and the choice of ``n_jobs=None`` (:func:`tvspline.batch.auto_n_jobs`); the
crossover in data points is ``startup / ((1 - 1/J) * per point)``.

Usage::

    python benchmarks/fit_many.py [--jobs 2] [--out benchmarks/results/fit_many.csv]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(_ROOT))

import numpy as np  # noqa: E402

from benchmarks._provenance import provenance  # noqa: E402

_STARTUP = r"""
import json, time
import numpy as np
import tvspline
x = np.linspace(-1, 1, 50)
tvspline.fit(x, np.abs(x), 0.1, (-1.0, 1.0))
print(json.dumps(dict(cpu=time.process_time())))
"""

CONFIGS = [(P, M) for M in (30, 300, 3000, 30000) for P in (4, 16, 64) if P * M <= 2_000_000]


def _problems(P, M, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(P):
        x = rng.uniform(-3, 3, M)
        out.append(dict(x=x, y=np.sin(2 * x) + 0.3 * rng.standard_normal(M), lam=0.1, bounds=(-1.0, 1.0)))
    return out


def main(argv=None):
    import tvspline
    from tvspline.batch import auto_n_jobs

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=2, help="workers of the predicted parallel run (default 2)")
    ap.add_argument("--repeats", type=int, default=3, help="start-up measurements (the median is used)")
    ap.add_argument("--out", default=str(_ROOT / "benchmarks" / "results" / "fit_many.csv"))
    args = ap.parse_args(argv)
    J = args.jobs
    startups = []
    for _ in range(args.repeats):
        out = subprocess.run([sys.executable, "-c", _STARTUP], capture_output=True, text=True, check=True, cwd=_ROOT)
        startups.append(json.loads(out.stdout.strip().splitlines()[-1])["cpu"])
    startup = float(np.median(startups))
    print(f"worker start-up: {startup:.2f} s CPU (runs: {', '.join(f'{s:.2f}' for s in startups)})")
    tvspline.fit(np.linspace(-1, 1, 50), np.abs(np.linspace(-1, 1, 50)), 0.1, (-1.0, 1.0))
    prov = provenance()
    rows = []
    for P, M in CONFIGS:
        problems = _problems(P, M)
        t = time.process_time()
        tvspline.fit_many(problems, n_jobs=1, progress=False)
        serial = time.process_time() - t
        parallel = startup + serial / J
        rows.append(dict(problems=P, points=M, total_points=P * M, jobs=J, startup_cpu_s=round(startup, 3),
                         serial_cpu_s=round(serial, 4), parallel_predicted_s=round(parallel, 4),
                         predicted_speedup=round(serial / parallel, 3),
                         serial_us_per_point=round(1e6 * serial / (P * M), 3),
                         auto_n_jobs=auto_n_jobs(problems), **prov))
        print(", ".join(f"{k}={v}" for k, v in rows[-1].items() if k not in prov), flush=True)
    large = [r for r in rows if r["points"] >= 3000]
    per_point = float(np.median([r["serial_us_per_point"] for r in large])) * 1e-6
    crossover = startup / ((1 - 1 / J) * per_point)
    print(f"crossover for {J} workers: {crossover:.3g} data points "
          f"(start-up {startup:.2f} s, {per_point * 1e6:.2f} us per point)")
    with open(args.out, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    cols = ["problems", "points", "serial_cpu_s", "parallel_predicted_s", "predicted_speedup", "auto_n_jobs"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    lines += ["", f"Worker start-up {startup:.2f} s CPU; crossover for {J} workers about {crossover:.3g} data "
              f"points. `python benchmarks/fit_many.py --jobs {J}`; version {prov['version']}, commit "
              f"{prov['commit']}, {prov['date']}."]
    Path(args.out).with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
