"""Input validation shared by the public functions.

Every check raises a ``ValueError`` (bad value) or ``TypeError`` (bad type) naming the argument,
the offending value and what was expected. Nothing is dropped silently.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["as_1d_float", "check_lam", "check_weights", "check_choice", "check_positive"]


def as_1d_float(values, name: str, *, allow_empty: bool = False) -> np.ndarray:
    """Return ``values`` as a finite 1-D float64 array or raise naming ``name``."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of real numbers, got {type(values).__name__}") from None
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} must be finite, got {arr[i]!r} at index {i} ({int(bad.sum())} non-finite values)"
        )
    return arr


def check_finite(arr: np.ndarray, name: str) -> np.ndarray:
    """Raise naming ``name``, the first bad value and its index if ``arr`` has NaN or inf."""
    bad = ~np.isfinite(arr)
    if bad.any():
        i = tuple(int(v) for v in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must be finite, got {float(arr[i])!r} at index {i} ({int(bad.sum())} non-finite values)"
        )
    return arr


def check_lam(lam) -> float:
    """λ must be a finite real number >= 0."""
    try:
        value = float(lam)
    except (TypeError, ValueError):
        raise TypeError(f"lam must be a real number, got {lam!r}") from None
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"lam must be finite, got {lam!r}")
    if value < 0:
        raise ValueError(f"lam must be >= 0, got {lam!r}")
    return value


def check_positive(value, name: str, *, strict: bool = True) -> float:
    """A finite real number > 0 (or >= 0 when ``strict`` is False)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(out) or (out <= 0 if strict else out < 0):
        raise ValueError(f"{name} must be {'>' if strict else '>='} 0 and finite, got {value!r}")
    return out


def check_weights(weights, n: int, name: str = "weights") -> np.ndarray:
    """Non-negative finite weights of length ``n`` (``None`` means all ones)."""
    if weights is None:
        return np.ones(n)
    w = as_1d_float(weights, name)
    if w.size != n:
        raise ValueError(f"{name} has length {w.size} but the data have {n} points")
    if (w < 0).any():
        i = int(np.flatnonzero(w < 0)[0])
        raise ValueError(f"{name} must be >= 0, got {w[i]!r} at index {i}")
    return w


def check_choice(value, name: str, allowed) -> str:
    """``value`` must be one of ``allowed`` (strings)."""
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(map(repr, allowed))}")
    return value
