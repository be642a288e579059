r"""Test images bundled with scikit-image, as grey float64 arrays in :math:`[0, 1]`.

Each image :math:`x \in [0, 1]^{H \times W}` is read from the files that scikit-image ships inside
its own package (no network access), converted to grey by ``skimage.color.rgb2gray`` (ITU-R 709
luma weights) when it is in colour, and to float64 by ``skimage.util.img_as_float``.

Images available offline (scikit-image 0.26) and used here, all natural (photographic or
microscopy) images:

========================  =============  ======  ==========================================
name                      shape (grey)   split   content
========================  =============  ======  ==========================================
``astronaut``             512 x 512      test    portrait (Eileen Collins)
``camera``                512 x 512      test    cameraman
``coffee``                400 x 600      test    coffee cup
``coins``                 303 x 384      test    Greek coins
``moon``                  512 x 512      test    lunar surface
``rocket``                427 x 640      test    rocket on the launch pad
``brick``                 512 x 512      train   brick wall (texture)
``cell``                  660 x 550      train   cell, light microscopy
``chelsea``               300 x 451      train   cat
``clock``                 300 x 400      train   clock (motion-blurred photograph)
``grass``                 512 x 512      train   grass (texture)
``gravel``                512 x 512      train   gravel (texture)
``hubble_deep_field``     872 x 1000     train   Hubble deep field
``immunohistochemistry``  512 x 512      train   stained tissue, microscopy
``motorcycle``            500 x 741      train   left image of ``stereo_motorcycle``
``page``                  191 x 384      train   scanned text page
``retina``                1411 x 1411    train   fundus photograph
``text``                  172 x 448      train   photographed text
========================  =============  ======  ==========================================

The split is by image (no image contributes to both sets) and fixed: :data:`TRAIN_IMAGES` for
learning, :data:`TEST_IMAGES` (six classic photographs) for evaluation only.

Left out: ``eagle``, ``lily``, ``skin`` (and the 3-D / microscopy stacks ``brain``, ``cells3d``,
``kidney``, ...) are fetched from the internet with pooch and fail offline; ``cat`` is
``chelsea`` again; ``colorwheel``, ``logo``, ``horse``, ``checkerboard``, ``binary_blobs``,
``microaneurysms`` (102 x 102) and ``shepp_logan_phantom`` are synthetic or tiny. The phantom is
available as :func:`shepp_logan` for computed tomography.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np

from .._random import as_generator

__all__ = [
    "TRAIN_IMAGES",
    "TEST_IMAGES",
    "IMAGE_NAMES",
    "load_image",
    "train_images",
    "test_images",
    "random_patches",
    "shepp_logan",
]

#: Images used for learning (fixed; disjoint from :data:`TEST_IMAGES`).
TRAIN_IMAGES: tuple[str, ...] = (
    "brick",
    "cell",
    "chelsea",
    "clock",
    "grass",
    "gravel",
    "hubble_deep_field",
    "immunohistochemistry",
    "motorcycle",
    "page",
    "retina",
    "text",
)
#: Held-out images for evaluation only (fixed).
TEST_IMAGES: tuple[str, ...] = ("astronaut", "camera", "coffee", "coins", "moon", "rocket")
#: Every image :func:`load_image` knows, in alphabetical order.
IMAGE_NAMES: tuple[str, ...] = tuple(sorted(TRAIN_IMAGES + TEST_IMAGES))

_RESIZE_METHODS = ("crop", "resize")


def _skimage():
    try:
        import skimage.color
        import skimage.data
        import skimage.transform
        import skimage.util
    except ImportError as exc:  # pragma: no cover - scikit-image is a dependency of tvspline.imaging
        raise ImportError("tvspline.imaging.data needs scikit-image (pip install scikit-image)") from exc
    return skimage


@functools.lru_cache(maxsize=None)
def _load_full(name: str) -> np.ndarray:
    """Full-size grey float64 image (cached, read-only)."""
    ski = _skimage()
    if name == "motorcycle":
        raw = ski.data.stereo_motorcycle()[0]
    else:
        raw = getattr(ski.data, name)()
    img = np.asarray(raw)
    if img.ndim == 3:
        if img.shape[-1] == 4:  # pragma: no cover - none of the listed images has alpha
            img = ski.color.rgba2rgb(img)
        img = ski.color.rgb2gray(img)
    img = np.clip(ski.util.img_as_float(img).astype(np.float64, copy=False), 0.0, 1.0)
    img = np.ascontiguousarray(img)
    img.setflags(write=False)
    return img


def _check_size(size, name: str = "size") -> tuple[int, int]:
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (size, size)
    try:
        h, w = size
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive int or a pair (height, width), got {size!r}") from None
    for v in (h, w):
        if not (isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1):
            raise ValueError(f"{name} must be a positive int or a pair of positive ints, got {size!r}")
    return int(h), int(w)


def _centre_crop(img: np.ndarray, h: int, w: int) -> np.ndarray:
    r0 = (img.shape[0] - h) // 2
    c0 = (img.shape[1] - w) // 2
    return img[r0 : r0 + h, c0 : c0 + w]


def load_image(name: str, size=None, *, method: str = "crop") -> np.ndarray:
    """Load a bundled natural image as grey float64 in ``[0, 1]``.

    Parameters
    ----------
    name : str
        One of :data:`IMAGE_NAMES` (see the module docstring for the list).
    size : None, int or (int, int)
        ``None`` returns the full image. An int ``n`` means ``(n, n)``; a pair is
        ``(height, width)``.
    method : {"crop", "resize"}
        How ``size`` is reached. ``"crop"`` (default) takes the centre ``size`` window at the
        native resolution (no interpolation: the pixel statistics, and so the noise level a
        denoiser sees, are those of the original image); ``size`` must fit inside the image.
        ``"resize"`` first crops the centre window of the target aspect ratio, as large as the
        image allows, then resamples it to ``size`` with ``skimage.transform.resize``
        (bilinear, anti-aliased when shrinking) and clips to ``[0, 1]``.

    Returns
    -------
    ndarray of float64, shape (H, W)
        A new writable array with values in ``[0, 1]``.

    Raises
    ------
    ValueError
        If ``name`` is unknown, ``size`` is not a positive int or pair, ``method`` is unknown, or
        ``method="crop"`` and ``size`` is larger than the image.

    Examples
    --------
    >>> from tvspline.imaging import load_image
    >>> x = load_image("camera", 64)
    >>> x.shape, x.dtype, bool(0.0 <= x.min() <= x.max() <= 1.0)
    ((64, 64), dtype('float64'), True)
    >>> load_image("coffee", (40, 60), method="resize").shape
    (40, 60)
    """
    if name not in IMAGE_NAMES:
        raise ValueError(f"unknown image name {name!r}; expected one of {', '.join(map(repr, IMAGE_NAMES))}")
    if method not in _RESIZE_METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(map(repr, _RESIZE_METHODS))}")
    img = _load_full(name)
    if size is None:
        return img.copy()
    h, w = _check_size(size)
    H, W = img.shape
    if method == "crop":
        if h > H or w > W:
            raise ValueError(
                f"size {(h, w)} is larger than the image {name!r} of shape {(H, W)}; "
                "use a smaller size or method='resize'"
            )
        return _centre_crop(img, h, w).copy()
    # largest centred window with the aspect ratio h / w, then resample
    scale = min(H / h, W / w)
    ch, cw = max(1, min(H, int(round(h * scale)))), max(1, min(W, int(round(w * scale))))
    window = _centre_crop(img, ch, cw)
    out = _skimage().transform.resize(window, (h, w), order=1, mode="reflect", anti_aliasing=(ch > h or cw > w))
    return np.clip(np.asarray(out, dtype=np.float64), 0.0, 1.0)


def train_images(size=None, *, method: str = "crop") -> list[np.ndarray]:
    """The :data:`TRAIN_IMAGES`, in that order, loaded by :func:`load_image`.

    With ``method="crop"`` an integer ``size`` larger than an image is reduced to fit that image
    (so ``train_images(256)`` gives 256 x 256 crops, and ``page`` (191 x 384) gives 191 x 256).

    Examples
    --------
    >>> from tvspline.imaging import train_images, TRAIN_IMAGES
    >>> imgs = train_images(32)
    >>> len(imgs) == len(TRAIN_IMAGES), imgs[0].shape
    (True, (32, 32))
    """
    return [_load_fitting(n, size, method) for n in TRAIN_IMAGES]


def test_images(size=None, *, method: str = "crop") -> list[np.ndarray]:
    """The :data:`TEST_IMAGES`, in that order, loaded by :func:`load_image` (see :func:`train_images`).

    Examples
    --------
    >>> from tvspline.imaging import test_images
    >>> [im.shape for im in test_images(48)][:2]
    [(48, 48), (48, 48)]
    """
    return [_load_fitting(n, size, method) for n in TEST_IMAGES]


# pytest collects module-level names starting with "test"; this one is a data loader.
test_images.__test__ = False


def _load_fitting(name, size, method):
    if size is not None and method == "crop":
        h, w = _check_size(size)
        H, W = _load_full(name).shape
        size = (min(h, H), min(w, W))
    return load_image(name, size, method=method)


def random_patches(images, size, count: int, random_state=None) -> np.ndarray:
    """Draw square or rectangular patches uniformly from a list of images.

    Every admissible patch position of every image is equally likely: image ``j`` is chosen with
    probability proportional to its number of positions ``(H_j - h + 1)(W_j - w + 1)``, then a
    position uniformly within it (with replacement).

    Parameters
    ----------
    images : sequence of 2-D arrays
        Source images (e.g. :func:`train_images`); each must be at least ``size``.
    size : int or (int, int)
        Patch shape ``(h, w)`` (an int means square).
    count : int
        Number of patches, ``>= 1``.
    random_state : None, int or numpy.random.Generator
        Seed; the same seed gives the same patches.

    Returns
    -------
    ndarray of float64, shape (count, h, w)

    Raises
    ------
    ValueError
        If ``images`` is empty, an image is not 2-D, finite and at least ``size``, or ``count`` or
        ``size`` is not a positive integer.

    Examples
    --------
    >>> from tvspline.imaging import random_patches, load_image
    >>> p = random_patches([load_image("camera", 64)], 8, count=5, random_state=0)
    >>> p.shape
    (5, 8, 8)
    >>> bool((p == random_patches([load_image("camera", 64)], 8, 5, random_state=0)).all())
    True
    """
    h, w = _check_size(size)
    if not (isinstance(count, numbers.Integral) and not isinstance(count, bool) and count >= 1):
        raise ValueError(f"count must be a positive integer, got {count!r}")
    if isinstance(images, np.ndarray) and images.ndim == 2:
        images = [images]
    imgs = [np.asarray(im, dtype=np.float64) for im in images]
    if not imgs:
        raise ValueError("images must contain at least one image, got an empty sequence")
    for j, im in enumerate(imgs):
        if im.ndim != 2:
            raise ValueError(f"images[{j}] must be 2-D, got shape {im.shape}")
        if im.shape[0] < h or im.shape[1] < w:
            raise ValueError(f"images[{j}] of shape {im.shape} is smaller than the patch size {(h, w)}")
        if not np.isfinite(im).all():
            raise ValueError(f"images[{j}] contains NaN or infinite values")
    rng = as_generator(random_state)
    positions = np.array([(im.shape[0] - h + 1) * (im.shape[1] - w + 1) for im in imgs], dtype=np.float64)
    which = rng.choice(len(imgs), size=count, p=positions / positions.sum())
    out = np.empty((count, h, w))
    for n, j in enumerate(which):
        im = imgs[j]
        r = rng.integers(0, im.shape[0] - h + 1)
        c = rng.integers(0, im.shape[1] - w + 1)
        out[n] = im[r : r + h, c : c + w]
    return out


def shepp_logan(size: int = 128) -> np.ndarray:
    """The modified Shepp-Logan phantom of scikit-image, resized to ``size x size``, in ``[0, 1]``.

    The phantom (400 x 400) is resampled with ``skimage.transform.resize`` (bilinear,
    anti-aliased), clipped to ``[0, 1]`` and set to zero outside the inscribed disc
    ``(r - size//2)^2 + (c - size//2)^2 <= (size//2)^2`` (the disc of ``skimage.transform.radon``
    with ``circle=True``; at small sizes the anti-aliasing would leak past it), as
    :class:`~tvspline.imaging.ParallelBeamCT` requires.

    Examples
    --------
    >>> from tvspline.imaging import shepp_logan
    >>> p = shepp_logan(64)
    >>> p.shape, float(p[0, 0]), bool(p.max() <= 1.0)
    ((64, 64), 0.0, True)
    """
    if not (isinstance(size, numbers.Integral) and not isinstance(size, bool) and size >= 2):
        raise ValueError(f"size must be an integer >= 2, got {size!r}")
    ski = _skimage()
    ph = np.asarray(ski.data.shepp_logan_phantom(), dtype=np.float64)
    if ph.shape != (size, size):
        ph = ski.transform.resize(ph, (size, size), order=1, mode="constant", anti_aliasing=size < ph.shape[0])
    ph = np.clip(np.asarray(ph, dtype=np.float64), 0.0, 1.0)
    r, c = np.ogrid[:size, :size]
    ph[(r - size // 2) ** 2 + (c - size // 2) ** 2 > (size // 2) ** 2] = 0.0
    return ph


def load_folder(path, pattern: str = "*.png") -> list[np.ndarray]:
    """Read every grey image of a folder as float64 in ``[0, 1]``, in sorted file-name order.

    Colour images are converted by ``skimage.color.rgb2gray`` (an alpha channel is dropped first);
    integer images are scaled by their dtype's maximum (``skimage.util.img_as_float``).

    Parameters
    ----------
    path : str or os.PathLike
        A folder, for example the 400 Berkeley training crops or Set12.
    pattern : str
        Glob pattern of the files to read (default ``"*.png"``).

    Returns
    -------
    list of ndarray
        One 2-D array per file, in the order of ``sorted(file names)``.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a folder.
    ValueError
        If no file matches ``pattern``.

    Examples
    --------
    >>> import tempfile, numpy as np, skimage.io
    >>> from tvspline.imaging import load_folder
    >>> with tempfile.TemporaryDirectory() as d:
    ...     skimage.io.imsave(d + "/a.png", np.full((4, 5), 255, dtype=np.uint8), check_contrast=False)
    ...     images = load_folder(d)
    >>> len(images), images[0].shape, float(images[0].max())
    (1, (4, 5), 1.0)
    """
    import glob
    import os

    if not os.path.isdir(path):
        raise FileNotFoundError(f"path must be a folder of images, got {os.fspath(path)!r}")
    files = sorted(glob.glob(os.path.join(os.fspath(path), pattern)))
    if not files:
        raise ValueError(f"no file matches {pattern!r} in {os.fspath(path)!r}")
    io, color, util = _skimage_io()
    out = []
    for f in files:
        im = io.imread(f)
        if im.ndim == 3:
            im = color.rgb2gray(im[..., :3])
        if im.ndim != 2:
            raise ValueError(f"{f!r} is not a 2-D image (shape {im.shape})")
        out.append(np.ascontiguousarray(util.img_as_float(im), dtype=np.float64))
    return out


def _skimage_io():
    import skimage.color
    import skimage.io
    import skimage.util

    return skimage.io, skimage.color, skimage.util
