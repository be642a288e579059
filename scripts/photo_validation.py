"""Session 8's test of a larger photographic training set for the convex model (README, "Session 8").

    python scripts/photo_validation.py old|photos [tv]

The protocol was fixed before the runs. Only 3 of the 12 training images are photographs (chelsea,
clock, motorcycle); the papers train on natural photographs. Five more ship inside packages:
``aero`` and ``ascent`` (PyWavelets), ``china`` and ``flower`` (scikit-learn) and ``grace_hopper``
(matplotlib). The validation images, three of the eight photographs, were fixed before the runs:
ascent, flower and motorcycle. The candidates are the convex recipe
of ``scripts/train_ridge.py``, unchanged, trained on ``old`` (the 11 training images other than
motorcycle) or on ``photos`` (those 11, plus aero, china and grace_hopper). Each is scored on the
128x128 centre crops of the validation photographs, with the noise and the denoiser call of
``benchmarks/denoising.py``. The rule: the higher mean PSNR at sigma = 25/255 wins. With ``tv``, TV
is scored instead, with its weight tuned on the candidate's images as the benchmark tunes it. The
test images are never read. This needs scikit-learn and PyWavelets (``pip install scikit-learn
PyWavelets``). It takes 2-4 min per candidate on one core.
"""

from __future__ import annotations

import os
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "benchmarks"))
sys.path.insert(0, HERE)

import train_ridge  # noqa: E402
from denoising import noisy_image, tune_tv  # noqa: E402
from skimage.color import rgb2gray  # noqa: E402
from skimage.restoration import denoise_tv_chambolle  # noqa: E402
from skimage.util import img_as_float  # noqa: E402

from tvspline.imaging import TRAIN_IMAGES, Identity, load_image, reconstruct, train_ridge_bilevel  # noqa: E402
from tvspline.imaging.training import psnr  # noqa: E402

EXTRA_PHOTOS = ("aero", "ascent", "china", "flower", "grace_hopper")
VALIDATION = ("ascent", "flower", "motorcycle")
OLD = tuple(n for n in TRAIN_IMAGES if n not in VALIDATION)
CANDIDATES = {"old": OLD, "photos": OLD + tuple(n for n in EXTRA_PHOTOS if n not in VALIDATION)}
SIGMAS_255 = (5, 15, 25)
SIZE = 128


def load_photo(name: str) -> np.ndarray:
    """A training image, or one of the packaged photographs as grey float64 in [0, 1] (as ``load_image``)."""
    if name in TRAIN_IMAGES:
        return load_image(name)
    if name in ("aero", "ascent"):
        import pywt.data

        raw = getattr(pywt.data, name)()
    elif name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        raw = load_sample_image(name + ".jpg")
    elif name == "grace_hopper":
        import matplotlib.pyplot as plt
        from matplotlib import cbook

        raw = plt.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    else:
        raise ValueError(f"unknown image {name!r}")
    img = rgb2gray(raw) if raw.ndim == 3 else raw
    return np.ascontiguousarray(np.clip(img_as_float(img).astype(np.float64), 0.0, 1.0))


def centre_crop(img: np.ndarray, n: int = SIZE) -> np.ndarray:
    r, c = (img.shape[0] - n) // 2, (img.shape[1] - n) // 2
    return img[r : r + n, c : c + n]


def scores(denoiser) -> dict:
    out = {}
    for s in SIGMAS_255:
        p = []
        for j, name in enumerate(VALIDATION):
            x = centre_crop(load_photo(name))
            p.append(psnr(denoiser(noisy_image(x, s, j), s), x))
        out[s] = (round(float(np.mean(p)), 3), [round(float(v), 2) for v in p])
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in CANDIDATES:
        raise SystemExit(__doc__)
    warnings.simplefilter("ignore")
    name = argv[0]
    images = [load_photo(n) for n in CANDIDATES[name]]
    if argv[1:] == ["tv"]:
        weights = {s: tune_tv([centre_crop(im) for im in images], s) for s in SIGMAS_255}
        print(name, "TV", scores(lambda y, s: denoise_tv_chambolle(y, weight=weights[s])))
        return
    kw = dict(train_ridge.SETTINGS, **train_ridge.PER_KIND["convex"])
    t0 = time.perf_counter()
    reg = train_ridge_bilevel(images, "convex", kw.pop("sigmas"), filters=train_ridge.starting_filters(),
                              progress=False, **kw)
    print(name, f"trained in {time.perf_counter() - t0:.0f} s", flush=True)

    def denoise(y, s):
        return reconstruct(y, Identity(), reg, reg.alpha(s / 255), tol=1e-5 * SIZE, max_iter=3000).x

    print(name, "validation", VALIDATION, scores(denoise))


if __name__ == "__main__":
    main()
