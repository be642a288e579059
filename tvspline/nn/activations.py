r"""Baseline 1-Lipschitz activations of the Lipschitz paper, with hand-written backward passes.

All act on a batch :math:`Z \in \mathbb{R}^{n \times w}` (one sample per row) and are
1-Lipschitz from :math:`\mathbb{R}^w` to :math:`\mathbb{R}^w` in the Euclidean norm:

- ``relu``: :math:`\max(z, 0)` and ``absval``: :math:`|z|`, componentwise with slopes in
  :math:`[-1, 1]`;
- ``prelu``: :math:`z` for :math:`z > 0`, :math:`a_n z` otherwise, one learnable slope
  :math:`a_n` per neuron used as :math:`\mathrm{clip}(a_n, -1, 1)` (the Lipschitz-constrained PReLU
  of the Lipschitz paper: slopes in :math:`[-1, 1]`);
- ``groupsort`` (Anil et al. 2019): the entries of each group of ``group_size`` consecutive
  neurons are sorted ascending, a permutation of the group, so norms are preserved (group size 2
  is also called MaxMin);
- ``householder`` (Singla, Singla and Feizi, ICLR 2022): for each pair :math:`z \in \mathbb{R}^2`
  with a learnable angle :math:`\theta`, :math:`v = (\cos\theta, \sin\theta)`,

  .. math::

      \sigma_\theta(z) = z \ \text{if}\ v^T z > 0, \qquad (I - 2 v v^T) z \ \text{otherwise},

  continuous (both pieces agree on :math:`v^T z = 0`) with an orthogonal Jacobian on each piece,
  hence 1-Lipschitz and gradient-norm preserving. GroupSort of a pair is the case
  :math:`\theta = 3\pi/4`, i.e. :math:`v = (-1, 1)/\sqrt2`.

Interface: ``forward(Z) -> (out, cache)`` and ``backward(d_out, cache) -> (d_Z, d_params)``, where
``d_params`` holds the gradient of a scalar loss with respect to each entry of ``params``
(summed over the batch).
"""

from __future__ import annotations

import numbers

import numpy as np

from .._random import as_generator
from .._validate import check_choice

__all__ = ["Activation", "ReLU", "AbsVal", "PReLU", "GroupSort", "HouseHolder", "make_activation", "ACTIVATIONS"]


def _check_width(width, *, even: bool) -> int:
    if not isinstance(width, numbers.Integral) or isinstance(width, (bool, np.bool_)):
        raise TypeError(f"width must be an integer, got {type(width).__name__} {width!r}")
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width!r}")
    if even and width % 2:
        raise ValueError(f"width must be even for an activation on pairs, got {width!r}")
    return int(width)


class Activation:
    """A pointwise or pairwise activation on batches of shape ``(n_samples, width)``.

    Subclasses implement ``_forward(Z) -> (out, cache)`` and ``_backward(d_out, cache) ->
    (d_Z, d_params)``; the public methods validate their inputs.

    Attributes
    ----------
    name : str
        The name accepted by :func:`make_activation`.
    width : int
        Number of neurons.
    params : dict of str to numpy.ndarray
        Learnable parameters (empty when there are none); updated in place by a training loop.

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline.nn.activations import make_activation
    >>> relu = make_activation("relu", 2)
    >>> relu.name, relu.width, relu(np.array([[-1.0, 2.0]])).tolist()
    ('relu', 2, [[0.0, 2.0]])
    """

    name = "activation"
    pairwise = False

    def __init__(self, width: int):
        self.width = _check_width(width, even=self.pairwise)
        self.params: dict[str, np.ndarray] = {}

    def forward(self, Z):
        """Apply the activation to a batch.

        Parameters
        ----------
        Z : array_like, shape (n_samples, width)
            Finite pre-activations.

        Returns
        -------
        out : numpy.ndarray, shape (n_samples, width)
        cache : object
            What :meth:`backward` needs. It may keep a reference to ``Z``: do not modify ``Z``
            in place before calling :meth:`backward`.

        Raises
        ------
        ValueError
            If ``Z`` has the wrong shape or non-finite entries.
        """
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != self.width:
            raise ValueError(f"Z must have shape (n_samples, {self.width}), got shape {Z.shape}")
        if not np.isfinite(Z).all():
            i = tuple(int(v) for v in np.argwhere(~np.isfinite(Z))[0])
            raise ValueError(f"Z must be finite, got {float(Z[i])!r} at index {i}")
        return self._forward(Z)

    def backward(self, d_out, cache):
        """Back-propagate the gradient ``d_out = dL/d(out)`` of a scalar loss ``L``.

        Parameters
        ----------
        d_out : array_like, shape (n_samples, width)
            Gradient with respect to the output of :meth:`forward`.
        cache : object
            The cache returned by the matching :meth:`forward` call.

        Returns
        -------
        d_Z : numpy.ndarray, shape (n_samples, width)
            ``dL/dZ``.
        d_params : dict of str to numpy.ndarray
            ``dL/dparams`` with the shapes of :attr:`params`, summed over the batch.

        Raises
        ------
        ValueError
            If ``d_out`` does not have the shape of the forward output or is not finite.
        """
        d_out = np.asarray(d_out, dtype=np.float64)
        shape = self._cache_shape(cache)
        if d_out.shape != shape:
            raise ValueError(f"d_out must have shape {shape} (the forward output), got shape {d_out.shape}")
        if not np.isfinite(d_out).all():
            raise ValueError("d_out must be finite")
        return self._backward(d_out, cache)

    def lipschitz_constant(self) -> float:
        """Lipschitz constant from ``R^width`` to ``R^width`` (Euclidean norm): 1."""
        return 1.0

    def __call__(self, Z) -> np.ndarray:
        """``forward(Z)[0]``."""
        return self.forward(Z)[0]

    def __repr__(self):
        return f"{type(self).__name__}(width={self.width})"

    # subclass hooks
    def _cache_shape(self, cache):
        return cache.shape

    def _forward(self, Z):  # pragma: no cover - abstract
        raise NotImplementedError

    def _backward(self, d_out, cache):  # pragma: no cover - abstract
        raise NotImplementedError


