"""Input validation shared by the public functions.

Every check raises a ``ValueError`` (bad value) or ``TypeError`` (bad type) naming the argument,
the offending value and what was expected. Nothing is dropped silently: masked arrays, complex
numbers, booleans, dates and strings are refused rather than converted, and messages show plain
numbers (``nan``, ``1e+300``) whatever the scalar type of the input.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "as_1d_float",
    "as_real",
    "check_lam",
    "check_weights",
    "check_choice",
    "check_positive",
    "check_delta",
    "check_finite",
    "show",
]

#: Integers with more digits than this are shown by their digit count in messages.
_MAX_SHOWN_DIGITS = 30


def show(value) -> str:
    """``repr`` of a value for an error message, NumPy scalars shown as plain Python numbers.

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline._validate import show
    >>> show(np.float64("nan")), show(np.int64(3)), show("a")
    ('nan', '3', "'a'")
    >>> show(10**400)
    'an integer with 401 digits'
    """
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        value = value.item()
    if isinstance(value, int) and not isinstance(value, bool):
        digits = len(str(abs(value)))
        if digits > _MAX_SHOWN_DIGITS:
            return f"an integer with {digits} digits"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return repr(value)


def _kind_problem(kind: str, name: str):
    """The error for an array whose dtype kind is not a real number, or ``None``."""
    if kind == "b":
        return TypeError(
            f"{name} must hold real numbers, got booleans (dtype bool); convert explicitly, "
            f"e.g. {name}.astype(float), if 0/1 values are meant"
        )
    if kind == "c":
        return TypeError(
            f"{name} must hold real numbers, got complex values; pass the real part or the "
            "modulus explicitly (np.real, np.abs)"
        )
    if kind in "mM":
        return TypeError(
            f"{name} must hold real numbers, got dates or time spans (dtype datetime64/timedelta64); "
            f"convert them first, e.g. ({name} - {name}[0]) / np.timedelta64(1, 's')"
        )
    if kind in "USV":
        return TypeError(f"{name} must be an array of real numbers, got strings or bytes")
    return None


def _real_item(item, name: str) -> float:
    """One element of an object array as a float, refusing non-real and too large entries."""
    if isinstance(item, (bool, np.bool_)) or not isinstance(item, (numbers.Real, np.number)):
        problem = _kind_problem(np.asarray(item).dtype.kind, name) if item is not None else None
        if problem is not None:
            raise problem
        raise TypeError(f"{name} must hold real numbers, got an element {show(item)} of type {type(item).__name__}")
    try:
        return float(item)
    except OverflowError:
        raise ValueError(f"{name} holds a value too large for float64: {show(item)}") from None


def as_1d_float(values, name: str, *, allow_empty: bool = False) -> np.ndarray:
    """Return ``values`` as a finite 1-D float64 array or raise naming ``name``.

    Real numbers of any integer or floating type are converted; masked arrays, booleans, complex
    numbers, dates and strings are refused with a ``TypeError``; integers too large for float64
    with a ``ValueError``.

    Examples
    --------
    >>> from tvspline._validate import as_1d_float
    >>> as_1d_float([1, 2.5], "x")
    array([1. , 2.5])
    >>> as_1d_float([0, 10**400], "x")
    Traceback (most recent call last):
    ...
    ValueError: x holds a value too large for float64: an integer with 401 digits
    """
    if isinstance(values, np.ma.MaskedArray):
        raise TypeError(
            f"{name} is a masked array; masks are not applied: pass the unmasked entries "
            f"(e.g. {name}.compressed(), with the matching entries of the other arrays) or give "
            "the masked points weight 0"
        )
    try:
        raw = np.asarray(values)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of real numbers, got {type(values).__name__}") from None
    problem = _kind_problem(raw.dtype.kind, name)
    if problem is not None:
        raise problem
    if raw.dtype.kind == "O":
        arr = np.array([_real_item(v, name) for v in raw.reshape(-1)], dtype=np.float64).reshape(raw.shape)
    elif raw.dtype.kind in "iuf":
        arr = raw.astype(np.float64, copy=False)
    else:
        raise TypeError(f"{name} must be an array of real numbers, got {type(values).__name__} of dtype {raw.dtype}")
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        if raw.dtype.kind == "f" and np.isfinite(raw.reshape(-1)[i]):
            raise ValueError(f"{name} holds a value too large for float64 at index {i}: {raw.reshape(-1)[i]!s}")
        raise ValueError(
            f"{name} must be finite, got {show(arr[i])} at index {i} ({int(bad.sum())} non-finite values)"
        )
    return arr


def check_finite(arr: np.ndarray, name: str) -> np.ndarray:
    """Raise naming ``name``, the first bad value and its index if ``arr`` has NaN or inf."""
    bad = ~np.isfinite(arr)
    if bad.any():
        i = tuple(int(v) for v in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must be finite, got {show(float(arr[i]))} at index {i} ({int(bad.sum())} non-finite values)"
        )
    return arr


def as_real(value, name: str) -> float:
    """A real scalar as a float; booleans, strings and complex numbers are refused.

    Examples
    --------
    >>> from tvspline._validate import as_real
    >>> as_real(3, "lam")
    3.0
    >>> as_real(True, "lam")
    Traceback (most recent call last):
    ...
    TypeError: lam must be a real number, got the bool True
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number, got the bool {show(value)}")
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a real number, got the string {value!r}; convert it first")
    if isinstance(value, (complex, np.complexfloating)):
        raise TypeError(f"{name} must be a real number, got the complex number {show(value)}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} is too large for float64, got {show(value)}") from None
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {show(value)}") from None


