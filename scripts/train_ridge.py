"""Train the ridge regularisers that tvspline ships (tvspline/imaging/models/{convex,weakly_convex}.npz).

    python scripts/train_ridge.py [--out DIR] [--n-outer N] [--quick]

Deterministic: patches and noise from ``random_state=0`` on the TRAIN images only
(:data:`tvspline.imaging.TRAIN_IMAGES`), noise levels 5, 15, 25 (/255), 16 filters 5 x 5,
25 knots per profile. Prints the training history (validation PSNR of the full reconstruction on
training-image patches after each stage) and the certificate of each model. Single process.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from tvspline.imaging import MODELS_DIR, train_images, train_ridge

SETTINGS = dict(sigmas=(5 / 255, 15 / 255, 25 / 255), n_filters=16, kernel_size=5, n_patches=48, patch_size=32,
                n_val=12, val_size=40, n_knots=25, lam=1e-7, L=1.0, rho=1.0, n_outer=4, random_state=0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=MODELS_DIR, help="output directory (default: the package's models/)")
    ap.add_argument("--n-outer", type=int, default=SETTINGS["n_outer"])
    ap.add_argument("--kinds", nargs="+", default=["convex", "weakly_convex"])
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    images = train_images()
    for kind in args.kinds:
        t0 = time.perf_counter()
        kw = dict(SETTINGS, n_outer=args.n_outer)
        model, history = train_ridge(images, kind, kw.pop("sigmas"), return_history=True, progress=True, **kw)
        path = os.path.join(args.out, f"{kind}.npz")
        model.save(path)
        dt = time.perf_counter() - t0
        print(f"\n{kind}: {dt:.1f} s, saved {path} ({os.path.getsize(path)} bytes)")
        for h in history:
            v = "-" if h["val_psnr"] is None else f"{h['val_psnr']:.3f} dB"
            print(f"  {h['stage']:<14} val PSNR {v:>10}  accepted={h['accepted']}  t={h['time']:.1f}s")
        print(" ", model.check_certificate())
        s, a = model.noise_table
        print("  noise table:", ", ".join(f"sigma={255 * si:.0f}/255 -> alpha={ai:.4g}" for si, ai in zip(s, a)))


if __name__ == "__main__":
    main()
