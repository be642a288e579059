r"""Fully connected networks with learned slope-constrained spline activations.

:class:`SplineNetwork` implements the layered architecture of ``docs/math.md``,

.. math:: f = W_L \circ \sigma_{L-1} \circ W_{L-1} \circ \dots \circ \sigma_1 \circ W_1,

(each :math:`W_l` affine), one linear spline per neuron. :meth:`SplineNetwork.fit` minimises
:math:`J = \tfrac12\sum_i \|f(x_i) - y_i\|^2 + \lambda \sum_{l,n} \mathrm{TV}^{(2)}(\sigma_{l,n})`
(or the absolute / linear losses) by an outer loop that alternates

- **weight steps**: Adam directions on the gradient (computed by hand in NumPy) followed by the
  projection onto the weight constraint (``"orthonormal"``: the polar factor;
  ``"spectral"``: singular values clipped to 1), accepted only when :math:`J` decreases
  (the step is halved otherwise);
- **activation steps**, in forward order: each layer's splines are first replaced by their
  interpolants at the layer's current pre-activation values (never worse: the data term is
  unchanged and TV2 cannot grow), then refitted by :func:`tvspline.nn.layer_fit.fit_layer`:
  the last hidden layer on the true objective, the earlier ones on the network linearised around
  the current activations with a proximal (trust-region) term, each step accepted only when
  :math:`J` decreases.

For a scalar network (one input, one output) the loop starts by default at the certified
solution of the 1-D problem carried along one path of the network (``fit``'s ``start``), so
training ends no higher than the 1-D optimum.

What is exact and what is not:

- **Exact and certified**: the embedded start (one certified 1-D solve); the last hidden layer's
  step, which solves a convex problem (all its splines jointly, weights fixed, knots at the data:
  by the representer theorem the optimum over all functions). For the squared loss it runs block
  coordinate descent, one exact 1-D fit (:func:`tvspline.fit`, itself certified) per neuron and
  sweep, for at most ``exact_sweeps`` sweeps; its answer carries a weak-duality lower bound on the
  layer optimum, and the gap is recorded in ``history["gap"]`` (zero to rounding when the sweeps
  converged; a positive gap says how far the step stopped from the layer optimum). The LP losses
  use Clarabel.
- **Certified, whatever the training did**: every slope of every spline lies in the bounds in
  floating point, every weight has computed spectral norm at most 1 (orthonormal or spectral
  modes), so :meth:`SplineNetwork.lipschitz_bound` is a valid Lipschitz constant of the
  returned network; and :math:`J` never increases from one outer iteration to the next (beyond
  ``INTERPOLATION_SLACK * max(1, |J|)`` of rounding).
- **Not exact**: the weight steps and the linearised steps of the earlier layers are descent
  steps on a non-convex problem; the network as a whole is a local solution, not a certified
  global one.

:meth:`SplineNetwork.fit_adam` trains the baseline activations (ReLU, AbsVal, PReLU, GroupSort,
HouseHolder) by the Lipschitz paper's own protocol, mini-batch Adam through Björck-parametrised
weights (:mod:`tvspline.nn._adam`); :meth:`SplineNetwork.fit` also accepts them (weight steps
only).
"""

from __future__ import annotations

import json
import math
import numbers
import time

import numpy as np

from .._enforce import enforce_slope_bounds
from .._random import as_generator
from ..bounds import SlopeBounds, as_bounds, lipschitz
from ..spline import LinearSpline
from .activations import ACTIVATIONS, make_activation
from .constraints import project_orthonormal, project_spectral
from .layer_fit import fit_layer

__all__ = ["SplineNetwork", "SplineActivation"]

WEIGHT_MODES = ("orthonormal", "spectral", "free")
ACTIVATION_NAMES = ("spline",) + tuple(ACTIVATIONS)
NETWORK_LOSSES = ("squared", "absolute", "linear")
START_MODES = ("auto", "embed", "current")
#: Rounding allowance of the interpolation step, relative to max(1, |J|) (its exact objective
#: never grows; recomputed in floating point it can by ulps).
INTERPOLATION_SLACK = 1e-12


class SplineActivation:
    """One learnable linear spline per neuron, with the interface of the baseline activations.

    Parameters
    ----------
    splines : list of LinearSpline
        The activation of each neuron.

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline import LinearSpline
    >>> from tvspline.nn import SplineActivation
    >>> act = SplineActivation([LinearSpline([-1.0, 0.0, 1.0], [1.0, 0.0, 1.0])])  # |z| on [-1, 1]
    >>> act(np.array([[-0.5], [0.25]])).ravel().tolist()
    [0.5, 0.25]
    """

    name = "spline"
    pairwise = False

    def __init__(self, splines):
        self.splines = list(splines)
        self.width = len(self.splines)
        self.params: dict = {}

    def forward(self, Z):
        out = np.empty_like(Z)
        for j, f in enumerate(self.splines):
            out[:, j] = f(Z[:, j])
        return out, Z

    def backward(self, d_out, Z):
        d_Z = np.empty_like(d_out)
        for j, f in enumerate(self.splines):
            d_Z[:, j] = d_out[:, j] * f.derivative(Z[:, j])
        return d_Z, {}

    def __call__(self, Z):
        return self.forward(Z)[0]

    def lipschitz_constant(self) -> float:
        """The largest Lipschitz constant (largest absolute slope) over the neurons."""
        return max((f.lipschitz_constant() for f in self.splines), default=0.0)

    def tv2(self) -> float:
        return float(sum(f.tv2() for f in self.splines))


