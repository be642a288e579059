"""Regenerate the paper figures: ``python -m paper_figures [--quick] [--only NAME ...] --out DIR``.

For every figure module listed in :data:`paper_figures.FIGURES` (imported lazily, so one missing
or broken module does not stop the others) the runner calls ``make(quick)`` and saves

- ``DIR/NAME.png`` and ``DIR/NAME.pdf`` (the figure),
- ``DIR/NAME.csv`` (``table``, one row per dict),

then writes ``DIR/index.html`` with every figure's title, image, caption, checks, numbers, links
and wall time. The exit code is 0 only when every figure was made and every check holds.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import html
import importlib
import math
import os
import sys
import time
import traceback

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["run", "main", "write_csv", "write_index"]

PNG_DPI = 110


def _fmt(value) -> str:
    """A short text form of a number or anything else, for the index page."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.6g}"
    return str(value)


def _cell(value):
    """A CSV cell: floats with full precision (repr), numpy scalars as Python scalars."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, float):
        return repr(value)
    return value


def write_csv(path: str, table: list) -> None:
    """Write ``table`` (list of dicts with the same keys) as CSV; an empty table gives an empty file."""
    rows = list(table or [])
    with open(path, "w", newline="", encoding="utf-8") as fh:
        if not rows:
            return
        keys = list(rows[0].keys())
        for i, row in enumerate(rows):
            if list(row.keys()) != keys:
                raise ValueError(f"table row {i} has keys {list(row.keys())}, expected {keys}")
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})


def _run_one(name: str, quick: bool, out: str) -> dict:
    entry = {"name": name, "title": name, "ok": False, "error": None, "caption": "", "checks": {},
             "numbers": {}, "time": 0.0, "files": {}}
    start = time.perf_counter()
    fig = None
    try:
        module = importlib.import_module(f"{__package__}.{name}")
        entry["title"] = getattr(module, "TITLE", name)
        result = module.make(quick)
        fig = result.figure
        entry["caption"] = result.caption
        entry["checks"] = {str(k): bool(v) for k, v in dict(result.checks).items()}
        entry["numbers"] = dict(result.numbers)
        png = os.path.join(out, f"{name}.png")
        pdf = os.path.join(out, f"{name}.pdf")
        csv_path = os.path.join(out, f"{name}.csv")
        fig.savefig(png, dpi=PNG_DPI)
        fig.savefig(pdf)
        write_csv(csv_path, result.table)
        entry["files"] = {"png": f"{name}.png", "pdf": f"{name}.pdf", "csv": f"{name}.csv"}
        entry["n_rows"] = len(result.table)
        entry["ok"] = True
    except ModuleNotFoundError as exc:
        missing = f"{__package__}.{name}"
        if exc.name == missing:
            entry["error"] = f"figure module {missing} does not exist"
        else:
            entry["error"] = "".join(traceback.format_exception(exc))
    except Exception as exc:  # a broken figure must not stop the others
        entry["error"] = "".join(traceback.format_exception(exc))
    finally:
        if fig is not None:
            plt.close(fig)
        plt.close("all")
    entry["time"] = time.perf_counter() - start
    entry["passed"] = entry["ok"] and all(entry["checks"].values())
    return entry


_CSS = """
body { font-family: sans-serif; max-width: 1150px; margin: 2em auto; color: #222; }
section { border-top: 1px solid #ccc; padding: 1em 0; }
img { max-width: 100%; border: 1px solid #eee; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: left; }
.pass { color: #1a7f37; font-weight: bold; } .fail { color: #c62828; font-weight: bold; }
pre { background: #fff4f4; padding: 0.5em; overflow-x: auto; font-size: 0.85em; }
.caption { max-width: 60em; } .meta { color: #555; }
"""


def write_index(path: str, entries: list, *, quick: bool, total_time: float) -> None:
    """Write the index page for the figure ``entries`` returned by :func:`run`."""
    import tvspline

    e = html.escape
    n_pass = sum(1 for it in entries if it["passed"])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>tvspline paper figures</title>',
        f"<style>{_CSS}</style></head><body>",
        "<h1>tvspline: the papers' figures, regenerated</h1>",
        '<p class="meta">',
        f"mode: <b>{'quick' if quick else 'full'}</b> &middot; ",
        f"total time: {total_time:.1f} s &middot; ",
        f"tvspline {e(str(tvspline.__version__))} &middot; ",
        f"python {e(sys.version.split()[0])} &middot; ",
        f"matplotlib {e(matplotlib.__version__)} &middot; ",
        f"date: {e(datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M:%S %Z'))}<br>",
        f"{n_pass} of {len(entries)} figures made with every check passing.</p>",
        "<ul>",
    ]
    for it in entries:
        status = "pass" if it["passed"] else "fail"
        parts.append(f'<li><a href="#{e(it["name"])}">{e(it["name"])}</a>: {e(it["title"])} '
                     f'<span class="{status}">{status}</span></li>')
    parts.append("</ul>")
    for it in entries:
        name = it["name"]
        status = "pass" if it["passed"] else "fail"
        parts.append(f'<section id="{e(name)}">')
        parts.append(f'<h2>{e(name)}: {e(it["title"])} <span class="{status}">[{status}]</span></h2>')
        if it["error"]:
            parts.append("<p class=\"fail\">ERROR: the figure could not be made.</p>")
            parts.append(f"<pre>{e(it['error'])}</pre>")
        if it["files"]:
            parts.append(f'<img src="{e(it["files"]["png"])}" alt="{e(it["title"])}">')
        if it["caption"]:
            parts.append(f'<p class="caption">{e(it["caption"])}</p>')
        if it["checks"]:
            parts.append("<table><tr><th>check</th><th>result</th></tr>")
            for claim, ok in it["checks"].items():
                cls = "pass" if ok else "fail"
                parts.append(f'<tr><td>{e(claim)}</td><td class="{cls}">{"pass" if ok else "FAIL"}</td></tr>')
            parts.append("</table>")
        if it["numbers"]:
            parts.append("<table><tr><th>number</th><th>value</th></tr>")
            for key, val in it["numbers"].items():
                parts.append(f"<tr><td>{e(str(key))}</td><td>{e(_fmt(val))}</td></tr>")
            parts.append("</table>")
        links = []
        if it["files"]:
            links.append(f'<a href="{e(it["files"]["csv"])}">CSV ({it.get("n_rows", 0)} rows)</a>')
            links.append(f'<a href="{e(it["files"]["pdf"])}">PDF</a>')
            links.append(f'<a href="{e(it["files"]["png"])}">PNG</a>')
        links.append(f"time {it['time']:.2f} s")
        parts.append(f'<p class="meta">{" &middot; ".join(links)}</p>')
        parts.append("</section>")
    parts.append("</body></html>")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(parts) + "\n")


def run(names=None, quick: bool = False, out: str = "paper_figures_out", progress: bool = True) -> dict:
    """Make the figures ``names`` (default: all of :data:`FIGURES`), save them under ``out``.

    Returns
    -------
    dict
        ``{"ok": bool, "entries": [...], "total_time": float, "index": path, "quick": bool}``;
        each entry has ``name, title, ok, passed, error, caption, checks, numbers, time, files``.
        ``ok`` is True when every figure was made and all its checks hold.
    """
    from . import FIGURES as figures  # read at call time (tests may monkeypatch it)

    names = list(figures) if names is None else list(names)
    os.makedirs(out, exist_ok=True)
    start = time.perf_counter()
    entries = []
    iterator = names
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(names, desc="paper figures", unit="fig")
        iterator = bar
    for name in iterator:
        if bar is not None:
            bar.set_postfix_str(name)
        entries.append(_run_one(name, quick, out))
    if bar is not None:
        bar.close()
    total = time.perf_counter() - start
    index = os.path.join(out, "index.html")
    write_index(index, entries, quick=quick, total_time=total)
    ok = all(it["passed"] for it in entries)
    return {"ok": ok, "entries": entries, "total_time": total, "index": index, "quick": quick}


def _parser(valid) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m paper_figures",
        description="Regenerate the figures of the papers tvspline implements (PNG, PDF, CSV and "
                    "an index page).")
    p.add_argument("--quick", action="store_true", help="small sizes: every figure in seconds")
    p.add_argument("--only", nargs="+", metavar="NAME",
                   help=f"make only these figures; valid names: {', '.join(valid)}")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (created)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv=None) -> int:
    from . import FIGURES as figures

    valid = list(figures)
    parser = _parser(valid)
    args = parser.parse_args(argv)
    if args.only:
        unknown = [n for n in args.only if n not in valid]
        if unknown:
            parser.error(f"unknown figure name(s) for --only: {', '.join(unknown)}; "
                         f"valid names: {', '.join(valid)}")
        names = list(dict.fromkeys(args.only))
    else:
        names = valid
    result = run(names, quick=args.quick, out=args.out, progress=not args.no_progress)
    for it in result["entries"]:
        if it["error"]:
            first = it["error"].strip().splitlines()[-1]
            print(f"FAILED  {it['name']}: {first}", file=sys.stderr)
        elif not it["passed"]:
            bad = [k for k, v in it["checks"].items() if not v]
            print(f"CHECK FAILED  {it['name']}: {'; '.join(bad)}", file=sys.stderr)
        else:
            print(f"ok      {it['name']}  ({it['time']:.1f} s)")
    print(f"{sum(it['passed'] for it in result['entries'])}/{len(result['entries'])} figures ok, "
          f"{result['total_time']:.1f} s; index: {result['index']}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
