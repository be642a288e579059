"""Denoising and CT benchmark of the shipped ridge regularisers against TV, FBP (and BM3D if installed).

    python benchmarks/denoising.py [--size 256] [--ct-size 64] [--quick]

Denoising. The TEST images (:data:`tvspline.imaging.TEST_IMAGES`: astronaut, camera, coffee,
coins, moon, rocket), grey in [0, 1], centre crops of ``--size`` x ``--size`` (default 128, for run time on one core), white
Gaussian noise of sigma = 5, 15, 25 (/255) drawn from ``default_rng(1000 * sigma_255 + image index)``.
Methods:

- ``learned convex`` / ``learned weakly convex``: :func:`tvspline.imaging.pretrained` models,
  ``reconstruct(y, Identity(), reg, reg.alpha(sigma), tol=1e-5 * size, max_iter=3000)`` (the
  tolerance is on the Euclidean gradient norm: 1e-5 root-mean-square per pixel, 1.28e-3 at size 128); alpha from the model's noise table (tuned on training patches).
- ``TV (Chambolle)``: ``skimage.restoration.denoise_tv_chambolle``, the weight chosen per sigma by a
  grid search (25 weights, geometric in [0.005, 0.5]) maximising the mean PSNR on the TRAIN images
  (same crop size, their own seeded noise).
- ``BM3D``: the ``bm3d`` package with its sigma, only if it imports (else a row "not installed").

PSNR (data range 1), SSIM (``skimage.metrics.structural_similarity``, data range 1) and wall time
per image (single process).

CT. Modified Shepp-Logan phantom ``--ct-size`` (default 64) x same, :class:`ParallelBeamCT` with
60 angles in [0, 180), white Gaussian noise on the sinogram with standard deviation 0.5 %, 1 %, 2 %
of the sinogram's maximum (seeded). FBP: ``skimage.transform.iradon`` (ramp filter,
``circle=True``). TV on FBP: ``denoise_tv_chambolle`` applied to the FBP (a post-processing
baseline). TV reconstruction: the variational problem ``argmin 1/2 ||Hx - y||^2 + lambda TV(x)``
(isotropic TV) by Chambolle-Pock, 1000 iterations (:func:`tv_reconstruct`), lambda / ||H||^2 tuned
on the grid ``geomspace(1e-5, 1e-1, 17)``. Learned convex: ``reconstruct(y, ct, pretrained("convex"),
alpha)`` from zero, 300 FISTA iterations at most. The TV weight (30 weights, geometric in
[1e-4, 0.5]) and alpha (9 values, geometric in [1, 1e4]) are tuned per noise level on a TUNING image that is not the phantom (the train image ``chelsea`` resized to the CT size and
set to zero outside the inscribed disc): nothing is tuned on the phantom.

Writes ``benchmarks/results/denoising.{csv,md}`` and ``benchmarks/results/denoising_ct.{csv,md}``.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import time
import warnings

import numpy as np
from skimage.metrics import structural_similarity
from skimage.restoration import denoise_tv_chambolle
from skimage.transform import iradon

from tvspline.imaging import (
    TEST_IMAGES,
    Identity,
    ParallelBeamCT,
    ReconstructionWarning,
    load_image,
    pretrained,
    psnr,
    reconstruct,
    shepp_logan,
    test_images,
    train_images,
)

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
SIGMAS_255 = (5, 15, 25)
TV_WEIGHTS = np.geomspace(0.005, 0.5, 25)
CT_TV_WEIGHTS = np.geomspace(1e-4, 0.5, 30)
#: Weights (lambda / ||H||^2) and iterations of the variational TV reconstruction.
CT_TVR_WEIGHTS = np.geomspace(1e-5, 1e-1, 17)
CT_TV_ITERATIONS = 1000
CT_ALPHAS = np.geomspace(1.0, 1e4, 9)


def noisy_image(x, sigma_255, index):
    rng = np.random.default_rng(1000 * sigma_255 + index)
    return x + (sigma_255 / 255) * rng.standard_normal(x.shape)


def tune_tv(images, sigma_255):
    ys = [noisy_image(x, sigma_255, 500 + j) for j, x in enumerate(images)]
    scores = [np.mean([psnr(denoise_tv_chambolle(y, weight=w), x) for x, y in zip(images, ys)]) for w in TV_WEIGHTS]
    return float(TV_WEIGHTS[int(np.argmax(scores))])


def ssim(x, ref):
    return float(structural_similarity(x, ref, data_range=1.0))


def denoising(size, quick=False):
    test = test_images(size)
    train = train_images(size)
    if quick:
        test, train = test[:2], train[:4]
    models = {"learned convex": pretrained("convex"), "learned weakly convex": pretrained("weakly_convex")}
    try:
        import bm3d  # noqa: F401
        has_bm3d = True
    except ImportError:
        has_bm3d = False
    rows = []
    for s in SIGMAS_255:
        sigma = s / 255
        t0 = time.perf_counter()
        w_tv = tune_tv(train, s)
        print(f"sigma={s}: TV weight {w_tv:.4g} (tuned on {len(train)} train images in {time.perf_counter() - t0:.1f}s)")
        per = {}
        for j, x in enumerate(test):
            y = noisy_image(x, s, j)
            outs = {}
            for name, reg in models.items():
                t = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ReconstructionWarning)
                    res = reconstruct(y, Identity(), reg, reg.alpha(sigma), tol=1e-5 * size, max_iter=3000)
                outs[name] = (res.x, time.perf_counter() - t, res.n_iter, res.converged)
            t = time.perf_counter()
            outs["TV (Chambolle)"] = (denoise_tv_chambolle(y, weight=w_tv), time.perf_counter() - t, 0, True)
            if has_bm3d:
                import bm3d
                t = time.perf_counter()
                outs["BM3D"] = (np.asarray(bm3d.bm3d(y, sigma)), time.perf_counter() - t, 0, True)
            outs["noisy"] = (y, 0.0, 0, True)
            for name, (xr, dt, it, conv) in outs.items():
                per.setdefault(name, []).append((psnr(xr, x), ssim(np.clip(xr, 0, 1), x), dt, it, conv))
            print(f"  {TEST_IMAGES[j]:<10}" + "  ".join(f"{k}: {v[-1][0]:.2f}" for k, v in per.items()))
        for name, vals in per.items():
            v = np.array([r[:4] for r in vals], dtype=float)
            rows.append(dict(sigma_255=s, method=name, psnr=v[:, 0].mean(), ssim=v[:, 1].mean(), time_s=v[:, 2].mean(),
                             iterations=v[:, 3].mean(), converged=all(r[4] for r in vals),
                             per_image_psnr=" ".join(f"{p:.2f}" for p in v[:, 0]),
                             note=f"weight={w_tv:.4g}" if name.startswith("TV") else ""))
        if not has_bm3d:
            rows.append(dict(sigma_255=s, method="BM3D", psnr=math.nan, ssim=math.nan, time_s=math.nan, iterations=math.nan,
                             converged="", per_image_psnr="", note="not installed (pip install bm3d)"))
    return rows, [TEST_IMAGES[j] for j in range(len(test))]


def ct_tuning_image(n):
    x = load_image("chelsea", n, method="resize")
    r, c = np.ogrid[:n, :n]
    x[(r - n // 2) ** 2 + (c - n // 2) ** 2 > (n // 2) ** 2] = 0.0
    return x


def ct_recon(y, ct, reg, alpha):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReconstructionWarning)
        return reconstruct(y, ct, reg, alpha, max_iter=300, tol=1e-6)


def _grad(x):
    """Forward differences with Neumann boundary (last row / column of each component zero)."""
    g = np.zeros((2,) + x.shape)
    g[0, :-1] = x[1:] - x[:-1]
    g[1, :, :-1] = x[:, 1:] - x[:, :-1]
    return g


def _grad_adjoint(g):
    """Transpose of :func:`_grad` (minus the discrete divergence)."""
    out = np.zeros(g.shape[1:])
    out[:-1] -= g[0, :-1]
    out[1:] += g[0, :-1]
    out[:, :-1] -= g[1, :, :-1]
    out[:, 1:] += g[1, :, :-1]
    return out


def tv_reconstruct(y, ct, weight, n_iter=CT_TV_ITERATIONS):
    r"""Variational TV reconstruction :math:`\arg\min_x \tfrac12\|Hx - y\|^2 + \lambda\,\mathrm{TV}(x)`.

    Isotropic TV with forward differences; Chambolle-Pock (PDHG) on :math:`K = [H/\|H\|; \nabla]`
    (the data term rescaled by :math:`\|H\|^2`, so ``weight`` is :math:`\lambda / \|H\|^2`),
    steps :math:`\tau = \sigma = 0.99 / \sqrt{\|H/\|H\|\|^2 + 8}`, ``n_iter`` iterations from
    zero. Returns the image and the relative change of the last iteration.
    """
    nh = math.sqrt(ct.norm_squared())
    yn = y / nh
    step = 0.99 / 3.0  # ||K||^2 <= 1 + 8
    x = np.zeros_like(ct.adjoint(y))
    xbar = x.copy()
    p = np.zeros_like(y)
    q = np.zeros((2,) + x.shape)
    change = math.inf
    for _ in range(n_iter):
        p = (p + step * (ct.forward(xbar) / nh - yn)) / (1.0 + step)
        q = q + step * _grad(xbar)
        mag = np.maximum(1.0, np.sqrt(q[0] ** 2 + q[1] ** 2) / weight)
        q /= mag
        x_new = x - step * (ct.adjoint(p) / nh + _grad_adjoint(q))
        change = float(np.linalg.norm(x_new - x) / max(np.linalg.norm(x_new), 1e-300))
        xbar = 2.0 * x_new - x
        x = x_new
    return x, change


def fbp(y, ct):
    return iradon(y, theta=ct.angles, circle=True, filter_name="ramp")


def ct_table(n):
    ct = ParallelBeamCT(n, angles=60)
    reg = pretrained("convex")
    phantom = shepp_logan(n)
    tune = ct_tuning_image(n)
    rows = []
    for level in (0.005, 0.01, 0.02):
        def data(x, seed):
            sino = ct.forward(x)
            return sino + level * np.abs(sino).max() * np.random.default_rng(seed).standard_normal(sino.shape)

        yt = data(tune, 1)
        f_t = fbp(yt, ct)
        w_tv = max(CT_TV_WEIGHTS, key=lambda w: psnr(denoise_tv_chambolle(f_t, weight=w), tune))
        w_tvr = max(CT_TVR_WEIGHTS, key=lambda w: psnr(tv_reconstruct(yt, ct, w)[0], tune))
        a_best = max(CT_ALPHAS, key=lambda a: psnr(ct_recon(yt, ct, reg, a).x, tune))
        y = data(phantom, 2)
        t = time.perf_counter()
        f = fbp(y, ct)
        t_fbp = time.perf_counter() - t
        t = time.perf_counter()
        tv = denoise_tv_chambolle(f, weight=w_tv)
        t_tv = time.perf_counter() - t + t_fbp
        t = time.perf_counter()
        tvr, change = tv_reconstruct(y, ct, w_tvr)
        t_tvr = time.perf_counter() - t
        t = time.perf_counter()
        res = ct_recon(y, ct, reg, a_best)
        t_l = time.perf_counter() - t
        for name, xr, dt, note in (("FBP (ramp)", f, t_fbp, ""), ("TV on FBP", tv, t_tv, f"weight={w_tv:.4g}"),
                                    ("TV reconstruction", tvr, t_tvr,
                                     f"weight={w_tvr:.3g}, {CT_TV_ITERATIONS} it, last change {change:.1e}"),
                                    ("learned convex", res.x, t_l,
                                     f"alpha={a_best:.4g}, {res.n_iter} it, grad norm {res.grad_norm:.2g}")):
            rows.append(dict(noise=f"{100 * level:g}%", method=name, psnr=psnr(xr, phantom),
                             ssim=ssim(np.clip(xr, 0, 1), phantom), time_s=dt, note=note))
        print(f"CT noise {100 * level:g}%: " + "  ".join(f"{r['method']}: {r['psnr']:.2f}" for r in rows[-4:]))
    return rows


def write(rows, name, cols, header):
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, f"{name}.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    lines = [header, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = []
        for c in cols:
            v = r[c]
            cells.append(("-" if math.isnan(v) else f"{v:.4f}" if c in ("ssim", "time_s") else f"{v:.2f}") if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    with open(os.path.join(RESULTS, f"{name}.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description="denoising and CT benchmark")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--ct-size", type=int, default=64)
    ap.add_argument("--quick", action="store_true", help="2 test images, 4 train images (smoke run)")
    ap.add_argument("--skip-ct", action="store_true")
    ap.add_argument("--skip-denoising", action="store_true", help="only the CT table")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if not args.skip_denoising:
        rows, names = denoising(args.size, args.quick)
        hdr = (f"Denoising, TEST images {', '.join(names)} ({args.size}x{args.size} centre crops), mean over images; "
               "PSNR in dB, time per image in s. Generated by `python benchmarks/denoising.py`.")
        write(rows, "denoising", ["sigma_255", "method", "psnr", "ssim", "time_s", "iterations", "converged", "note"], hdr)
    if not args.skip_ct:
        ct = ct_table(args.ct_size)
        write(ct, "denoising_ct", ["noise", "method", "psnr", "ssim", "time_s", "note"],
              f"CT: Shepp-Logan {args.ct_size}x{args.ct_size}, ParallelBeamCT with 60 angles, sinogram noise relative "
              "to its maximum; weights tuned on a non-phantom image. Generated by `python benchmarks/denoising.py`.")
    print(f"total {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
