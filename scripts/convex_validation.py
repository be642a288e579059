"""Session 7's choice of a convex model on held-out training images (README, "Session 7 tried ...").

    python scripts/convex_validation.py tv                  # TV, weight tuned on the 9 images
    python scripts/convex_validation.py 3x3|5x5|5x5d [JSON]  # train on 9 TRAIN images, score on 3

Each candidate is the recipe of ``scripts/train_ridge.py`` for the convex kind, with its starting
filters (``3x3``: the shipped start; ``5x5``: the 24 DCT atoms 5x5; ``5x5d``: both banks, the
differences zero-padded to 5x5) and optional overrides of the training settings given as JSON (for
example ``'{"max_iter": 60}'``). It is trained on the 9 TRAIN images outside ``TRAIN_IMAGES[3::4]``
and scored on those three (128x128 centre crops, noise as in ``benchmarks/denoising.py``, the same
``reconstruct`` call as that benchmark), printing the mean and per-image PSNR at sigma = 5, 15, 25
(/255). Never looks at the test images. 3-10 min per candidate on one core.
"""

from __future__ import annotations

import json
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
from skimage.restoration import denoise_tv_chambolle  # noqa: E402

from tvspline.imaging import (TRAIN_IMAGES, FilterBank, Identity, dct_bank, difference_bank,  # noqa: E402
                              load_image, reconstruct, train_ridge_bilevel)
from tvspline.imaging.training import psnr  # noqa: E402

HELD_OUT = TRAIN_IMAGES[3::4]
FIT = tuple(n for n in TRAIN_IMAGES if n not in HELD_OUT)
SIGMAS_255 = (5, 15, 25)
SIZE = 128


def starting_filters(spec: str) -> FilterBank:
    if spec == "3x3":
        return train_ridge.starting_filters()
    dct5 = dct_bank(5).filters / 5
    if spec == "5x5":
        return FilterBank(dct5, "valid").normalized()
    if spec == "5x5d":
        d = np.zeros((7, 5, 5))
        d[:, 1:4, 1:4] = difference_bank(2).filters
        return FilterBank(np.concatenate([d, dct5]), "valid").normalized()
    raise ValueError(f"unknown candidate {spec!r}; expected 'tv', '3x3', '5x5' or '5x5d'")


def scores(denoiser) -> dict:
    out = {}
    for s in SIGMAS_255:
        p = []
        for j, name in enumerate(HELD_OUT):
            x = load_image(name, SIZE)
            p.append(psnr(denoiser(noisy_image(x, s, j), s), x))
        out[s] = (round(float(np.mean(p)), 3), [round(float(v), 2) for v in p])
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        raise SystemExit(__doc__)
    warnings.simplefilter("ignore")
    spec = argv[0]
    if spec == "tv":
        fit_images = [load_image(n, SIZE) for n in FIT]
        weights = {s: tune_tv(fit_images, s) for s in SIGMAS_255}
        print("TV", scores(lambda y, s: denoise_tv_chambolle(y, weight=weights[s])))
        return
    overrides = json.loads(argv[1]) if len(argv) > 1 else {}
    kw = dict(train_ridge.SETTINGS, **train_ridge.PER_KIND["convex"])
    kw.update(overrides)
    t0 = time.perf_counter()
    reg = train_ridge_bilevel([load_image(n) for n in FIT], "convex", kw.pop("sigmas"),
                              filters=starting_filters(spec), progress=False, **kw)
    print(spec, overrides, f"trained in {time.perf_counter() - t0:.0f} s", flush=True)

    def denoise(y, s):
        return reconstruct(y, Identity(), reg, reg.alpha(s / 255), tol=1e-5 * SIZE, max_iter=3000).x

    print(spec, "held out", HELD_OUT, scores(denoise))


if __name__ == "__main__":
    main()
