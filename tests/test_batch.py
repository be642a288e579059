"""fit_path (warm-started regularisation paths) and fit_many (joblib / Dask)."""

from __future__ import annotations

import numpy as np
import pytest

import tvspline


def _data(seed=0, M=60):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, M)
    y = np.sin(2 * x) + 0.2 * rng.standard_normal(M)
    return x, y


@pytest.mark.parametrize("bounds", [(-1.0, 1.0), (0.0, np.inf), (-np.inf, np.inf)])
def test_fit_path_matches_independent_fits(bounds):
    x, y = _data()
    lams = [0.3, 1e-3, 3.0, 0.03]  # deliberately unsorted: results follow this order
    path = tvspline.fit_path(x, y, lams, bounds)
    assert path.success
    np.testing.assert_array_equal(path.lams, lams)
    for lam, res in zip(lams, path.results):
        cold = tvspline.fit(x, y, lam, bounds)
        assert res.lam == lam
        # both are certified: their objectives agree within the larger gap (plus rounding)
        assert abs(res.objective - cold.objective) <= max(res.gap, cold.gap) + 1e-12 * max(1.0, cold.objective)
        assert res.lower_bound <= cold.objective + 1e-12 * max(1.0, cold.objective)
    # the optimal value is nondecreasing in lambda
    order = np.argsort(lams)
    assert np.all(np.diff(path.objective[order]) >= -1e-12 * path.objective.max())


def test_warm_start_from_a_neighbour_is_certified_and_exact():
    x, y = _data(1, 200)
    near = tvspline.fit(x, y, 0.11, (-1, 1))
    res = tvspline.fit(x, y, 0.1, (-1, 1), warm_start=near)
    cold = tvspline.fit(x, y, 0.1, (-1, 1))
    assert res.success
    assert abs(res.objective - cold.objective) <= max(res.gap, cold.gap) + 1e-12 * cold.objective
    with pytest.raises(TypeError, match="warm_start"):
        tvspline.fit(x, y, 0.1, (-1, 1), warm_start="previous")


def test_fit_path_bad_input():
    x, y = _data()
    with pytest.raises(ValueError, match="lams"):
        tvspline.fit_path(x, y, [0.1, -1.0])
    with pytest.raises(ValueError, match="lams"):
        tvspline.fit_path(x, y, [0.1, np.nan])
    with pytest.raises(TypeError, match="warm_start"):
        tvspline.fit_path(x, y, [0.1], warm_start=None)


def _problems(n=6):
    probs = []
    for i in range(n):
        x, y = _data(10 + i, 40)
        probs.append(dict(x=x, y=y, lam=0.05 * (i + 1), bounds=(-1, 1)))
    return probs


def test_fit_many_matches_sequential_fits_in_order():
    probs = _problems()
    many = tvspline.fit_many(probs, n_jobs=2, progress=False)
    assert len(many) == len(probs)
    for p, r in zip(probs, many):
        ref = tvspline.fit(**p)
        assert r.lam == p["lam"]
        assert r.objective == pytest.approx(ref.objective, rel=1e-12, abs=1e-12)
    # tuples of positional arguments work too
    tup = tvspline.fit_many([(p["x"], p["y"], p["lam"], p["bounds"]) for p in probs], n_jobs=1, progress=False)
    assert [r.objective for r in tup] == pytest.approx([r.objective for r in many], rel=1e-12)


def test_fit_many_bad_problem():
    with pytest.raises(TypeError, match=r"problems\[1\]"):
        tvspline.fit_many([dict(x=[0, 1, 2], y=[0, 1, 0], lam=0.1), 42], n_jobs=1, progress=False)


def test_fit_many_progress_bar_runs(capsys):
    res = tvspline.fit_many(_problems(2), n_jobs=1, progress=True)
    assert len(res) == 2
    assert "fits" in capsys.readouterr().err