class ReLU(Activation):
    """``max(z, 0)`` componentwise (derivative 0 at ``z = 0``).

    Examples
    --------
    >>> ReLU(2)([[-1.0, 2.0]])
    array([[0., 2.]])
    """

    name = "relu"

    def _forward(self, Z):
        return np.maximum(Z, 0.0), Z

    def _backward(self, d_out, Z):
        return d_out * (Z > 0), {}


class AbsVal(Activation):
    """``|z|`` componentwise (derivative 0 at ``z = 0``).

    Examples
    --------
    >>> AbsVal(2)([[-1.0, 2.0]])
    array([[1., 2.]])
    """

    name = "absval"

    def _forward(self, Z):
        return np.abs(Z), Z

    def _backward(self, d_out, Z):
        return d_out * np.sign(Z), {}


class PReLU(Activation):
    r"""Parametric ReLU with one slope per neuron, clipped into :math:`[-1, 1]`.

    :math:`\sigma_n(z) = z` for :math:`z > 0` and :math:`\mathrm{clip}(a_n, -1, 1)\, z` otherwise,
    so every slope lies in :math:`[-1, 1]` whatever the stored parameter. The gradient with respect
    to :math:`a_n` is that of the clipped function (zero where :math:`|a_n| > 1`).

    Parameters
    ----------
    width : int
        Number of neurons.
    slope : float or array_like, shape (width,), default -1.0
        Initial parameters :math:`a_n` (-1: the absolute value, the Lipschitz paper's start).

    Examples
    --------
    >>> act = PReLU(2, slope=[0.5, -3.0])
    >>> act([[-2.0, -2.0], [1.0, 1.0]])
    array([[-1.,  2.],
           [ 1.,  1.]])
    """

    name = "prelu"

    def __init__(self, width: int, slope=-1.0):
        super().__init__(width)
        a = np.array(np.broadcast_to(np.asarray(slope, dtype=np.float64), (self.width,)))
        if not np.isfinite(a).all():
            raise ValueError(f"slope must be finite, got {slope!r}")
        self.params = {"slope": a}

    def _forward(self, Z):
        a = np.clip(self.params["slope"], -1.0, 1.0)
        return np.where(Z > 0, Z, a * Z), Z

    def _backward(self, d_out, Z):
        raw = self.params["slope"]
        a = np.clip(raw, -1.0, 1.0)
        neg = Z <= 0
        d_Z = d_out * np.where(neg, a, 1.0)
        d_a = np.where(neg, d_out * Z, 0.0).sum(axis=0) * ((raw >= -1.0) & (raw <= 1.0))
        return d_Z, {"slope": d_a}

    def lipschitz_constant(self) -> float:
        """``max(1, max_n |clip(a_n, -1, 1)|) = 1``."""
        return float(max(1.0, np.max(np.abs(np.clip(self.params["slope"], -1.0, 1.0)))))


