"""Render the benchmark tables of ``docs/benchmarks.md`` and ``README.md`` from the CSVs.

Every benchmark writes a CSV into ``benchmarks/results/``. This script turns those CSVs into
Markdown, so that no number in the documentation is copied by hand:

- ``docs/benchmarks.md`` is generated whole: one section per table, with the command that
  produces the CSV, the version, commit and date of the run (from the CSV's ``version``,
  ``commit`` and ``date`` columns, written by :func:`benchmarks._provenance.provenance`; "not
  recorded" when the CSV has none) and the full table;
- ``README.md`` keeps a short *headline* table per area between the markers
  ``<!-- table:NAME -->`` and ``<!-- /table:NAME -->``; only the text between the markers is
  replaced.

Usage (from the repository root)::

    python benchmarks/render_tables.py           # rewrite docs/benchmarks.md and README's blocks
    python benchmarks/render_tables.py --check   # exit 1 if either is out of date

``tests/test_render_tables.py`` runs the check, so a hand-edited table or a CSV changed without
re-rendering fails the tests.

Adding a table
--------------
Append a :class:`Table` to ``TABLES`` (about five lines)::

    Table("denoising_set12", "denoising_set12.csv", "Denoising on Set12",
          "python benchmarks/denoising.py --images set12",
          columns=("sigma_255||σ (/255)", "method", "psnr|.2f|PSNR (dB)", "ssim|.4f|SSIM"),
          headline={"method": ["learned convex", "TV (Chambolle)"]}),

A column is ``"csv_column|format|header"``: ``format`` is a Python format specification applied
to numbers (empty: the text as written in the CSV), ``header`` defaults to the column name. A
column written ``"csv_column?|..."`` is optional: it is left out when the CSV does not have it
(so one entry serves a benchmark whose columns change between versions).
Numeric columns are right-aligned, NaN shows as an en dash. ``headline`` (optional) selects the
rows shown in the README (column -> allowed values, as written in the CSV; or a function of the
row dict); ``headline_columns`` optionally narrows the columns there. ``rows`` (optional) turns
the CSV rows into the table rows first (see :func:`exactness_summary` and :func:`pivot`).
``command=None`` reads the command from the benchmark's own Markdown output next to the CSV
(``NAME.md``: the first back-quoted ``python ...`` command in it). Then
run the script, and put the README block where it belongs with the two marker lines
``<!-- table:NAME -->`` / ``<!-- /table:NAME -->`` (the script fills them in). A table without
markers in the README appears in ``docs/benchmarks.md`` only.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOCS_PAGE = ROOT / "docs" / "benchmarks.md"
README = ROOT / "README.md"
PROVENANCE = ("version", "commit", "date")
NOT_RECORDED = "not recorded"

Row = dict


@dataclass(frozen=True)
class Table:
    """One generated table.

    Parameters
    ----------
    name : str
        Identifier: the README marker ``<!-- table:NAME -->`` and the anchor in
        ``docs/benchmarks.md``.
    csv : str
        File name in ``benchmarks/results/``.
    title : str
        Section title in ``docs/benchmarks.md``.
    command : str or None
        The command (from the repository root) that writes the CSV; ``None``: read it from the
        Markdown file the benchmark writes beside the CSV.
    columns : sequence of str
        ``"csv_column|format|header"`` for each column, in order (see the module docstring).
    description : str
        What the table measures; printed above it in ``docs/benchmarks.md``.
    headline : mapping or callable, optional
        Rows shown in the README: ``{column: [allowed values]}`` or ``row -> bool``. ``None``
        shows every row.
    headline_columns : sequence of str, optional
        Columns shown in the README (same syntax as ``columns``); defaults to ``columns``.
    rows : callable, optional
        ``rows(csv_rows) -> table_rows``, applied before the columns are picked.
    recorded : str
        Where the run is documented when the CSV has no provenance columns (for example the
        commit that added the CSV).
    """

    name: str
    csv: str
    title: str
    command: str | None
    columns: Sequence[str]
    description: str = ""
    headline: Mapping[str, Sequence[str]] | Callable[[Row], bool] | None = None
    headline_columns: Sequence[str] | None = None
    rows: Callable[[list[Row]], list[Row]] | None = None
    recorded: str = ""


@dataclass(frozen=True)
class _Column:
    key: str
    fmt: str
    header: str
    optional: bool = False


def _parse_column(spec: str) -> _Column:
    parts = spec.split("|")
    if len(parts) > 3 or not parts[0] or parts[0] == "?":
        raise ValueError(f"column spec must be 'csv_column|format|header', got {spec!r}")
    key = parts[0]
    optional = key.endswith("?")
    key = key.rstrip("?")
    fmt = parts[1] if len(parts) > 1 else ""
    header = parts[2] if len(parts) > 2 and parts[2] else key
    return _Column(key, fmt, header, optional)


def present_columns(rows: list[Row], columns: Sequence[str]) -> list[str]:
    """The column specs to show: optional ones only when some row has that column."""
    return [c for c in columns
            if not _parse_column(c).optional or any(_parse_column(c).key in r for r in rows)]


# --------------------------------------------------------------------------- row transforms


def _float(text) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def exactness_summary(rows: list[Row]) -> list[Row]:
    """Per (loss, sites): problem count, OPTIMAL count, worst errors, honest gaps, median time.

    The objective error is signed (positive: tvspline's objective above the reference's), so its
    maximum is the worst case for tvspline.
    """
    groups: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        groups.setdefault((r["loss"], r["sites"]), []).append(r)
    loss_order = {"squared": 0, "absolute": 1, "huber": 2}
    site_order = {"uniform": 0, "ties": 1, "close": 2}
    out = []
    for (loss, sites), rs in sorted(
        groups.items(), key=lambda kv: (loss_order.get(kv[0][0], 9), kv[0][0],
                                        site_order.get(kv[0][1], 9), kv[0][1])
    ):
        honest = sum(r["gap_honest"] == "True" for r in rs)
        out.append({
            "loss": loss,
            "sites": sites,
            "problems": str(len(rs)),
            "optimal": str(sum(r["status"] == "OPTIMAL" for r in rs)),
            "max_rel_error": repr(max(float(r["rel_error"]) for r in rs)),
            "max_bound_violation": repr(max(float(r["bound_violation"]) for r in rs)),
            "gap_honest": f"{honest}/{len(rs)}",
            "median_time": repr(statistics.median(float(r["time"]) for r in rs)),
        })
    return out


def pivot(index: str, columns: str, values: str) -> Callable[[list[Row]], list[Row]]:
    """A transform: one row per value of ``index``, one column per value of ``columns``.

    The new columns are named after the values of ``columns`` (in order of appearance); list them
    in the table's ``columns`` to choose which appear. A pair absent from the CSV is NaN (an en
    dash in the table).
    """

    def transform(rows: list[Row]) -> list[Row]:
        out: dict[str, Row] = {}
        for r in rows:
            out.setdefault(r[index], {index: r[index]})[r[columns]] = r[values]
        names = list(dict.fromkeys(r[columns] for r in rows))
        return [{**{name: "nan" for name in names}, **row} for row in out.values()]

    return transform


def ratio_to(group: Sequence[str], key: str, reference: str, value: str, name: str):
    """A transform adding ``name`` = ``value`` / (``value`` of the row with ``key == reference``
    in the same group)."""

    def transform(rows: list[Row]) -> list[Row]:
        ref = {tuple(r[g] for g in group): _float(r[value]) for r in rows if r[key] == reference}
        out = []
        for r in rows:
            base = ref.get(tuple(r[g] for g in group))
            v = _float(r[value])
            ratio = v / base if base and v is not None else math.nan
            out.append({**r, name: repr(ratio)})
        return out

    return transform


# --------------------------------------------------------------------------- the registry

_EXACTNESS_COLUMNS = (
    "loss", "sites", "problems|g", "optimal|g|OPTIMAL", "max_rel_error|.1e|max rel. objective error",
    "max_bound_violation|.1e|max bound violation", "gap_honest||gap honest",
    "median_time|.3f|median time (s)",
)
_SOLVER_COLUMNS = (
    "M|.0e", "bounds", "solver", "time|.3g|time (s)", "time_ratio|.3g|time / tvspline",
    "rel_error|.2e|rel. objective error", "bound_violation|.1e|max bound violation",
    "peak_mb|.0f|peak MB", "status", "note",
)

TABLES: list[Table] = [
    Table(
        "exactness", "exactness.csv", "Exactness against an independent reference",
        "python benchmarks/exactness.py --n 300 --seed 0",
        description=(
            "Random problems (sites uniform, with exact ties, or with pairs 1e-9 apart; random "
            "weights; five slope bounds; λ from 1e-4 to λ_max), each compared with a CVXPY + "
            "Clarabel reference at tolerance 1e-12. *gap honest*: the objective minus the reference "
            "optimum never exceeds the reported gap."
        ),
        columns=_EXACTNESS_COLUMNS, rows=exactness_summary,
        recorded="CSV added in commit ded325e, 2026-11-23",
    ),
    Table(
        "solvers", "solvers.csv", "Solvers on the squared loss",
        "OPENBLAS_NUM_THREADS=1 python benchmarks/solvers.py --sizes 1e3 1e4 1e5 --budget 120",
        description=(
            "M random sites in [-3, 3], y = sin 2x + noise, λ = 0.1. Objective errors are relative "
            "to tvspline's certified lower bound; each peer's spline is taken as returned (its "
            "slope-bound violation is listed); peers stop at 120 s. What each peer solves is in "
            "the *note* column and in `benchmarks/README_peers.md` (peers: `pip install -e "
            "\".[bench]\"`)."
        ),
        columns=_SOLVER_COLUMNS,
        rows=ratio_to(("M", "bounds"), "solver", "tvspline", "time", "time_ratio"),
        headline={"M": ["100000"], "solver": ["tvspline", "cvxpy-clarabel", "cvxpy-osqp"]},
        headline_columns=_SOLVER_COLUMNS[:4] + _SOLVER_COLUMNS[5:7] + ("status",),
        recorded="CSV added in commit 8f9e283, 2026-11-23",
    ),
    Table(
        "solvers_1e6", "solvers_1e6.csv", "tvspline at one million sites",
        "python benchmarks/solvers.py --sizes 1e6 --budget 200 --peers --name solvers_1e6",
        description=(
            "The same problem at M = 1e6 (the generic solvers stop at their iteration caps there). "
            "*time*: the first fit in a new process after a 200-point warm-up; *median of 3*: the "
            "median of three fits in that process."
        ),
        columns=(
            "M|.0e", "bounds", "solver", "time|.3g|time (s)", "time_median|.3g|median of 3 (s)",
            "rel_error|.2e|rel. objective error", "bound_violation|.1e|max bound violation",
            "peak_mb|.0f|peak MB", "status",
        ),
        headline_columns=(
            "M|.0e", "bounds", "time|.3g|time (s)", "time_median|.3g|median of 3 (s)",
            "bound_violation|.1e|max bound violation", "status",
        ),
        recorded="CSV added in commit 05cebd1, 2026-11-24",
    ),
    Table("fit_many", "fit_many.csv", "Serial or parallel fit_many", None,
          description="CPU time of independent fits run serially, the predicted time with worker "
                      "processes (start-up included), and the `n_jobs` that `fit_many` chooses.",
          columns=("problems|g", "points|g", "total_points|g|points in all", "serial_cpu_s|.3g|serial CPU (s)",
                   "parallel_predicted_s|.3g|parallel, predicted (s)", "predicted_speedup|.3g|speed-up",
                   "auto_n_jobs||n_jobs chosen")),
    Table(
        "design_matrix", "design_matrix.csv", "Design-matrix assembly",
        "python benchmarks/design_matrix.py",
        description=(
            "Median wall time of assembling the sparse hat-basis matrix (M sites, K knots), and the "
            "ratio to the default Numba kernel (> 1 is slower); `scipy` is "
            "`scipy.interpolate.BSpline.design_matrix`, `np.interp` returns values only."
        ),
        columns=(
            "M|g", "K|g", "knots", "x_order||x order", "method", "median_s|.3g|median (s)",
            "ratio_to_default|.3g|ratio to numba",
        ),
        recorded="CSV added in commit 8a8996b, 2026-11-23",
    ),
    Table(
        "lipschitz_nets_fit", "lipschitz_nets_fit.csv", "1-Lipschitz regression", None,
        description=(
            "The 1-D experiments of the Lipschitz paper: each seed draws a 1-Lipschitz target of "
            "the family (f1, f2, f3) and its training points; test MSE on a 10 000-point grid. "
            "Networks `[1, 10, 10, 10, 1]` with 1-Lipschitz layers; the *1-D optimum* (*exact 1-D "
            "fit*) is `tvspline.fit(x, y, lam, lipschitz(1))`, the best any 1-Lipschitz function "
            "can do. Per-run numbers: `benchmarks/results/lipschitz_nets_fit_runs.csv`."
        ),
        columns=(
            "kind", "method", "seeds|g", "median_test_mse|.3g|median test MSE",
            "min_test_mse?|.3g|min test MSE", "best_test_mse?|.3g|best test MSE",
            "max_test_mse?|.3g|max test MSE", "median_train_mse?|.3g|median train MSE",
            "median_train_objective?|.4g|median train objective",
            "max_lipschitz?|.6f|max Lipschitz bound", "max_lipschitz_bound?|.6f|max Lipschitz bound",
            "max_fd_slope?|.6f|max finite-difference slope", "median_time|.3g|median time (s)",
            "median_cpu_time?|.3g|median CPU time (s)",
        ),
        headline={"method": ["1-D optimum", "exact 1-D fit", "relu", "groupsort", "spline",
                             "spline (exact)", "spline (Adam, torch)"]},
        headline_columns=(
            "kind", "method", "median_test_mse|.3g|median test MSE",
            "max_lipschitz?|.6f|max Lipschitz bound", "max_lipschitz_bound?|.6f|max Lipschitz bound",
            "median_time|.3g|median time (s)",
        ),
        recorded="CSV added in commit 67f5b1c, 2026-11-24",
    ),
    Table(
        "lipschitz_nets_mse", "lipschitz_nets_fit.csv", "1-Lipschitz regression: median test MSE by method", None,
        description=(
            "The median test MSE column of the table above, one column per method. *exact*: "
            "`SplineNetwork.fit` with its default start (the certified 1-D solution carried by the "
            "network, then the alternating loop); *exact, random start*: the alternating loop alone "
            "from random weights; *Adam, torch*: the paper's gradient training of spline networks "
            "(`benchmarks/torch_peer.py`); the five baselines are trained by the paper's mini-batch "
            "Adam; *1-D optimum*: a single spline, `tvspline.fit`."
        ),
        columns=(
            "kind", "spline (exact)|.3g|spline (exact)", "spline (exact, random start)?|.3g|spline (random start)",
            "spline (Adam, torch)?|.3g|spline (Adam, torch)", "relu|.3g|ReLU", "absval|.3g|AbsVal",
            "prelu?|.3g|PReLU", "groupsort|.3g|GroupSort", "householder?|.3g|HouseHolder",
            "1-D optimum?|.3g|1-D optimum",
        ),
        rows=pivot("kind", "method", "median_test_mse"),
        recorded="CSV added in commit 67f5b1c, 2026-11-24",
    ),
    Table(
        "network_profile", "network_profile.csv", "Where the time of exact network training goes", None,
        description=(
            "`SplineNetwork.fit` on `[1, 10, 10, 10, 1]` with 1000 training points (the settings of the 1-Lipschitz "
            "regression table), from the default start (*auto*: the embedded 1-D solution) and from "
            "random weights (*current*): wall and CPU time of one process, the training objective at "
            "the start and at the end, and the share of the wall time spent in each phase (from a "
            "second, instrumented run): the start (one certified 1-D solve), the weight steps, the "
            "interpolation steps, the exact step of the last hidden layer and the linearised steps "
            "of the earlier ones."
        ),
        columns=(
            "kind", "seed|g", "start", "wall_s|.3g|wall (s)", "cpu_s|.3g|CPU (s)",
            "outer_iterations|g|outer iterations", "objective_start|.4g|objective at start",
            "objective_final|.4g|final objective", "test_mse|.3g|test MSE",
            "lipschitz_bound|.6f|Lipschitz bound", "start_share|.0%|start",
            "weight_steps_share|.0%|weight steps", "interpolation_share|.0%|interpolation",
            "exact_step_share|.0%|exact step", "linearised_steps_share|.0%|linearised steps",
            "other_share|.0%|other",
        ),
    ),
    Table(
        "lipschitz_nets_w1", "lipschitz_nets_w1.csv", "Wasserstein-1 by 1-Lipschitz critics", None,
        description=(
            "Exact empirical W1 between two sample sets against the estimates of trained "
            "1-Lipschitz critics `[d, 10, 10, 1]`. *shortfall*: the exact W1 of a seed's samples "
            "minus the critic's estimate (a valid critic gives >= 0). Per-run numbers: "
            "`benchmarks/results/lipschitz_nets_w1_runs.csv`."
        ),
        columns=(
            "case", "critic", "seeds?|g", "exact_w1?|.4g|exact W1 (mean)",
            "median_exact_w1?|.4g|exact W1 (median)", "median_estimate|.4g|median estimate",
            "median_shortfall|.3g|median shortfall", "min_shortfall|.3g|min shortfall",
            "max_lipschitz?|.6f|max Lipschitz bound", "max_lipschitz_bound?|.6f|max Lipschitz bound",
            "median_time|.3g|median time (s)",
        ),
        recorded="CSV added in commit 67f5b1c, 2026-11-24",
    ),
    Table(
        "torch_peer", "torch_peer.csv", "Exact activation steps against gradient training",
        "python benchmarks/torch_peer.py",
        description=(
            "The same network, data, start and objective (λ = 1e-3) trained by tvspline and by "
            "Adam on a 101-knot grid with slope clipping and Björck-orthonormalised weights "
            "(PyTorch, `pip install -e \".[torch]\"`); objectives recomputed from each returned "
            "network. Set-up: `benchmarks/README_torch_peer.md`."
        ),
        columns=(
            "kind", "seed|g", "method", "objective|.4g", "data_term|.4g|data term", "tv2|.4g|TV2",
            "test_mse|.3g|test MSE", "lipschitz_bound|.6f|Lipschitz bound",
            "wall_time_s|.3g|wall time (s)", "iterations|g", "note",
        ),
        recorded="CSV added in commit 7f55a19, 2026-11-23",
    ),
    Table(
        "denoising", "denoising.csv", "Denoising with learned ridge regularisers",
        "python benchmarks/denoising.py --size 128 --ct-size 64",
        description=(
            "The six test images (128x128 centre crops), mean over images; PSNR in dB, time per "
            "image in s. TV's weight is tuned on the training images; BM3D through the optional "
            "`bm3d` package. Per-image PSNRs: the `per_image_psnr` column of the CSV."
        ),
        columns=(
            "sigma_255||σ (/255)", "method", "psnr|.2f|PSNR", "ssim|.4f|SSIM", "time_s|.3g|time (s)",
            "iterations|.0f", "converged", "note",
        ),
        recorded="CSV added in commit deda2ae, 2026-11-24",
    ),
    Table(
        "denoising_psnr", "denoising.csv", "Denoising: PSNR by method",
        "python benchmarks/denoising.py --size 128 --ct-size 64",
        description="The PSNR column of the table above, one column per method (dB).",
        columns=(
            "sigma_255||σ (/255)", "learned convex|.2f", "learned weakly convex|.2f",
            "TV (Chambolle)|.2f|TV", "BM3D|.2f", "noisy|.2f",
        ),
        rows=pivot("sigma_255", "method", "psnr"),
        headline_columns=(
            "sigma_255||σ (/255)", "learned convex|.2f", "learned weakly convex|.2f",
            "TV (Chambolle)|.2f|TV", "BM3D|.2f",
        ),
        recorded="CSV added in commit deda2ae, 2026-11-24",
    ),
    Table(
        "denoising_set12", "denoising_set12.csv", "Denoising on Set12",
        "python benchmarks/denoising.py --data SET12_DIR --tune-data BSD400_DIR --skip-ct --skip-deblurring",
        description=(
            "The 12 grey Set12 images (7 of 256x256, 5 of 512x512), noise drawn per image; mean PSNR "
            "(dB), SSIM and time per image (s). TV's weight is tuned on every 10th training image, "
            "never on a test image; BM3D through the optional `bm3d` package."
        ),
        columns=(
            "sigma_255||σ (/255)", "method", "psnr|.2f|PSNR", "ssim|.4f|SSIM", "time_s|.3g|time (s)",
            "converged", "note",
        ),
    ),
    Table(
        "denoising_set12_psnr", "denoising_set12.csv", "Denoising on Set12: PSNR by method",
        "python benchmarks/denoising.py --data SET12_DIR --tune-data BSD400_DIR --skip-ct --skip-deblurring",
        description="The PSNR column of the table above, one column per method (dB).",
        columns=(
            "sigma_255||σ (/255)", "learned convex|.2f", "learned weakly convex|.2f",
            "TV (Chambolle)|.2f|TV", "BM3D|.2f", "noisy|.2f",
        ),
        rows=pivot("sigma_255", "method", "psnr"),
        headline_columns=(
            "sigma_255||σ (/255)", "learned convex|.2f", "learned weakly convex|.2f",
            "TV (Chambolle)|.2f|TV", "BM3D|.2f",
        ),
    ),
    Table(
        "denoising_tradeoff", "denoising_tradeoff.csv", "Learned regularisers: quality against speed",
        "python benchmarks/denoising_tradeoff.py --data SET12_DIR --sigmas 5 15 25 --models NAME=FILE ...",
        description=(
            "Set12, mean PSNR (dB) and wall time per image (s) of `reg.denoise(y, sigma)` with its "
            "default settings, for models of several sizes (parameters: filter taps, profile values "
            "at the knots and noise-table entries). Wall times measured while other benchmark "
            "processes shared the two cores."
        ),
        columns=(
            "model", "parameters|.0f", "sigma_255||σ (/255)", "psnr|.2f|PSNR", "time_s|.3g|time (s)",
            "converged",
        ),
        headline={"sigma_255": ["25"]},
        headline_columns=("model", "parameters|.0f", "psnr|.2f|PSNR at σ = 25", "time_s|.3g|time (s)"),
    ),
    Table(
        "denoising_deblurring", "denoising_deblurring.csv", "Deblurring",
        "python benchmarks/denoising.py --size 128 --ct-size 64",
        description=(
            "The six bundled test images (128x128), Gaussian blur of 1.5 pixels and noise of "
            "2.55/255; every weight tuned on the bundled training images."
        ),
        columns=("method", "psnr|.2f|PSNR", "ssim|.4f|SSIM", "time_s|.3g|time (s)", "note"),
    ),
    Table(
        "denoising_ct", "denoising_ct.csv", "CT reconstruction",
        "python benchmarks/denoising.py --size 128 --ct-size 64",
        description=(
            "Shepp-Logan 64x64, 60 angles; every weight tuned on a non-phantom image. *TV "
            "reconstruction* solves argmin ½‖Hx − y‖² + λ TV(x) (isotropic TV, Chambolle-Pock, "
            "1000 iterations); *TV on FBP* denoises the FBP."
        ),
        columns=("noise", "method", "psnr|.2f|PSNR", "ssim|.4f|SSIM", "time_s|.3g|time (s)", "note"),
        recorded="CSV added in commit deda2ae, 2026-11-24",
    ),
    Table(
        "denoising_ct_psnr", "denoising_ct.csv", "CT reconstruction: PSNR by method",
        "python benchmarks/denoising.py --size 128 --ct-size 64",
        description="The PSNR column of the table above, one column per method (dB).",
        columns=(
            "noise", "FBP (ramp)|.2f|FBP", "TV on FBP|.2f", "TV reconstruction|.2f",
            "learned convex|.2f", "learned weakly convex?|.2f",
        ),
        rows=pivot("noise", "method", "psnr"),
        recorded="CSV added in commit deda2ae, 2026-11-24",
    ),
    Table(
        "reconstruction_methods", "reconstruction_methods.csv",
        "Reconstruction: time against the relative tolerance",
        "python benchmarks/reconstruction_methods.py",
        description=(
            "One 481x321 image denoised at sigma 25/255 by the engine (`method=\"fista\"`) and by "
            "L-BFGS at several relative tolerances; PSNR difference against a `tol=1e-8` solve. "
            "CPU seconds of the process; wall seconds on a loaded machine."
        ),
        columns=(
            "model", "n_filters||filters", "kernel", "method", "tol", "cpu_s|.3g|CPU (s)", "wall_s|.3g|wall (s)",
            "n_iter||its", "converged", "psnr_diff_db||ΔPSNR (dB)",
        ),
        recorded="CSV added in commit deda2ae, 2026-11-24",
    ),
]


# --------------------------------------------------------------------------- rendering


def read_csv(path: Path) -> list[Row]:
    """The rows of a CSV as dicts of strings."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _cell(text, fmt: str) -> str:
    if text is None:
        return ""
    value = _float(text) if fmt else None
    if value is None:
        out = str(text)
    elif math.isnan(value):
        out = "–"
    else:
        out = format(value, fmt)
    return out.replace("|", "\\|").replace("\n", " ")


