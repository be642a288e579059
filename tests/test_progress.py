"""Progress bars: drawn by default only on a terminal, and closed with the reason of an early stop."""

from __future__ import annotations

import io
import sys

import pytest

from tvspline._progress import progress, resolve, stderr_is_terminal, stop


class _Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self._tty = tty

    def isatty(self):
        return self._tty


@pytest.mark.parametrize("tty", [True, False])
def test_default_follows_whether_stderr_is_a_terminal(monkeypatch, tty):
    monkeypatch.setattr(sys, "stderr", _Stream(tty))
    assert stderr_is_terminal() is tty
    assert resolve(None) is tty
    assert resolve(True) is True and resolve(False) is False


def test_stderr_without_isatty_counts_as_no_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", object())
    assert stderr_is_terminal() is False
    monkeypatch.setattr(sys, "stderr", None)
    assert stderr_is_terminal() is False


@pytest.mark.parametrize("bad", ["yes", 1.0, [True]])
def test_bad_enabled_is_refused(bad):
    with pytest.raises(TypeError, match="progress"):
        progress(3, enabled=bad)


def test_early_stop_shows_its_reason_when_drawn():
    out = _Stream(True)
    bar = progress(100, enabled=True, desc="fit", file=out)
    for i in range(100):
        bar.update()
        if i == 7:
            stop(bar, "objective change 3e-09 < tol")
            break
    text = out.getvalue()
    assert "stopped early: objective change 3e-09 < tol" in text
    assert "8/100" in text
    assert bar.disable is True or bar.n == 8  # closed


def test_nothing_is_drawn_when_disabled():
    out = _Stream(True)
    bar = progress([1, 2, 3], enabled=False, desc="fit", file=out)
    assert list(bar) == [1, 2, 3]
    stop(bar, "done")
    assert out.getvalue() == ""


def test_a_bar_that_finishes_needs_no_reason():
    out = _Stream(True)
    with progress(range(5), enabled=True, desc="fit", file=out) as bar:
        assert sum(bar) == 10
    assert "5/5" in out.getvalue() and "stopped early" not in out.getvalue()
