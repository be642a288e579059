"""End-to-end tests of the ``tvspline`` command line (tvspline.cli, python -m tvspline)."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import tvspline
from tvspline import LinearSpline, Status
from tvspline.cli import _protect_negative_numbers, main

FIT_OPTIONS = [
    "--x", "--y", "--lam", "--bounds", "--weights", "--loss", "--delta", "--solver", "--tol",
    "--sparsest", "--out", "--plot", "--help",
]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _write_csv(path, columns: dict, extra_rows=()):
    names = list(columns)
    rows = zip(*(columns[n] for n in names))
    with open(path, "w") as fh:
        fh.write(",".join(names) + "\n")
        for row in rows:
            fh.write(",".join(v if isinstance(v, str) else repr(float(v)) for v in row) + "\n")
        for row in extra_rows:
            fh.write(row + "\n")
    return path


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(7)
    x = np.sort(rng.uniform(-3.0, 3.0, 60))
    y = np.abs(x) + 0.5 * np.sin(2 * x) + 0.15 * rng.standard_normal(x.size)
    w = rng.uniform(0.5, 2.0, x.size)
    label = [f"p{i}" for i in range(x.size)]  # a non-numeric column that is never read
    path = _write_csv(tmp_path / "data.csv", {"label": label, "t": x, "signal": y, "w": w})
    return path, x, y, w


def _run(argv, capsys):
    """main(argv) -> (exit code, stdout, stderr); argparse exits become codes too."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_fit_summary_json_and_plot(data, tmp_path, capsys):
    path, x, y, _ = data
    out_json, out_png = tmp_path / "result.json", tmp_path / "fit.png"
    code, out, err = _run(
        ["fit", path, "--x", "t", "--y", "signal", "--lam", "0.1", "--bounds", "-1", "1",
         "--out", out_json, "--plot", out_png],
        capsys,
    )
    assert code == 0, err
    for word in ("objective", "gap", "knots", "status", "OPTIMAL", "60 points"):
        assert word in out
    assert "Traceback" not in err

    ref = tvspline.fit(x, y, 0.1, (-1, 1))
    doc = json.loads(out_json.read_text())
    spline = LinearSpline.from_dict(doc["spline"])
    np.testing.assert_allclose(spline.knots, ref.spline.knots, rtol=0, atol=0)
    np.testing.assert_allclose(spline.values, ref.spline.values, rtol=1e-12, atol=1e-12)
    assert doc["problem"]["lam"] == 0.1
    assert doc["problem"]["bounds"] == [-1.0, 1.0]
    assert doc["problem"]["loss"] == "squared"
    res = doc["result"]
    assert res["status"] == "OPTIMAL" and res["success"] is True
    assert res["objective"] == pytest.approx(ref.objective, rel=1e-12)
    assert res["gap"] >= 0 and res["gap"] <= 1e-9 * max(1.0, res["objective"])
    assert res["n_knots"] == spline.n_knots == len(res["active_knots"])
    assert doc["data"] == {"file": str(path), "x": "t", "y": "signal", "weights": None, "n_points": 60}

    blob = out_png.read_bytes()
    assert blob.startswith(PNG_MAGIC) and len(blob) > 5000


def test_infinite_bounds_weights_and_loss(data, tmp_path, capsys):
    path, x, y, w = data
    out_json = tmp_path / "r.json"
    code, out, err = _run(
        ["fit", path, "--x", "t", "--y", "signal", "--lam", "0.05", "--bounds", "-inf", "1e3",
         "--weights", "w", "--loss", "huber", "--delta", "0.3", "--tol", "1e-7", "--out", out_json],
        capsys,
    )
    assert code == 0, err
    doc = json.loads(out_json.read_text())
    assert doc["problem"]["bounds"] == ["-inf", 1000.0]  # strict JSON: infinities as strings
    assert doc["problem"]["delta"] == 0.3 and doc["problem"]["loss"] == "huber"
    assert doc["problem"]["tol"] == 1e-7
    assert doc["data"]["weights"] == "w"
    ref = tvspline.fit(x, y, 0.05, (-math.inf, 1e3), weights=w, loss="huber", delta=0.3, tol=1e-7)
    assert doc["result"]["objective"] == pytest.approx(ref.objective, rel=1e-9)
    np.testing.assert_allclose(LinearSpline.from_dict(doc["spline"])(x), ref.spline(x), rtol=1e-9, atol=1e-9)


