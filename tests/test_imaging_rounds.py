"""Training in resumable rounds (train_ridge_rounds) and the folder loader."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tvspline.imaging import RidgeRegularizer, initial_bank, load_folder, load_image, train_ridge_rounds

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

SMALL = dict(filters=None, n_rounds=2, patches_per_round=3, patch_size=12, evals_per_round=3, n_knots=9,
             progress=False)


def _small(**kw):
    args = dict(SMALL, **kw)
    if args["filters"] is None:
        args["filters"] = initial_bank(3, 3)
    return args


@pytest.fixture(scope="module")
def images():
    return [load_image("camera", 48), load_image("coins", 40)]


def _same(a: RidgeRegularizer, b: RidgeRegularizer):
    np.testing.assert_array_equal(a.filters.filters, b.filters.filters)
    for p, q in zip(a.profiles, b.profiles):
        np.testing.assert_array_equal(p.knots, q.knots)
        np.testing.assert_array_equal(p.values, q.values)
    np.testing.assert_array_equal(a.noise_table[1], b.noise_table[1])


@pytest.mark.parametrize("kind", ["convex", "weakly_convex"])
def test_certified_for_its_kind(images, kind):
    reg = train_ridge_rounds(images, kind, **_small(rho=0.01))
    cert = reg.check_certificate()
    assert cert.ok and cert.kind == kind
    if kind == "weakly_convex":
        # alpha * weak convexity <= 1 at every tabulated level: each denoising problem is convex
        assert np.all(reg.noise_table[1] * reg.weak_convexity() <= 1.0)
    else:
        assert reg.weak_convexity() == 0.0


def test_deterministic(images):
    _same(train_ridge_rounds(images, **_small()), train_ridge_rounds(images, **_small()))


def test_learning_lowers_the_loss(images, tmp_path):
    def best_loss(evals):
        ck = tmp_path / f"ck{evals}.npz"
        train_ridge_rounds(images, **_small(n_rounds=1, evals_per_round=evals, checkpoint=ck))
        with np.load(ck) as f:
            assert int(f["round"]) == 1 and f["history"].shape == (1,)
            return float(f["history"][0])

    # one evaluation is the loss at the starting point; the best of six lies below it
    assert best_loss(6) < best_loss(1)


def test_resume_from_checkpoint_is_bitwise_the_uninterrupted_run(images, tmp_path):
    full = train_ridge_rounds(images, **_small(n_rounds=3))
    ck = tmp_path / "ck.npz"
    train_ridge_rounds(images, **_small(n_rounds=1, checkpoint=ck))  # "interrupted" after one round
    resumed = train_ridge_rounds(images, **_small(n_rounds=3, checkpoint=ck))
    _same(full, resumed)
    with np.load(ck) as f:
        assert int(f["round"]) == 3
    again = train_ridge_rounds(images, **_small(n_rounds=3, checkpoint=ck))  # nothing left to do
    _same(full, again)


def test_checkpoint_of_other_settings_is_refused(images, tmp_path):
    ck = tmp_path / "ck.npz"
    train_ridge_rounds(images, **_small(n_rounds=1, checkpoint=ck))
    with pytest.raises(ValueError, match="other settings"):
        train_ridge_rounds(images, **_small(n_rounds=2, checkpoint=ck, random_state=1))
    bad = tmp_path / "bad.npz"
    np.savez(bad, format=np.array("something else"))
    with pytest.raises(ValueError, match="not a train_ridge_rounds checkpoint"):
        train_ridge_rounds(images, **_small(checkpoint=bad))


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(kind="concave"), "kind"),
        (dict(sigmas=()), "sigmas"),
        (dict(sigmas=(-0.1,)), "sigmas"),
        (dict(n_rounds=0), "n_rounds"),
        (dict(patches_per_round=2.5), "patches_per_round"),
        (dict(patch_size=100), r"images\[0\]"),
        (dict(kind="weakly_convex", rho=0.0), "rho"),
    ],
)
def test_bad_input(images, kw, match):
    with pytest.raises(ValueError, match=match):
        train_ridge_rounds(images, **_small(**kw))


def test_bad_filters_and_images(images):
    with pytest.raises(ValueError, match="filters"):
        train_ridge_rounds(images, **dict(SMALL, filters=np.ones((2, 3, 3))))
    with pytest.raises(ValueError, match="at least one image"):
        train_ridge_rounds([], **_small())
    with pytest.raises(ValueError, match=r"images\[1\]"):
        train_ridge_rounds([images[0], np.full((20, 20), np.nan)], **_small())


def test_load_folder(tmp_path):
    import skimage.io

    skimage.io.imsave(tmp_path / "b.png", np.arange(12, dtype=np.uint8).reshape(3, 4) * 20, check_contrast=False)
    rgb = np.zeros((2, 2, 3), dtype=np.uint8)
    rgb[..., 0] = 255
    skimage.io.imsave(tmp_path / "a.png", rgb, check_contrast=False)
    ims = load_folder(tmp_path)
    assert [im.shape for im in ims] == [(2, 2), (3, 4)]  # sorted by name
    np.testing.assert_allclose(ims[1], np.arange(12).reshape(3, 4) * 20 / 255)
    assert np.all((ims[0] > 0) & (ims[0] < 1))  # grey from red
    with pytest.raises(FileNotFoundError, match="folder"):
        load_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match="no file matches"):
        load_folder(tmp_path, "*.tif")


@pytest.mark.skipif(not (DATA / "bsd400").is_dir(), reason="the BSD400 training folder is not available")
def test_bsd400_folder_reads_as_400_grey_crops():
    ims = load_folder(DATA / "bsd400")
    assert len(ims) == 400
    assert all(im.shape == (180, 180) and im.dtype == np.float64 for im in ims)
    assert min(float(im.min()) for im in ims) >= 0.0 and max(float(im.max()) for im in ims) <= 1.0
