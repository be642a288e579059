"""Warnings raised by tvspline.

Every warning derives from :class:`TVSplineWarning` so that users can filter them as a group, and
each carries the numbers behind it (a gap, a tolerance, an iteration count) and advice.
"""


class TVSplineWarning(UserWarning):
    """Base class of every warning emitted by tvspline.

    Examples
    --------
    >>> import warnings, tvspline
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", tvspline.TVSplineWarning)  # silence all of them
    ...     issubclass(tvspline.InaccurateSolutionWarning, tvspline.TVSplineWarning)
    True
    """


class InaccurateSolutionWarning(TVSplineWarning):
    """A solve ended with a certified optimality gap above the requested tolerance.

    Examples
    --------
    >>> import warnings, numpy as np, tvspline
    >>> x = np.linspace(0, 1, 20)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", tvspline.InaccurateSolutionWarning)  # make it an error
    ...     res = tvspline.fit(x, x ** 2, 1e-3)
    >>> res.success
    True
    """