def test_sparsest_gives_no_more_knots(data, tmp_path, capsys):
    path, *_ = data
    docs = []
    for extra in ([], ["--sparsest"]):
        out_json = tmp_path / f"r{len(extra)}.json"
        code, _, err = _run(
            ["fit", path, "--x", "t", "--y", "signal", "--lam", "0.01", "--bounds", "-1", "1",
             "--out", out_json, *extra],
            capsys,
        )
        assert code == 0, err
        docs.append(json.loads(out_json.read_text()))
    plain, sparse = docs
    assert sparse["problem"]["sparsest"] is True
    assert sparse["result"]["n_knots"] <= plain["result"]["n_knots"]
    assert sparse["result"]["objective"] == pytest.approx(plain["result"]["objective"], rel=1e-9)


def test_python_dash_m(data, tmp_path):
    # A fresh process: HiGHS (absolute loss) prints a banner from C code once per process; the CLI
    # sends it to stderr so that stdout holds the summary only.
    path, x, y, _ = data
    out_json = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, "-m", "tvspline", "fit", str(path), "--x", "t", "--y", "signal",
         "--lam", "0.1", "--bounds", "-inf", "inf", "--loss", "absolute", "--out", str(out_json)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("data ")
    assert "objective" in proc.stdout and "knots" in proc.stdout
    doc = json.loads(out_json.read_text())
    ref = tvspline.fit(x, y, 0.1, loss="absolute")
    assert doc["result"]["objective"] == pytest.approx(ref.objective, rel=1e-9)
    spline = LinearSpline.from_dict(doc["spline"])
    np.testing.assert_allclose(spline(x), ref.spline(x), rtol=1e-9, atol=1e-9)


def test_not_optimal_exits_1(data, capsys, monkeypatch):
    path, *_ = data
    real_fit = tvspline.fit

    def inaccurate_fit(*args, **kwargs):
        res = real_fit(*args, **kwargs)
        return dataclasses.replace(res, status=Status.INACCURATE, message="certified gap too large")

    monkeypatch.setattr(tvspline, "fit", inaccurate_fit)
    code, out, _ = _run(["fit", path, "--x", "t", "--y", "signal", "--lam", "0.1"], capsys)
    assert code == 1 and "INACCURATE" in out


def test_solver_failure_exits_1(data, capsys, monkeypatch):
    path, *_ = data

    def failing_fit(*args, **kwargs):
        raise tvspline.SolverFailure("every solver failed: test")

    monkeypatch.setattr(tvspline, "fit", failing_fit)
    code, _, err = _run(["fit", path, "--x", "t", "--y", "signal", "--lam", "0.1"], capsys)
    assert code == 1 and "every solver failed" in err and "Traceback" not in err


# ------------------------------------------------------------------------- bad inputs
def _bad_files(tmp_path):
    return {
        "nonnumeric": _write_csv(tmp_path / "nonnum.csv", {"x": [0.0, 1.0], "y": [1.0, 2.0]},
                                 extra_rows=["2.0,abc"]),
        "empty_cell": _write_csv(tmp_path / "emptycell.csv", {"x": [0.0, 1.0], "y": [1.0, 2.0]},
                                 extra_rows=["2.0,"]),
        "nan": _write_csv(tmp_path / "nan.csv", {"x": [0.0, 1.0], "y": [1.0, 2.0]},
                          extra_rows=["2.0,nan"]),
        "ragged": _write_csv(tmp_path / "ragged.csv", {"x": [0.0, 1.0], "y": [1.0, 2.0]},
                             extra_rows=["2.0,3.0,4.0"]),
        "header_only": _write_csv(tmp_path / "header.csv", {"x": [], "y": []}),
        "empty": _write_csv(tmp_path / "empty.csv", {}),
        "one_site": _write_csv(tmp_path / "one.csv", {"x": [1.0, 1.0], "y": [1.0, 2.0]}),
        "semicolon": _write_text(tmp_path / "semi.csv", "x;y\n0;1\n1;2\n2;0\n"),
        "decimal_comma": _write_text(tmp_path / "comma.csv", "x;y\n0,5;1,25\n1,5;2\n2,5;0\n"),
        "all_zero_w": _write_csv(tmp_path / "zero_w.csv", {"x": [0.0, 1.0, 2.0], "y": [1.0, 2.0, 0.0],
                                                          "w": [0.0, 0.0, 0.0]}),
        "tabs": _write_text(tmp_path / "tabs.csv", "x\ty\n0\t1\n1\t2\n2\t0\n"),
        "duplicate": _write_text(tmp_path / "dup.csv", "x,y,z,y\n0,1,0,5\n1,2,0,6\n2,0,0,7\n"),
    }


