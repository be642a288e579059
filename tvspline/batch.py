"""Many fits: regularisation paths with warm starts, and independent problems in parallel.

:func:`fit_path` solves one data set for a sequence of λ, from the largest down, each fit seeded
by its neighbour's solution (``fit(..., warm_start=previous)``): for the squared loss the
neighbour's slope structure usually needs only a few exact active-set steps, and the solvers run
only when that is not certified.

:func:`fit_many` runs independent problems through joblib, so it uses whatever joblib backend is
active: processes on this machine by default, or a Dask cluster with
``with joblib.parallel_config("dask"): fit_many(...)`` after creating a ``distributed.Client``.
Results come back in the order of the problems whatever the backend.

Worker processes pay a start-up cost (each imports tvspline and loads its compiled kernels) that a
batch of small fits never earns back, so ``n_jobs=None`` (the default) chooses with
:func:`auto_n_jobs`: serial below :data:`PARALLEL_MIN_POINTS` data points in all, otherwise one
process per core (``benchmarks/fit_many.py`` measures the crossover).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from ._progress import progress as _progress_bar
from ._validate import as_1d_float, show
from .fitting import fit
from .result import FitResult

__all__ = ["fit_path", "fit_many", "auto_n_jobs", "PathResult", "PARALLEL_MIN_POINTS"]

#: ``fit_many(n_jobs=None)`` starts worker processes only when the problems hold at least this many
#: data points in all (and there are at least two problems); below it the fits run in the calling
#: process. ``benchmarks/fit_many.py`` measures a worker's start-up (interpreter, ``import tvspline``,
#: compiled kernels) at about 1.6 s of CPU and a fit at 2.4 to 4.9 microseconds per point, so two
#: workers break even between about 0.65 and 1.35 million points; more cores lower the crossover.
PARALLEL_MIN_POINTS = 1_000_000


@dataclass(frozen=True)
class PathResult:
    """Fits along a regularisation path, in the order of ``lams`` as given.

    Attributes
    ----------
    lams, objective, data_fit, tv2, gap, n_knots : ndarray
        One entry per λ.
    results : list of FitResult
        The full results.

    Examples
    --------
    >>> import numpy as np, tvspline
    >>> x = np.linspace(0, 1, 30); y = np.sin(6 * x)
    >>> path = tvspline.fit_path(x, y, [1e-3, 1e-2, 1e-1])
    >>> len(path), bool(path.success), path[0].lam == 1e-3
    (3, True, True)
    """

    lams: np.ndarray
    objective: np.ndarray
    data_fit: np.ndarray
    tv2: np.ndarray
    gap: np.ndarray
    n_knots: np.ndarray
    results: list

    @property
    def success(self) -> bool:
        """True when every fit on the path is certified optimal."""
        return all(r.success for r in self.results)

    def __len__(self):
        return len(self.results)

    def __getitem__(self, i) -> FitResult:
        return self.results[i]

    def __repr__(self):
        n = len(self.results)
        if n == 0:
            return "PathResult(0 values of lam)"
        counts: dict = {}
        for r in self.results:
            counts[r.status.name] = counts.get(r.status.name, 0) + 1
        statuses = ", ".join(f"{k} {v}" for k, v in counts.items())
        return (
            f"PathResult({n} values of lam in [{float(np.min(self.lams)):.4g}, {float(np.max(self.lams)):.4g}], "
            f"{statuses}, max gap {float(np.max(self.gap)):.3e}, knots {int(np.min(self.n_knots))}.."
            f"{int(np.max(self.n_knots))})"
        )


def fit_path(x, y, lams, bounds=(-math.inf, math.inf), *, progress: bool | None = False, **kwargs) -> PathResult:
    """Fit a whole regularisation path, warm-starting each λ from its neighbour.

    Parameters
    ----------
    x, y, bounds
        As in :func:`tvspline.fit`.
    lams : array_like
        Regularisation weights (any order; solved from the largest down).
    progress : bool or None, default False
        Show a tqdm progress bar; ``None`` shows it only when standard error is a terminal.
    **kwargs
        Passed to :func:`tvspline.fit` (``weights``, ``loss``, ``solver``, ``tol``...).

    Returns
    -------
    PathResult

    Examples
    --------
    >>> import numpy as np, tvspline
    >>> x = np.linspace(-1, 1, 40); y = np.abs(x) + 0.1 * np.sin(9 * x)
    >>> path = tvspline.fit_path(x, y, [1e-3, 1e-2, 1e-1], bounds=(-1, 1))
    >>> path.success, bool(np.all(np.diff(path.objective) >= 0))
    (True, True)
    """
    lam_arr = as_1d_float(lams, "lams")
    if (lam_arr < 0).any():
        raise ValueError(f"lams must be >= 0, got {show(lam_arr[lam_arr < 0][0])}")
    if "warm_start" in kwargs:
        raise TypeError("fit_path chains warm starts itself; do not pass warm_start")
    order = np.argsort(-lam_arr, kind="stable")
    results: list = [None] * lam_arr.size
    previous = None
    with _progress_bar(order, enabled=progress, desc="lambda path", unit=" fits") as bar:
        for i in bar:
            previous = fit(x, y, float(lam_arr[i]), bounds, warm_start=previous, **kwargs)
            results[i] = previous
    return PathResult(
        lams=lam_arr,
        objective=np.array([r.objective for r in results]),
        data_fit=np.array([r.data_fit for r in results]),
        tv2=np.array([r.tv2 for r in results]),
        gap=np.array([r.gap for r in results]),
        n_knots=np.array([r.n_knots for r in results]),
        results=results,
    )


def _one(problem):
    if isinstance(problem, dict):
        return fit(**problem)
    return fit(*problem)


def _n_points(problem) -> int:
    x = problem.get("x") if isinstance(problem, dict) else (problem[0] if len(problem) else None)
    try:
        return int(np.size(x))
    except Exception:  # malformed problems are reported by fit itself
        return 0


def auto_n_jobs(problems) -> int:
    """The number of worker processes ``fit_many(n_jobs=None)`` uses for ``problems``.

    1 (serial, no worker processes) when there are fewer than two problems or fewer than
    :data:`PARALLEL_MIN_POINTS` data points in all; otherwise one worker per problem up to the
    number of cores.

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline.batch import auto_n_jobs
    >>> small = [dict(x=np.zeros(100), y=np.zeros(100), lam=0.1)] * 20
    >>> auto_n_jobs(small)
    1
    """
    from joblib import cpu_count

    problems = list(problems)
    total = sum(_n_points(p) for p in problems if isinstance(p, (dict, tuple, list)))
    if len(problems) < 2 or total < PARALLEL_MIN_POINTS:
        return 1
    return max(1, min(len(problems), cpu_count()))


def _choose_n_jobs(n_jobs, backend, problems):
    """``n_jobs`` for joblib: as given, or chosen when ``None`` (see :func:`fit_many`)."""
    if n_jobs is not None:
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
            raise ValueError(f"n_jobs must be None or a nonzero integer (-1: all cores), got {n_jobs!r}")
        return int(n_jobs)
    from joblib.parallel import get_active_backend

    active, context_jobs = get_active_backend()
    if context_jobs is not None:  # joblib.parallel_config(n_jobs=...) decides
        return None
    if backend is not None or type(active).__name__ != "LokyBackend":  # a backend chosen by the user
        return -1
    return auto_n_jobs(problems)


def fit_many(problems, *, n_jobs: int | None = None, backend: str | None = None,
             progress: bool | None = None) -> list:
    """Fit many independent problems, in parallel when that pays (joblib; Dask through joblib).

    Parameters
    ----------
    problems : iterable
        Each item is a dict of :func:`tvspline.fit` keyword arguments (``x``, ``y``, ``lam``,
        ``bounds``...) or a tuple of its positional arguments ``(x, y, lam[, bounds])``.
    n_jobs : int or None, default None
        Number of workers (-1: all cores), as in joblib. ``None`` chooses: the ``n_jobs`` of an
        active ``joblib.parallel_config``; all workers of a backend chosen by ``backend`` or
        ``parallel_config``; otherwise :func:`auto_n_jobs` (serial for small batches, where
        starting worker processes costs more than the fits).
    backend : str, optional
        A joblib backend name; ``None`` uses the active ``joblib.parallel_config`` (so
        ``with joblib.parallel_config("dask"): fit_many(...)`` runs on a Dask cluster).
    progress : bool or None, default None
        Show a tqdm progress bar; ``None`` shows it only when standard error is a terminal.

    Returns
    -------
    list of FitResult
        In the order of ``problems``.

    Examples
    --------
    >>> import numpy as np, tvspline
    >>> rng = np.random.default_rng(0)
    >>> probs = [dict(x=rng.uniform(-1, 1, 30), y=rng.standard_normal(30), lam=0.1, bounds=(-1, 1))
    ...          for _ in range(3)]
    >>> res = tvspline.fit_many(probs)   # 90 points in all: run serially, no worker processes
    >>> [r.success for r in res]
    [True, True, True]
    """
    problems = list(problems)
    for i, prob in enumerate(problems):
        if not isinstance(prob, (dict, tuple, list)):
            raise TypeError(f"problems[{i}] must be a dict of fit arguments or a tuple, got {type(prob).__name__}")
    jobs = _choose_n_jobs(n_jobs, backend, problems)
    if jobs == 1 and backend is None:
        results = (_one(p) for p in problems)
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=jobs, backend=backend, return_as="generator")(delayed(_one)(p) for p in problems)
    with _progress_bar(results, enabled=progress, desc="fits", unit=" fits", total=len(problems)) as bar:
        return list(bar)
