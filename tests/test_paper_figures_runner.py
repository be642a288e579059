"""The ``python -m paper_figures`` runner: files, CSV, index page, exit codes, failures isolated."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import types

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

import paper_figures  # noqa: E402
from paper_figures import runner  # noqa: E402
from paper_figures._common import FigureOutput  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAKE = "_fake_figure_for_tests"
FAKE_BAD_CHECK = "_fake_failing_check_for_tests"
MISSING = "_no_such_figure_module"
BROKEN = "_fake_broken_figure_for_tests"


def _fake_module(name, check_ok=True):
    mod = types.ModuleType(f"paper_figures.{name}")
    mod.NAME = name
    mod.TITLE = f"Fake figure {name} <b>escaped</b>"

    def make(quick=False):
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1], label="line")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.legend()
        table = [{"a": 1, "b": 0.1}, {"a": 2, "b": float("inf")}]
        return FigureOutput(fig, table, caption=f"Caption of {name} & <friends>.",
                            numbers={"answer": 42, "quick": quick},
                            checks={"the claim holds": check_ok})

    mod.make = make
    return mod


@pytest.fixture
def fake_figures(monkeypatch):
    monkeypatch.setitem(sys.modules, f"paper_figures.{FAKE}", _fake_module(FAKE))
    monkeypatch.setitem(sys.modules, f"paper_figures.{FAKE_BAD_CHECK}", _fake_module(FAKE_BAD_CHECK, False))
    broken = types.ModuleType(f"paper_figures.{BROKEN}")
    broken.TITLE = "A figure whose make raises"

    def make(quick=False):
        raise RuntimeError("deliberate failure in make")

    broken.make = make
    monkeypatch.setitem(sys.modules, f"paper_figures.{BROKEN}", broken)
    monkeypatch.setattr(paper_figures, "FIGURES", [MISSING, FAKE, BROKEN, FAKE_BAD_CHECK])


def test_run_outputs_and_isolated_failures(fake_figures, tmp_path):
    out = tmp_path / "figs"
    result = runner.run(quick=True, out=str(out), progress=False)  # names from the patched FIGURES
    assert not result["ok"]
    entries = {e["name"]: e for e in result["entries"]}
    assert list(entries) == [MISSING, FAKE, BROKEN, FAKE_BAD_CHECK]
    assert not entries[BROKEN]["ok"] and "deliberate failure in make" in entries[BROKEN]["error"]
    # the missing module is reported, the others still ran
    assert not entries[MISSING]["ok"] and "does not exist" in entries[MISSING]["error"]
    assert entries[FAKE]["ok"] and entries[FAKE]["passed"]
    assert entries[FAKE_BAD_CHECK]["ok"] and not entries[FAKE_BAD_CHECK]["passed"]
    for name in (FAKE, FAKE_BAD_CHECK):
        for ext in ("png", "pdf", "csv"):
            path = out / f"{name}.{ext}"
            assert path.is_file() and path.stat().st_size > 0, path
        with open(out / f"{name}.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert [list(r) for r in rows] == [["a", "b"], ["a", "b"]]
        assert float(rows[0]["b"]) == 0.1 and rows[1]["b"] == "inf"
    assert not (out / f"{MISSING}.png").exists()
    page = (out / "index.html").read_text()
    assert MISSING in page and "does not exist" in page
    assert BROKEN in page and "deliberate failure in make" in page
    assert f"Caption of {FAKE} &amp; &lt;friends&gt;." in page  # escaped
    assert "&lt;b&gt;escaped&lt;/b&gt;" in page
    assert f'src="{FAKE}.png"' in page and f'href="{FAKE}.csv"' in page and f'href="{FAKE}.pdf"' in page
    assert "the claim holds" in page and "FAIL" in page
    assert "quick" in page and "0.1.0" in page


def test_main_exit_code_for_missing_module(fake_figures, tmp_path, capsys):
    rc = runner.main(["--quick", "--only", FAKE, "--out", str(tmp_path), "--no-progress"])
    assert rc == 0
    rc = runner.main(["--quick", "--only", FAKE, MISSING, "--out", str(tmp_path), "--no-progress"])
    assert rc == 1
    assert MISSING in capsys.readouterr().err
    rc = runner.main(["--only", FAKE_BAD_CHECK, "--out", str(tmp_path), "--no-progress"])
    assert rc == 1


def test_unknown_only_name_is_an_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        runner.main(["--quick", "--only", "grid_convergence", "no_such_figure", "--out", str(tmp_path)])
    assert exc.value.code != 0
    err = capsys.readouterr().err
    assert "no_such_figure" in err and "grid_convergence" in err  # names it, lists the valid ones
    assert not (tmp_path / "index.html").exists()


def test_figures_list_unchanged():
    assert paper_figures.FIGURES[:4] == ["grid_convergence", "constraints", "regularisation_path", "sparsest"]
    assert len(paper_figures.FIGURES) == len(set(paper_figures.FIGURES))


def test_command_line_quick_grid_convergence(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg")
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "paper_figures", "--quick", "--only", "grid_convergence", "--out", str(out),
         "--no-progress"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for ext in ("png", "pdf", "csv"):
        assert (out / f"grid_convergence.{ext}").stat().st_size > 0
    assert (out / "grid_convergence.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "grid_convergence.pdf").read_bytes()[:5] == b"%PDF-"
    with open(out / "grid_convergence.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        cols = reader.fieldnames
    for col in ("bound", "N", "grid_value", "exact_value", "exact_gap"):
        assert col in cols
    assert len(rows) >= 3 * 4
    for r in rows:
        assert float(r["grid_value"]) >= float(r["exact_value"]) - float(r["exact_gap"]) - 1e-9 * max(
            1.0, abs(float(r["exact_value"])))
    page = (out / "index.html").read_text()
    from paper_figures import grid_convergence

    assert "grid_convergence" in page and grid_convergence.TITLE in page
    assert "tvspline.nn.fit_layer" in page  # from the caption
    assert "pass" in page and "FAIL" not in page


def test_unknown_only_name_command_line(tmp_path):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg")
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "paper_figures", "--only", "not_a_figure", "--out", str(tmp_path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "not_a_figure" in proc.stderr
