"""The contract every figure module of :mod:`paper_figures` follows.

Each figure module ``paper_figures/<name>.py`` defines

- ``NAME`` : str, the name used by ``--only`` (equal to the module name);
- ``TITLE`` : str, one line;
- ``make(quick: bool = False) -> FigureOutput`` which computes the numbers through tvspline's
  public API only and draws them with matplotlib.

The runner (``python -m paper_figures``) saves ``figure`` as PNG and PDF, ``table`` as CSV, and
lists ``caption`` and ``checks`` on the index page. Tests call ``make(quick=True)`` and check the
numbers in ``table`` / ``numbers`` independently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.figure


@dataclass
class FigureOutput:
    """What one figure module returns.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
        The drawn figure (axes labelled, legends where there are several curves).
    table : list of dict
        The numbers behind the figure, one dict per CSV row (same keys in every row).
    caption : str
        What the figure shows and what to look for, in a few sentences.
    numbers : dict
        Named scalar facts about the figure that tests check (e.g. ``"max_knot_distance"``).
    checks : dict of str to bool
        The claims the figure illustrates, each evaluated on the computed numbers
        (e.g. ``{"grid values never below the exact optimum": True}``).
    """

    figure: matplotlib.figure.Figure
    table: list[dict]
    caption: str
    numbers: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)
