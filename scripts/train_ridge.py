"""Train the ridge regularisers that tvspline ships (tvspline/imaging/models/{convex,weakly_convex}.npz).

    python scripts/train_ridge.py [--out DIR] [--kinds convex weakly_convex] [--max-iter N]

Deterministic: patches and noise from ``random_state=0`` on the TRAIN images only
(:data:`tvspline.imaging.TRAIN_IMAGES`), noise levels 5, 15, 25 (/255). The method is
:func:`tvspline.imaging.train_ridge_bilevel`: 15 filters 3x3 as the start (the 7 finite differences
of :func:`~tvspline.imaging.difference_bank` (order 2) and the 8 atoms of
:func:`~tvspline.imaging.dct_bank` (3), :func:`starting_filters`), 41 knots per profile, profiles and
noise table by L-BFGS-B on the exact denoiser (implicit gradients), then filter steps, two rounds
(40 L-BFGS-B iterations per round for the convex model; 60 and rho = 0.005 for the weakly convex
one). Then the noise table is calibrated (:func:`~tvspline.imaging.calibrate_noise_table`) on the
128x128 centre crops of the TRAIN images with noise from ``random_state=0``: the crops on which
``benchmarks/denoising.py`` tunes TV's weight. Prints the time, the certificate, the noise table and
the calibration of each model. Single process (5 and 16 min on one core of the development
machine). Reproduces the shipped files byte for byte (checked with ``cmp``).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from tvspline.imaging import (MODELS_DIR, FilterBank, calibrate_noise_table, dct_bank, difference_bank, train_images,
                              train_ridge_bilevel)

SETTINGS = dict(sigmas=(5 / 255, 15 / 255, 25 / 255), n_patches=32, patch_size=40, n_knots=41, L=1.0,
                n_rounds=2, filter_steps=4, random_state=0)
#: Per kind: L-BFGS-B iterations per round and, for the weakly convex kind, rho (alpha <= 1/rho).
PER_KIND = {"convex": dict(max_iter=40), "weakly_convex": dict(max_iter=60, rho=0.005)}
#: Calibration of the noise table: centre-crop size of the TRAIN images and the noise seed.
CALIBRATION = dict(size=128, random_state=0)


def starting_filters() -> FilterBank:
    """15 filters 3x3: the 7 finite differences of ``difference_bank(2)`` and the 8 DCT-II atoms of
    ``dct_bank(3)`` (scaled by 1/3), normalised together to ``||W|| <= 1``."""
    w = np.concatenate([difference_bank(2).filters, dct_bank(3).filters / 3])
    return FilterBank(w, "valid").normalized()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=MODELS_DIR, help="output directory (default: the package's models/)")
    ap.add_argument("--max-iter", type=int, default=None, help="L-BFGS-B iterations per round (default per kind)")
    ap.add_argument("--kinds", nargs="+", default=["convex", "weakly_convex"])
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    images = train_images()
    for kind in args.kinds:
        t0 = time.perf_counter()
        kw = dict(SETTINGS, **PER_KIND[kind])
        if args.max_iter is not None:
            kw["max_iter"] = args.max_iter
        model = train_ridge_bilevel(images, kind, kw.pop("sigmas"), filters=starting_filters(), progress=True, **kw)
        s, a = model.noise_table
        print("  trained noise table:", ", ".join(f"sigma={255 * si:.0f}/255 -> alpha={ai:.4g}" for si, ai in zip(s, a)))
        cal = calibrate_noise_table(model, train_images(CALIBRATION["size"]), random_state=CALIBRATION["random_state"])
        print(" ", cal)
        model = cal.regularizer
        path = os.path.join(args.out, f"{kind}.npz")
        model.save(path)
        dt = time.perf_counter() - t0
        print(f"\n{kind}: {dt:.1f} s, saved {path} ({os.path.getsize(path)} bytes)")
        print(" ", model.check_certificate())
        s, a = model.noise_table
        print("  noise table:", ", ".join(f"sigma={255 * si:.0f}/255 -> alpha={ai:.4g}" for si, ai in zip(s, a)))


if __name__ == "__main__":
    main()
