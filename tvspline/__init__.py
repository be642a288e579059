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
- :class:`SplineNetwork` - layered networks with learned spline activations (exact activation
  steps, certified Lipschitz bound); :func:`fit_layer` - the exact joint activation step.
- :func:`estimate_w1` and :func:`empirical_w1` - Wasserstein-1 by a 1-Lipschitz critic, and exactly.

Submodules: :mod:`tvspline.nn` (networks, weight constraints, baseline activations),
:mod:`tvspline.datasets` (the Lipschitz paper's targets), :mod:`tvspline.wasserstein`.
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
    "SplineNetwork",
    "fit_layer",
    "estimate_w1",
    "empirical_w1",
    "FitResult",
    "Status",
    "SolverFailure",
    "TVSplineWarning",
    "InaccurateSolutionWarning",
]


def __getattr__(name):
    # Lazily import the parts that pull optional or heavy modules.
    if name == "design_matrix":
        from .basis import design_matrix

        return design_matrix
    if name == "SplineRegressor":
        from .estimator import SplineRegressor

        return SplineRegressor
    if name in ("SplineNetwork", "fit_layer"):
        from . import nn

        return getattr(nn, name)
    if name in ("estimate_w1", "empirical_w1"):
        from . import wasserstein

        return getattr(wasserstein, name)
    raise AttributeError(f"module 'tvspline' has no attribute {name!r}")
