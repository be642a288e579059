"""Layered spline networks: the exact activation step, the network, weight constraints, baselines."""

from .activations import Activation, AbsVal, GroupSort, HouseHolder, ReLU, make_activation
from .constraints import bjorck_orthonormalize, project_orthonormal, project_spectral, spectral_norm
from .layer_fit import LayerFitResult, fit_layer
from .network import SplineActivation, SplineNetwork

__all__ = [
    "SplineNetwork",
    "SplineActivation",
    "fit_layer",
    "LayerFitResult",
    "project_spectral",
    "project_orthonormal",
    "bjorck_orthonormalize",
    "spectral_norm",
    "Activation",
    "ReLU",
    "AbsVal",
    "GroupSort",
    "HouseHolder",
    "make_activation",
]
