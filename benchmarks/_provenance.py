"""Provenance of a benchmark run: the package version and git commit it was made with.

Every CSV written under ``benchmarks/results`` carries these columns, so that a table generated
from it says which code produced it.

Examples
--------
>>> from benchmarks._provenance import provenance
>>> sorted(provenance())
['commit', 'date', 'version']
"""

from __future__ import annotations

import csv
import datetime
import subprocess
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent


def git_commit() -> str:
    """Short hash of ``HEAD`` with a ``+dirty`` suffix when the work tree differs, or ``unknown``."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=10", "HEAD"], cwd=_ROOT, capture_output=True, text=True,
            check=True, timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "tvspline"], cwd=_ROOT,
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def provenance() -> dict[str, str]:
    """``{'version', 'commit', 'date'}`` of the code that runs the benchmark (date in UTC, ISO)."""
    import tvspline

    return {
        "version": tvspline.__version__,
        "commit": git_commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
    }


def write_results(base: str, rows: list[dict], header: str, *, exclude: tuple[str, ...] = ()) -> None:
    """``base.csv`` (every column of the rows, in order of appearance, but ``exclude``) and
    ``base.md`` (``header``, then the rows as a Markdown table without the provenance columns,
    numbers to 4 significant digits); a row without a column leaves its cell empty."""
    keys = [k for k in dict.fromkeys(k for r in rows for k in r) if k not in exclude]
    with open(base + ".csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    shown = [k for k in keys if k not in ("version", "commit", "date")]
    with open(base + ".md", "w") as fh:
        fh.write(header + "\n\n| " + " | ".join(shown) + " |\n|" + "---|" * len(shown) + "\n")
        for r in rows:
            cells = (r.get(k, "") for k in shown)
            fh.write("| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in cells) + " |\n")
