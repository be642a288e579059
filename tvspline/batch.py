"""Many fits: regularisation paths with warm starts, and independent problems in parallel.

:func:`fit_path` solves one data set for a sequence of λ, from the largest down, each fit seeded
by its neighbour's solution (``fit(..., warm_start=previous)``): for the squared loss the
neighbour's slope structure usually needs only a few exact active-set steps, and the solvers run
only when that is not certified.

:func:`fit_many` runs independent problems through joblib, so it uses whatever joblib backend is
active: processes on this machine by default, or a Dask cluster with
``with joblib.parallel_config("dask"): fit_many(...)`` after creating a ``distributed.Client``.
Results come back in the order of the problems whatever the backend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._validate import as_1d_float, show
from .fitting import fit
from .result import FitResult

__all__ = ["fit_path", "fit_many", "PathResult"]


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


def _progress(iterable, total, enabled, desc):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc)


def fit_path(x, y, lams, bounds=(-math.inf, math.inf), *, progress: bool = False, **kwargs) -> PathResult:
    """Fit a whole regularisation path, warm-starting each λ from its neighbour.

    Parameters
    ----------
    x, y, bounds
        As in :func:`tvspline.fit`.
    lams : array_like
        Regularisation weights (any order; solved from the largest down).
    progress : bool
        Show a tqdm progress bar.
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
    for i in _progress(order, lam_arr.size, progress, "lambda path"):
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


def fit_many(problems, *, n_jobs: int = -1, backend: str | None = None, progress: bool = True) -> list:
    """Fit many independent problems in parallel (joblib; Dask through joblib's dask backend).

    Parameters
    ----------
    problems : iterable
        Each item is a dict of :func:`tvspline.fit` keyword arguments (``x``, ``y``, ``lam``,
        ``bounds``...) or a tuple of its positional arguments ``(x, y, lam[, bounds])``.
    n_jobs : int
        Number of workers (-1: all cores), as in joblib.
    backend : str, optional
        A joblib backend name; ``None`` uses the active ``joblib.parallel_config`` (so
        ``with joblib.parallel_config("dask"): fit_many(...)`` runs on a Dask cluster).
    progress : bool
        Show a tqdm progress bar.

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
    >>> res = tvspline.fit_many(probs, n_jobs=1, progress=False)
    >>> [r.success for r in res]
    [True, True, True]
    """
    from joblib import Parallel, delayed

    problems = list(problems)
    for i, prob in enumerate(problems):
        if not isinstance(prob, (dict, tuple, list)):
            raise TypeError(f"problems[{i}] must be a dict of fit arguments or a tuple, got {type(prob).__name__}")
    parallel = Parallel(n_jobs=n_jobs, backend=backend, return_as="generator")
    gen = parallel(delayed(_one)(p) for p in problems)
    return list(_progress(gen, len(problems), progress, "fits"))