def _select(rows: list[Row], headline) -> list[Row]:
    if headline is None:
        return rows
    if callable(headline):
        return [r for r in rows if headline(r)]
    return [r for r in rows if all(r.get(k) in set(v) for k, v in headline.items())]


def markdown_table(rows: list[Row], columns: Sequence[str]) -> str:
    """A Markdown table of ``rows`` with the given column specs."""
    cols = [_parse_column(c) for c in present_columns(rows, columns)]
    lines = [
        "| " + " | ".join(c.header for c in cols) + " |",
        "| " + " | ".join("---:" if c.fmt else "---" for c in cols) + " |",
    ]
    for r in rows:
        lines.append("| " + " | ".join(_cell(r.get(c.key), c.fmt) for c in cols) + " |")
    return "\n".join(lines)


def provenance_text(csv_rows: list[Row], table: Table) -> str:
    """``version X; commit Y; date Z`` from the CSV, or "not recorded" (and ``table.recorded``)."""
    found = {key: sorted({r.get(key) or "" for r in csv_rows} - {""}) for key in PROVENANCE}
    if not any(found.values()):
        text = f"version, commit and date {NOT_RECORDED}"
        return f"{text} ({table.recorded})" if table.recorded else text
    return "; ".join(f"{key} {', '.join(v) if v else NOT_RECORDED}" for key, v in found.items())


