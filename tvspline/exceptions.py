"""Warnings raised by tvspline.

Every warning derives from :class:`TVSplineWarning` so that users can filter them as a group, and
each carries the numbers behind it (a gap, a tolerance, an iteration count) and advice.
"""


class TVSplineWarning(UserWarning):
    """Base class of every warning emitted by tvspline."""


class InaccurateSolutionWarning(TVSplineWarning):
    """A solve ended with a certified optimality gap above the requested tolerance."""
