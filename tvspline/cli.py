r"""Command-line interface: fit a slope-constrained TV2-regularised linear spline to CSV data.

``tvspline fit DATA.csv --x COL --y COL --lam LAM [--bounds LO HI] ...`` reads two columns of a
CSV file (header row with column names), solves

.. math::

    \min_f \sum_m w_m E(f(x_m) - y_m) + \lambda\,\mathrm{TV}^{(2)}(f)
    \quad\text{s.t.}\quad s_{\min} \le f' \le s_{\max}

exactly with :func:`tvspline.fit`, prints a short summary (objective, certified gap, knots, time,
status) and optionally writes the result as JSON (``--out``) and a figure (``--plot``).

Exit status: 0 when the fit is certified optimal, 1 when it finished without reaching the requested
gap or no solver produced an answer, 2 for bad usage or bad input (missing file, unknown or
duplicated column, non-numeric value, invalid parameter), 3 for an internal failure of tvspline (an
unexpected exception on valid input: a bug to report), always with a one-line message on stderr and
no traceback.

The same interface runs as ``python -m tvspline``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import warnings

__all__ = ["main", "build_parser", "read_columns", "CLIError"]

_PROG = "tvspline"
#: Fraction of the data range added on each side when plotting the fitted spline.
_PLOT_MARGIN = 0.05


#: Exit statuses of the command (documented in ``--help``).
EXIT_OPTIMAL, EXIT_NOT_CERTIFIED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


class CLIError(Exception):
    """A problem with the user's input; reported on stderr with exit status 2."""


# ---------------------------------------------------------------------------------------- parsing
def _number(text: str) -> float:
    """argparse type: a real number; ``inf``, ``-inf`` and ``infinity`` are accepted."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid number {text.strip()!r}: expected e.g. 0.1, 1e-3, inf or -inf"
        ) from None


_FIT_EPILOG = """\
examples:
  tvspline fit data.csv --x x --y y --lam 0.1 --bounds -1 1
  tvspline fit data.csv --x t --y signal --lam 0.05 --bounds 0 inf --loss huber --delta 0.5 \\
      --sparsest --out result.json --plot fit.png

The CSV file needs a header row with distinct column names; columns are separated by commas.
Slope bounds accept inf and -inf. The summary goes to stdout, errors and warnings to stderr.

exit status:
  0  the fit is certified optimal
  1  the fit is not certified (the gap is above --tol) or no solver produced an answer
  2  bad usage or bad input (file, columns, values, parameters)
  3  internal failure of tvspline on valid input (please report it with the command line)

--out writes JSON with keys "problem" (lam, bounds, loss, ...), "data" (file, columns, number of
points), "result" (objective, gap, status, knots, time, ...) and "spline"
(LinearSpline.to_dict(): knots and values; restore it with LinearSpline.from_dict). Infinite
numbers are written as the strings "inf" and "-inf".
"""

_MAIN_EPILOG = """\
example:
  tvspline fit data.csv --x x --y y --lam 0.1 --bounds -1 1 --out result.json --plot fit.png