_COMMAND = re.compile(r"`((?:[A-Z_]+=\S+ )*python [^`]+)`")


def command_of(table: Table, results: Path = RESULTS) -> str:
    """The table's command, from the registry or from the benchmark's Markdown output."""
    if table.command is not None:
        return table.command
    md = results / (Path(table.csv).stem + ".md")
    m = _COMMAND.search(md.read_text(encoding="utf-8")) if md.exists() else None
    if m is None:
        raise ValueError(f"table {table.name}: command=None but {md} names no `python ...` command")
    return " ".join(m.group(1).split())


def _load(table: Table, results: Path) -> tuple[list[Row], list[Row]]:
    csv_rows = read_csv(results / table.csv)
    rows = table.rows(csv_rows) if table.rows else csv_rows
    return csv_rows, rows


def render_docs(tables: Sequence[Table] = TABLES, results: Path = RESULTS) -> str:
    """The whole text of ``docs/benchmarks.md``."""
    out = [
        "# Benchmarks",
        "",
        "Generated by `python benchmarks/render_tables.py` from the CSVs in `benchmarks/results/`;",
        "do not edit by hand. Each table gives the command that produces its CSV (run from the",
        "repository root) and the version, commit and date of the run as recorded in the CSV.",
        "",
        "Contents:",
        "",
    ]
    out += [f"- [{t.title}](#{t.name})" for t in tables]
    for t in tables:
        csv_rows, rows = _load(t, results)
        out += ["", f'<a id="{t.name}"></a>', "", f"## {t.title}", ""]
        if t.description:
            out += [t.description, ""]
        out += [
            f"Command: `{command_of(t, results)}`  ",
            f"Data: `benchmarks/results/{t.csv}`; {provenance_text(csv_rows, t)}.",
            "",
            markdown_table(rows, t.columns),
        ]
    return "\n".join(out) + "\n"


