"""Learned ridge regularisers for images (``docs/math.md``): data, filters, operators, solvers.

- :mod:`~tvspline.imaging.data`: scikit-image's bundled natural images (grey, ``[0, 1]``), the
  fixed train / test split :data:`TRAIN_IMAGES` / :data:`TEST_IMAGES`, patches, the Shepp-Logan
  phantom.
- :mod:`~tvspline.imaging.filters`: :class:`FilterBank` (FFT convolutions with exact adjoints and
  certified norms), :func:`dct_bank`, :func:`random_bank`.
- :mod:`~tvspline.imaging.ridge`: :class:`RidgeRegularizer` ``R(x) = sum_i sum_p psi_i((w_i * x)_p)``
  with linear-spline profiles ``sigma_i = psi_i'``, its certificate and ``save`` / ``load``.
- :mod:`~tvspline.imaging.operators`: forward models :class:`Identity`, :class:`GaussianBlur`,
  :class:`ParallelBeamCT`.
- :mod:`~tvspline.imaging.reconstruction`: :func:`reconstruct` (L-BFGS by default, or the engine of
  :mod:`~tvspline.imaging.engine`: FISTA with gradient restart, gradient descent).
- :mod:`~tvspline.imaging.training`: :func:`fit_profiles` (exact QP for fixed filters),
  :func:`train_ridge` (linearised outer loop), :func:`pretrained` (shipped models).
- :mod:`~tvspline.imaging.bilevel`: :func:`train_ridge_bilevel` (profiles, noise table and
  filters learned for the exact denoiser by implicit differentiation; the default of
  ``RidgeRegularizer.train``), :func:`difference_bank`.
- :mod:`~tvspline.imaging.calibration`: :func:`calibrate_noise_table` (``alpha(sigma)`` chosen
  again on clean images, as a baseline's weight is tuned).

Needs scikit-image for the data and for the CT geometry reference.
"""

from .data import IMAGE_NAMES, TEST_IMAGES, TRAIN_IMAGES, load_folder, load_image, random_patches, shepp_logan, test_images, train_images
from .filters import BOUNDARIES, FilterBank, dct_bank, random_bank
from .operators import GaussianBlur, Identity, ParallelBeamCT
from .reconstruction import ReconstructionResult, ReconstructionWarning, reconstruct
from .ridge import KINDS, RidgeCertificate, RidgeRegularizer
from .training import MODELS_DIR, PRETRAINED_KINDS, ProfileFit, fit_profiles, initial_bank, pretrained, psnr, train_ridge
from .bilevel import difference_bank, train_ridge_bilevel
from .calibration import NoiseCalibration, calibrate_noise_table
from .rounds import train_ridge_rounds

__all__ = [
    "TRAIN_IMAGES",
    "TEST_IMAGES",
    "IMAGE_NAMES",
    "load_image",
    "load_folder",
    "train_images",
    "test_images",
    "random_patches",
    "shepp_logan",
    "FilterBank",
    "BOUNDARIES",
    "dct_bank",
    "random_bank",
    "RidgeRegularizer",
    "RidgeCertificate",
    "KINDS",
    "Identity",
    "GaussianBlur",
    "ParallelBeamCT",
    "reconstruct",
    "ReconstructionResult",
    "ReconstructionWarning",
    "fit_profiles",
    "ProfileFit",
    "train_ridge",
    "train_ridge_bilevel",
    "train_ridge_rounds",
    "difference_bank",
    "initial_bank",
    "pretrained",
    "PRETRAINED_KINDS",
    "MODELS_DIR",
    "psnr",
    "calibrate_noise_table",
    "NoiseCalibration",
]
