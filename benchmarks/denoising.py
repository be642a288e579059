"""Denoising, deblurring and CT benchmark of the learned ridge regularisers against TV, FBP and BM3D.

    python benchmarks/denoising.py [--data DIR] [--sigmas 5 15 25] [--tune-data DIR] [--models DIR]
                                   [--name NAME] [--size 128] [--ct-size 64] [--skip-ct] [--skip-deblurring]

Denoising. The test images are every grey PNG of ``--data`` (for example Set12), or without it the
bundled :data:`tvspline.imaging.TEST_IMAGES` (astronaut, camera, coffee, coins, moon, rocket) as
``--size`` x ``--size`` centre crops. White Gaussian noise of standard deviation sigma / 255 is
drawn per image from ``default_rng(1000 * sigma + image index)``. Methods:

- ``learned convex`` / ``learned weakly convex``: the shipped models
  (:func:`tvspline.imaging.pretrained`, or ``--models DIR`` with ``convex.npz`` and
  ``weakly_convex.npz``), ``reg.denoise(y, sigma)`` with its default settings; ``alpha`` from the
  model's noise table.
- ``TV (Chambolle)``: ``skimage.restoration.denoise_tv_chambolle``, the weight chosen per sigma
  on a grid (25 weights, geometric in [0.005, 0.5]) maximising the mean PSNR on TRAINING images
  (``--tune-data DIR``, every 10th image of the folder; default the bundled TRAIN images' 128 x 128
  centre crops), never on a test image.
- ``BM3D``: the ``bm3d`` package (``pip install -e ".[bench]"``) with the true sigma, if it imports.

PSNR (data range 1), SSIM (``skimage.metrics.structural_similarity``, data range 1) and wall time
per image (one process), averaged over the images.

Deblurring (``--skip-deblurring`` to leave out): the bundled TEST images (``--size`` crops),
:class:`GaussianBlur` of standard deviation 1.5 pixels (periodic) and noise of sigma 2.55 / 255 (1 %);
learned models by :func:`reconstruct` with ``alpha`` tuned on a 9-point grid on the bundled TRAIN
images, against the blurred-noisy input and TV reconstruction tuned the same way.

CT: Shepp-Logan ``--ct-size`` x ``--ct-size``, :class:`ParallelBeamCT` with 60 angles, noise of
0.5 %, 1 %, 2 % of the sinogram's maximum (seeded). FBP (``skimage.transform.iradon``, ramp), TV
on FBP, the variational TV reconstruction (Chambolle-Pock, 1000 iterations) and the learned models
(``reconstruct``, 300 iterations at most); every weight tuned per noise level on a tuning image
that is not the phantom (``chelsea``, resized, zero outside the inscribed disc).

Writes ``benchmarks/results/NAME.{csv,md}`` (``NAME`` = ``denoising_`` + the folder's name, or
``denoising`` for the bundled images), ``denoising_deblurring.{csv,md}`` and
``denoising_ct.{csv,md}``; every row records the package version and git commit.
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
    GaussianBlur,
    Identity,
    ParallelBeamCT,
    ReconstructionWarning,
    RidgeRegularizer,
    load_folder,
    load_image,
    pretrained,
    psnr,
    reconstruct,
    shepp_logan,
    test_images,
    train_images,
)

try:
    from benchmarks._provenance import provenance
except ImportError:  # run as a script: benchmarks/ is the script's folder
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from benchmarks._provenance import provenance

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
SIGMAS_255 = (5, 15, 25)
TV_WEIGHTS = np.geomspace(0.005, 0.5, 25)
CT_TV_WEIGHTS = np.geomspace(1e-4, 0.5, 30)
#: Weights (lambda / ||H||^2) and iterations of the variational TV reconstruction.
CT_TVR_WEIGHTS = np.geomspace(1e-5, 1e-1, 17)
CT_TV_ITERATIONS = 1000
CT_ALPHAS = np.geomspace(1.0, 1e4, 9)
#: Deblurring: blur width (pixels), noise (/255), the alpha grid of the learned models and TV's weights.
BLUR_SIGMA = 1.5
BLUR_NOISE_255 = 2.55
BLUR_ALPHAS = np.geomspace(0.05, 50.0, 9)
BLUR_TV_WEIGHTS = np.geomspace(1e-4, 1e-1, 13)


def noisy_image(x, sigma_255, index):
    rng = np.random.default_rng(1000 * sigma_255 + index)
    return x + (sigma_255 / 255) * rng.standard_normal(x.shape)


def tune_tv(images, sigma_255):
    ys = [noisy_image(x, sigma_255, 500 + j) for j, x in enumerate(images)]
    scores = [np.mean([psnr(denoise_tv_chambolle(y, weight=w), x) for x, y in zip(images, ys)]) for w in TV_WEIGHTS]
    return float(TV_WEIGHTS[int(np.argmax(scores))])


def ssim(x, ref):
    return float(structural_similarity(x, ref, data_range=1.0))


def load_models(folder=None):
    """The two learned models: shipped, or ``convex.npz`` / ``weakly_convex.npz`` of ``folder``."""
    kinds = ("convex", "weakly_convex")
    if folder is None:
        return {f"learned {k.replace('_', ' ')}": pretrained(k) for k in kinds}
    return {f"learned {k.replace('_', ' ')}": RidgeRegularizer.load(os.path.join(folder, f"{k}.npz")) for k in kinds}


def _bm3d():
    try:
        import bm3d
    except ImportError:
        return None
    return bm3d


def _timed(f, *a, **k):
    t = time.perf_counter()
    out = f(*a, **k)
    return out, time.perf_counter() - t


def denoising(test, names, tune, models, sigmas, dataset):
    bm3d = _bm3d()
    rows = []
    for s in sigmas:
        sigma = s / 255
        w_tv, dt = _timed(tune_tv, tune, s)
        print(f"sigma={s}: TV weight {w_tv:.4g} (tuned on {len(tune)} training images in {dt:.1f}s)")
        per = {}
        for j, x in enumerate(test):
            y = noisy_image(x, s, j)
            outs = {}
            for name, reg in models.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ReconstructionWarning)
                    res, dt = _timed(reg.denoise, y, sigma)
                outs[name] = (res.x, dt, res.n_iter, res.converged)
            xr, dt = _timed(denoise_tv_chambolle, y, weight=w_tv)
            outs["TV (Chambolle)"] = (xr, dt, 0, True)
            if bm3d is not None:
                xr, dt = _timed(bm3d.bm3d, y, sigma)
                outs["BM3D"] = (np.asarray(xr), dt, 0, True)
            outs["noisy"] = (y, 0.0, 0, True)
            for name, (xr, dt, it, conv) in outs.items():
                per.setdefault(name, []).append((psnr(xr, x), ssim(np.clip(xr, 0, 1), x), dt, it, conv))
            print(f"  {names[j]:<10}" + "  ".join(f"{k}: {v[-1][0]:.2f}" for k, v in per.items()), flush=True)
        for name, vals in per.items():
            v = np.array([r[:4] for r in vals], dtype=float)
            rows.append(dict(dataset=dataset, sigma_255=s, method=name, psnr=v[:, 0].mean(), ssim=v[:, 1].mean(),
                             time_s=v[:, 2].mean(), iterations=v[:, 3].mean(), n_images=len(vals),
                             converged=all(r[4] for r in vals), per_image_psnr=" ".join(f"{p:.2f}" for p in v[:, 0]),
                             note=f"weight={w_tv:.4g}" if name.startswith("TV") else ""))
        if bm3d is None:
            rows.append(dict(dataset=dataset, sigma_255=s, method="BM3D", psnr=math.nan, ssim=math.nan,
                             time_s=math.nan, iterations=math.nan, n_images=0, converged="", per_image_psnr="",
                             note="not installed (pip install bm3d)"))
    return rows


def _tv_deblur(y, H, weight, n_iter=300):
    """TV deblurring by Chambolle-Pock (the variational TV reconstruction of the CT table)."""
    return tv_reconstruct(y, H, weight, n_iter)[0]


def deblurring(size, models):
    H = GaussianBlur(BLUR_SIGMA)
    noise = BLUR_NOISE_255 / 255

    def data(x, seed):
        return H.forward(x) + noise * np.random.default_rng(seed).standard_normal(x.shape)

    def recon(y, reg, a):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ReconstructionWarning)
            return reconstruct(y, H, reg, a, max_iter=500, tol=1e-6)

    train = train_images(size)[::3]
    ys = [data(x, 700 + j) for j, x in enumerate(train)]
    best = {name: max(BLUR_ALPHAS, key=lambda a: np.mean([psnr(recon(y, reg, a).x, x) for x, y in zip(train, ys)]))
            for name, reg in models.items()}
    w_tv = max(BLUR_TV_WEIGHTS, key=lambda w: np.mean([psnr(_tv_deblur(y, H, w), x) for x, y in zip(train, ys)]))
    rows = []
    per = {}
    for j, x in enumerate(test_images(size)):
        y = data(x, j)
        outs = {"blurred, noisy": (y, 0.0)}
        outs["TV reconstruction"] = _timed(_tv_deblur, y, H, w_tv)
        for name, reg in models.items():
            res, dt = _timed(recon, y, reg, best[name])
            outs[name] = (res.x, dt)
        for name, (xr, dt) in outs.items():
            per.setdefault(name, []).append((psnr(xr, x), ssim(np.clip(xr, 0, 1), x), dt))
    for name, vals in per.items():
        v = np.array(vals)
        note = f"weight={w_tv:.3g}" if name.startswith("TV") else f"alpha={best[name]:.3g}" if name in best else ""
        rows.append(dict(method=name, psnr=v[:, 0].mean(), ssim=v[:, 1].mean(), time_s=v[:, 2].mean(), note=note))
        print(f"deblurring {name}: {rows[-1]['psnr']:.2f} dB")
    return rows


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


def ct_table(n, models):
    ct = ParallelBeamCT(n, angles=60)
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
        a_best = {name: max(CT_ALPHAS, key=lambda a: psnr(ct_recon(yt, ct, reg, a).x, tune))
                  for name, reg in models.items()}
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
        out = [("FBP (ramp)", f, t_fbp, ""), ("TV on FBP", tv, t_tv, f"weight={w_tv:.4g}"),
               ("TV reconstruction", tvr, t_tvr, f"weight={w_tvr:.3g}, {CT_TV_ITERATIONS} it, last change {change:.1e}")]
        for name, reg in models.items():
            t = time.perf_counter()
            res = ct_recon(y, ct, reg, a_best[name])
            out.append((name, res.x, time.perf_counter() - t,
                        f"alpha={a_best[name]:.4g}, {res.n_iter} it, grad norm {res.grad_norm:.2g}"))
        for name, xr, dt, note in out:
            rows.append(dict(noise=f"{100 * level:g}%", method=name, psnr=psnr(xr, phantom),
                             ssim=ssim(np.clip(xr, 0, 1), phantom), time_s=dt, note=note))
        print(f"CT noise {100 * level:g}%: " + "  ".join(f"{r['method']}: {r['psnr']:.2f}" for r in rows[-len(out):]))
    return rows


def write(rows, name, cols, header):
    os.makedirs(RESULTS, exist_ok=True)
    prov = provenance()
    rows = [dict(r, **prov) for r in rows]
    with open(os.path.join(RESULTS, f"{name}.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    lines = [header + f" Version {prov['version']}, commit {prov['commit']}, {prov['date']}.", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = []
        for c in cols:
            v = r[c]
            cells.append(("-" if math.isnan(v) else f"{v:.4f}" if c in ("ssim",) else f"{v:.3g}" if c == "time_s"
                          else f"{v:.2f}") if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    with open(os.path.join(RESULTS, f"{name}.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description="denoising, deblurring and CT benchmark")
    ap.add_argument("--data", default=None, help="folder of grey test images (default: the bundled TEST images)")
    ap.add_argument("--sigmas", type=int, nargs="+", default=list(SIGMAS_255), help="noise levels (/255)")
    ap.add_argument("--tune-data", default=None, help="folder of training images on which TV's weight is tuned")
    ap.add_argument("--models", default=None, help="folder with convex.npz and weakly_convex.npz (default: shipped)")
    ap.add_argument("--name", default=None, help="output name (default denoising[_FOLDER])")
    ap.add_argument("--size", type=int, default=128, help="crop size of the bundled images")
    ap.add_argument("--ct-size", type=int, default=64)
    ap.add_argument("--skip-ct", action="store_true")
    ap.add_argument("--skip-deblurring", action="store_true")
    ap.add_argument("--skip-denoising", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    models = load_models(args.models)
    if not args.skip_denoising:
        if args.data is None:
            test, names, dataset = test_images(args.size), list(TEST_IMAGES), f"bundled TEST {args.size}x{args.size}"
            name = args.name or "denoising"
        else:
            folder = os.path.basename(os.path.normpath(args.data))
            test = load_folder(args.data)
            names = sorted(f for f in os.listdir(args.data) if f.endswith(".png"))
            dataset, name = folder, args.name or f"denoising_{folder.lower()}"
        tune = load_folder(args.tune_data)[::10] if args.tune_data else train_images(128)
        rows = denoising(test, names, tune, models, args.sigmas, dataset)
        hdr = (f"Denoising, {dataset} ({len(test)} images), mean over images; PSNR in dB, time per image in s. "
               f"Generated by `python benchmarks/denoising.py{' --data DIR' if args.data else ''}`.")
        write(rows, name, ["sigma_255", "method", "psnr", "ssim", "time_s", "converged", "note"], hdr)
    if not args.skip_deblurring:
        rows = deblurring(args.size, models)
        write(rows, "denoising_deblurring", ["method", "psnr", "ssim", "time_s", "note"],
              f"Deblurring: bundled TEST images {args.size}x{args.size}, Gaussian blur {BLUR_SIGMA} px, noise "
              f"{BLUR_NOISE_255}/255; weights tuned on TRAIN images. Generated by `python benchmarks/denoising.py`.")
    if not args.skip_ct:
        ct = ct_table(args.ct_size, models)
        write(ct, "denoising_ct", ["noise", "method", "psnr", "ssim", "time_s", "note"],
              f"CT: Shepp-Logan {args.ct_size}x{args.ct_size}, ParallelBeamCT with 60 angles, sinogram noise relative "
              "to its maximum; weights tuned on a non-phantom image. Generated by `python benchmarks/denoising.py`.")
    print(f"total {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
