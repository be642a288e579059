"""What every back end returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class SolverFailure(RuntimeError):
    """A back end could not produce an answer (the message says why).

    Examples
    --------
    >>> from tvspline import SolverFailure
    >>> issubclass(SolverFailure, RuntimeError)
    True
    """


@dataclass
class Candidate:
    """A back end's answer, in the original coordinates.

    Attributes
    ----------
    slopes : ndarray, shape (K-1,)
        Slopes on the segments between distinct sites.
    value0 : float
        Value at the first site.
    dual_estimates : list of ndarray
        Estimates of the dual variable ``v`` (shape ``(K-1,)``) to try in the certificate.
    status : str
        The back end's own status string.
    n_iter : int
        Iterations reported by the back end.
    info : dict
        Name, version and settings of the back end.
    limit_reason : str
        Empty, or why the back end stopped at its iteration cap or time limit (its answer is then
        its last iterate).
    """

    slopes: np.ndarray
    value0: float
    dual_estimates: list = field(default_factory=list)
    status: str = ""
    n_iter: int = 0
    info: dict = field(default_factory=dict)
    limit_reason: str = ""
