"""Layered Lipschitz networks: spline networks, the exact activation step, baselines, W1 critics.

- :class:`SplineNetwork`: a fully connected network with one learned slope-constrained linear
  spline per neuron (or a baseline activation), trained exactly (alternating weight and
  activation steps) or by mini-batch Adam (:meth:`SplineNetwork.fit_adam`).
- :func:`fit_layer`: the joint activation step of one layer for fixed linear layers.
- :func:`estimate_w1` and :func:`empirical_w1`: Wasserstein-1 by a trained 1-Lipschitz critic,
  and exactly (defined in :mod:`tvspline.wasserstein`).
- Weight constraints (:func:`project_spectral`, :func:`project_orthonormal`,
  :func:`bjorck_orthonormalize`, :func:`spectral_norm`) and the baseline activations of the
  Lipschitz paper (:class:`ReLU`, :class:`AbsVal`, :class:`PReLU`, :class:`GroupSort`,
  :class:`HouseHolder`).
"""

from ..wasserstein import W1Estimate, empirical_w1, estimate_w1
from .activations import AbsVal, Activation, GroupSort, HouseHolder, PReLU, ReLU, make_activation
from .constraints import bjorck_orthonormalize, project_orthonormal, project_spectral, spectral_norm
from .layer_fit import LayerFitResult, fit_layer
from .network import SplineActivation, SplineNetwork

__all__ = [
    "SplineNetwork",
    "SplineActivation",
    "fit_layer",
    "LayerFitResult",
    "estimate_w1",
    "empirical_w1",
    "W1Estimate",
    "project_spectral",
    "project_orthonormal",
    "bjorck_orthonormalize",
    "spectral_norm",
    "Activation",
    "ReLU",
    "AbsVal",
    "PReLU",
    "GroupSort",
    "HouseHolder",
    "make_activation",
]


def __dir__():
    return sorted(set(__all__) | {"activations", "constraints", "layer_fit", "network"})