class GroupSort(Activation):
    """Sort each group of ``group_size`` consecutive neurons ascending.

    Parameters
    ----------
    width : int
        Number of neurons, a multiple of ``group_size``.
    group_size : int, default 2
        Size of the sorted groups (2: MaxMin; the Lipschitz paper uses 5 for width 10).

    Examples
    --------
    >>> GroupSort(4)([[3.0, 1.0, -1.0, 2.0]])
    array([[ 1.,  3., -1.,  2.]])
    >>> GroupSort(4, group_size=4)([[3.0, 1.0, -1.0, 2.0]])
    array([[-1.,  1.,  2.,  3.]])
    """

    name = "groupsort"
    pairwise = True

    def __init__(self, width: int, group_size: int = 2):
        if not isinstance(group_size, numbers.Integral) or isinstance(group_size, (bool, np.bool_)) or group_size < 1:
            raise ValueError(f"group_size must be an integer >= 1, got {group_size!r}")
        g = int(group_size)
        w = _check_width(width, even=g == 2)
        if w % g:
            raise ValueError(f"width must be a multiple of group_size={g}, got {w}")
        self.group_size = g
        self.width = w
        self.params = {}

    def _forward(self, Z):
        n, g = Z.shape[0], self.group_size
        grouped = Z.reshape(n, -1, g)
        order = np.argsort(grouped, axis=2, kind="stable")
        out = np.take_along_axis(grouped, order, axis=2).reshape(n, -1)
        return out, order

    def _cache_shape(self, order):
        return (order.shape[0], self.width)

    def _backward(self, d_out, order):
        n, g = d_out.shape[0], self.group_size
        d_Z = np.empty((n, self.width // g, g))
        np.put_along_axis(d_Z, order, d_out.reshape(n, -1, g), axis=2)
        return d_Z.reshape(n, -1), {}

    def __repr__(self):
        return f"GroupSort(width={self.width}, group_size={self.group_size})"


class HouseHolder(Activation):
    r"""The HouseHolder activation on consecutive pairs, one learnable angle per pair.

    Parameters
    ----------
    width : int
        Even number of neurons.
    theta : array_like, shape (width // 2,), optional
        Initial angles; default uniform in :math:`[0, 2\pi)` drawn from ``random_state``.
    random_state : None, int or numpy.random.Generator
        Seed of the default angles.

    Examples
    --------
    >>> import numpy as np
    >>> act = HouseHolder(2, theta=[0.0])          # v = (1, 0): reflect z1 when z1 <= 0
    >>> act([[-3.0, 4.0], [3.0, 4.0]])
    array([[3., 4.],
           [3., 4.]])
    """

    name = "householder"
    pairwise = True

    def __init__(self, width: int, theta=None, random_state=None):
        super().__init__(width)
        rng = as_generator(random_state)
        if theta is None:
            theta = rng.uniform(0.0, 2.0 * np.pi, self.width // 2)
        theta = np.array(theta, dtype=np.float64)
        if theta.shape != (self.width // 2,) or not np.isfinite(theta).all():
            raise ValueError(f"theta must be finite with shape ({self.width // 2},), got {theta!r}")
        self.params = {"theta": theta}

    def _forward(self, Z):
        theta = self.params["theta"]
        c, s = np.cos(theta), np.sin(theta)
        z1, z2 = Z[:, 0::2], Z[:, 1::2]
        a = c * z1 + s * z2  # v . z per pair
        reflect = a <= 0
        k = np.where(reflect, 2.0 * a, 0.0)
        out = np.empty_like(Z)
        out[:, 0::2] = z1 - k * c
        out[:, 1::2] = z2 - k * s
        return out, (Z, a, reflect, c, s)

    def _cache_shape(self, cache):
        return cache[0].shape

    def _backward(self, d_out, cache):
        Z, a, reflect, c, s = cache
        g1, g2 = d_out[:, 0::2], d_out[:, 1::2]
        # on the reflected piece d_Z = (I - 2 v v^T) d_out (symmetric), else d_out
        gv = np.where(reflect, 2.0 * (c * g1 + s * g2), 0.0)
        d_Z = np.empty_like(d_out)
        d_Z[:, 0::2] = g1 - gv * c
        d_Z[:, 1::2] = g2 - gv * s
        # d out / d theta = -2 (u . z) v - 2 (v . z) u with u = dv/dtheta = (-sin, cos)
        z1, z2 = Z[:, 0::2], Z[:, 1::2]
        uz = -s * z1 + c * z2
        gu = -s * g1 + c * g2
        d_theta = np.where(reflect, -2.0 * (uz * (c * g1 + s * g2) + a * gu), 0.0).sum(axis=0)
        return d_Z, {"theta": d_theta}

    def __repr__(self):
        return f"HouseHolder(width={self.width}, theta={np.array2string(self.params['theta'], precision=4)})"


ACTIVATIONS = {cls.name: cls for cls in (ReLU, AbsVal, PReLU, GroupSort, HouseHolder)}


def make_activation(name: str, width: int, random_state=None, *, group_size: int = 2) -> Activation:
    """Build a baseline activation by name.

    Parameters
    ----------
    name : {"relu", "absval", "prelu", "groupsort", "householder"}
        The activation.
    width : int
        Number of neurons (even for "householder", a multiple of ``group_size`` for "groupsort").
    random_state : None, int or numpy.random.Generator
        Seed of the learnable parameters (the HouseHolder angles); unused otherwise.
    group_size : int, default 2
        Group size of "groupsort".

    Returns
    -------
    Activation

    Raises
    ------
    ValueError
        For an unknown name, ``width < 1``, or an odd width for a pairwise activation.

    Examples
    --------
    >>> act = make_activation("groupsort", 4)
    >>> out, cache = act.forward([[2.0, 1.0, 0.0, 5.0]])
    >>> out
    array([[1., 2., 0., 5.]])
    >>> act.backward([[1.0, 0.0, 0.0, 0.0]], cache)[0]   # the gradient follows the swap
    array([[0., 1., 0., 0.]])
    """
    check_choice(name, "name", tuple(ACTIVATIONS))
    if name == "householder":
        return HouseHolder(width, random_state=random_state)
    as_generator(random_state)  # validate it even when unused
    if name == "groupsort":
        return GroupSort(width, group_size=group_size)
    return ACTIVATIONS[name](width)
