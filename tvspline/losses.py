r"""Data terms :math:`\sum_m w_m E(f(x_m) - y_m)` and their convex conjugates.

=============  ==============================================  =====================================
loss           :math:`E(r)`                                    conjugate of :math:`u \mapsto w E(u-y)`
=============  ==============================================  =====================================
``squared``    :math:`r^2/2`                                   :math:`q y + q^2/(2w)`
``absolute``   :math:`|r|`                                     :math:`q y` for :math:`|q| \le w`
``huber``      :math:`r^2/2` if :math:`|r|\le\delta`, else     :math:`q y + q^2/(2w)` for
               :math:`\delta|r| - \delta^2/2`                  :math:`|q| \le w\delta`
=============  ==============================================  =====================================

Several points may share a site (ties). The dual certificate of :mod:`tvspline.certificate` needs
the conjugate of a site's *total* loss :math:`L_k(u) = \sum_{m \in k} w_m E(u - y_m)`; for the
squared loss it is that of one merged point (weighted mean, summed weight) plus a constant, for the
others it is computed exactly from the sorted breakpoints of :math:`L_k'`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LOSSES", "data_term", "loss_gradient", "site_conjugate", "spline_objective"]

LOSSES = ("squared", "absolute", "huber")


def data_term(residual: np.ndarray, w: np.ndarray, loss: str, delta: float = 1.0) -> float:
    """``sum w E(residual)`` for the named loss."""
    r = np.asarray(residual, dtype=np.float64)
    if loss == "squared":
        return float(0.5 * np.dot(w, r * r))
    if loss == "absolute":
        return float(np.dot(w, np.abs(r)))
    if loss == "huber":
        a = np.abs(r)
        e = np.where(a <= delta, 0.5 * r * r, delta * a - 0.5 * delta * delta)
        return float(np.dot(w, e))
    raise ValueError(f"unknown loss {loss!r}; expected one of {LOSSES}")


def loss_gradient(residual: np.ndarray, w: np.ndarray, loss: str, delta: float = 1.0) -> np.ndarray:
    """An element of the subdifferential of ``w E(r)`` at ``r`` (0 at a kink of the absolute loss)."""
    r = np.asarray(residual, dtype=np.float64)
    if loss == "squared":
        return w * r
    if loss == "absolute":
        return w * np.sign(r)
    if loss == "huber":
        return w * np.clip(r, -delta, delta)
    raise ValueError(f"unknown loss {loss!r}; expected one of {LOSSES}")


def _site_conjugate_tied(Q: float, y: np.ndarray, w: np.ndarray, loss: str, delta: float) -> float:
    """Conjugate of ``L(u) = sum w_m E(u - y_m)`` at ``Q`` for one site with several points.

    ``L`` is convex with a piecewise-linear (absolute) or piecewise-affine increasing (huber)
    derivative; ``sup_u Q u - L(u)`` is attained where ``L'(u) = Q``, found exactly among the
    sorted breakpoints.
    """
    W = w.sum()
    if loss == "absolute":
        if abs(Q) > W:
            return np.inf
        # L is piecewise linear with breakpoints y_m: the sup is attained at one of them.
        best = -np.inf
        for ym in y:
            best = max(best, Q * ym - float(np.dot(w, np.abs(ym - y))))
        return best
    # huber
    if abs(Q) > W * delta:
        return np.inf
    # L'(u) = sum w clip(u - y, -delta, delta) is continuous piecewise linear and nondecreasing.
    bps = np.unique(np.concatenate([y - delta, y + delta]))
    grads = np.array([np.dot(w, np.clip(b - y, -delta, delta)) for b in bps])
    j = int(np.searchsorted(grads, Q, side="left"))
    if j == 0:
        u = bps[0]
    elif j >= bps.size:
        u = bps[-1]
    else:
        g0, g1 = grads[j - 1], grads[j]
        u = bps[j] if g1 == g0 else bps[j - 1] + (Q - g0) * (bps[j] - bps[j - 1]) / (g1 - g0)
    r = u - y
    a = np.abs(r)
    L = float(np.dot(w, np.where(a <= delta, 0.5 * r * r, delta * a - 0.5 * delta * delta)))
    return Q * u - L


def site_conjugate(Q, site_y, site_w, ties, loss: str, delta: float = 1.0) -> np.ndarray:
    """Conjugates ``L_k^*(Q_k)`` of the per-site total losses.

    Parameters
    ----------
    Q : ndarray, shape (K,)
        Dual values per distinct site.
    site_y, site_w : ndarray, shape (K,)
        For sites with a single point, its target and weight; for the squared loss the merged
        (weighted-mean) target and summed weight of every site.
    ties : dict
        ``{k: (y_points, w_points)}`` for the sites holding several points (absolute and huber).
    """
    Q = np.asarray(Q, dtype=np.float64)
    if loss == "squared":
        return Q * site_y + Q * Q / (2.0 * site_w)
    if loss == "absolute":
        out = np.where(np.abs(Q) <= site_w, Q * site_y, np.inf)
    elif loss == "huber":
        out = np.where(np.abs(Q) <= site_w * delta, Q * site_y + Q * Q / (2.0 * site_w), np.inf)
    else:
        raise ValueError(f"unknown loss {loss!r}; expected one of {LOSSES}")
    for k, (yk, wk) in ties.items():
        out[k] = _site_conjugate_tied(float(Q[k]), yk, wk, loss, delta)
    return out


def spline_objective(spline, x, y, w, lam, loss, delta=1.0):
    """``(objective, data term, TV2)`` of ``spline`` on the data points ``(x, y)`` with weights ``w``.

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline import LinearSpline
    >>> f = LinearSpline([0.0, 1.0, 2.0], [0.0, 1.0, 0.0])
    >>> spline_objective(f, np.array([0.0, 1.0]), np.array([0.0, 0.0]), np.ones(2), 0.5, "squared")
    (1.5, 0.5, 2.0)
    """
    data = data_term(spline(x) - y, w, loss, delta)
    tv2 = spline.tv2()
    return data + lam * tv2, data, tv2