def _initial_spline(kind: str, bounds: SlopeBounds) -> LinearSpline:
    """An initial activation inside the bounds: the named shape with its slopes clipped."""
    shapes = {"relu": (0.0, 1.0), "absval": (-1.0, 1.0), "identity": (1.0, 1.0)}
    if kind not in shapes:
        raise ValueError(f"init must be one of {tuple(shapes)}, got {kind!r}")
    left, right = (float(np.clip(s, bounds.lo, bounds.hi)) for s in shapes[kind])
    return LinearSpline(np.array([-1.0, 0.0, 1.0]), np.array([-left, 0.0, right]))


def _unit_norm(W):
    """``W`` scaled down by a few ulps where its computed spectral norm exceeds 1 by rounding.

    The polar factor has singular values 1 only to rounding; the certified Lipschitz bound uses
    the computed spectral norm, so it is kept at most 1.
    """
    for _ in range(4):
        s = float(np.linalg.norm(W, 2))
        if s <= 1.0:
            break
        W = W / (s * (1.0 + 4.0 * np.finfo(float).eps))
    return W


def _random_weight(rng, n_out, n_in, mode):
    A = rng.standard_normal((n_out, n_in))
    if mode == "orthonormal":
        return _unit_norm(project_orthonormal(A))
    if mode == "spectral":
        return _unit_norm(project_spectral(A / math.sqrt(max(n_in, n_out))))
    return A * math.sqrt(2.0 / n_in)


