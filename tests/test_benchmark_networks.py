"""The network benchmark scripts run and record what their tables claim (tiny settings)."""

import json

import numpy as np
import pytest

from benchmarks import lipschitz_nets as ln
from benchmarks import network_profile as npf


@pytest.mark.parametrize("method", [ln.SPLINE, ln.SPLINE_RANDOM, "groupsort", ln.REFERENCE])
def test_fit_rows_are_certified_and_consistent(method):
    row = ln._fit_one("f1", 0, method, lam=1e-4, max_iter=1, weight_steps=2, epochs=1)
    assert row["lipschitz_bound"] <= 1.0
    assert row["fd_slope"] <= row["lipschitz_bound"] * (1 + 1e-9)
    assert np.isfinite(row["test_mse"]) and row["test_mse"] >= 0
    json.loads(row["curve"])
    if method == ln.SPLINE:  # the default start carries the exact 1-D fit
        ref = ln._fit_one("f1", 0, ln.REFERENCE, lam=1e-4, max_iter=1, weight_steps=2, epochs=1)
        assert row["test_mse"] == pytest.approx(ref["test_mse"], rel=1e-6)


def test_summary_compares_medians():
    rows = [dict(kind="f1", method="m", test_mse=v, train_mse=v, lipschitz_bound=1.0, fd_slope=0.5, time=1.0,
                 cpu_time=1.0) for v in (3.0, 1.0, 2.0)]
    (s,) = ln._summarise(rows)
    assert s["median_test_mse"] == 2.0 and s["min_test_mse"] == 1.0 and s["max_test_mse"] == 3.0


def test_profile_shares_add_up():
    row = npf.profile_one("f1", 0, "auto", max_iter=1, weight_steps=2)
    assert row["mode"] == "embed"
    shares = [row[p + "_share"] for p in npf.PHASES] + [row["other_share"]]
    assert all(0.0 <= v <= 1.0 for v in shares)
    assert sum(shares) == pytest.approx(1.0, abs=0.05)
    assert row["objective_final"] <= row["objective_start"] + 1e-12 * max(1.0, row["objective_start"])
