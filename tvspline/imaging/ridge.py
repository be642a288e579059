r"""Ridge regularisers with learnable linear-spline profiles (CRR-NN and WCRR-NN).

.. math::

    R(x) = \sum_{i=1}^{F} \sum_{p} \psi_i\big((w_i * x)_p\big), \qquad
    \nabla R(x) = \sum_{i=1}^{F} w_i^T \sigma_i(w_i * x), \qquad \sigma_i = \psi_i',

with a :class:`~tvspline.imaging.FilterBank` :math:`W = (w_i)` and profiles :math:`\sigma_i`, each
a :class:`~tvspline.LinearSpline` (linear extension beyond its end knots). The potential is fixed
by :math:`\psi_i(0) = 0`:

.. math::

    \psi_i(t) = \int_0^t \sigma_i(s)\, ds,

a piecewise quadratic, evaluated exactly: with :math:`\Sigma_k = \int_{t_1}^{t_k} \sigma_i`
(trapezoids, exact for a linear integrand) and :math:`t` in segment :math:`k` (the end segments
extended), :math:`\int_{t_1}^{t} \sigma_i = \Sigma_k + (t - t_k)\big(c_k + \tfrac12 s_k (t - t_k)\big)`.

Certificates (``docs/math.md``). If every slope of every :math:`\sigma_i` lies in
:math:`[a, b]` with :math:`a \le 0 \le b`, the Hessian :math:`W^T \mathrm{diag}(\sigma_i') W` of
:math:`R` (almost everywhere) has its eigenvalues in :math:`[a \|W\|^2, b \|W\|^2]`, so

- :math:`\nabla R` is Lipschitz with constant :math:`\max(b, -a)\,\|W\|^2`
  (:meth:`RidgeRegularizer.lipschitz_gradient`);
- :math:`R` is :math:`\max(0, -a)\|W\|^2`-weakly convex, i.e. convex when :math:`a \ge 0`
  (:meth:`RidgeRegularizer.weak_convexity`).

Both use the actual slopes of the profiles and the certified filter-norm bound
:meth:`FilterBank.norm_bound`, so they are valid whatever the profiles. ``kind`` declares the
intended bounds: ``"convex"`` :math:`[0, L]` (CRR-NN), ``"weakly_convex"`` :math:`[-\rho, L]`
(WCRR-NN); :meth:`RidgeRegularizer.check_certificate` reports whether the profiles and the
filters (:math:`\|W\| \le 1`) meet them.

Noise level. Denoising at noise level :math:`\sigma` minimises
:math:`\tfrac12\|x - y\|^2 + \alpha(\sigma) R(x)`. :meth:`RidgeRegularizer.alpha` gives
:math:`\alpha(\sigma)` from a table ``(noise_levels, alphas)`` stored with the model (piecewise
linear in :math:`(\log\sigma, \log\alpha)`, a power law beyond the end points, and exactly the
stored :math:`\alpha` at a tabulated level, so that a weight stored at the weakly convex cap
:math:`1/\rho_R` stays at it); without a table
it is the MAP scaling :math:`\alpha(\sigma) = \sigma^2` (for a prior :math:`\propto e^{-R}` and
Gaussian noise of variance :math:`\sigma^2`); with one entry :math:`(\sigma_0, \alpha_0)` it is
:math:`\alpha_0 (\sigma / \sigma_0)^2`.

References
----------
A. Goujon, S. Neumayer, P. Bohra, S. Ducotterd, M. Unser, "A neural-network-based convex
regularizer for inverse problems", IEEE TCI 2023 (CRR-NN). A. Goujon, S. Neumayer, M. Unser,
"Learning weakly convex regularizers for convergent image-reconstruction algorithms", SIAM J.
Imaging Sci. 2024 (WCRR-NN).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from .._validate import check_positive
from ..spline import LinearSpline
from ._profile_eval import profile_and_potential, segment_table
from .filters import FilterBank

__all__ = ["RidgeRegularizer", "RidgeCertificate", "KINDS"]

KINDS = ("convex", "weakly_convex")

_FORMAT = "tvspline.imaging.RidgeRegularizer"
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class RidgeCertificate:
    """What :meth:`RidgeRegularizer.check_certificate` found.

    Attributes
    ----------
    kind : str
        ``"convex"`` or ``"weakly_convex"``.
    bounds : (float, float)
        Declared slope bounds ``(lo, hi)``: ``(0, L)`` or ``(-rho, L)``.
    slope_min, slope_max : ndarray, shape (F,)
        Smallest and largest slope of each profile (extensions included).
    filter_norm : float
        Certified upper bound on ``||W||``.
    slopes_ok : bool
        Every slope within ``bounds`` (exact comparison).
    norm_ok : bool
        ``filter_norm <= 1``.
    lipschitz_gradient, weak_convexity : float
        The certified constants of ``grad R`` and of ``R`` (from the actual slopes).

    Examples
    --------
    >>> from tvspline.imaging import pretrained
    >>> cert = pretrained("convex").check_certificate()
    >>> cert.ok, cert.kind, cert.weak_convexity
    (True, 'convex', 0.0)
    """

    kind: str
    bounds: tuple
    slope_min: np.ndarray
    slope_max: np.ndarray
    filter_norm: float
    slopes_ok: bool
    norm_ok: bool
    lipschitz_gradient: float
    weak_convexity: float

    @property
    def ok(self) -> bool:
        """Slopes within the declared bounds and ``||W|| <= 1``."""
        return self.slopes_ok and self.norm_ok

    def __repr__(self):
        return (
            f"RidgeCertificate(ok={self.ok}, kind={self.kind!r}, bounds={self.bounds}, "
            f"slopes in [{self.slope_min.min():.6g}, {self.slope_max.max():.6g}], "
            f"filter_norm<={self.filter_norm:.6g}, lipschitz_gradient={self.lipschitz_gradient:.6g}, "
            f"weak_convexity={self.weak_convexity:.6g})"
        )


class _Potential:
    """Exact antiderivative of a linear spline, zero at 0 (plain arrays, no closures)."""

    __slots__ = ("t", "c", "s", "cum", "psi0", "table", "inv_cell")

    def __init__(self, spline: LinearSpline):
        self.t = spline.knots
        self.c = spline.values
        self.s = spline.slopes
        h = np.diff(self.t)
        self.cum = np.concatenate(([0.0], np.cumsum(0.5 * h * (self.c[:-1] + self.c[1:]))))
        self.psi0 = 0.0
        self.psi0 = float(self(np.float64(0.0)))
        self.table, self.inv_cell = segment_table(self.t)  # for the compiled evaluation

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        k = np.clip(np.searchsorted(self.t, x, side="right") - 1, 0, self.t.size - 2)
        d = x - self.t[k]
        return self.cum[k] + d * (self.c[k] + 0.5 * self.s[k] * d) - self.psi0


class RidgeRegularizer:
    """A (weakly) convex ridge regulariser ``R(x) = sum_i sum_p psi_i((w_i * x)_p)``.

    Immutable: :meth:`with_profiles`, :meth:`with_filters` and :meth:`scaled` return new objects.

    Parameters
    ----------
    filters : FilterBank or array_like, shape (F, k1, k2)
        The filters (an array becomes ``FilterBank(filters, boundary="valid")``).
    profiles : sequence of LinearSpline, length F
        ``sigma_i = psi_i'`` for each filter.
    kind : {"convex", "weakly_convex"}
        Declared slope bounds: ``[0, L]`` or ``[-rho, L]``.
    L : float, keyword-only
        Upper slope bound, ``> 0`` (default 1).
    rho : float, keyword-only
        Weak-convexity slope bound ``>= 0`` for ``kind="weakly_convex"`` (default 1); must be
        ``None`` or 0 for ``kind="convex"``.
    noise_levels, alphas : array_like, keyword-only
        Optional table of regularisation strengths ``alpha(sigma)`` (same length, positive,
        noise levels strictly increasing); see :meth:`alpha`.

    Raises
    ------
    ValueError
        If the number of profiles differs from the number of filters, ``kind`` is unknown, a bound
        or the table is invalid.
    TypeError
        If a profile is not a :class:`~tvspline.LinearSpline`.

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline import LinearSpline
    >>> from tvspline.imaging import RidgeRegularizer, dct_bank
    >>> W = dct_bank(3).normalized()
    >>> relu = LinearSpline([-1.0, 0.0, 1.0], [0.0, 0.0, 1.0])          # slopes 0 and 1: convex
    >>> reg = RidgeRegularizer(W, [relu] * W.n_filters, "convex")
    >>> reg.check_certificate().ok
    True
    >>> x = np.random.default_rng(0).random((16, 16))
    >>> reg.grad(x).shape, bool(reg.value(x) >= 0)
    ((16, 16), True)
    >>> float(reg.potential(0, 2.0))                                      # int_0^2 max(t, 0) dt
    2.0
    """

    __slots__ = ("_filters", "_profiles", "_kind", "_L", "_rho", "_table", "_potentials")

    def __init__(self, filters, profiles, kind: str = "convex", *, L: float = 1.0, rho=None,
                 noise_levels=None, alphas=None):
        if not isinstance(filters, FilterBank):
            filters = FilterBank(filters)
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(map(repr, KINDS))}")
        profiles = tuple(profiles)
        if len(profiles) != filters.n_filters:
            raise ValueError(f"profiles has {len(profiles)} splines but there are {filters.n_filters} filters")
        for i, p in enumerate(profiles):
            if not isinstance(p, LinearSpline):
                raise TypeError(f"profiles[{i}] must be a tvspline.LinearSpline, got {type(p).__name__}")
        L = check_positive(L, "L")
        if kind == "convex":
            if rho is not None and float(rho) != 0.0:
                raise ValueError(f"rho must be None or 0 for kind='convex', got {rho!r}")
            rho = 0.0
        else:
            rho = 1.0 if rho is None else check_positive(rho, "rho", strict=False)
        self._filters = filters
        self._profiles = profiles
        self._kind = kind
        self._L = L
        self._rho = float(rho)
        self._table = _check_table(noise_levels, alphas)
        self._potentials = tuple(_Potential(p) for p in profiles)

    # ------------------------------------------------------------------ data
    @property
    def filters(self) -> FilterBank:
        """The filter bank ``W``."""
        return self._filters

    @property
    def profiles(self) -> tuple:
        """The profiles ``sigma_i`` (a tuple of LinearSpline)."""
        return self._profiles

    @property
    def kind(self) -> str:
        """``"convex"`` or ``"weakly_convex"``."""
        return self._kind

    @property
    def L(self) -> float:
        """Declared upper slope bound."""
        return self._L

    @property
    def rho(self) -> float:
        """Declared weak-convexity slope bound (0 for ``kind="convex"``)."""
        return self._rho

    @property
    def slope_bounds(self) -> tuple[float, float]:
        """Declared slope bounds ``(lo, hi)`` of every profile: ``(0, L)`` or ``(-rho, L)``."""
        return (-self._rho if self._rho else 0.0, self._L)

    @property
    def noise_table(self):
        """``(noise_levels, alphas)`` arrays, or ``None`` when no table is stored."""
        return None if self._table is None else (self._table[0].copy(), self._table[1].copy())

    # ------------------------------------------------------------------ evaluation
    def potential(self, i: int, t):
        """``psi_i(t) = int_0^t sigma_i``, exact (piecewise quadratic, ``psi_i(0) = 0``)."""
        i = self._index(i)
        out = self._potentials[i](t)
        return out if np.ndim(out) else float(out)

    def profile(self, i: int, t):
        """``sigma_i(t)``."""
        return self._profiles[self._index(i)](t)

    def responses(self, x) -> np.ndarray:
        """``W x``: the filter responses, shape ``(..., F, H', W')``."""
        return self._filters.apply(x)

    def value(self, x):
        """``R(x)`` for an image ``(H, W)`` (a float) or a stack ``(..., H, W)`` (an array)."""
        z = self._filters.apply(x)
        return self._sigma_and_value(z, want_value=True)[1]

    def grad(self, x) -> np.ndarray:
        """``grad R(x) = sum_i w_i^T sigma_i(w_i * x)``, same shape as ``x``."""
        x = np.asarray(x, dtype=np.float64)
        z = self._filters.apply(x)
        return self._filters.adjoint(self._sigma_and_value(z, want_value=False, out=z)[0], x.shape[-2:])

    def value_and_grad(self, x):
        """``(R(x), grad R(x))`` sharing one filtering of ``x``."""
        x = np.asarray(x, dtype=np.float64)
        z = self._filters.apply(x)
        sig, value = self._sigma_and_value(z, want_value=True, out=z)
        return value, self._filters.adjoint(sig, x.shape[-2:])

    def _sigma(self, z):
        return self._sigma_and_value(z, want_value=False)[0]

    def _sigma_and_value(self, z, want_value, out=None):
        """Profiles at the responses ``z`` (and ``R``), one compiled pass per filter
        (:mod:`~tvspline.imaging._profile_eval`; bitwise the values of :meth:`_sigma_numpy` and
        :meth:`_value_from`). ``out`` (C-contiguous, the shape of ``z``) may be ``z`` itself: each
        response is read before its profile value is written."""
        z4 = z.reshape((-1,) + z.shape[-3:])  # any leading stack dimensions as one
        out = np.empty(z.shape) if out is None else out
        out4 = out.reshape(z4.shape)  # a view: out is C-contiguous
        empty = np.empty((0, 0, 0))
        total = 0.0
        for i, p in enumerate(self._potentials):
            pot = np.empty(z4.shape[:1] + z4.shape[2:]) if want_value else empty
            profile_and_potential(z4[:, i], p.t, p.c, p.s, p.cum, p.psi0, p.table, p.inv_cell, out4[:, i], pot)
            if want_value:
                # summed as _value_from sums (a contiguous array per filter, same shape)
                total = total + pot.reshape(z.shape[:-3] + z.shape[-2:]).sum(axis=(-2, -1))
        value = (float(total) if np.ndim(total) == 0 else total) if want_value else None
        return out, value

    def _sigma_numpy(self, z):
        out = np.empty_like(z)
        for i, p in enumerate(self._profiles):
            out[..., i, :, :] = p(z[..., i, :, :])
        return out

    def _value_from(self, z):
        total = 0.0
        for i, pot in enumerate(self._potentials):
            total = total + pot(z[..., i, :, :]).sum(axis=(-2, -1))
        return float(total) if np.ndim(total) == 0 else total

    def _index(self, i):
        n = len(self._profiles)
        if not (isinstance(i, (int, np.integer)) and not isinstance(i, bool) and -n <= i < n):
            raise ValueError(f"i must be an integer in [0, {n}), got {i!r}")
        return int(i)

    # ------------------------------------------------------------------ certificates
    def _slope_extremes(self):
        smin = np.array([p.slopes.min() for p in self._profiles])
        smax = np.array([p.slopes.max() for p in self._profiles])
        return smin, smax

    def lipschitz_gradient(self) -> float:
        """Certified Lipschitz constant of ``grad R``: ``max(b, -a, 0) * ||W||^2``.

        ``[a, b]`` is the actual range of the profiles' slopes (within ``[-rho, L]`` when the
        certificate holds, so the constant is at most ``max(L, rho) ||W||^2``) and ``||W||`` the
        certified bound :meth:`FilterBank.norm_bound`.
        """
        smin, smax = self._slope_extremes()
        return max(float(smax.max()), -float(smin.min()), 0.0) * self._filters.norm_bound() ** 2

    def weak_convexity(self) -> float:
        """Certified weak-convexity modulus ``max(0, -a) * ||W||^2`` (0 when ``R`` is convex).

        ``R + (m / 2) ||x||^2`` is convex for ``m = weak_convexity()``.
        """
        smin, _ = self._slope_extremes()
        return max(0.0, -float(smin.min())) * self._filters.norm_bound() ** 2

    def check_certificate(self) -> RidgeCertificate:
        """Check the profiles' slopes against the kind's bounds and ``||W|| <= 1``.

        Returns
        -------
        RidgeCertificate
            With the slope ranges, the filter-norm bound and the two flags; ``.ok`` is both.
        """
        smin, smax = self._slope_extremes()
        lo, hi = self.slope_bounds
        norm = self._filters.norm_bound()
        return RidgeCertificate(
            kind=self._kind,
            bounds=(lo, hi),
            slope_min=smin,
            slope_max=smax,
            filter_norm=norm,
            slopes_ok=bool((smin >= lo).all() and (smax <= hi).all()),
            norm_ok=bool(norm <= 1.0),
            lipschitz_gradient=self.lipschitz_gradient(),
            weak_convexity=self.weak_convexity(),
        )

    # ------------------------------------------------------------------ noise level
    def alpha(self, sigma) -> float:
        """Regularisation strength ``alpha(sigma)`` for noise level ``sigma > 0`` (module docstring).

        Examples
        --------
        >>> from tvspline import LinearSpline
        >>> from tvspline.imaging import RidgeRegularizer, dct_bank
        >>> W = dct_bank(2)
        >>> f = [LinearSpline.affine(1.0, 0.0)] * 3
        >>> RidgeRegularizer(W, f).alpha(0.1)                      # no table: sigma**2
        0.010000000000000002
        >>> reg = RidgeRegularizer(W, f, noise_levels=[0.02, 0.1], alphas=[0.5, 2.0])
        >>> round(reg.alpha(0.1), 12), round(reg.alpha(0.2), 12)  # power law beyond the table
        (2.0, 3.633482898642)
        """
        sigma = check_positive(sigma, "sigma")
        if self._table is None:
            return sigma**2
        s, a = self._table
        k = int(np.searchsorted(s, sigma))
        if k < s.size and s[k] == sigma:  # a tabulated level: the stored weight itself, not exp(log(.))
            return float(a[k])
        if s.size == 1:
            return float(a[0] * (sigma / s[0]) ** 2)
        f = LinearSpline(np.log(s), np.log(a))
        return float(np.exp(f(math.log(sigma))))

    def with_noise_table(self, noise_levels, alphas) -> "RidgeRegularizer":
        """The same regulariser with the table ``alpha(noise_levels) = alphas`` (``None`` removes it)."""
        return self._replace(table=_check_table(noise_levels, alphas), keep_table=False)

    def scaled(self, alpha: float) -> "RidgeRegularizer":
        """The regulariser ``alpha * R`` (``alpha > 0``).

        Profiles, potentials and the declared bounds ``L``, ``rho`` are multiplied by ``alpha``
        (so the certificate is preserved) and a stored noise table is divided by ``alpha`` (so
        ``scaled(a).alpha(s) * scaled(a).value(x) == alpha(s) * value(x)``). For denoising at
        noise level ``sigma`` use ``reg.scaled(reg.alpha(sigma))`` with unit weight.
        """
        alpha = check_positive(alpha, "alpha")
        profiles = [LinearSpline(p.knots, alpha * p.values) for p in self._profiles]
        table = None if self._table is None else (self._table[0], self._table[1] / alpha)
        return RidgeRegularizer(
            self._filters, profiles, self._kind, L=self._L * alpha,
            rho=self._rho * alpha if self._kind == "weakly_convex" else None,
            noise_levels=None if table is None else table[0], alphas=None if table is None else table[1],
        )

    # ------------------------------------------------------------------ replacement
    def with_profiles(self, profiles) -> "RidgeRegularizer":
        """The same filters, kind, bounds and noise table with new profiles."""
        return self._replace(profiles=profiles)

    def with_filters(self, filters) -> "RidgeRegularizer":
        """The same profiles, kind, bounds and noise table with new filters."""
        return self._replace(filters=filters)

    def _replace(self, *, filters=None, profiles=None, table=None, keep_table=True):
        if keep_table:
            table = self._table
        return RidgeRegularizer(
            self._filters if filters is None else filters,
            self._profiles if profiles is None else profiles,
            self._kind, L=self._L, rho=self._rho if self._kind == "weakly_convex" else None,
            noise_levels=None if table is None else table[0], alphas=None if table is None else table[1],
        )

    # ------------------------------------------------------------------ training
    @classmethod
    def train(cls, images, kind: str = "convex", sigmas=(5 / 255, 15 / 255, 25 / 255), method: str = "bilevel",
              **kwargs) -> "RidgeRegularizer":
        """Learn a regulariser from clean images.

        Parameters
        ----------
        images : sequence of 2-D arrays
            Clean training images in ``[0, 1]``.
        kind : {"convex", "weakly_convex"}
        sigmas : sequence of float
            Training noise levels; the returned model carries its learned noise table at them.
        method : {"bilevel", "rounds", "linearised"}
            ``"bilevel"`` (default): :func:`~tvspline.imaging.train_ridge_bilevel` (exact denoiser,
            implicit gradients, one patch set); ``"rounds"``:
            :func:`~tvspline.imaging.train_ridge_rounds` (the same loss over many images in
            resumable rounds; needs ``filters``); ``"linearised"``:
            :func:`~tvspline.imaging.train_ridge` (exact one-step profile QPs, heuristic outer loop).
        **kwargs
            Passed to the chosen function (``random_state``, sizes, schedule, ...).

        Returns
        -------
        RidgeRegularizer
            Certified for its kind. The noise table can then be chosen again on other clean images
            by :func:`~tvspline.imaging.calibrate_noise_table`.

        Raises
        ------
        ValueError
            For an unknown ``method`` (and whatever the chosen function rejects).

        Examples
        --------
        >>> from tvspline.imaging import RidgeRegularizer, load_image
        >>> reg = RidgeRegularizer.train([load_image("camera", 48)], "convex", (0.1,), n_patches=2, patch_size=12,
        ...                              n_knots=9, max_iter=2, n_rounds=1, filter_steps=0, progress=False)
        >>> reg.check_certificate().ok, reg.noise_table[0].tolist()
        (True, [0.1])
        """
        if method == "bilevel":
            from .bilevel import train_ridge_bilevel

            return train_ridge_bilevel(images, kind, sigmas, **kwargs)
        if method == "rounds":
            from .rounds import train_ridge_rounds

            return train_ridge_rounds(images, kind, sigmas, **kwargs)
        if method == "linearised":
            from .training import train_ridge

            return train_ridge(images, kind, sigmas, **{**kwargs, "return_history": False})
        raise ValueError(f"unknown method {method!r}; expected 'bilevel', 'rounds' or 'linearised'")

    # ------------------------------------------------------------------ reconstruction
    def denoise(self, y, sigma, **kwargs):
        """Minimise ``1/2 ||x - y||^2 + alpha(sigma) R(x)``; see :func:`tvspline.imaging.reconstruct`.

        Returns the :class:`~tvspline.imaging.ReconstructionResult` (the image is its ``x``).
        """
        from .operators import Identity
        from .reconstruction import reconstruct

        y = np.asarray(y, dtype=np.float64)
        return reconstruct(y, Identity(y.shape), self, self.alpha(sigma), **kwargs)

    def reconstruct(self, y, forward, adjoint=None, sigma=None, *, alpha=None, norm_squared=None,
                    random_state=0, **kwargs):
        """Minimise ``1/2 ||H x - y||^2 + alpha R(x)`` for a linear forward model ``H``.

        Parameters
        ----------
        y : array_like
            Measurements.
        forward : operator or callable
            An operator object (``forward``, ``adjoint``, ``norm_squared()``, e.g.
            :class:`~tvspline.imaging.ParallelBeamCT`), or a callable ``x -> H x`` given with
            ``adjoint``.
        adjoint : callable, optional
            ``r -> H^T r`` when ``forward`` is a callable. Checked on a random pair:
            ``<H x, r> = <x, H^T r>`` to 1e-8 relative, else ``ValueError``.
        sigma : float, optional
            Noise level: ``alpha = self.alpha(sigma)`` (the noise table).
        alpha : float, optional
            The weight itself (instead of ``sigma``).
        norm_squared : float, optional
            ``||H||^2`` for callables. Without it, 100 power iterations estimate it and 1.01 times
            the estimate is used (an estimate, not a certified bound).
        random_state : int, optional
            Seed of the adjointness check and the power iteration.
        **kwargs
            Passed to :func:`tvspline.imaging.reconstruct` (``x0``, ``max_iter``, ``tol``, ...).

        Returns
        -------
        ReconstructionResult

        Examples
        --------
        >>> import numpy as np
        >>> from tvspline.imaging import pretrained
        >>> reg = pretrained("convex")
        >>> x = np.random.default_rng(0).random((20, 20))
        >>> H = lambda v: 0.5 * (v + np.roll(v, 1, axis=1))          # a small blur ...
        >>> Ht = lambda r: 0.5 * (r + np.roll(r, -1, axis=1))        # ... and its adjoint
        >>> res = reg.reconstruct(H(x), H, Ht, sigma=5 / 255, norm_squared=1.0, tol=1e-6, max_iter=5000)
        >>> res.converged
        True
        """
        from .reconstruction import reconstruct

        if (sigma is None) == (alpha is None):
            raise ValueError("give exactly one of sigma (noise level) and alpha (weight)")
        weight = self.alpha(sigma) if alpha is None else float(alpha)
        y = np.asarray(y, dtype=np.float64)
        if adjoint is None:
            if not (hasattr(forward, "forward") and hasattr(forward, "adjoint")):
                raise TypeError("forward must be an operator with forward/adjoint methods, or a callable given "
                                "with adjoint")
            op = forward
        else:
            if not (callable(forward) and callable(adjoint)):
                raise TypeError("forward and adjoint must be callables")
            op = _CallableOperator(forward, adjoint, y, norm_squared, random_state)
        return reconstruct(y, op, self, weight, **kwargs)

    # ------------------------------------------------------------------ serialisation
    def save(self, path) -> None:
        """Save to an ``.npz`` file (float64 arrays and strings, no pickle): lossless.

        Examples
        --------
        >>> import os, tempfile
        >>> from tvspline import LinearSpline
        >>> from tvspline.imaging import RidgeRegularizer, dct_bank
        >>> reg = RidgeRegularizer(dct_bank(2).normalized(), [LinearSpline([0.0, 1.0], [0.0, 0.5])] * 3)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> reg.save(path)
        >>> RidgeRegularizer.load(path) == reg
        True
        """
        knots = [p.knots for p in self._profiles]
        offsets = np.concatenate(([0], np.cumsum([k.size for k in knots]))).astype(np.int64)
        table = self._table if self._table is not None else (np.empty(0), np.empty(0))
        with open(os.fspath(path), "wb") as fh:
            np.savez(
                fh,
                format=np.array(_FORMAT),
                version=np.array(_FORMAT_VERSION, dtype=np.int64),
                filters=np.asarray(self._filters.filters),
                boundary=np.array(self._filters.boundary),
                kind=np.array(self._kind),
                L=np.array(self._L),
                rho=np.array(self._rho),
                knots=np.concatenate(knots),
                values=np.concatenate([p.values for p in self._profiles]),
                offsets=offsets,
                noise_levels=np.asarray(table[0], dtype=np.float64),
                alphas=np.asarray(table[1], dtype=np.float64),
            )

    @classmethod
    def load(cls, path) -> "RidgeRegularizer":
        """Load a regulariser written by :meth:`save` (bit-for-bit identical).

        The stored arrays go through the constructor's checks (shapes, finiteness, the noise
        table), and the loaded model must pass :meth:`check_certificate`: a file whose profiles
        leave the kind's slope bounds or whose filters have norm above 1 is refused.

        Raises
        ------
        ValueError
            If the file is not a saved regulariser, has a newer format version, an array is
            missing, misshapen or not finite, or the model fails its certificate.
        """
        name = repr(os.fspath(path))
        with np.load(os.fspath(path), allow_pickle=False) as data:
            if "format" not in data.files or str(data["format"]) != _FORMAT:
                raise ValueError(f"{name} is not a saved RidgeRegularizer")
            missing = [k for k in ("version", "filters", "boundary", "kind", "L", "rho", "knots", "values",
                                   "offsets", "noise_levels", "alphas") if k not in data.files]
            if missing:
                raise ValueError(f"{name} is not a complete saved RidgeRegularizer: missing {', '.join(missing)}")
            version = int(data["version"])
            if version > _FORMAT_VERSION:
                raise ValueError(f"{name} has format version {version}, newer than {_FORMAT_VERSION}")
            off = data["offsets"]
            knots, values = data["knots"], data["values"]
            if (off.ndim != 1 or off.dtype.kind not in "iu" or off.size < 2 or off[0] != 0 or off[-1] != knots.size
                    or knots.shape != values.shape or knots.ndim != 1 or (np.diff(off) < 2).any()):
                raise ValueError(
                    f"{name}: inconsistent profile arrays (knots {knots.shape}, values {values.shape}, "
                    f"offsets {off.shape})"
                )
            profiles = [LinearSpline(knots[off[j] : off[j + 1]], values[off[j] : off[j + 1]]) for j in range(off.size - 1)]
            kind = str(data["kind"])
            table = (data["noise_levels"], data["alphas"])
            reg = cls(
                FilterBank(data["filters"], str(data["boundary"])),
                profiles,
                kind,
                L=float(data["L"]),
                rho=float(data["rho"]) if kind == "weakly_convex" else None,
                noise_levels=table[0] if table[0].size else None,
                alphas=table[1] if table[1].size else None,
            )
        cert = reg.check_certificate()
        if not cert.ok:
            lo, hi = cert.bounds
            raise ValueError(
                f"{name} fails its certificate: profile slopes in [{float(cert.slope_min.min()):.6g}, "
                f"{float(cert.slope_max.max()):.6g}] for the bounds [{lo:g}, {hi:g}], filter norm "
                f"{cert.filter_norm:.6g} (must be <= 1)"
            )
        return reg

    # ------------------------------------------------------------------ python protocol
    def __eq__(self, other):
        if not isinstance(other, RidgeRegularizer):
            return NotImplemented
        same_table = (self._table is None and other._table is None) or (
            self._table is not None and other._table is not None
            and all(np.array_equal(a, b) for a, b in zip(self._table, other._table))
        )
        return (
            self._filters == other._filters and self._profiles == other._profiles and self._kind == other._kind
            and self._L == other._L and self._rho == other._rho and same_table
        )

    __hash__ = None

    def __reduce__(self):
        table = self._table
        return (_rebuild, (self._filters, self._profiles, self._kind, self._L, self._rho,
                           None if table is None else table[0], None if table is None else table[1]))

    def __repr__(self):
        smin, smax = self._slope_extremes()
        return (
            f"RidgeRegularizer(kind={self._kind!r}, n_filters={self._filters.n_filters}, "
            f"kernel_shape={self._filters.kernel_shape}, boundary={self._filters.boundary!r}, "
            f"bounds={self.slope_bounds}, slopes in [{smin.min():.6g}, {smax.max():.6g}])"
        )


class _CallableOperator:
    """``forward`` / ``adjoint`` callables as the operator :func:`reconstruct` expects."""

    def __init__(self, forward, adjoint, y, norm_squared, random_state):
        self._f, self._a = forward, adjoint
        rng = np.random.default_rng(random_state)
        x = np.asarray(adjoint(y), dtype=np.float64)
        u = rng.standard_normal(x.shape)
        r = rng.standard_normal(np.shape(y))
        lhs = float(np.vdot(np.asarray(forward(u), dtype=np.float64), r))
        rhs = float(np.vdot(u, np.asarray(adjoint(r), dtype=np.float64)))
        if abs(lhs - rhs) > 1e-8 * max(abs(lhs), abs(rhs), 1e-300):
            raise ValueError(f"adjoint is not the adjoint of forward: <Hu, r> = {lhs!r}, <u, H^T r> = {rhs!r}")
        if norm_squared is None:
            v = u / np.linalg.norm(u)
            est = 0.0
            for _ in range(100):
                w = np.asarray(adjoint(forward(v)), dtype=np.float64)
                est = float(np.linalg.norm(w))
                if est == 0:
                    break
                v = w / est
            norm_squared = 1.01 * est
        norm_squared = float(norm_squared)
        if not (norm_squared > 0 and math.isfinite(norm_squared)):
            raise ValueError(f"norm_squared must be > 0 and finite, got {norm_squared!r}")
        self._n2 = norm_squared

    def forward(self, x):
        return np.asarray(self._f(x), dtype=np.float64)

    def adjoint(self, r):
        return np.asarray(self._a(r), dtype=np.float64)

    def norm_squared(self) -> float:
        return self._n2

    def min_eigenvalue(self) -> float:
        return 0.0


def _rebuild(filters, profiles, kind, L, rho, noise_levels, alphas):
    return RidgeRegularizer(filters, profiles, kind, L=L, rho=rho if kind == "weakly_convex" else None,
                            noise_levels=noise_levels, alphas=alphas)


def _check_table(noise_levels, alphas):
    if noise_levels is None and alphas is None:
        return None
    if noise_levels is None or alphas is None:
        raise ValueError("noise_levels and alphas must be given together")
    s = np.array(noise_levels, dtype=np.float64, copy=True).reshape(-1)
    a = np.array(alphas, dtype=np.float64, copy=True).reshape(-1)
    if s.size == 0 or s.size != a.size:
        raise ValueError(f"noise_levels and alphas must be non-empty and of equal length, got {s.size} and {a.size}")
    if not (np.isfinite(s).all() and (s > 0).all()):
        raise ValueError(f"noise_levels must be finite and > 0, got {s!r}")
    if not (np.isfinite(a).all() and (a > 0).all()):
        raise ValueError(f"alphas must be finite and > 0, got {a!r}")
    if s.size > 1 and not (np.diff(s) > 0).all():
        raise ValueError(f"noise_levels must be strictly increasing, got {s!r}")
    s.setflags(write=False)
    a.setflags(write=False)
    return s, a
