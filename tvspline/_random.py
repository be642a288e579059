"""Seeding shared by the randomised parts of tvspline.

Randomness only ever flows through a :class:`numpy.random.Generator` made by
:func:`numpy.random.default_rng`; no function touches numpy's global random state.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_generator"]


def as_generator(random_state, name: str = "random_state") -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` for ``random_state``.

    Parameters
    ----------
    random_state : None, int or numpy.random.Generator
        ``None`` gives fresh OS entropy, a non-negative int a reproducible stream, and a
        ``Generator`` is used as it is (its state advances, so successive calls differ).
    name : str
        Argument name used in error messages.

    Raises
    ------
    TypeError
        If ``random_state`` is of another type (bools and floats included).
    ValueError
        If ``random_state`` is a negative integer.
    """
    if random_state is None or isinstance(random_state, np.random.Generator):
        return np.random.default_rng(random_state)
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, (bool, np.bool_)):
        if random_state < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {random_state!r}")
        return np.random.default_rng(int(random_state))
    raise TypeError(
        f"{name} must be None, a non-negative int or a numpy.random.Generator, "
        f"got {type(random_state).__name__} {random_state!r}"
    )