Run "tvspline fit --help" for every option of the fit command.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tvspline`` command (with its ``fit`` subcommand)."""
    from . import __version__
    from .fitting import SOLVERS
    from .losses import LOSSES

    parser = argparse.ArgumentParser(
        prog=_PROG,
        description=(
            "Exact slope-constrained TV2-regularised linear-spline regression: fit a continuous "
            "piecewise-linear function with bounded slopes and few knots to one-dimensional data, "
            "with a certified optimality gap."
        ),
        epilog=_MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}",
        help="print the version of tvspline and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    sub.required = True

    fit = sub.add_parser(
        "fit",
        help="fit a spline to two columns of a CSV file",
        description=(
            "Fit f minimising  sum_m w_m E(f(x_m) - y_m) + lam * TV2(f)  subject to "
            "LO <= f' <= HI, where TV2(f) is the total variation of f' (the sum of the absolute "
            "slope changes at the knots). The solution is a linear spline with knots at the data "
            "sites and comes with a certified optimality gap."
        ),
        epilog=_FIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    fit.add_argument("data", metavar="DATA.csv", help="CSV file with a header row of column names")
    fit.add_argument("--x", required=True, metavar="COL", help="name of the column with the data sites x")
    fit.add_argument("--y", required=True, metavar="COL", help="name of the column with the targets y")
    fit.add_argument(
        "--lam", required=True, type=_number, metavar="LAM",
        help="regularisation weight lambda >= 0 of TV2 (0: interpolation under the bounds)",
    )
    fit.add_argument(
        "--bounds", nargs=2, type=_number, default=[-math.inf, math.inf], metavar=("LO", "HI"),
        help="slope bounds LO <= f' <= HI; inf and -inf allowed (e.g. -1 1: 1-Lipschitz, "
        "0 inf: non-decreasing, 0 1: firmly non-expansive; default: -inf inf, no bounds)",
    )
    fit.add_argument(
        "--weights", metavar="COL", default=None,
        help="name of a column of non-negative sample weights (default: all 1; "
        "rows of weight 0 are ignored)",
    )
    fit.add_argument(
        "--loss", choices=LOSSES, default="squared",
        help="data loss E(r): squared r^2/2, absolute |r|, or huber (r^2/2 for |r| <= delta, "
        "linear beyond); default: squared",
    )
    fit.add_argument(
        "--delta", type=_number, default=1.0, metavar="D",
        help="Huber threshold delta > 0, used only with --loss huber (default: 1.0)",
    )
    fit.add_argument(
        "--solver", choices=SOLVERS, default="auto", metavar="NAME",
        help=f"optimisation back end, one of: {', '.join(SOLVERS)} (default: auto)",
    )
    fit.add_argument(
        "--tol", type=_number, default=1e-9, metavar="T",
        help="target relative optimality gap: success means gap <= T * max(1, objective) "
        "(default: 1e-9)",
    )
    fit.add_argument(
        "--sparsest", action="store_true",
        help="return the minimiser with the fewest knots (same objective, same values at the data)",
    )
    fit.add_argument(
        "--out", metavar="RESULT.json", default=None,
        help="write the problem, the result numbers and the spline (knots and values) as JSON",
    )
    fit.add_argument(
        "--plot", metavar="FIG.png", default=None,
        help="save a figure of the data, the fitted spline and its knots (format from the "
        "extension: png, pdf, svg, ...)",
    )
    return parser


#: Options whose values are numbers, with how many values they take: a value such as "-inf" or
#: "-1e3" would otherwise be read by argparse as an option name.
_NUMERIC_OPTIONS = {"--bounds": 2, "--lam": 1, "--delta": 1, "--tol": 1}


def _protect_negative_numbers(argv: list[str]) -> list[str]:
    """Prefix negative numeric option values with a space so argparse reads them as values.

    argparse only recognises plain negative numbers such as ``-1`` or ``-0.5``; ``-inf`` and
    ``-1e3`` look like option names to it. A leading space makes argparse treat a token as a
    value, and ``float`` ignores it.
    """
    out = list(argv)
    i = 0
    while i < len(out):
        n = _NUMERIC_OPTIONS.get(out[i], 0)
        for j in range(i + 1, min(i + 1 + n, len(out))):
            token = out[j]
            if token.startswith("-") and token != "--":
                try:
                    float(token)
                except ValueError:
                    continue
                out[j] = " " + token
        i += 1 + n
    return out


# ---------------------------------------------------------------------------------------- data
def read_columns(path: str, names: list[str]) -> dict[str, "object"]:
    """Read the named columns of a CSV file with a header row as float arrays.

    Parameters
    ----------
    path : str
        CSV file; the first non-empty row holds the column names, blank lines are skipped.
    names : list of str
        Columns to read.

    Returns
    -------
    dict
        ``{name: ndarray of float64}``.

    Raises
    ------
    CLIError
        If the file cannot be read, is empty, lacks a named column (the message lists the
        available ones), has a row of the wrong length, or holds a value that is not a finite
        number.
    """
    import numpy as np

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [row for row in csv.reader(fh) if row and any(cell.strip() for cell in row)]
    except FileNotFoundError:
        raise CLIError(f"data file not found: {path}") from None
    except IsADirectoryError:
        raise CLIError(f"data file {path} is a directory, expected a CSV file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CLIError(f"cannot read data file {path}: {exc}") from None
    except csv.Error as exc:
        raise CLIError(f"{path} is not a valid CSV file: {exc}") from None
    if not rows:
        raise CLIError(f"{path} is empty: expected a header row with column names and data rows")
    header = [cell.strip() for cell in rows[0]]
    available = ", ".join(repr(h) for h in header)
    index = {}
    for name in names:
        if name not in header:
            raise CLIError(
                f"column {name!r} not found in {path}; available columns: {available}"
                + _separator_hint(header)
            )
        where = [i for i, h in enumerate(header) if h == name]
        if len(where) > 1:
            raise CLIError(
                f"column {name!r} appears {len(where)} times in the header of {path} (columns "
                f"{', '.join(str(i + 1) for i in where)}); column names must be distinct"
            )
        index[name] = where[0]
    data = rows[1:]
    if not data:
        raise CLIError(f"{path} has a header row but no data rows")
    out = {name: np.empty(len(data)) for name in names}
    for r, row in enumerate(data):
        if len(row) != len(header):
            raise CLIError(
                f"{path}, data row {r + 1}: {len(row)} fields, but the header has {len(header)} "
                f"columns ({available})"
            )
        for name in names:
            cell = row[index[name]].strip()
            try:
                value = float(cell)
            except ValueError:
                shown = repr(cell) if cell else "an empty value"
                raise CLIError(
                    f"column {name!r} of {path}, data row {r + 1}: {shown} is not a number"
                    + _separator_hint([cell])
                ) from None
            if not math.isfinite(value):
                raise CLIError(
                    f"column {name!r} of {path}, data row {r + 1}: {cell!r} is not a finite number"
                )
            out[name][r] = value
    return out


def _separator_hint(header: list[str]) -> str:
    """A hint when the header looks separated by something other than commas, else ``""``."""
    for sep, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
        if any(sep in cell for cell in header):
            return (
                f". The header looks separated by {label}: tvspline reads comma-separated files "
                f"(replace the {label} by commas; with a decimal comma, also replace it by a point)"
            )
    return ""


# ---------------------------------------------------------------------------------------- output
def _num(value):
    """A float for JSON; infinities and NaN become the strings "inf", "-inf", "nan"."""
    value = float(value)
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "nan"
    return "inf" if value > 0 else "-inf"


def result_to_json(result, args, n_points: int) -> dict:
    """The JSON document written by ``--out``."""
    from . import __version__

    spline = result.spline
    return {
        "format": "tvspline.fit-result",
        "tvspline_version": __version__,
        "problem": {
            "lam": _num(result.lam),
            "bounds": [_num(result.bounds.lo), _num(result.bounds.hi)],
            "loss": result.loss,
            "delta": _num(result.delta),
            "solver": args.solver,
            "tol": _num(args.tol),
            "sparsest": bool(args.sparsest),
        },
        "data": {
            "file": args.data,
            "x": args.x,
            "y": args.y,
            "weights": args.weights,
            "n_points": int(n_points),
        },
        "result": {
            "status": result.status.name,
            "status_code": int(result.status),
            "success": bool(result.success),
            "message": result.message,
            "objective": _num(result.objective),
            "data_fit": _num(result.data_fit),
            "tv2": _num(result.tv2),
            "lower_bound": _num(result.lower_bound),
            "gap": _num(result.gap),
            "relative_gap": _num(result.relative_gap),
            "n_knots": int(result.n_knots),
            "active_knots": [float(t) for t in spline.active_knots],
            "slope_range": [_num(v) for v in spline.slope_range()],
            "solver": result.solver,
            "n_iter": int(result.n_iter),
            "time": _num(result.time),
        },
        "spline": spline.to_dict(),
    }


def plot_fit(path: str, x, y, result, *, xlabel: str = "x", ylabel: str = "y", weights=None) -> None:
    """Save a figure of the data, the fitted spline (slightly beyond the data) and its knots.

    Uses matplotlib's Agg canvas directly, so no display is needed and pyplot's global state is
    untouched.
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    spline = result.spline
    lo, hi = float(np.min(x)), float(np.max(x))
    pad = _PLOT_MARGIN * (hi - lo) if hi > lo else 1.0
    # The spline is linear between knots: its knots and the two ends draw it exactly.
    inner = spline.knots[(spline.knots > lo - pad) & (spline.knots < hi + pad)]
    grid = np.unique(np.concatenate([[lo - pad, hi + pad], inner]))
    knots = spline.active_knots

    fig = Figure(figsize=(7.0, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    used = np.ones(x.size, dtype=bool) if weights is None else np.asarray(weights) > 0
    ax.scatter(x[used], y[used], s=12, color="0.45", alpha=0.7, label=f"data ({int(used.sum())} points)")
    if not used.all():
        ax.scatter(x[~used], y[~used], s=12, marker="x", color="0.7", label="data with weight 0")
    ax.plot(grid, spline(grid), color="C0", lw=2, label=f"fit ({spline.n_knots} knots)")
    if knots.size:
        ax.plot(knots, spline(knots), "o", ms=6, mfc="white", mec="C3", mew=1.5, ls="none", label="knots")
    b = result.bounds
    ax.set_title(
        f"TV2 spline fit: λ = {result.lam:g}, slopes in [{b.lo:g}, {b.hi:g}], {result.loss} loss"
    )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    fig.savefig(path, dpi=120)


# ---------------------------------------------------------------------------------------- commands
def _check_plot_format(path: str) -> None:
    """Fail before the fit, not after it, when matplotlib cannot write ``path``'s format."""
    from matplotlib.backend_bases import FigureCanvasBase

    ext = os.path.splitext(path)[1].lstrip(".").lower()
    supported = FigureCanvasBase.get_supported_filetypes()
    if ext not in supported:
        shown = f"unsupported extension {ext!r}" if ext else "the file name has no extension"
        raise CLIError(
            f"cannot save the plot {path}: {shown}; use one of {', '.join(sorted(supported))}"
        )


def _check_output_dir(path: str) -> None:
    """Fail before the fit when the folder of an output file does not exist."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"cannot write {path}: the folder {folder} does not exist")


def _check_fit_arguments(x, y, w, args) -> None:
    """Refuse bad parameters (exit 2) before the fit, so that an exception raised inside the fit
    can be told apart from bad input and reported as an internal failure (exit 3)."""
    from ._problem import prepare
    from ._validate import check_positive

    try:
        prepare(x, y, args.lam, tuple(args.bounds), w, args.loss, args.delta)
        check_positive(args.tol, "tol")
    except (ValueError, TypeError) as exc:
        raise CLIError(str(exc)) from None


class _InternalError(Exception):
    """An unexpected exception inside tvspline on input that passed every check."""


def _run_fit(args) -> int:
    from . import fit as tv_fit
    from .solvers.base import SolverFailure

    for target in (args.out, args.plot):
        if target:
            _check_output_dir(target)
    if args.plot:
        _check_plot_format(args.plot)
    names = [args.x, args.y] + ([args.weights] if args.weights else [])
    cols = read_columns(args.data, list(dict.fromkeys(names)))
    x, y = cols[args.x], cols[args.y]
    w = cols[args.weights] if args.weights else None
    _check_fit_arguments(x, y, w, args)

    # (native solver banners are silenced by the library itself: tvspline.solvers.generic)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = tv_fit(
                x, y, args.lam, tuple(args.bounds), weights=w, loss=args.loss,
                delta=args.delta, solver=args.solver, tol=args.tol,
            )
            if args.sparsest:
                result = result.sparsest()
        except SolverFailure as exc:
            print(f"{_PROG} fit: solver failure: {exc}", file=sys.stderr)
            return EXIT_NOT_CERTIFIED
        except Exception as exc:
            raise _InternalError(f"{type(exc).__name__}: {exc}") from exc
    for item in caught:
        print(f"{_PROG} fit: warning: {item.message}", file=sys.stderr)

    b = result.bounds
    weight_text = f", weights={args.weights}" if args.weights else ""
    print(f"data       : {args.data} ({x.size} points, x={args.x}, y={args.y}{weight_text})")
    print(
        f"problem    : lam={result.lam:g}, bounds=[{b.lo:g}, {b.hi:g}], loss={result.loss}"
        + (f" (delta={result.delta:g})" if result.loss == "huber" else "")
        + (", sparsest" if args.sparsest else "")
    )
    print(result.summary())

    if args.out:
        doc = result_to_json(result, args, x.size)
        try:
            with open(args.out, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=2, allow_nan=False)
                fh.write("\n")
        except OSError as exc:
            raise CLIError(f"cannot write {args.out}: {exc}") from None
        print(f"wrote      : {args.out}")
    if args.plot:
        try:
            plot_fit(args.plot, x, y, result, xlabel=args.x, ylabel=args.y, weights=w)
        except OSError as exc:
            raise CLIError(f"cannot write {args.plot}: {exc}") from None
        except ValueError as exc:  # e.g. an unknown image format
            raise CLIError(f"cannot save the plot {args.plot}: {exc}") from None
        print(f"wrote      : {args.plot}")
    return EXIT_OPTIMAL if result.success else EXIT_NOT_CERTIFIED


def main(argv=None) -> int:
    """Run the ``tvspline`` command.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 for a certified optimal fit, 1 for a fit that is not certified optimal or a
        solver failure, 2 for bad input, 3 for an internal failure on valid input (the message is
        printed on stderr). argparse usage errors, ``--help`` and ``--version`` exit through
        ``SystemExit`` with status 2, 0 and 0.

    Examples
    --------
    >>> import os, tempfile
    >>> from tvspline.cli import main
    >>> path = os.path.join(tempfile.mkdtemp(), "data.csv")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("x,y\\n0,0\\n1,1\\n2,1\\n3,0\\n")
    >>> argv = ["fit", path, "--x", "x", "--y", "y", "--lam", "0.1", "--bounds", "-1", "1"]
    >>> main(argv) == 0  # doctest: +ELLIPSIS
    data       : ... (4 points, x=x, y=y)
    ...
    True
    """
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser()
    args = parser.parse_args(_protect_negative_numbers([str(a) for a in argv]))
    try:
        if args.command == "fit":
            return _run_fit(args)
    except CLIError as exc:
        print(f"{_PROG} {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # anything else is a failure of tvspline, not of the input
        text = str(exc) if isinstance(exc, _InternalError) else f"{type(exc).__name__}: {exc}"
        print(
            f"{_PROG} {args.command}: internal error (the input passed every check): {text}; "
            "please report it with the command line and the data",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover - argparse rejects it
    return 2  # pragma: no cover