class SplineNetwork:
    r"""A fully connected network with one learned slope-constrained spline per neuron.

    Parameters
    ----------
    widths : sequence of int
        ``[d_in, n_1, ..., n_{L-1}, d_out]``: at least an input and an output width.
    bounds : SlopeBounds or (lo, hi), default ``lipschitz(1)``
        Slope bounds of every spline activation.
    weights : {"orthonormal", "spectral", "free"}
        Constraint on the linear layers: orthonormal rows or columns (the polar factor), spectral
        norm <= 1, or none.
    activation : {"spline", "relu", "absval", "prelu", "groupsort", "householder"}
        Learned splines, or a baseline activation (trained by the same loop, or by
        :meth:`fit_adam`).
    lam : float
        TV2 weight of the spline activations.
    loss : {"squared", "absolute", "linear"}
        ``1/2 sum ||f(x_i) - y_i||^2``, ``sum ||f(x_i) - y_i||_1`` or ``sum <y_i, f(x_i)>`` (the
        linear loss takes the weights ``q_i`` as ``y``; used for Wasserstein critics).
    init : {"absval", "relu", "identity"}
        Initial shape of the spline activations (slopes clipped into the bounds).
    knots : "data" or array_like
        Knots of the exact activation steps: each neuron's pre-activation values (the representer
        theorem) or a shared grid.
    group_size : int, default 2
        Group size of ``activation="groupsort"`` (the widths must be multiples of it).
    random_state : None, int or numpy.random.Generator
        Seed of the initial weights (and HouseHolder angles).

    Attributes
    ----------
    history : dict of lists
        Per outer iteration: ``objective``, ``data``, ``tv2``, ``gap`` (of the exact activation
        step, NaN where none), ``time``; entry 0 is the starting point (after ``start``, with the
        1-D solution's certified gap when it was embedded).
    start_ : dict
        Set by :meth:`fit`: ``mode`` (``"embed"`` or ``"current"``), ``objective_before`` and
        ``objective`` (before and after the start), ``gap`` and ``status`` of the 1-D solution,
        ``time`` (seconds).

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline.nn import SplineNetwork
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, (200, 1)); y = np.abs(x[:, 0]) - 0.5
    >>> net = SplineNetwork([1, 4, 1], lam=1e-3, random_state=0).fit(x, y, max_iter=5, progress=False)
    >>> bool(net.lipschitz_bound() <= 1 + 1e-9)
    True
    >>> h = net.history["objective"]; bool(all(b <= a * (1 + 1e-12) for a, b in zip(h, h[1:])))
    True
    """

    def __init__(self, widths, bounds=None, *, weights="orthonormal", activation="spline", lam=1e-3,
                 loss="squared", init="absval", knots="data", group_size=2, random_state=None):
        widths = list(widths)
        if len(widths) < 2:
            raise ValueError(f"widths must list at least an input and an output width, got {widths!r}")
        for w in widths:
            if not isinstance(w, numbers.Integral) or isinstance(w, bool) or w < 1:
                raise ValueError(f"widths must be positive integers, got {widths!r}")
        if weights not in WEIGHT_MODES:
            raise ValueError(f"weights must be one of {WEIGHT_MODES}, got {weights!r}")
        if activation not in ACTIVATION_NAMES:
            raise ValueError(f"activation must be one of {ACTIVATION_NAMES}, got {activation!r}")
        if loss not in NETWORK_LOSSES:
            raise ValueError(f"loss must be one of {NETWORK_LOSSES}, got {loss!r}")
        lam = float(lam)
        if not (math.isfinite(lam) and lam >= 0):
            raise ValueError(f"lam must be finite and >= 0, got {lam!r}")
        self.widths = [int(w) for w in widths]
        self.bounds = lipschitz(1.0) if bounds is None else as_bounds(bounds)
        self.weight_mode = weights
        self.activation_name = activation
        self.lam = lam
        self.loss = loss
        self.init = init
        self.knots = knots
        self.group_size = group_size
        rng = as_generator(random_state)
        L = len(self.widths) - 1
        self._W = [_random_weight(rng, self.widths[l + 1], self.widths[l], weights) for l in range(L)]
        self._b = [np.zeros(self.widths[l + 1]) for l in range(L)]
        self._acts = []
        for l in range(1, L):
            if activation == "spline":
                f0 = _initial_spline(init, self.bounds)
                self._acts.append(SplineActivation([f0] * self.widths[l]))
            else:
                self._acts.append(make_activation(activation, self.widths[l], random_state=rng,
                                                  group_size=group_size))
        self.history = {"objective": [], "data": [], "tv2": [], "gap": [], "time": []}
        self._inner_grid = None
        self._exact_sweeps = 20
        self._linearised_sweeps = 2

    # ----------------------------------------------------------------------------------- access
    @property
    def weights(self):
        """The weight matrices ``W_l`` (copies), shape ``(widths[l+1], widths[l])``."""
        return [W.copy() for W in self._W]

    @property
    def biases(self):
        """The bias vectors (copies)."""
        return [b.copy() for b in self._b]

    @property
    def activations(self):
        """The activation of each neuron of each hidden layer as a :class:`LinearSpline`.

        Available for ``"spline"`` and the pointwise baselines ``"relu"`` and ``"absval"``;
        GroupSort and HouseHolder act on pairs of neurons and have no per-neuron spline.
        """
        if self.activation_name == "spline":
            return [list(a.splines) for a in self._acts]
        if self.activation_name in ("relu", "absval"):
            left = 0.0 if self.activation_name == "relu" else -1.0
            f = LinearSpline(np.array([-1.0, 0.0, 1.0]), np.array([-left, 0.0, 1.0]))
            return [[f] * a.width for a in self._acts]
        raise AttributeError(f"activation {self.activation_name!r} acts on pairs of neurons: no per-neuron spline")

    def lipschitz_bound(self) -> float:
        r"""Certified Lipschitz constant: :math:`\prod_l \|W_l\|_2 \times \prod_l \max_n \mathrm{Lip}(\sigma_{l,n})`.

        The spectral norms are computed by SVD (exact to rounding), the spline constants from their
        slopes.
        """
        bound = 1.0
        for W in self._W:
            bound *= float(np.linalg.norm(W, 2))
        for a in self._acts:
            bound *= a.lipschitz_constant()
        return bound

    # ---------------------------------------------------------------------------------- forward
    def _forward(self, X):
        h = X
        zs, hs, caches = [], [X], []
        for l, act in enumerate(self._acts):
            z = h @ self._W[l].T + self._b[l]
            h, cache = act.forward(z)
            zs.append(z)
            hs.append(h)
            caches.append(cache)
        out = h @ self._W[-1].T + self._b[-1]
        return out, zs, hs, caches

    def predict(self, X):
        """Network output, shape ``(N, d_out)`` (``(N,)`` when ``d_out == 1``)."""
        X = self._check_X(X)
        out = self._forward(X)[0]
        return out[:, 0] if out.shape[1] == 1 else out

    __call__ = predict

    def _check_Xy(self, X, y):
        """``X`` as ``(N, d_in)`` and ``y`` as ``(N, d_out)``, both finite."""
        X = self._check_X(X)
        N, dout = X.shape[0], self.widths[-1]
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 1:
            y = y[:, None]
        if y.shape != (N, dout):
            raise ValueError(f"y must have shape ({N},) or ({N}, {dout}), got {y.shape}")
        if not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or infinite values")
        return X, y

    def _check_X(self, X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1 and self.widths[0] == 1:
            X = X[:, None]
        if X.ndim != 2 or X.shape[1] != self.widths[0]:
            raise ValueError(f"X must have shape (N, {self.widths[0]}), got {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or infinite values")
        return X

    # -------------------------------------------------------------------------------- objective
    def _data_term(self, out, y, w):
        if self.loss == "squared":
            r = out - y
            return 0.5 * float(np.sum(w[:, None] * r * r))
        if self.loss == "absolute":
            return float(np.sum(w[:, None] * np.abs(out - y)))
        return float(np.sum(y * out))

    def _tv2(self):
        if self.activation_name != "spline":
            return 0.0
        return float(sum(a.tv2() for a in self._acts))

    def _objective(self, X, y, w):
        out = self._forward(X)[0]
        data = self._data_term(out, y, w)
        tv2 = self._tv2()
        return data + self.lam * tv2, data, tv2

    def _d_out(self, out, y, w):
        if self.loss == "squared":
            return w[:, None] * (out - y)
        if self.loss == "absolute":
            return w[:, None] * np.sign(out - y)
        return y

    # ------------------------------------------------------------------------------ weight step
    def _params(self):
        ps = []
        for l in range(len(self._W)):
            ps += [("W", l), ("b", l)]
        for l, a in enumerate(self._acts):
            for k in a.params:
                ps.append(("act", l, k))
        return ps

    def _get(self, key):
        if key[0] == "W":
            return self._W[key[1]]
        if key[0] == "b":
            return self._b[key[1]]
        return self._acts[key[1]].params[key[2]]

    def _set(self, key, value):
        if key[0] == "W":
            self._W[key[1]] = value
        elif key[0] == "b":
            self._b[key[1]] = value
        else:
            self._acts[key[1]].params[key[2]] = value

    def _gradients(self, X, y, w):
        out, zs, hs, caches = self._forward(X)
        d = self._d_out(out, y, w)
        grads = {("W", len(self._W) - 1): d.T @ hs[-1], ("b", len(self._W) - 1): d.sum(axis=0)}
        dh = d @ self._W[-1]
        for l in range(len(self._acts) - 1, -1, -1):
            dz, dparams = self._acts[l].backward(dh, caches[l])
            for k, g in dparams.items():
                grads[("act", l, k)] = g
            grads[("W", l)] = dz.T @ hs[l]
            grads[("b", l)] = dz.sum(axis=0)
            dh = dz @ self._W[l]
        return grads

    def _project(self, W):
        if self.weight_mode == "orthonormal":
            return _unit_norm(project_orthonormal(W))
        if self.weight_mode == "spectral":
            return _unit_norm(project_spectral(W))
        return W

    def _weight_steps(self, X, y, w, obj, n_steps, state):
        """Adam directions, projected, each accepted only if the objective decreases."""
        keys = self._params()
        beta1, beta2, eps = 0.9, 0.999, 1e-12
        for _ in range(n_steps):
            grads = self._gradients(X, y, w)
            state["t"] += 1
            t = state["t"]
            dirs = {}
            for k in keys:
                g = grads[k]
                m = state["m"].get(k, np.zeros_like(g)) * beta1 + (1 - beta1) * g
                v = state["v"].get(k, np.zeros_like(g)) * beta2 + (1 - beta2) * g * g
                state["m"][k], state["v"][k] = m, v
                dirs[k] = (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
            saved = {k: self._get(k).copy() for k in keys}
            accepted = False
            for _ in range(12):
                lr = state["lr"]
                for k in keys:
                    new = saved[k] - lr * dirs[k]
                    if k[0] == "W":
                        new = self._project(new)
                    self._set(k, new)
                trial = self._objective(X, y, w)[0]
                if trial < obj:
                    obj = trial
                    state["lr"] = min(lr * 1.2, state["lr_max"])
                    accepted = True
                    break
                state["lr"] = lr * 0.5
            if not accepted:  # no decrease along this direction: restart Adam from here
                for k in keys:
                    self._set(k, saved[k])
                state["m"], state["v"], state["t"] = {}, {}, 0
                state["lr"] = state["lr_max"] / 10
                break
        return obj

    # -------------------------------------------------------------------------- activation step
    def _activation_steps(self, X, y, w, obj, rho, stats):
        """Forward order: interpolate at the pre-activations, then refit (exact / linearised)."""
        gap = math.nan
        L = len(self._acts)
        for l in range(L):
            act = self._acts[l]
            z = self._forward(X)[1][l]
            # 1. interpolants at the current pre-activation values: data term unchanged, TV2 not larger
            obj = self._interpolate_at_data(l, z, X, y, w, obj)
            old = list(act.splines)
            # 2. refit
            out, zs, hs, _ = self._forward(X)
            Z = zs[l]
            if l == L - 1:
                res = fit_layer(Z, self._W[-1], y, self.lam, self.bounds, loss=self.loss, weights=w,
                                bias=self.loss != "linear", knots=self.knots, offset=None,
                                method="coordinate" if self._coordinate_ok() else "clarabel",
                                init=act.splines, max_sweeps=self._exact_sweeps)
                stats["exact_fits"] += 1
                if res.splines is not None:
                    saved_b = self._b[-1].copy()
                    act.splines = res.splines
                    if self.loss != "linear":
                        self._b[-1] = res.bias.copy()
                    new_obj = self._objective(X, y, w)[0]
                    if new_obj < obj:
                        obj = new_obj
                        gap = res.gap
                    else:
                        act.splines = old
                        self._b[-1] = saved_b
            else:
                J = self._activation_jacobian(X, l)  # (N, n, d)
                if self._inner_grid:
                    # per-neuron uniform grids (one Clarabel QP per step)
                    lo_z, hi_z = Z.min(axis=0), Z.max(axis=0)
                    pad = 1e-9 * np.maximum(1.0, np.abs(hi_z - lo_z))
                    knots_l = [np.linspace(a - p, b + p, self._inner_grid) for a, b, p in zip(lo_z, hi_z, pad)]
                else:
                    knots_l = self.knots
                coordinate = self._coordinate_ok() and isinstance(knots_l, str)
                a0 = hs[l + 1]
                offset = out - np.einsum("ijd,ij->id", J, a0)
                for _ in range(4):
                    res = fit_layer(Z, J, y, self.lam, self.bounds, loss=self.loss, weights=w, bias=False,
                                    knots=knots_l, offset=offset, prox=(rho[l], old), certify=False,
                                    method="coordinate" if coordinate else "clarabel", init=old,
                                    max_sweeps=self._linearised_sweeps)
                    stats["linearised_fits"] += 1
                    if res.splines is None:
                        rho[l] *= 10.0
                        continue
                    act.splines = res.splines
                    new_obj = self._objective(X, y, w)[0]
                    if new_obj < obj:
                        obj = new_obj
                        rho[l] = max(rho[l] / 2.0, 1e-6)
                        stats["accepted"] += 1
                        # grid knots back onto the data (this layer's inputs did not change)
                        obj = self._interpolate_at_data(l, Z, X, y, w, obj)
                        break
                    act.splines = old
                    rho[l] *= 10.0
        return obj, gap

    def _coordinate_ok(self) -> bool:
        """Whether the activation steps can run by coordinate descent (squared loss, data knots)."""
        return self.loss == "squared" and isinstance(self.knots, str)

    def _interpolate_at_data(self, l, z, X, y, w, obj):
        """Replace layer ``l``'s splines by their interpolants at the pre-activations ``z``.

        The values at the data are unchanged, the slopes are averages of the old ones (so within
        the bounds) and TV2 cannot grow. In floating point the values at nearly tied sites are
        nudged by ulps into the bounds; the change is kept unless the recomputed objective grew
        by more than ``INTERPOLATION_SLACK * max(1, |J|)``. Returns the objective.
        """
        act = self._acts[l]
        old = list(act.splines)
        lo, hi = self.bounds.lo, self.bounds.hi
        interp = []
        for j, f in enumerate(old):
            t = np.unique(z[:, j])
            if t.size < 2 or np.all(np.isin(f.knots, t)):  # knots already at the data: nothing to move
                interp.append(f)
                continue
            values = enforce_slope_bounds(t, f(t), lo, hi)
            slopes = np.diff(values) / np.diff(t)
            if np.any(slopes < lo) or np.any(slopes > hi):
                # Slopes recomputed from values at nearly tied sites carry rounding of order
                # ulp(f) / h: clip them into the bounds, integrate, and nudge by ulps.
                slopes = np.clip(slopes, lo, hi)
                values = values[0] + np.concatenate([[0.0], np.cumsum(np.diff(t) * slopes)])
                values = enforce_slope_bounds(t, values, lo, hi)
            interp.append(LinearSpline(t, values).prune())
        act.splines = interp
        new_obj = self._objective(X, y, w)[0]
        if new_obj <= obj + INTERPOLATION_SLACK * max(1.0, abs(obj)):
            return min(obj, new_obj)
        act.splines = old
        return obj

    def _activation_jacobian(self, X, l):
        """``d out_i / d a_{l, ij}`` for every sample, neuron of hidden layer ``l`` and output."""
        out, zs, hs, caches = self._forward(X)
        N, dout = out.shape
        n = self.widths[l + 1]
        J = np.empty((N, n, dout))
        for o in range(dout):
            dh = np.zeros_like(out)
            dh[:, o] = 1.0
            dh = dh @ self._W[-1]
            for k in range(len(self._acts) - 1, l, -1):
                dz, _ = self._acts[k].backward(dh, caches[k])
                dh = dz @ self._W[k]
            J[:, :, o] = dh
        return J

    # ------------------------------------------------------------------------------------ start
    def _embedding_applies(self) -> bool:
        """Whether the exact 1-D solution can be carried by the network (see :meth:`fit`)."""
        return (self.activation_name == "spline" and self.widths[0] == 1 and self.widths[-1] == 1
                and len(self._acts) > 0 and self.bounds.lo <= 1.0 <= self.bounds.hi)

    def _start(self, mode, X, y, w):
        """Apply ``fit``'s ``start`` and describe what was done (the ``start_`` attribute)."""
        before = self._objective(X, y, w)[0]
        info = {"mode": "current", "objective_before": before, "objective": before, "gap": math.nan,
                "status": None, "time": 0.0}
        if mode == "current" or (mode == "auto" and not self._embedding_applies()):
            return info
        t0 = time.perf_counter()
        res = fit_layer(X, np.ones((1, 1)), y, self.lam, self.bounds, loss=self.loss, weights=w,
                        bias=self.loss != "linear", knots=self.knots)
        info["time"] = time.perf_counter() - t0
        info["status"] = res.status
        if res.splines is None:
            if mode == "embed":
                raise RuntimeError(f"start='embed': the 1-D problem was not solved ({res.status}: {res.message})")
            return info
        saved = (self._W, self._b, [list(a.splines) for a in self._acts])
        L = len(self._W)
        self._W = [np.eye(self.widths[l + 1], self.widths[l]) for l in range(L)]
        self._b = [np.zeros(self.widths[l + 1]) for l in range(L)]
        self._b[-1] = np.asarray(res.bias, dtype=np.float64).reshape(1).copy()
        identity = _initial_spline("identity", self.bounds)  # slope 1: within the bounds here
        carried = np.unique(res.splines[0](X[:, 0]))  # the path's pre-activations after the first layer
        on_path = LinearSpline(carried, carried) if carried.size >= 2 else identity  # knots at the data
        for l, act in enumerate(self._acts):  # identities elsewhere: TV2 zero off the path too
            act.splines = [res.splines[0] if l == 0 else on_path] + [identity] * (act.width - 1)
        after = self._objective(X, y, w)[0]
        if mode == "auto" and not after < before:
            self._W, self._b = saved[0], saved[1]
            for act, splines in zip(self._acts, saved[2]):
                act.splines = splines
            return info
        info.update(mode="embed", objective=after, gap=res.gap)
        return info

    # ---------------------------------------------------------------------------------- fitting
    def fit(self, X, y, *, weights=None, start="auto", max_iter=50, weight_steps=20, lr=1e-2, tol=1e-7,
            patience=3, rho=None, inner_grid="auto", exact_sweeps=20, linearised_sweeps=2, progress=True,
            callback=None):
        """Train by the alternating outer loop of the module docstring.

        Parameters
        ----------
        X : array_like, shape (N, d_in)
        y : array_like, shape (N,) or (N, d_out)
            Targets (for ``loss="linear"``: the weights ``q_i`` of the objective).
        weights : array_like, shape (N,), optional
            Non-negative sample weights.
        start : {"auto", "embed", "current"}
            Where the outer loop starts. ``"current"``: the network as it is (the random weights
            of the constructor, or a previous fit). ``"embed"``: the exact solution of the 1-D
            problem (the same objective for a single spline ``sigma`` with ``f = sigma + b``,
            solved and certified by :func:`~tvspline.nn.fit_layer`) carried along one path of the
            network: ``W_l`` the leading block of the identity, the first neuron of the first
            hidden layer has ``sigma``, every other neuron the identity (TV2 zero). The network
            then computes that spline and its objective equals the certified 1-D optimum, which
            the loop can only lower. It needs a scalar network (``widths[0] == widths[-1] == 1``),
            spline activations and the slope 1 within the bounds. ``"auto"``: ``"embed"`` where it
            applies and its objective is lower than the current network's, else ``"current"``.
            What was done is recorded in ``start_``.
        max_iter : int
            Outer iterations.
        weight_steps : int
            Projected Adam steps per outer iteration.
        lr : float
            Initial step of the weight steps (adapted: x1.2 on success, /2 on failure).
        tol, patience : float, int
            Stop when ``patience`` consecutive outer iterations each decrease the objective by
            less than ``tol * max(1, |objective|)``.
        rho : float, optional
            Initial proximal weight (per knot) of the linearised activation steps (adapted).
            Default: 0.01 with knots at the data, 1.0 on grids.
        inner_grid : "auto", int or None
            ``None``: the linearised activation steps of the layers before the last hidden one
            put their knots at the data, like the exact step, and are solved by coordinate
            descent (squared loss). An integer: that many knots per neuron, uniform over its
            pre-activation range, and one Clarabel QP per step; the next interpolation step moves
            every knot back onto the data. ``"auto"``: ``None`` for the squared loss with
            ``knots="data"``, else 100.
        exact_sweeps : int
            Sweeps of the coordinate descent of the exact step (squared loss, knots at the data;
            it stops earlier when converged). The step's certified gap is recorded in
            ``history["gap"]``.
        linearised_sweeps : int
            Sweeps of the coordinate descent of each linearised step.
        progress : bool
            Show a tqdm progress bar.
        callback : callable, optional
            Called as ``callback(net, iteration)`` after each outer iteration.

        Returns
        -------
        self

        Notes
        -----
        One path of a scalar network whose slope bounds ``(lo, hi)`` contain 1 can carry any spline
        of slopes in ``[lo, hi]`` (the other layers pass it on by identities), so the
        exact 1-D solution is a point of the network's training problem at which the objective is
        the 1-D optimum. Starting there (``start="embed"``), the training objective ends no higher
        than that optimum; the composition of several layers can lower it further (a folded
        spline can have a smaller total TV2 than the function it computes).

        Examples
        --------
        >>> import numpy as np
        >>> import tvspline
        >>> from tvspline.nn import SplineNetwork
        >>> x = np.linspace(-1, 1, 200); y = np.abs(x) - 0.5
        >>> net = SplineNetwork([1, 8, 8, 1], lam=1e-3, random_state=0).fit(x, y, max_iter=2, progress=False)
        >>> net.start_["mode"]
        'embed'
        >>> optimum = tvspline.fit(x, y, 1e-3, tvspline.lipschitz(1)).objective  # the 1-D problem
        >>> bool(net.history["objective"][-1] <= optimum + 1e-12)
        True
        """
        X, y = self._check_Xy(X, y)
        N = X.shape[0]
        w = np.ones(N) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
        if w.size != N or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("weights must be finite, non-negative, one per sample")
        for name, v in (("max_iter", max_iter), ("weight_steps", weight_steps), ("patience", patience)):
            if not isinstance(v, numbers.Integral) or v < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {v!r}")
        if isinstance(inner_grid, str):
            if inner_grid != "auto":
                raise ValueError(f"inner_grid must be 'auto', an integer >= 3 or None, got {inner_grid!r}")
            inner_grid = None if self._coordinate_ok() else 100
        if rho is None:
            rho = 0.01 if inner_grid is None else 1.0
        for name, v in (("lr", lr), ("rho", rho)):
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be finite and > 0, got {v!r}")
        from tqdm.auto import tqdm

        if inner_grid is not None and (not isinstance(inner_grid, numbers.Integral) or inner_grid < 3):
            raise ValueError(f"inner_grid must be an integer >= 3 or None, got {inner_grid!r}")
        for name, v in (("exact_sweeps", exact_sweeps), ("linearised_sweeps", linearised_sweeps)):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if start not in START_MODES:
            raise ValueError(f"start must be one of {START_MODES}, got {start!r}")
        if start == "embed" and not self._embedding_applies():
            raise ValueError(
                f"start='embed' needs widths[0] == widths[-1] == 1 (got {self.widths[0]} and {self.widths[-1]}), "
                f"spline activations (got {self.activation_name!r}) and the slope 1 within the bounds "
                f"(got [{self.bounds.lo}, {self.bounds.hi}])")
        self._inner_grid = inner_grid
        self._exact_sweeps = int(exact_sweeps)
        self._linearised_sweeps = int(linearised_sweeps)
        state = {"t": 0, "m": {}, "v": {}, "lr": float(lr), "lr_max": 10 * float(lr)}
        rhos = [float(rho)] * len(self._acts)
        stats = {"exact_fits": 0, "linearised_fits": 0, "accepted": 0}
        began = time.perf_counter()
        self.start_ = self._start(start, X, y, w)
        obj, data, tv2 = self._objective(X, y, w)
        self.history = {"objective": [obj], "data": [data], "tv2": [tv2], "gap": [self.start_["gap"]],
                        "time": [time.perf_counter() - began]}
        bar = tqdm(range(max_iter), disable=not progress, desc="SplineNetwork.fit")
        stalled = 0
        for it in bar:
            prev = obj
            if weight_steps:
                obj = self._weight_steps(X, y, w, obj, weight_steps, state)
            gap = math.nan
            if self.activation_name == "spline" and self._acts:
                obj, gap = self._activation_steps(X, y, w, obj, rhos, stats)
            obj, data, tv2 = self._objective(X, y, w)
            h = self.history
            h["objective"].append(obj)
            h["data"].append(data)
            h["tv2"].append(tv2)
            h["gap"].append(gap)
            h["time"].append(time.perf_counter() - began)
            bar.set_postfix(objective=f"{obj:.6g}")
            if callback is not None:
                callback(self, it)
            stalled = stalled + 1 if prev - obj <= tol * max(1.0, abs(obj)) else 0
            if stalled >= patience:
                break
        self.fit_stats_ = stats
        return self

    # ------------------------------------------------------------------------ mini-batch Adam
    def fit_adam(self, X, y, *, epochs=1000, batch_size=10, lr=2e-3, bjorck_iter=15, random_state=None,
                 progress=True):
        r"""Train a baseline network by the Lipschitz paper's protocol: mini-batch Adam.

        The weights are re-initialised and trained as in Ducotterd et al. (JMLR 2024): each
        ``W_l`` is the output of ``bjorck_iter`` order-1 Björck-Bowie iterations applied to a free
        matrix ``V_l`` inside the forward pass (:mod:`tvspline.nn._adam`), ``V_l`` starts
        He-uniform (uniform on :math:`\pm\sqrt{6 / n_{l+1}}`), the biases uniform on
        :math:`\pm 1/\sqrt{n_l}`, the PReLU slopes at -1 and the HouseHolder angles at
        :math:`3\pi/4` (GroupSort of each pair). Every epoch shuffles the data into batches of
        ``batch_size`` (the last incomplete batch is dropped) and takes one Adam step (learning
        rate ``lr``, :math:`\beta = (0.9, 0.999)`, :math:`\epsilon = 10^{-8}`) per batch on the
        batch mean of :math:`\|f(x_i) - y_i\|^2`. The loop is compiled with Numba.

        The trained network keeps :math:`W_l = \mathrm{Björck}(V_l)` (scaled down by a few ulps
        where rounding puts its spectral norm above 1), so :meth:`lipschitz_bound` certifies it.

        Parameters
        ----------
        X : array_like, shape (N, d_in)
        y : array_like, shape (N,) or (N, d_out)
        epochs : int, default 1000
        batch_size : int, default 10
        lr : float, default 2e-3
        bjorck_iter : int, default 15
            Björck iterations of the forward pass.
        random_state : None, int or numpy.random.Generator
            Seed of the initialisation and of the shuffles.
        progress : bool
            Unused (the compiled loop reports nothing); kept for a uniform interface.

        Returns
        -------
        self
            ``history["train_mse"]`` holds the training mean squared error after each epoch (and
            before the first), ``history["time"]`` the wall time of the run.

        Raises
        ------
        ValueError
            For spline activations, ``weights="free"``, bad sizes or non-finite data.

        Examples
        --------
        >>> import numpy as np
        >>> x = np.linspace(-1, 1, 40)[:, None]
        >>> net = SplineNetwork([1, 4, 1], activation="absval", random_state=0)
        >>> net = net.fit_adam(x, np.abs(x[:, 0]), epochs=3, random_state=0)
        >>> len(net.history["train_mse"]), net.lipschitz_bound() <= 1.0
        (4, True)
        """
        from ._adam import CODES, bjorck_weights, train

        if self.activation_name == "spline":
            raise ValueError("fit_adam trains the baseline activations; spline networks train with fit()")
        if self.weight_mode == "free":
            raise ValueError("fit_adam parametrises orthonormal weights (Björck); got weights='free'")
        X, y = self._check_Xy(X, y)
        N = X.shape[0]
        for name, v, lo in (("epochs", epochs, 0), ("batch_size", batch_size, 1), ("bjorck_iter", bjorck_iter, 1)):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < lo:
                raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
        if batch_size > N:
            raise ValueError(f"batch_size must be <= the number of samples {N}, got {batch_size}")
        if not (isinstance(lr, numbers.Real) and math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be finite and > 0, got {lr!r}")
        rng = as_generator(random_state)
        widths = np.array(self.widths, dtype=np.int64)
        L = len(self.widths) - 1
        parts, woff, boff = [], [], []
        pos = 0
        for l in range(L):
            m, n = self.widths[l + 1], self.widths[l]
            woff.append(pos)
            parts.append(rng.uniform(-math.sqrt(6.0 / m), math.sqrt(6.0 / m), m * n))
            pos += m * n
            boff.append(pos)
            parts.append(rng.uniform(-1.0 / math.sqrt(n), 1.0 / math.sqrt(n), m))
            pos += m
        aoff = [pos]
        for a in self._acts:
            if self.activation_name == "prelu":
                parts.append(np.full(a.width, -1.0))
            elif self.activation_name == "householder":
                parts.append(np.full(a.width // 2, 0.75 * math.pi))
            aoff.append(pos + sum(p.size for p in parts[2 * L:]))
        theta = np.concatenate(parts)
        nb = N // batch_size
        batches = np.empty((epochs, nb, batch_size), dtype=np.int64)
        for e in range(epochs):
            batches[e] = rng.permutation(N)[:nb * batch_size].reshape(nb, batch_size)
        start = time.perf_counter()
        group = getattr(self._acts[0], "group_size", 2) if self._acts else 2
        hist = train(widths, CODES[self.activation_name], int(group), theta, np.array(woff, dtype=np.int64),
                     np.array(boff, dtype=np.int64), np.array(aoff, dtype=np.int64), int(bjorck_iter), X,
                     np.ascontiguousarray(y), batches, float(lr), 0.9, 0.999, 1e-8)
        elapsed = time.perf_counter() - start
        for l in range(L):
            m, n = self.widths[l + 1], self.widths[l]
            V = theta[woff[l]:woff[l] + m * n].reshape(m, n)
            self._W[l] = _unit_norm(bjorck_weights(V, int(bjorck_iter)))
            self._b[l] = theta[boff[l]:boff[l] + m].copy()
        for k, a in enumerate(self._acts):
            vals = theta[aoff[k]:aoff[k + 1]].copy()
            if self.activation_name == "prelu":
                a.params["slope"] = vals
            elif self.activation_name == "householder":
                a.params["theta"] = vals
        self.history = {"train_mse": [float(v) for v in hist], "time": [elapsed]}
        return self

    # --------------------------------------------------------------------------------- inverse
    def inverse(self, Y):
        """Exact inverse for square orthonormal weights and strictly monotone splines.

        Raises
        ------
        ValueError
            If a layer is not square and orthonormal, or an activation is not invertible.
        """
        if self.activation_name != "spline":
            raise ValueError("inverse() needs spline activations")
        Y = np.asarray(Y, dtype=np.float64)
        if Y.ndim == 1:
            Y = Y[:, None]
        for l, W in enumerate(self._W):
            if W.shape[0] != W.shape[1] or not np.allclose(W @ W.T, np.eye(W.shape[0]), atol=1e-12):
                raise ValueError(f"layer {l} is not square orthonormal (shape {W.shape}): no exact inverse")
        h = (Y - self._b[-1]) @ self._W[-1]
        for l in range(len(self._acts) - 1, -1, -1):
            inv = [f.inverse() for f in self._acts[l].splines]
            z = np.column_stack([g(h[:, j]) for j, g in enumerate(inv)])
            h = (z - self._b[l]) @ self._W[l]
        return h

    def __repr__(self):
        h = self.history.get("objective", [])
        state = f"{len(h)} iterations, objective {h[-1]:.6g}" if h else "not fitted"
        return (
            f"SplineNetwork(widths={self.widths}, activation={self.activation_name!r}, "
            f"bounds=[{self.bounds.lo:g}, {self.bounds.hi:g}], weights={self.weight_mode!r}, "
            f"lam={self.lam:g}, loss={self.loss!r}; {state})"
        )

    # ------------------------------------------------------------------------------ save / load
    def save(self, path):
        """Save losslessly to ``path`` (a ``.npz`` archive: arrays stored bit for bit)."""
        meta = {"widths": self.widths, "bounds": [self.bounds.lo, self.bounds.hi], "weights": self.weight_mode,
                "activation": self.activation_name, "lam": self.lam, "loss": self.loss, "init": self.init,
                "knots": self.knots if isinstance(self.knots, str) else None,
                "history": {k: [float(v) for v in vals] for k, vals in self.history.items()}}
        arrays = {"meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
        if not isinstance(self.knots, str):
            arrays["grid"] = np.asarray(self.knots, dtype=np.float64)
        for l, (W, b) in enumerate(zip(self._W, self._b)):
            arrays[f"W{l}"] = W
            arrays[f"b{l}"] = b
        for l, a in enumerate(self._acts):
            if self.activation_name == "spline":
                for j, f in enumerate(a.splines):
                    arrays[f"knots_{l}_{j}"] = f.knots
                    arrays[f"values_{l}_{j}"] = f.values
            for k, v in a.params.items():
                arrays[f"param_{l}_{k}"] = v
        np.savez(path, **arrays)

    @classmethod
    def load(cls, path):
        """Load a network saved by :meth:`save`.

        Every stored array is checked: present, of the shape the widths give, finite, and every
        spline activation's slopes in the bounds (to rounding), so the Lipschitz bound holds.

        Raises
        ------
        ValueError
            If the file is not a saved network or an array is missing, misshapen, not finite, or a
            spline leaves the slope bounds.
        """

        def array(data, key, shape=None):
            if key not in data.files:
                raise ValueError(f"{path} is not a saved SplineNetwork: the array {key!r} is missing")
            arr = np.array(data[key], dtype=np.float64)
            if shape is not None and arr.shape != tuple(shape):
                raise ValueError(f"{path}: array {key!r} has shape {arr.shape}, expected {tuple(shape)}")
            if not np.isfinite(arr).all():
                raise ValueError(f"{path}: array {key!r} holds {int((~np.isfinite(arr)).sum())} non-finite values")
            return arr

        with np.load(path) as data:
            if "meta" not in data.files:
                raise ValueError(f"{path} is not a saved SplineNetwork: no 'meta' record")
            try:
                meta = json.loads(bytes(data["meta"]).decode())
                knots = meta["knots"] if meta["knots"] is not None else array(data, "grid")
                net = cls(meta["widths"], tuple(meta["bounds"]), weights=meta["weights"],
                          activation=meta["activation"], lam=meta["lam"], loss=meta["loss"], init=meta["init"],
                          knots=knots, random_state=0)
                history = {k: list(v) for k, v in meta["history"].items()}
            except (KeyError, TypeError, AttributeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ValueError(f"{path} is not a saved SplineNetwork: bad 'meta' record ({exc!r})") from None
            for l in range(len(net._W)):
                net._W[l] = array(data, f"W{l}", net._W[l].shape)
                net._b[l] = array(data, f"b{l}", net._b[l].shape)
            lo, hi = net.bounds.lo, net.bounds.hi
            slack = 1e-9 * max([1.0] + [abs(b) for b in (lo, hi) if math.isfinite(b)])
            for l, a in enumerate(net._acts):
                if meta["activation"] == "spline":
                    a.splines = [LinearSpline(array(data, f"knots_{l}_{j}"), array(data, f"values_{l}_{j}"))
                                 for j in range(a.width)]
                    for j, f in enumerate(a.splines):
                        s_lo, s_hi = f.slope_range()
                        if s_lo < lo - slack or s_hi > hi + slack:
                            raise ValueError(
                                f"{path}: the activation of layer {l}, neuron {j} has slopes in "
                                f"[{s_lo:.6g}, {s_hi:.6g}], outside the bounds [{lo:g}, {hi:g}]"
                            )
                for k in list(a.params):
                    a.params[k] = array(data, f"param_{l}_{k}", np.shape(a.params[k]))
            net.history = history
        return net