def check_lam(lam) -> float:
    """λ must be a finite real number >= 0."""
    value = as_real(lam, "lam")
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"lam must be finite, got {show(lam)}")
    if value < 0:
        raise ValueError(f"lam must be >= 0, got {show(lam)}")
    return value


def check_positive(value, name: str, *, strict: bool = True) -> float:
    """A finite real number > 0 (or >= 0 when ``strict`` is False)."""
    out = as_real(value, name)
    if not math.isfinite(out) or (out <= 0 if strict else out < 0):
        raise ValueError(f"{name} must be {'>' if strict else '>='} 0 and finite, got {show(value)}")
    return out


def check_delta(delta, loss: str) -> float:
    """The Huber threshold: > 0 for ``loss="huber"``; any other loss takes no ``delta``.

    A ``delta`` other than its default 1.0 with another loss is refused rather than ignored.

    Examples
    --------
    >>> from tvspline._validate import check_delta
    >>> check_delta(0.5, "huber"), check_delta(1.0, "squared")
    (0.5, 1.0)
    """
    if loss == "huber":
        return check_positive(delta, "delta")
    if isinstance(delta, (int, float, np.integer, np.floating)) and not isinstance(delta, (bool, np.bool_)) \
            and delta == 1.0:
        return 1.0
    raise ValueError(
        f"delta is used only by loss='huber', got delta={show(delta)} with loss={loss!r}; "
        "leave delta at its default or choose loss='huber'"
    )


def check_weights(weights, n: int, name: str = "weights") -> np.ndarray:
    """Non-negative finite weights of length ``n``, not all zero (``None`` means all ones)."""
    if weights is None:
        return np.ones(n)
    w = as_1d_float(weights, name)
    if w.size != n:
        raise ValueError(f"{name} has length {w.size} but the data have {n} points")
    if (w < 0).any():
        i = int(np.flatnonzero(w < 0)[0])
        raise ValueError(f"{name} must be >= 0, got {show(w[i])} at index {i}")
    if not (w > 0).any():
        raise ValueError(f"{name} are all zero; at least the points of two distinct sites need a positive weight")
    return w


def check_choice(value, name: str, allowed) -> str:
    """``value`` must be one of ``allowed`` (strings)."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"unknown {name} {show(value)}; expected one of {', '.join(map(repr, allowed))}")
    return value
