"""Solver back ends behind one small interface.

Each back end takes a prepared :class:`tvspline._problem.Problem` and returns a
:class:`Candidate`: segment slopes at the distinct sites (in the original coordinates), the value at
the first site, dual estimates for the certificate, and solver statistics. Nothing a back end
returns is trusted: :func:`tvspline.fit` rebuilds the spline so that the bounds hold, recomputes
its objective and certifies it with a dual bound.
"""

from .base import Candidate, SolverFailure

__all__ = ["Candidate", "SolverFailure"]