def _write_text(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "case, argv, needles",
    [
        ("missing file", ["fit", "{tmp}/nope.csv", "--x", "x", "--y", "y", "--lam", "0.1"],
         ["not found", "nope.csv"]),
        ("directory", ["fit", "{tmp}", "--x", "x", "--y", "y", "--lam", "0.1"], ["directory"]),
        ("missing column", ["fit", "{data}", "--x", "t", "--y", "sig", "--lam", "0.1"],
         ["'sig'", "available columns", "'label'", "'t'", "'signal'", "'w'"]),
        ("missing weights column", ["fit", "{data}", "--x", "t", "--y", "signal", "--lam", "0.1",
                                    "--weights", "weight"], ["'weight'", "available columns"]),
        ("non-numeric", ["fit", "{nonnumeric}", "--x", "x", "--y", "y", "--lam", "0.1"],
         ["column 'y'", "'abc'", "not a number", "row 3"]),
        ("non-numeric x", ["fit", "{data}", "--x", "label", "--y", "signal", "--lam", "0.1"],
         ["column 'label'", "'p0'", "not a number"]),
        ("empty cell", ["fit", "{empty_cell}", "--x", "x", "--y", "y", "--lam", "0.1"],
         ["column 'y'", "empty value"]),
        ("nan", ["fit", "{nan}", "--x", "x", "--y", "y", "--lam", "0.1"], ["'nan'", "finite"]),
        ("ragged", ["fit", "{ragged}", "--x", "x", "--y", "y", "--lam", "0.1"], ["3 fields", "header"]),
        ("header only", ["fit", "{header_only}", "--x", "x", "--y", "y", "--lam", "0.1"], ["no data rows"]),
        ("empty file", ["fit", "{empty}", "--x", "x", "--y", "y", "--lam", "0.1"], ["empty"]),
        ("one site", ["fit", "{one_site}", "--x", "x", "--y", "y", "--lam", "0.1"], ["2 distinct sites"]),
        ("negative lam", ["fit", "{data}", "--x", "t", "--y", "signal", "--lam", "-1"], ["lam", ">= 0"]),
        ("bad lam", ["fit", "{data}", "--x", "t", "--y", "signal", "--lam", "abc"], ["--lam", "'abc'"]),
        ("bounds order", ["fit", "{data}", "--x", "t", "--y", "signal", "--lam", "0.1",
                          "--bounds", "1", "-1"], ["s_min", "s_max"]),
        ("bad bound", ["fit", "{data}", "--x", "t", "--y", "signal", "--lam", "0.1",
                       "--bounds", "0", "big"], ["--bounds", "'big'"]),
        ("bad delta", ["fit", "{data}", "--x", "t", "--y", "signal", "--lam", "0.1",
                       "--loss", "huber", "--delta", "0"], ["delta"]),
        ("bad loss", ["fit", "{data}", "--x", "t", "--y", "signal", "--lam", "0.1", "--loss", "l1"],
         ["--loss", "'l1'"]),
        ("bad solver", ["fit", "{data}", "--x", "t", "--y", "signal", "--lam", "0.1", "--solver", "x"],
         ["--solver"]),
        ("missing --lam", ["fit", "{data}", "--x", "t", "--y", "signal"], ["--lam"]),
        ("plot format", ["fit", "{data}", "--x", "t", "--y", "signal", "--lam", "0.1",
                         "--plot", "{tmp}/fit.xyz"], ["fit.xyz", "'xyz'", "png"]),
        ("out dir", ["fit", "{data}", "--x", "t", "--y", "signal", "--lam", "0.1",
                     "--out", "{tmp}/no/such/dir/r.json"], ["cannot write", "r.json"]),
        ("no command", [], ["COMMAND"]),
        ("semicolons", ["fit", "{semicolon}", "--x", "x", "--y", "y", "--lam", "0.1"],
         ["column 'x' not found", "'x;y'", "separated by semicolons", "comma-separated"]),
        ("decimal comma", ["fit", "{decimal_comma}", "--x", "x", "--y", "y", "--lam", "0.1"],
         ["separated by semicolons", "decimal comma"]),
        ("tabs", ["fit", "{tabs}", "--x", "x", "--y", "y", "--lam", "0.1"], ["separated by tabs"]),
        ("semicolon column", ["fit", "{semicolon}", "--x", "x;y", "--y", "x;y", "--lam", "0.1"],
         ["'0;1' is not a number", "separated by semicolons"]),
        ("duplicate column", ["fit", "{duplicate}", "--x", "x", "--y", "y", "--lam", "0.1"],
         ["column 'y' appears 2 times", "columns 2, 4", "distinct"]),
        ("delta without huber", ["fit", "{data}", "--x", "t", "--y", "signal", "--lam", "0.1",
                                 "--delta", "0.5"], ["delta", "loss='huber'", "loss='squared'"]),
        ("all weights zero", ["fit", "{all_zero_w}", "--x", "x", "--y", "y", "--lam", "0.1",
                              "--weights", "w"], ["weights are all zero"]),
    ],
)
def test_bad_input_exits_2(case, argv, needles, data, tmp_path, capsys):
    names = {"tmp": str(tmp_path), "data": str(data[0])}
    names.update({k: str(v) for k, v in _bad_files(tmp_path).items()})
    code, out, err = _run([a.format(**names) for a in argv], capsys)
    assert code == 2, (case, out, err)
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (case, needle, err)
    assert "objective" not in out  # every problem is reported before fitting
    assert not (tmp_path / "fit.xyz").exists()