def test_fit_many_on_a_local_dask_cluster():
    distributed = pytest.importorskip("distributed")
    import joblib

    probs = _problems(4)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        with joblib.parallel_config("dask"):
            res = tvspline.fit_many(probs, progress=False)
    for p, r in zip(probs, res):
        assert r.success
        assert r.objective == pytest.approx(tvspline.fit(**p).objective, rel=1e-12, abs=1e-12)


# --------------------------------------------------------------------------- n_jobs=None chooses
def test_small_batches_run_serially_without_worker_processes(monkeypatch):
    import joblib

    def no_parallel(*args, **kwargs):
        raise AssertionError("fit_many started joblib workers for a small batch")

    monkeypatch.setattr(joblib, "Parallel", no_parallel)
    probs = _problems(20)
    res = tvspline.fit_many(probs, progress=False)
    assert [r.objective for r in res] == [tvspline.fit(**p).objective for p in probs]


def test_auto_n_jobs_rule():
    import joblib

    from tvspline.batch import PARALLEL_MIN_POINTS, auto_n_jobs

    def probs(count, m):
        return [dict(x=np.zeros(m), y=np.zeros(m), lam=0.1)] * count

    assert auto_n_jobs(probs(20, 100)) == 1
    assert auto_n_jobs(probs(1, 2 * PARALLEL_MIN_POINTS)) == 1  # one problem: nothing to share
    assert auto_n_jobs(probs(2, PARALLEL_MIN_POINTS // 2 - 1)) == 1
    assert auto_n_jobs(probs(2, PARALLEL_MIN_POINTS // 2)) == min(2, joblib.cpu_count())
    assert auto_n_jobs([(np.zeros(PARALLEL_MIN_POINTS), np.zeros(PARALLEL_MIN_POINTS), 0.1)] * 3) == min(
        3, joblib.cpu_count())


def test_n_jobs_none_follows_joblib_configuration():
    import joblib

    from tvspline.batch import _choose_n_jobs

    small = _problems(3)
    assert _choose_n_jobs(None, None, small) == 1
    assert _choose_n_jobs(None, "threading", small) == -1  # an explicit backend gets every worker
    assert _choose_n_jobs(3, None, small) == 3
    with joblib.parallel_config("threading"):
        assert _choose_n_jobs(None, None, small) == -1
        res = tvspline.fit_many(small, progress=False)
    with joblib.parallel_config(n_jobs=2):
        assert _choose_n_jobs(None, None, small) is None  # the context's n_jobs applies
    assert [r.objective for r in res] == [tvspline.fit(**p).objective for p in small]


@pytest.mark.parametrize("n_jobs", [0, 1.5, True, "2"])
def test_bad_n_jobs(n_jobs):
    with pytest.raises(ValueError, match="n_jobs"):
        tvspline.fit_many(_problems(2), n_jobs=n_jobs, progress=False)


def test_progress_defaults_to_off_when_stderr_is_not_a_terminal(capsys):
    tvspline.fit_many(_problems(2))
    tvspline.fit_path(*_data(), [0.1, 0.01], progress=None)
    assert "fits" not in capsys.readouterr().err


# --------------------------------------------------------------------------- reprs
def test_path_result_repr_is_short_and_has_no_arrays():
    x, y = _data()
    path = tvspline.fit_path(x, y, np.geomspace(1e-3, 10, 25), (-1, 1))
    text = repr(path)
    assert text.startswith("PathResult(25 values of lam in [0.001, 10], OPTIMAL 25, max gap ")
    assert f"knots {int(path.n_knots.min())}..{int(path.n_knots.max())}" in text
    assert "array" not in text and "FitResult" not in text and len(text) < 200


def test_summary_names_the_status_once():
    res = tvspline.fit(*_data(), 0.1, (-1, 1))
    text = res.summary()
    assert text.lower().count("optimal") == 1, text
    assert text.splitlines()[0].startswith("status     : OPTIMAL (certified gap ")
