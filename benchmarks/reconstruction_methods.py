"""Speed of the reconstruction engine: one 481x321 image denoised at sigma = 25/255.

    python benchmarks/reconstruction_methods.py [--tols 1e-3 3e-4 1e-4 3e-5 1e-5] [--sets shipped synthetic]
        [--model NAME=PATH ...] [--out STEM] [--merge STEM ...]

The image is scikit-image's ``astronaut`` (grey, ``[0, 1]``) resized to 321 x 481 (the size of a
BSD68 image), with Gaussian noise of standard deviation 25/255 from seed 0. Models:

- the shipped ``pretrained("convex")`` and ``pretrained("weakly_convex")``;
- ``synthetic24_convex``: 24 filters of 5x5 (``initial_bank(24, 5)``), every profile the clipped
  identity ``clip(t, -d, d)`` (``d = 0.02``) on 41 knots; its ``alpha`` at sigma 25/255 calibrated
  on a 96x96 crop of the TRAIN image ``chelsea`` (:func:`~tvspline.imaging.calibrate_noise_table`);
- ``synthetic24_weakly_convex``: the same filters, profiles ``clip(t, -d, d) - rho (t - clip(t, -d, d))``
  on ``[-T, T]`` and flat beyond (slopes in ``[-rho, 1]``), ``rho`` chosen so that the weakly
  convex cap ``1 / weak_convexity()`` equals the convex model's ``alpha``, denoised at that cap
  (convex, not strongly convex: the hardest convex case);
- any ``--model NAME=PATH`` (a saved :class:`~tvspline.imaging.RidgeRegularizer` with a noise table).

For each model, a reference solve (``method="lbfgs"``, ``tol=1e-8``) gives the reference PSNR; then
every method (``"fista"``, the engine; ``"lbfgs"``) at every relative tolerance ``tol`` denoises the
same image from ``y``. Recorded: wall time and process CPU time (s), iterations, convergence, and
the PSNR difference against the reference (dB). Writes
``benchmarks/results/reconstruction_methods.{csv,md}`` with provenance columns.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._provenance import provenance  # noqa: E402
from tvspline import LinearSpline  # noqa: E402
from tvspline.imaging import (  # noqa: E402
    Identity,
    ReconstructionWarning,
    RidgeRegularizer,
    calibrate_noise_table,
    initial_bank,
    load_image,
    pretrained,
    psnr,
    reconstruct,
)

SIGMA = 25 / 255
SHAPE = (321, 481)
TOLS = (1e-3, 3e-4, 1e-4, 3e-5, 1e-5)
METHODS = ("fista", "lbfgs")
REFERENCE_TOL = 1e-8
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def test_image():
    from skimage.transform import resize

    x = resize(load_image("astronaut"), SHAPE, anti_aliasing=True)
    y = x + SIGMA * np.random.default_rng(0).standard_normal(SHAPE)
    return x, y


def synthetic_models(d=0.02, T=0.5):
    """The two 24-filter 5x5 models of the module docstring, each with ``alpha`` at SIGMA."""
    bank = initial_bank(24, 5)
    t = np.linspace(-T, T, 41)
    convex = RidgeRegularizer(bank, [LinearSpline(t, np.clip(t, -d, d))] * 24, noise_levels=[SIGMA], alphas=[1.0])
    crop = load_image("chelsea")[100:196, 150:246]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReconstructionWarning)
        convex = calibrate_noise_table(convex, [crop], search_factor=64.0, xatol=0.05, progress=False).regularizer
    a = convex.alpha(SIGMA)
    rho = 1.0 / (a * bank.norm_bound() ** 2)
    tk = np.concatenate([[-2 * T], t, [2 * T]])
    core = np.clip(t, -d, d) - rho * (t - np.clip(t, -d, d))
    values = np.concatenate([[core[0]], core, [core[-1]]])
    weak = RidgeRegularizer(bank, [LinearSpline(tk, values)] * 24, "weakly_convex", rho=rho)
    weak = weak.with_noise_table([SIGMA], [1.0 / weak.weak_convexity()])
    return {"synthetic24_convex": convex, "synthetic24_weakly_convex": weak}


def run(models, tols, methods=METHODS):
    x, y = test_image()
    rows = []
    prov = provenance()
    for name, reg in models.items():
        alpha = reg.alpha(SIGMA)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ReconstructionWarning)
            ref = reconstruct(y, Identity(), reg, alpha, tol=REFERENCE_TOL, max_iter=20000, method="lbfgs")
        p_ref = psnr(ref.x, x)
        print(f"{name}: alpha {alpha:.6g}, convex {ref.convex}, reference PSNR {p_ref:.4f} dB "
              f"({ref.n_iter} it, converged {ref.converged})", flush=True)
        for tol in tols:
            for m in methods:
                w0, c0 = time.perf_counter(), time.process_time()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ReconstructionWarning)
                    r = reconstruct(y, Identity(), reg, alpha, tol=tol, max_iter=20000, method=m)
                wall, cpu = time.perf_counter() - w0, time.process_time() - c0
                row = dict(model=name, n_filters=reg.filters.n_filters,
                           kernel=f"{reg.filters.kernel_shape[0]}x{reg.filters.kernel_shape[1]}",
                           alpha=f"{alpha:.6g}", convex=r.convex, method=m, tol=f"{tol:g}", wall_s=f"{wall:.2f}",
                           cpu_s=f"{cpu:.2f}", n_iter=r.n_iter, converged=r.converged,
                           psnr_db=f"{psnr(r.x, x):.4f}", psnr_diff_db=f"{psnr(r.x, x) - p_ref:+.4f}",
                           reference_psnr_db=f"{p_ref:.4f}", reference_converged=ref.converged, **prov)
                rows.append(row)
                print(f"  {m:<6} tol {tol:<7g} {wall:6.2f} s wall {cpu:6.2f} s cpu {r.n_iter:5d} it "
                      f"converged {r.converged}  dPSNR {psnr(r.x, x) - p_ref:+.4f} dB", flush=True)
    return rows


def write(rows, stem="reconstruction_methods", note=""):
    import csv

    os.makedirs(RESULTS, exist_ok=True)
    cols = list(rows[0])
    with open(os.path.join(RESULTS, stem + ".csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    shown = [c for c in cols if c not in ("version", "commit", "date", "reference_converged")]
    lines = [f"Denoising one {SHAPE[1]}x{SHAPE[0]} image (astronaut, resized) at sigma 25/255: time against the "
             f"relative tolerance, PSNR difference against a `tol={REFERENCE_TOL:g}` L-BFGS solve. Generated by "
             f"`python benchmarks/reconstruction_methods.py` (commit {rows[0]['commit']}, {rows[0]['date']})."
             + (" " + note if note else ""), "",
             "| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
    lines += ["| " + " | ".join(str(r[c]) for c in shown) + " |" for r in rows]
    with open(os.path.join(RESULTS, stem + ".md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tols", type=float, nargs="+", default=list(TOLS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--model", action="append", default=[], help="NAME=PATH of a saved RidgeRegularizer")
    ap.add_argument("--sets", nargs="*", default=["shipped", "synthetic"], choices=["shipped", "synthetic"],
                    help="model sets to run (module docstring)")
    ap.add_argument("--out", default="reconstruction_methods", help="file stem in benchmarks/results")
    ap.add_argument("--note", default="", help="a sentence added to the Markdown caption")
    ap.add_argument("--merge", nargs="+", metavar="STEM",
                    help="only merge the CSVs of earlier runs (stems in benchmarks/results) into --out")
    args = ap.parse_args(argv)
    if args.merge:
        import csv

        rows = []
        for stem in args.merge:
            with open(os.path.join(RESULTS, stem + ".csv"), newline="") as fh:
                rows += list(csv.DictReader(fh))
        write(rows, args.out, args.note)
        return
    models = {}
    if "shipped" in args.sets:
        models.update({f"shipped_{k}": pretrained(k) for k in ("convex", "weakly_convex")})
    if "synthetic" in args.sets:
        models.update(synthetic_models())
    for spec in args.model:
        name, _, path = spec.partition("=")
        models[name] = RidgeRegularizer.load(path)
    write(run(models, args.tols, args.methods), args.out, args.note)


if __name__ == "__main__":
    main()
