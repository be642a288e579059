"""Progress bars: shown by default only when standard error is a terminal, closed with a reason.

:func:`progress` wraps :class:`tqdm.tqdm`. With ``enabled=None`` (the default of the library's
``progress`` arguments) a bar is drawn only when ``sys.stderr`` is an interactive terminal, so logs,
pipes, notebooks' captured output and test runs stay clean; ``True`` or ``False`` force it. A
disabled bar is still a working object (``update``, ``set_postfix_str``, ``close`` do nothing), so
callers need no branch.

Work that ends before its planned total (a tolerance reached, a line search that stalls) should
end its bar with :func:`stop`, which writes the reason into the bar before closing it, e.g.
``stopped early: objective change 3e-09 < tol`` at ``8/100``, instead of leaving a bar frozen at
8% with no explanation.
"""

from __future__ import annotations

import numbers
import sys

__all__ = ["progress", "stop", "stderr_is_terminal"]


def stderr_is_terminal() -> bool:
    """Whether ``sys.stderr`` is an interactive terminal (False when it cannot tell).

    Examples
    --------
    >>> from tvspline._progress import stderr_is_terminal
    >>> isinstance(stderr_is_terminal(), bool)
    True
    """
    stream = sys.stderr
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # replaced by an object without isatty, or closed
        return False


def resolve(enabled) -> bool:
    """``enabled`` as a bool: ``None`` means :func:`stderr_is_terminal`.

    Examples
    --------
    >>> from tvspline._progress import resolve
    >>> resolve(True), resolve(False)
    (True, False)
    """
    if enabled is None:
        return stderr_is_terminal()
    if not isinstance(enabled, (bool, numbers.Integral)) or isinstance(enabled, float):
        raise TypeError(f"progress must be None, True or False, got {enabled!r}")
    return bool(enabled)


def progress(iterable_or_total=None, *, enabled=None, desc: str | None = None, unit: str = "it", **kwargs):
    """A tqdm progress bar over an iterable, or one counting to a total.

    Parameters
    ----------
    iterable_or_total : iterable or int, optional
        What to iterate over (its ``len`` is the total when it has one), or the total number of
        steps for a bar advanced with ``update``.
    enabled : bool or None, default None
        Draw the bar; ``None`` draws it only when standard error is a terminal.
    desc : str, optional
        Label shown before the bar.
    unit : str
        Name of one step.
    **kwargs
        Passed to :class:`tqdm.tqdm` (``leave``, ``position``...).

    Returns
    -------
    tqdm.tqdm
        A bar (disabled bars accept every call and print nothing).

    Examples
    --------
    >>> from tvspline._progress import progress, stop
    >>> bar = progress(100, enabled=False, desc="fit")
    >>> for i in range(100):
    ...     bar.update()
    ...     if i == 7:
    ...         stop(bar, "objective change 3e-09 < tol")
    ...         break
    >>> bar.total, bar.postfix
    (100, 'stopped early: objective change 3e-09 < tol')
    >>> [i for i in progress([1, 2, 3], enabled=False)]
    [1, 2, 3]
    """
    from tqdm.auto import tqdm

    show = resolve(enabled)
    if iterable_or_total is None or (isinstance(iterable_or_total, numbers.Integral)
                                     and not isinstance(iterable_or_total, bool)):
        return tqdm(total=iterable_or_total, disable=not show, desc=desc, unit=unit, **kwargs)
    return tqdm(iterable_or_total, disable=not show, desc=desc, unit=unit, **kwargs)


def stop(bar, reason: str | None = None) -> None:
    """Close ``bar``; when ``reason`` is given the bar ends showing ``stopped early: <reason>``.

    Use it when the work ends before the bar's total; at the planned end a plain ``close`` is
    enough. Safe on disabled and already closed bars.

    Examples
    --------
    >>> from tvspline._progress import progress, stop
    >>> bar = progress(10, enabled=False)
    >>> stop(bar, "gap 1e-10 <= tol")
    >>> bar.postfix
    'stopped early: gap 1e-10 <= tol'
    """
    if reason:
        text = f"stopped early: {reason}"
        try:
            bar.set_postfix_str(text, refresh=False)
        except AttributeError:  # a disabled bar in an old tqdm
            pass
        bar.postfix = text
    bar.close()
