"""The result of a fit: a spline with its recomputed objective and certified optimality gap."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

import numpy as np

from .bounds import SlopeBounds
from .losses import spline_objective
from .spline import LinearSpline

__all__ = ["FitResult", "Status"]


class Status(enum.IntEnum):
    """Outcome of a fit.

    ======================  ===  ==================================================================
    ``OPTIMAL``             0    feasible spline, ``gap <= tol * max(1, objective)``
    ``INACCURATE``          1    feasible spline, certified gap above the tolerance (see message)
    ``ITERATION_LIMIT``     2    a solver stopped at its iteration cap; feasible spline, gap given
    ``SOLVER_FAILED``       4    no solver produced an answer: the spline is the best affine fit
                                 (feasible, with its honest gap), not a minimiser
    ======================  ===  ==================================================================

    Examples
    --------
    >>> from tvspline import Status
    >>> [s.name for s in Status][:2]
    ['OPTIMAL', 'INACCURATE']
    """

    OPTIMAL = 0
    INACCURATE = 1
    ITERATION_LIMIT = 2
    SOLVER_FAILED = 4


@dataclass(frozen=True)
class FitResult:
    """Result of :func:`tvspline.fit`.

    Attributes
    ----------
    spline : LinearSpline
        The fitted function, knots at data sites, every slope within the bounds.
    objective : float
        ``data_fit + lam * tv2``, recomputed from ``spline`` on the original data.
    data_fit : float
        The data term of ``spline``.
    tv2 : float
        ``spline.tv2()``.
    lower_bound : float
        A certified lower bound on the optimal objective (weak duality, from an explicitly built
        dual-feasible point).
    gap : float
        ``objective - lower_bound`` (>= 0): the spline is optimal to within ``gap``.
    status : Status
        See :class:`Status`; ``success`` is ``status == Status.OPTIMAL``.
    message : str
        Human-readable outcome with the numbers.
    solver : str
        The back ends used, e.g. ``"clarabel+active-set"``.
    solver_info : dict
        Versions and settings of the back ends.
    n_iter : int
        Iterations of the back ends (summed).
    time : float
        Wall time of the fit in seconds.
    lam, bounds, loss, delta
        The problem solved.
    dual_certificate : ndarray
        The dual variable ``z`` (``|z| <= lam``) at the interior distinct sites.

    Examples
    --------
    >>> import tvspline
    >>> res = tvspline.fit([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 0.0, 1.0], 0.1, (-1, 1))
    >>> res.status.name, bool(res.success)
    ('OPTIMAL', True)
    >>> bool(res.lower_bound <= res.objective <= res.lower_bound + res.gap + 1e-12)
    True
    """

    spline: LinearSpline
    objective: float
    data_fit: float
    tv2: float
    lower_bound: float
    gap: float
    status: Status
    message: str
    solver: str
    n_iter: int
    time: float
    lam: float
    bounds: SlopeBounds
    loss: str
    delta: float = 1.0
    solver_info: dict = field(default_factory=dict, repr=False, compare=False)
    dual_certificate: np.ndarray | None = field(default=None, repr=False, compare=False)
    x: np.ndarray | None = field(default=None, repr=False, compare=False)
    y: np.ndarray | None = field(default=None, repr=False, compare=False)
    weights: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def success(self) -> bool:
        """True when the status is ``OPTIMAL``."""
        return self.status == Status.OPTIMAL

    @property
    def n_knots(self) -> int:
        """``spline.n_knots``: interior knots with a nonzero slope change."""
        return self.spline.n_knots

    @property
    def relative_gap(self) -> float:
        """``gap / max(1, |objective|)``."""
        return self.gap / max(1.0, abs(self.objective))

    def __call__(self, x):
        """Evaluate the fitted spline."""
        return self.spline(x)

    def sparsest(self) -> "FitResult":
        """The minimiser with the fewest knots (Debarre et al. 2022, extended to slope bounds).

        Pairs of knots at consecutive data sites whose slope changes have the same sign are merged
        into one knot at the intersection of the neighbouring segments. This keeps the values at
        every data site, TV2 and the slopes (so the bounds), hence the objective; within each zone
        of ``n`` such knots ``ceil(n / 2)`` remain, the minimum. For the squared and Huber losses
        the fitted values are unique, so the result is a sparsest minimiser; for the absolute loss
        it is the sparsest one with this solution's fitted values.

        Returns
        -------
        FitResult
            A copy with ``spline`` replaced and ``objective``, ``data_fit``, ``tv2`` and ``gap``
            recomputed from it (``lower_bound`` is unchanged).

        Examples
        --------
        >>> import numpy as np, tvspline
        >>> x = np.linspace(-1, 1, 9); y = x ** 2
        >>> res = tvspline.fit(x, y, lam=1e-3)
        >>> sp = res.sparsest()
        >>> sp.n_knots <= res.n_knots, abs(sp.objective - res.objective) < 1e-9
        (True, True)
        """
        from .sparsest import sparsest_spline

        sites = np.unique(self.x)
        new = sparsest_spline(self.spline, sites)
        obj, data, tv2 = spline_objective(new, self.x, self.y, self.weights, self.lam, self.loss, self.delta)
        gap = max(obj - self.lower_bound, 0.0)
        return replace(self, spline=new, objective=obj, data_fit=data, tv2=tv2, gap=gap)

    def summary(self) -> str:
        """A few lines: objective, gap, knots, time, status (named once)."""
        detail = self.message
        prefix = self.status.name.lower().replace("_", " ") + ":"
        if detail.lower().startswith(prefix):
            detail = detail[len(prefix):].strip()
        return (
            f"status     : {self.status.name}" + (f" ({detail})" if detail else "") + "\n"
            f"objective  : {self.objective:.12g}  (data {self.data_fit:.6g} + lam {self.lam:.3g} x TV2 {self.tv2:.6g})\n"
            f"gap        : {self.gap:.3e}  (relative {self.relative_gap:.3e})\n"
            f"knots      : {self.n_knots}\n"
            f"solver     : {self.solver}, {self.n_iter} iterations, {self.time:.3f} s"
        )

    def __repr__(self):
        return (
            f"FitResult(status={self.status.name}, objective={self.objective:.10g}, gap={self.gap:.3e}, "
            f"n_knots={self.n_knots}, lam={self.lam:.4g}, bounds=({self.bounds.lo:g}, {self.bounds.hi:g}), "
            f"loss={self.loss!r}, solver={self.solver!r}, time={self.time:.3g}s)"
        )
