"""Train the ridge regularisers of tvspline from a folder of natural images.

    python scripts/train_ridge.py --data DIR --kind convex|weakly_convex [--out DIR] [--rounds N]
                                  [--checkpoint FILE] [--seed 0]

``--data`` is a folder of grey training images: the 400 Berkeley crops of 180 x 180 pixels used to
train DnCNN, CRR-NN and WCRR-NN (the images are not distributed with tvspline). The method is
:func:`tvspline.imaging.train_ridge_rounds` with the settings of :data:`SETTINGS` and
:data:`PER_KIND`: 24 filters of 5 x 5 (starting from the 24 non-constant 2-D DCT atoms), 41 knots
per profile, noise levels 5, 15 and 25 (/255), rounds of 96 patches of 40 x 40 drawn from every
image in turn; each round runs 20 L-BFGS-B evaluations of the exact bilevel loss on the profiles
and the noise table, every third round on the filters and the noise table. The noise table is then
calibrated (:func:`~tvspline.imaging.calibrate_noise_table`) on :data:`CALIBRATION_IMAGES` of the
same folder, with noise from ``--seed``.

The shipped convex model (``tvspline/imaging/models/convex.npz``) is the output of
``--kind convex`` on the 400 Berkeley crops: 68 minutes of training (wall clock, resumed twice
from its checkpoints) and 2 of calibration, on 2 cores shared with the weakly convex run. The weakly convex model of this recipe scored below the
shipped weakly convex model (15 filters of 3 x 3, trained on the bundled images) on the Set12
validation images at every noise level (see ``benchmarks/denoising_tradeoff.py``), so the latter
is still the one shipped.

Deterministic: the same command and seed write the same file. A checkpoint is written after every
round (default ``OUT/KIND.checkpoint.npz``); rerunning the same command resumes after the last
completed round. ``--rounds`` shortens the schedule (for a quick check of reproducibility).
"""

from __future__ import annotations

import argparse
import os
import time

from tvspline.imaging import MODELS_DIR, calibrate_noise_table, initial_bank, load_folder, train_ridge_rounds

#: Settings shared by both kinds.
SETTINGS = dict(sigmas=(5 / 255, 15 / 255, 25 / 255), n_rounds=32, patches_per_round=96, patch_size=40,
                evals_per_round=20, n_knots=41, L=1.0, recon_tol=2e-6, filters_every=3)
#: Per kind: the number of rounds (the weakly convex denoiser costs more per evaluation: fewer rounds
#: within the same training time) and the lower slope bound of the weakly convex profiles
#: (alpha <= 1 / rho).
PER_KIND = {"convex": dict(), "weakly_convex": dict(n_rounds=26, rho=0.002)}
#: Starting filters: ``initial_bank(*FILTERS)`` (number of filters, kernel size).
FILTERS = (24, 5)
#: The images of the training folder on which the noise table is calibrated (every 40th: 10 images).
CALIBRATION_IMAGES = slice(0, None, 40)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder of grey training images (PNG)")
    ap.add_argument("--kind", required=True, choices=["convex", "weakly_convex"])
    ap.add_argument("--out", default=MODELS_DIR, help="output directory (default: the package's models/)")
    ap.add_argument("--rounds", type=int, default=None, help=f"number of rounds (default {SETTINGS['n_rounds']})")
    ap.add_argument("--checkpoint", default=None, help="checkpoint file (default OUT/KIND.checkpoint.npz)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    images = load_folder(args.data)
    kw = dict(SETTINGS, **PER_KIND[args.kind])
    if args.rounds is not None:
        kw["n_rounds"] = args.rounds
    checkpoint = args.checkpoint or os.path.join(args.out, f"{args.kind}.checkpoint.npz")
    t0 = time.perf_counter()
    model = train_ridge_rounds(images, args.kind, kw.pop("sigmas"), filters=initial_bank(*FILTERS),
                               random_state=args.seed, checkpoint=checkpoint, progress=not args.no_progress, **kw)
    t1 = time.perf_counter()
    s, a = model.noise_table
    print("trained noise table:", ", ".join(f"sigma={255 * si:.0f}/255 -> alpha={ai:.4g}" for si, ai in zip(s, a)))
    cal = calibrate_noise_table(model, images[CALIBRATION_IMAGES], random_state=args.seed,
                                progress=not args.no_progress)
    print(cal)
    model = cal.regularizer
    path = os.path.join(args.out, f"{args.kind}.npz")
    model.save(path)
    t2 = time.perf_counter()
    print(f"{args.kind}: training {t1 - t0:.0f} s, calibration {t2 - t1:.0f} s; saved {path} "
          f"({os.path.getsize(path)} bytes)")
    print(model.check_certificate())
    print("knots per profile:", [p.n_knots for p in model.profiles])


if __name__ == "__main__":
    main()