def test_duplicate_columns_not_read_are_allowed(tmp_path, capsys):
    path = _write_text(tmp_path / "d.csv", "x,y,note,note\n0,1,a,b\n1,2,c,d\n2,0,e,f\n")
    code, out, err = _run(["fit", path, "--x", "x", "--y", "y", "--lam", "0.1"], capsys)
    assert code == 0, err


@pytest.mark.parametrize("error", [RuntimeError("boom"), TypeError("cannot unpack"), ValueError("inner")])
def test_internal_failure_exits_3_not_2(data, capsys, monkeypatch, error):
    """An exception raised inside the fit on input that passed every check is not bad input."""
    path, *_ = data

    def broken_fit(*args, **kwargs):
        raise error

    monkeypatch.setattr(tvspline, "fit", broken_fit)
    code, out, err = _run(["fit", path, "--x", "t", "--y", "signal", "--lam", "0.1"], capsys)
    assert code == 3, err
    assert "internal error" in err and str(error) in err and type(error).__name__ in err
    assert "Traceback" not in err


def test_help_documents_the_exit_statuses(capsys):
    code, out, _ = _run(["fit", "--help"], capsys)
    assert code == 0
    text = " ".join(out.split())
    for needle in ["exit status:", "0 the fit is certified optimal", "2 bad usage or bad input",
                   "3 internal failure"]:
        assert needle in text, needle


# ------------------------------------------------------------------------- help and version
def test_help_mentions_every_option(capsys):
    code, out, _ = _run(["fit", "--help"], capsys)
    assert code == 0
    for option in FIT_OPTIONS:
        assert option in out, option
    for word in ("DATA.csv", "example", "inf", "squared", "absolute", "huber", "clarabel", "exit status"):
        assert word in out, word
    code, out, _ = _run(["--help"], capsys)
    assert code == 0
    for word in ("--version", "fit", "example"):
        assert word in out


def test_version(capsys):
    code, out, _ = _run(["--version"], capsys)
    assert code == 0 and out.strip() == f"tvspline {tvspline.__version__}"


def test_negative_numbers_are_values():
    argv = ["fit", "d.csv", "--bounds", "-inf", "-1e-3", "--lam", "-2", "--x", "-x"]
    assert _protect_negative_numbers(argv) == [
        "fit", "d.csv", "--bounds", " -inf", " -1e-3", "--lam", " -2", "--x", "-x",
    ]
