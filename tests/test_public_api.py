"""The public namespace: every public name listed and importable, moved names deprecated."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

import tvspline

MOVED_TO_NN = ["SplineNetwork", "fit_layer", "estimate_w1", "empirical_w1"]


@pytest.mark.parametrize("name", tvspline.__all__)
def test_every_public_name_resolves_without_warning_and_is_listed(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        obj = getattr(tvspline, name)
    assert obj is not None
    assert name in dir(tvspline)


def test_dir_lists_lazy_names_and_submodules():
    listed = dir(tvspline)
    assert listed == sorted(listed)
    for name in ["design_matrix", "SplineRegressor", "nn", "imaging", "datasets", "__version__"]:
        assert name in listed, name
    assert not set(MOVED_TO_NN) & set(listed)
    assert not set(MOVED_TO_NN) & set(tvspline.__all__)
    assert len(set(tvspline.__all__)) == len(tvspline.__all__)


@pytest.mark.parametrize("name", MOVED_TO_NN)
def test_moved_names_warn_and_point_to_nn(name):
    import tvspline.nn

    with pytest.warns(DeprecationWarning, match=rf"tvspline\.{name} is deprecated.*tvspline\.nn\.{name}"):
        obj = getattr(tvspline, name)
    assert obj is getattr(tvspline.nn, name)
    assert name in tvspline.nn.__all__ and name in dir(tvspline.nn)


def test_from_import_of_a_moved_name_warns():
    with pytest.warns(DeprecationWarning, match="tvspline.nn.fit_layer"):
        from tvspline import fit_layer  # noqa: F401


def test_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'SplineNet'"):
        tvspline.SplineNet  # noqa: B018


@pytest.mark.parametrize("module", ["tvspline.nn", "tvspline.imaging"])
def test_subpackage_all_is_listed_and_resolves(module):
    import importlib

    mod = importlib.import_module(module)
    assert len(set(mod.__all__)) == len(mod.__all__)
    listed = dir(mod)
    for name in mod.__all__:
        assert name in listed, name
        assert getattr(mod, name) is not None


def test_star_import_and_submodule_access_are_warning_free_in_a_fresh_process():
    code = (
        "from tvspline import *\n"
        "import tvspline\n"
        "tvspline.nn.SplineNetwork, tvspline.nn.estimate_w1, tvspline.imaging.RidgeRegularizer\n"
        "tvspline.design_matrix, tvspline.SplineRegressor\n"
    )
    proc = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