def render_headline(table: Table, results: Path = RESULTS) -> str:
    """The README block of one table (without the marker lines)."""
    csv_rows, rows = _load(table, results)
    body = markdown_table(_select(rows, table.headline), table.headline_columns or table.columns)
    return (
        f"{body}\n\n"
        f"Command: `{command_of(table, results)}`; {provenance_text(csv_rows, table)}. "
        f"Full table: [docs/benchmarks.md](docs/benchmarks.md#{table.name})."
    )


_BLOCK = re.compile(r"(<!-- table:(?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- /table:(?P=name) -->)", re.S)


def render_readme(text: str, tables: Sequence[Table] = TABLES, results: Path = RESULTS) -> str:
    """``text`` (the README) with every marked block replaced by its generated table.

    Raises
    ------
    ValueError
        If a block names no registered table.
    """
    by_name = {t.name: t for t in tables}

    def replace(m: re.Match) -> str:
        name = m.group("name")
        if name not in by_name:
            raise ValueError(f"README block 'table:{name}' names no table; known: {sorted(by_name)}")
        return m.group(1) + render_headline(by_name[name], results) + "\n" + m.group(4)

    return _BLOCK.sub(replace, text)


def readme_blocks(text: str) -> dict[str, str]:
    """The bodies of the README's marked blocks, by table name."""
    return {m.group("name"): m.group("body") for m in _BLOCK.finditer(text)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if docs/benchmarks.md or README.md is out of date")
    args = parser.parse_args(argv)
    targets = {
        DOCS_PAGE: render_docs(),
        README: render_readme(README.read_text(encoding="utf-8")),
    }
    stale = [p for p, text in targets.items()
             if not p.exists() or p.read_text(encoding="utf-8") != text]
    if args.check:
        for p in stale:
            print(f"{p.relative_to(ROOT)} is out of date: run python benchmarks/render_tables.py")
        return 1 if stale else 0
    for p in stale:
        p.write_text(targets[p], encoding="utf-8")
        print(f"wrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
