"""tvspline.imaging.data: offline images, the fixed split, patches and the phantom."""

import numpy as np
import pytest

skimage = pytest.importorskip("skimage")
from skimage import color, data as skdata, transform, util  # noqa: E402

from tvspline.imaging import (  # noqa: E402
    IMAGE_NAMES,
    TEST_IMAGES,
    TRAIN_IMAGES,
    load_image,
    random_patches,
    shepp_logan,
    test_images,
    train_images,
)


def _reference(name):
    """Independent conversion: skimage's loader, rgb2gray, img_as_float."""
    raw = skdata.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skdata, name)()
    if raw.ndim == 3:
        raw = color.rgb2gray(raw)
    return util.img_as_float(raw)


@pytest.mark.parametrize("name", IMAGE_NAMES)
def test_every_image_loads_offline_grey_in_unit_range(name):
    x = load_image(name)
    assert x.dtype == np.float64 and x.ndim == 2
    assert 0.0 <= x.min() < x.max() <= 1.0
    np.testing.assert_array_equal(x, _reference(name))
    x[0, 0] = -1.0  # a copy: the cache is not modified
    assert load_image(name)[0, 0] >= 0.0


def test_split_is_fixed_disjoint_and_complete():
    assert set(TRAIN_IMAGES).isdisjoint(TEST_IMAGES)
    assert sorted(TRAIN_IMAGES + TEST_IMAGES) == list(IMAGE_NAMES)
    assert TEST_IMAGES == ("astronaut", "camera", "coffee", "coins", "moon", "rocket")
    assert len(TRAIN_IMAGES) == 12


def test_crop_is_the_centre_window_at_native_resolution():
    full = load_image("coins")  # 303 x 384
    crop = load_image("coins", (100, 120))
    r0, c0 = (303 - 100) // 2, (384 - 120) // 2
    np.testing.assert_array_equal(crop, full[r0 : r0 + 100, c0 : c0 + 120])
    assert load_image("coins", 50).shape == (50, 50)


def test_resize_crops_to_aspect_then_resamples():
    full = load_image("camera")  # square 512
    out = load_image("camera", 64, method="resize")
    ref = transform.resize(full, (64, 64), order=1, mode="reflect", anti_aliasing=True)
    np.testing.assert_allclose(out, np.clip(ref, 0, 1), atol=1e-15)
    wide = load_image("camera", (32, 64), method="resize")  # centre 256 x 512 window
    ref = transform.resize(full[128:384], (32, 64), order=1, mode="reflect", anti_aliasing=True)
    np.testing.assert_allclose(wide, np.clip(ref, 0, 1), atol=1e-15)
    big = load_image("page", 400, method="resize")  # upsampling is allowed
    assert big.shape == (400, 400) and 0 <= big.min() <= big.max() <= 1


def test_train_and_test_lists_follow_the_split():
    tr = train_images(64)
    te = test_images(64)
    assert len(tr) == len(TRAIN_IMAGES) and len(te) == len(TEST_IMAGES)
    for name, im in zip(TEST_IMAGES, te):
        np.testing.assert_array_equal(im, load_image(name, 64))
    # an int size larger than a small image is reduced to fit it (page is 191 x 384)
    page = train_images(256)[TRAIN_IMAGES.index("page")]
    assert page.shape == (191, 256)


def test_load_image_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown image name 'lena'"):
        load_image("lena")
    with pytest.raises(ValueError, match="size"):
        load_image("camera", 0)
    with pytest.raises(ValueError, match="size"):
        load_image("camera", (10, 2.5))
    with pytest.raises(ValueError, match="larger than the image"):
        load_image("page", 300)
    with pytest.raises(ValueError, match="unknown method 'zoom'"):
        load_image("camera", 10, method="zoom")


def test_random_patches_are_windows_of_the_sources_and_reproducible():
    rng = np.random.default_rng(3)
    a, b = rng.random((12, 15)), rng.random((9, 9))
    p = random_patches([a, b], (4, 5), count=40, random_state=7)
    assert p.shape == (40, 4, 5)
    np.testing.assert_array_equal(p, random_patches([a, b], (4, 5), 40, random_state=7))
    assert not np.array_equal(p, random_patches([a, b], (4, 5), 40, random_state=8))
    windows = [
        im[r : r + 4, c : c + 5] for im in (a, b) for r in range(im.shape[0] - 3) for c in range(im.shape[1] - 4)
    ]
    for patch in p:
        assert any(np.array_equal(patch, w) for w in windows)
    # positions are uniform over all windows: image a has 9*11 = 99, b has 6*5 = 30 windows
    many = random_patches([np.zeros((12, 15)), np.ones((9, 9))], (4, 5), 4000, random_state=0)
    frac_b = many[:, 0, 0].mean()
    assert abs(frac_b - 30 / 129) < 0.03


def test_random_patches_rejects_bad_arguments():
    img = np.zeros((8, 8))
    with pytest.raises(ValueError, match="count"):
        random_patches([img], 4, 0)
    with pytest.raises(ValueError, match="images"):
        random_patches([], 4, 1)
    with pytest.raises(ValueError, match=r"images\[0\]"):
        random_patches([img], 9, 1)
    with pytest.raises(ValueError, match=r"images\[1\]"):
        random_patches([img, np.full((8, 8), np.nan)], 4, 1)
    with pytest.raises(ValueError, match="random_state"):
        random_patches([img], 4, 1, random_state=-1)


@pytest.mark.parametrize("size", [32, 64, 100])
def test_shepp_logan_is_resized_phantom_zero_outside_the_disc(size):
    p = shepp_logan(size)
    assert p.shape == (size, size) and 0.0 <= p.min() and p.max() <= 1.0
    r, c = np.ogrid[:size, :size]
    assert not p[(r - size // 2) ** 2 + (c - size // 2) ** 2 > (size // 2) ** 2].any()
    ref = transform.resize(skdata.shepp_logan_phantom(), (size, size), order=1, mode="constant", anti_aliasing=True)
    inside = (r - size // 2) ** 2 + (c - size // 2) ** 2 <= (size // 2) ** 2
    np.testing.assert_allclose(p[inside], np.clip(ref, 0, 1)[inside], atol=1e-15)
    with pytest.raises(ValueError, match="size"):
        shepp_logan(1)
