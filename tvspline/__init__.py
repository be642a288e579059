"""tvspline: exact learning of slope-constrained TV2-regularised linear-spline nonlinearities.

The public API:

- :class:`LinearSpline` - continuous piecewise-linear functions with nonuniform knots.
- :class:`SlopeBounds` and the presets :func:`lipschitz`, :func:`monotone`,
  :func:`firmly_nonexpansive`, :func:`invertible`.
- :func:`fit` - the exact single-activation fit, returning a :class:`FitResult` with a certified
  optimality gap; :func:`lambda_max`.
- :func:`fit_path` (a λ path with warm starts) and :func:`fit_many` (independent fits through
  joblib, Dask-ready).
- :class:`SplineRegressor` - a scikit-learn style estimator around :func:`fit`.
- :func:`design_matrix` - the sparse hat-basis matrix on nonuniform knots.

Submodules: :mod:`tvspline.nn` (spline networks and :func:`~tvspline.nn.fit_layer`, weight
constraints, baseline activations, the Wasserstein-1 tools :func:`~tvspline.nn.estimate_w1` and
:func:`~tvspline.nn.empirical_w1`), :mod:`tvspline.imaging` (learned ridge regularisers),
:mod:`tvspline.datasets` (the Lipschitz paper's targets). Submodules load on first access
(``tvspline.nn``) as well as by ``import tvspline.nn``.

The names ``tvspline.SplineNetwork``, ``tvspline.fit_layer``, ``tvspline.estimate_w1`` and
``tvspline.empirical_w1`` still work but are deprecated (a ``DeprecationWarning``): import them from
:mod:`tvspline.nn`.
"""

from .bounds import SlopeBounds, firmly_nonexpansive, invertible, lipschitz, monotone, unbounded
from .exceptions import InaccurateSolutionWarning, TVSplineWarning
from .batch import PathResult, fit_many, fit_path
from .fitting import fit, lambda_max
from .result import FitResult, Status
from .solvers.base import SolverFailure
from .spline import LinearSpline

__version__ = "0.1.0"

__all__ = [
    "LinearSpline",
    "SlopeBounds",
    "lipschitz",
    "monotone",
    "firmly_nonexpansive",
    "invertible",
    "unbounded",
    "fit",
    "lambda_max",
    "fit_path",
    "fit_many",
    "PathResult",
    "SplineRegressor",
    "design_matrix",
    "FitResult",
    "Status",
    "SolverFailure",
    "TVSplineWarning",
    "InaccurateSolutionWarning",
]

#: Public names imported on first access (they pull heavier modules).
_LAZY = {"design_matrix": "basis", "SplineRegressor": "estimator"}
#: Names that moved to :mod:`tvspline.nn`; the old top-level access warns.
_MOVED_TO_NN = ("SplineNetwork", "fit_layer", "estimate_w1", "empirical_w1")
#: Submodules available as attributes without an explicit import.
_SUBMODULES = ("nn", "imaging", "datasets", "wasserstein", "basis", "bounds", "spline", "batch", "estimator",
               "cli", "exceptions", "solvers")


def __getattr__(name):
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    if name in _MOVED_TO_NN:
        import warnings

        warnings.warn(
            f"tvspline.{name} is deprecated and will be removed; use tvspline.nn.{name} "
            f"(from tvspline.nn import {name})",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(".nn", __name__), name)
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'tvspline' has no attribute {name!r}")


def __dir__():
    public = {n for n in globals() if not n.startswith("_")}
    return sorted(public | set(__all__) | set(_SUBMODULES) | {"__version__"})
