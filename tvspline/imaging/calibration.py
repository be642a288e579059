r"""Calibration of a ridge regulariser's noise table on clean images.

A trained :class:`~tvspline.imaging.RidgeRegularizer` carries a noise table ``alpha(sigma)``, the
weight of ``R`` in the denoiser ``argmin_x 1/2 ||x - y||^2 + alpha R(x)`` at noise level ``sigma``.
:func:`calibrate_noise_table` chooses that weight again, one noise level at a time, to maximise the
mean PSNR of the denoised images over a set of clean images with synthetic Gaussian noise. This is
how a baseline's regularisation weight is tuned (TV's weight in ``benchmarks/denoising.py``), and
how the papers choose their regularisation strength on validation images.

For each level ``sigma``:

1. The noisy images are ``y_j = x_j + sigma * n_j``, with ``n_j`` standard normal drawn from
   ``random_state`` (one generator, all levels in the order given).
2. SciPy's bounded scalar minimisation (``minimize_scalar(method="bounded")``) searches ``log alpha``
   in ``[log(a0 / f), log(min(a0 f, cap))]``. Here ``a0`` is the current ``alpha(sigma)`` (capped) and
   ``f = search_factor``. Each image is denoised by :func:`~tvspline.imaging.reconstruct` (its
   default method), from ``y``.
3. The chosen weight is the best of the search's answer, ``a0`` and the cap (when the cap bounds the
   search). So the mean PSNR never falls below that of the current table.

For a weakly convex ``R`` the cap is ``1 / weak_convexity()``: every denoising problem stays convex,
as in training. A convex ``R`` has no cap.
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from .._random import as_generator
from .._validate import check_positive
from .operators import Identity
from .reconstruction import DEFAULT_TOL, ReconstructionWarning, reconstruct
from .ridge import RidgeRegularizer
from .training import psnr

__all__ = ["NoiseCalibration", "calibrate_noise_table"]


@dataclass(frozen=True)
class NoiseCalibration:
    """Result of :func:`calibrate_noise_table`.

    Attributes
    ----------
    regularizer : RidgeRegularizer
        The input regulariser with the new noise table ``(noise_levels, alphas)``.
    noise_levels : ndarray
        The calibrated levels, increasing.
    alphas : ndarray
        The chosen ``alpha`` per level.
    initial_alphas : ndarray
        ``alpha(sigma)`` of the input regulariser (capped for a weakly convex ``R``).
    psnr : ndarray
        Mean PSNR (dB) of the denoised calibration images at ``alphas``.
    initial_psnr : ndarray
        The same at ``initial_alphas`` (never above ``psnr``).
    cap : float
        Largest admissible ``alpha``: ``1 / weak_convexity()``, or ``inf`` for a convex ``R``.
    at_search_edge : ndarray of bool
        Per level, whether the chosen ``alpha`` lies within ``xatol`` (in ``log alpha``) of an edge of
        the search interval other than the cap. If so, a larger ``search_factor`` may find a better one.
    n_evaluations : int
        Number of ``alpha`` values scored, over all levels. Each is one denoising of every image.
    converged : bool
        Whether every denoising reached its gradient tolerance.

    Examples
    --------
    >>> from tvspline.imaging import calibrate_noise_table, load_image, pretrained
    >>> cal = calibrate_noise_table(pretrained("convex"), [load_image("camera", 32)], [0.1], progress=False)
    >>> type(cal).__name__, bool(cal.psnr[0] >= cal.initial_psnr[0])
    ('NoiseCalibration', True)
    """

    regularizer: RidgeRegularizer
    noise_levels: np.ndarray
    alphas: np.ndarray
    initial_alphas: np.ndarray
    psnr: np.ndarray
    initial_psnr: np.ndarray
    cap: float
    at_search_edge: np.ndarray
    n_evaluations: int
    converged: bool

    def __repr__(self):
        rows = ", ".join(
            f"sigma={s:.4g}: alpha {a0:.4g} -> {a:.4g} ({p0:.3f} -> {p:.3f} dB)"
            for s, a0, a, p0, p in zip(self.noise_levels, self.initial_alphas, self.alphas, self.initial_psnr,
                                       self.psnr)
        )
        return f"NoiseCalibration({rows}; n_evaluations={self.n_evaluations}, converged={self.converged})"


def _check_images(images) -> list[np.ndarray]:
    if isinstance(images, np.ndarray) and images.ndim == 2:
        images = [images]
    try:
        imgs = [np.asarray(im, dtype=np.float64) for im in images]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"images must be a sequence of 2-D arrays of numbers: {exc}") from None
    if not imgs:
        raise ValueError("images must contain at least one image, got an empty sequence")
    for j, im in enumerate(imgs):
        if im.ndim != 2 or min(im.shape) < 2:
            raise ValueError(f"images[{j}] must be 2-D and at least 2 x 2, got shape {im.shape}")
        if not np.isfinite(im).all():
            raise ValueError(f"images[{j}] contains NaN or infinite values")
    return imgs


def _check_sigmas(sigmas, regularizer) -> np.ndarray:
    if sigmas is None:
        table = regularizer.noise_table
        if table is None:
            raise ValueError("sigmas is None and the regularizer has no noise table; give the noise levels")
        return table[0]
    s = np.atleast_1d(np.asarray(sigmas, dtype=np.float64))
    if s.ndim != 1 or s.size == 0:
        raise ValueError(f"sigmas must be a non-empty 1-D sequence of noise levels, got {sigmas!r}")
    bad = ~(np.isfinite(s) & (s > 0))
    if bad.any():
        raise ValueError(f"sigmas must be finite and > 0, got {float(s[bad][0])!r}")
    if np.unique(s).size != s.size:
        raise ValueError(f"sigmas must not repeat a level, got {sigmas!r}")
    return np.sort(s)


def calibrate_noise_table(regularizer, images, sigmas=None, *, search_factor: float = 4.0, xatol: float = 0.01,
                          tol=None, max_iter: int = 3000, random_state=0, progress: bool = True) -> NoiseCalibration:
    """Choose ``alpha(sigma)`` per noise level to maximise the mean denoising PSNR on clean images.

    Parameters
    ----------
    regularizer : RidgeRegularizer
        The regulariser. Its filters and profiles are kept; only the noise table changes.
    images : sequence of 2-D arrays
        Clean calibration images with values in ``[0, 1]``, for example ``train_images(128)``. They
        must never be the images a method is evaluated on.
    sigmas : sequence of float, optional
        Noise levels (on the ``[0, 1]`` scale), all ``> 0``. The default is the levels of the
        regulariser's own table.
    search_factor : float
        The search runs over ``[a0 / search_factor, a0 * search_factor]``, capped. Must be ``> 1``.
    xatol : float
        Absolute tolerance of the search in ``log alpha`` (0.01 is 1 % in ``alpha``). Must be ``> 0``.
    tol : float, optional
        Relative tolerance of each denoising (:func:`~tvspline.imaging.reconstruct`); the default is
        its default.
    max_iter : int
        Iteration cap of each denoising.
    random_state : None, int or numpy.random.Generator
        Seed of the noise. The same seed gives the same result.
    progress : bool
        Show a progress bar (tqdm), one step per scored ``alpha``.

    Returns
    -------
    NoiseCalibration
        With the recalibrated regulariser in ``.regularizer``.

    Raises
    ------
    TypeError
        If ``regularizer`` is not a :class:`RidgeRegularizer`.
    ValueError
        For an empty or non-finite image list, bad noise levels (non-positive, NaN, repeated, or
        missing with no table to take them from), ``search_factor <= 1``, ``xatol <= 0``, or a bad
        ``tol`` or ``max_iter``.

    Warns
    -----
    ReconstructionWarning
        If a denoising stopped at ``max_iter`` before its tolerance (``converged`` is then False); the
        message gives how many and the largest gradient norm relative to its threshold.

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline import LinearSpline
    >>> from tvspline.imaging import RidgeRegularizer, calibrate_noise_table, difference_bank, load_image
    >>> bank = difference_bank(1).normalized()
    >>> profile = LinearSpline([-0.05, 0.05], [-0.05, 0.05])
    >>> reg = RidgeRegularizer(bank, [profile] * bank.n_filters, noise_levels=[0.1], alphas=[1.0])
    >>> cal = calibrate_noise_table(reg, [load_image("camera", 32)], progress=False)
    >>> bool(cal.psnr[0] >= cal.initial_psnr[0] + 1.0)     # alpha = 1 was far too small here
    True
    >>> bool(cal.regularizer.alpha(0.1) == cal.alphas[0]), bool(cal.at_search_edge[0])  # widen the search
    (True, True)
    """
    if not isinstance(regularizer, RidgeRegularizer):
        raise TypeError(f"regularizer must be a RidgeRegularizer, got {type(regularizer).__name__}")
    imgs = _check_images(images)
    levels = _check_sigmas(sigmas, regularizer)
    search_factor = check_positive(search_factor, "search_factor")
    if search_factor <= 1.0:
        raise ValueError(f"search_factor must be > 1, got {search_factor!r}")
    xatol = check_positive(xatol, "xatol")
    tol = DEFAULT_TOL if tol is None else check_positive(tol, "tol")
    if not (isinstance(max_iter, numbers.Integral) and not isinstance(max_iter, bool) and max_iter >= 1):
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    rng = as_generator(random_state)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc="calibrate alpha", unit=" alphas")
    noisy = {}
    for sigma in levels:  # one generator, the levels in increasing order
        noisy[sigma] = [x + sigma * rng.standard_normal(x.shape) for x in imgs]
    try:
        found = _search_table(regularizer, imgs, noisy, levels, search_factor=search_factor, xatol=xatol, tol=tol,
                              max_iter=max_iter, bar=bar)
    finally:
        if bar is not None:
            bar.close()
    cap, alphas, initial, scores, initial_scores, edges, n_eval, failures = found
    all_converged = failures[0] == 0
    if not all_converged:
        warnings.warn(
            f"calibrate_noise_table: {failures[0]} of {failures[1]} denoisings stopped at max_iter={max_iter} before "
            f"their tolerance (largest gradient norm {failures[2]:.3g} times its threshold)",
            ReconstructionWarning, stacklevel=2)
    alphas = np.array(alphas)
    return NoiseCalibration(
        regularizer=regularizer.with_noise_table(levels, alphas),
        noise_levels=levels.copy(),
        alphas=alphas,
        initial_alphas=np.array(initial),
        psnr=np.array(scores),
        initial_psnr=np.array(initial_scores),
        cap=cap,
        at_search_edge=np.array(edges),
        n_evaluations=n_eval,
        converged=all_converged,
    )


def _mean_psnr(regularizer, clean, noisy, alpha, tol, max_iter):
    """Mean PSNR of the denoised ``noisy`` images at weight ``alpha`` against ``clean``, and the
    non-converged count and largest ``grad_norm / threshold`` of the denoisings."""
    values, failed, worst = [], 0, 0.0
    for x, y in zip(clean, noisy):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ReconstructionWarning)
            res = reconstruct(y, Identity(), regularizer, alpha, tol=tol, max_iter=max_iter)
        if not res.converged:
            failed += 1
            worst = max(worst, res.grad_norm / res.threshold)
        values.append(psnr(res.x, x))
    return float(np.mean(values)), failed, worst


def _search_table(regularizer, clean, noisy, levels, *, search_factor, xatol, tol, max_iter, bar=None):
    """The search of the module docstring, on given noisy images ``noisy[sigma]`` per level.

    Returns ``cap, alphas, initial_alphas, psnr, initial_psnr, at_search_edge, n_evaluations`` and
    ``(n_not_converged, n_denoisings, largest grad_norm / threshold)``. Also the noise-table search
    of :func:`~tvspline.imaging.train_ridge`.
    """
    wc = regularizer.weak_convexity()
    cap = math.inf if wc <= 0 else 1.0 / wc
    n_eval = 0
    failures = [0, 0, 0.0]
    alphas, initial, scores, initial_scores, edges = [], [], [], [], []
    for sigma in levels:
        cache = {}

        def mean_psnr(a, sigma=sigma, cache=cache):
            nonlocal n_eval
            if a not in cache:
                score, failed, worst = _mean_psnr(regularizer, clean, noisy[sigma], a, tol, max_iter)
                failures[0] += failed
                failures[1] += len(clean)
                failures[2] = max(failures[2], worst)
                cache[a] = score
                n_eval += 1
                if bar is not None:
                    bar.set_postfix(sigma=f"{sigma:.4g}", alpha=f"{a:.4g}", psnr=f"{score:.3f}")
                    bar.update(1)
            return cache[a]

        a0 = min(regularizer.alpha(sigma), cap)
        capped = a0 * search_factor >= cap  # the cap is the search's upper edge (never for cap = inf)
        lo, hi = math.log(a0 / search_factor), math.log(min(a0 * search_factor, cap))
        candidates = [a0]
        if hi > lo:
            opt = minimize_scalar(lambda la: -mean_psnr(math.exp(la)), bounds=(lo, hi), method="bounded",
                                  options={"xatol": xatol})
            candidates.append(math.exp(opt.x))
        if capped:
            candidates.append(cap)
        best = max(candidates, key=lambda a: (mean_psnr(a), -a))
        la = math.log(best)
        edges.append(bool(la - lo <= xatol or (hi - la <= xatol and not capped)))
        alphas.append(best)
        initial.append(a0)
        scores.append(mean_psnr(best))
        initial_scores.append(mean_psnr(a0))
    return cap, np.array(alphas), initial, scores, initial_scores, edges, n_eval, tuple(failures)
