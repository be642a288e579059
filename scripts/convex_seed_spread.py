"""Spread of the shipped convex recipe's test PSNR over training seeds (README, "Session 8").

    python scripts/convex_seed_spread.py [--no-calibration] SEED [SEED ...]

For each seed, trains the convex model with the recipe of ``scripts/train_ridge.py``, changing only
``random_state`` of the training (seed 0 is the shipped model, which is loaded instead of retrained),
and calibrates its noise table as that script does (same crops, same noise seed). With
``--no-calibration`` the trained noise table is kept (and seed 0 is retrained, which reproduces the
model shipped before session 8 byte for byte). It then prints
the PSNR on the benchmark's test problems: 128x128 crops of the six test images, the noise and the
denoiser call of ``benchmarks/denoising.py``, at sigma = 5, 15 and 25 (/255). This is for
reporting only, and was declared so before the runs: no model trained here is shipped or chosen
from these numbers. It takes about 4 min per seed on one core.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "benchmarks"))
sys.path.insert(0, HERE)

import train_ridge  # noqa: E402
from denoising import SIGMAS_255, noisy_image  # noqa: E402

from tvspline.imaging import (Identity, calibrate_noise_table, pretrained, reconstruct, test_images,  # noqa: E402
                              train_images, train_ridge_bilevel)
from tvspline.imaging.training import psnr  # noqa: E402

SIZE = 128


def convex_model(seed: int, calibrate: bool = True):
    if seed == 0 and calibrate:
        return pretrained("convex")
    kw = dict(train_ridge.SETTINGS, **train_ridge.PER_KIND["convex"])
    kw["random_state"] = seed
    t0 = time.perf_counter()
    reg = train_ridge_bilevel(train_images(), "convex", kw.pop("sigmas"), filters=train_ridge.starting_filters(),
                              progress=False, **kw)
    print(f"seed {seed}: trained in {time.perf_counter() - t0:.0f} s", flush=True)
    if calibrate:
        c = train_ridge.CALIBRATION
        reg = calibrate_noise_table(reg, train_images(c["size"]), random_state=c["random_state"], progress=False).regularizer
    return reg


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seeds", type=int, nargs="+")
    ap.add_argument("--no-calibration", action="store_true", help="keep the trained noise table")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    test = test_images(SIZE)
    for seed in args.seeds:
        reg = convex_model(seed, calibrate=not args.no_calibration)
        for s in SIGMAS_255:
            p = [psnr(reconstruct(noisy_image(x, s, j), Identity(), reg, reg.alpha(s / 255), tol=1e-5 * SIZE,
                                  max_iter=3000).x, x) for j, x in enumerate(test)]
            print(f"seed {seed} sigma {s}: mean {np.mean(p):.3f}  per image " + " ".join(f"{v:.2f}" for v in p),
                  flush=True)


if __name__ == "__main__":
    main()
