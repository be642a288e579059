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


def write_results(base: str, rows: list[dict], header: str) -> None:
    """``base.csv`` (every column of the rows) and ``base.md`` (``header``, then the rows as a
    Markdown table without the provenance columns, numbers to 4 significant digits)."""
    with open(base + ".csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    keys = [k for k in rows[0] if k not in ("version", "commit", "date")]
    with open(base + ".md", "w") as fh:
        fh.write(header + "\n\n| " + " | ".join(keys) + " |\n|" + "---|" * len(keys) + "\n")
        for r in rows:
            fh.write("| " + " | ".join(f"{r[k]:.4g}" if isinstance(r[k], float) else str(r[k]) for k in keys)
                     + " |\n")
