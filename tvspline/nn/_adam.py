r"""Compiled mini-batch Adam for fully connected Lipschitz networks with baseline activations.

The network is :math:`f = W_L \circ \sigma \circ W_{L-1} \circ \dots \circ \sigma \circ W_1` with
affine layers :math:`W_l x + b_l` and one baseline activation :math:`\sigma` (ReLU, AbsVal,
PReLU, GroupSort, HouseHolder). Each weight is parametrised by a free matrix :math:`V_l` through
:math:`p` order-1 Björck-Bowie iterations inside the forward pass,

.. math:: W^{(0)} = V / \sqrt{mn}, \qquad W^{(k+1)} = \tfrac32 W^{(k)} - \tfrac12 W^{(k)} W^{(k)T} W^{(k)},
          \qquad W = W^{(p)},

and the gradient flows through the iterations: for :math:`\Phi(W) = \tfrac32 W - \tfrac12 W W^T W`
and an outer gradient :math:`G`, :math:`\nabla_W \langle G, \Phi(W)\rangle = \tfrac32 G - \tfrac12
(G W^T W + W G^T W + W W^T G)`. Each singular value follows :math:`\sigma \mapsto \tfrac32\sigma -
\tfrac12\sigma^3`, which maps :math:`[0, \sqrt3]` into :math:`[0, 1]`: the layers are
1-Lipschitz (to rounding) as long as :math:`\|V\|_2 \le \sqrt{3mn}`.

The loss of a batch :math:`B` is :math:`\frac{1}{|B|}\sum_{i \in B} \|f(x_i) - y_i\|^2`, every
parameter takes the Adam step (:math:`\beta = (0.9, 0.999)`, :math:`\epsilon = 10^{-8}`, bias
corrected). Everything runs in one Numba-compiled loop: a NumPy loop of about a hundred small
array operations per step costs ~1 ms, so the 100 000 steps of the Lipschitz paper's protocol
(1000 epochs of 100 batches) would take minutes per network.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

RELU, ABSVAL, PRELU, GROUPSORT, HOUSEHOLDER = 0, 1, 2, 3, 4
CODES = {"relu": RELU, "absval": ABSVAL, "prelu": PRELU, "groupsort": GROUPSORT, "householder": HOUSEHOLDER}


@njit(cache=True)
def _bjorck_forward(V, iters, store):
    """Iterates ``store[k]`` (k = 0..iters) of the order-1 Björck map from ``V / sqrt(mn)``."""
    m, n = V.shape
    s = 1.0 / math.sqrt(m * n)
    for a in range(m):
        for b in range(n):
            store[0, a, b] = V[a, b] * s
    S = np.empty((n, n))
    for k in range(iters):
        w = store[k]
        for a in range(n):
            for b in range(n):
                acc = 0.0
                for r in range(m):
                    acc += w[r, a] * w[r, b]
                S[a, b] = acc
        for r in range(m):
            for b in range(n):
                acc = 0.0
                for a in range(n):
                    acc += w[r, a] * S[a, b]
                store[k + 1, r, b] = 1.5 * w[r, b] - 0.5 * acc


@njit(cache=True)
def _bjorck_backward(store, iters, G):
    """Gradient with respect to ``V`` of ``<G, W^(iters)>``."""
    m, n = G.shape
    Gc = G.copy()
    S = np.empty((n, n))
    T = np.empty((n, n))
    P = np.empty((m, m))
    for k in range(iters - 1, -1, -1):
        w = store[k]
        for a in range(n):
            for b in range(n):
                acc = 0.0
                acc2 = 0.0
                for r in range(m):
                    acc += w[r, a] * w[r, b]
                    acc2 += Gc[r, a] * w[r, b]
                S[a, b] = acc  # w^T w
                T[a, b] = acc2  # G^T w
        for r in range(m):
            for q in range(m):
                acc = 0.0
                for a in range(n):
                    acc += w[r, a] * w[q, a]
                P[r, q] = acc  # w w^T
        new = np.empty((m, n))
        for r in range(m):
            for b in range(n):
                gs = 0.0
                for a in range(n):
                    gs += Gc[r, a] * S[a, b] + w[r, a] * T[a, b]
                pg = 0.0
                for q in range(m):
                    pg += P[r, q] * Gc[q, b]
                new[r, b] = 1.5 * Gc[r, b] - 0.5 * (gs + pg)
        Gc = new
    return Gc / math.sqrt(m * n)


@njit(cache=True)
def _act_forward(code, group, Z, params, H, order):
    B, n = Z.shape
    if code == RELU:
        for i in range(B):
            for j in range(n):
                H[i, j] = Z[i, j] if Z[i, j] > 0 else 0.0
    elif code == ABSVAL:
        for i in range(B):
            for j in range(n):
                H[i, j] = abs(Z[i, j])
    elif code == PRELU:
        for i in range(B):
            for j in range(n):
                a = min(max(params[j], -1.0), 1.0)
                H[i, j] = Z[i, j] if Z[i, j] > 0 else a * Z[i, j]
    elif code == GROUPSORT:
        for i in range(B):
            for g0 in range(0, n, group):
                idx = np.argsort(Z[i, g0:g0 + group], kind="mergesort")
                for k in range(group):
                    order[i, g0 + k] = g0 + idx[k]
                    H[i, g0 + k] = Z[i, g0 + idx[k]]
    else:  # HOUSEHOLDER on consecutive pairs, v = (cos t, sin t), reflect where v.z <= 0
        for i in range(B):
            for p in range(n // 2):
                c = math.cos(params[p])
                s = math.sin(params[p])
                z1 = Z[i, 2 * p]
                z2 = Z[i, 2 * p + 1]
                a = c * z1 + s * z2
                if a <= 0:
                    H[i, 2 * p] = z1 - 2 * a * c
                    H[i, 2 * p + 1] = z2 - 2 * a * s
                else:
                    H[i, 2 * p] = z1
                    H[i, 2 * p + 1] = z2


@njit(cache=True)
def _act_backward(code, group, Z, params, order, dH, dZ, dparams):
    B, n = Z.shape
    for k in range(dparams.size):
        dparams[k] = 0.0
    if code == RELU:
        for i in range(B):
            for j in range(n):
                dZ[i, j] = dH[i, j] if Z[i, j] > 0 else 0.0
    elif code == ABSVAL:
        for i in range(B):
            for j in range(n):
                z = Z[i, j]
                dZ[i, j] = dH[i, j] * (1.0 if z > 0 else (-1.0 if z < 0 else 0.0))
    elif code == PRELU:
        for i in range(B):
            for j in range(n):
                raw = params[j]
                a = min(max(raw, -1.0), 1.0)
                if Z[i, j] > 0:
                    dZ[i, j] = dH[i, j]
                else:
                    dZ[i, j] = a * dH[i, j]
                    if -1.0 <= raw <= 1.0:
                        dparams[j] += dH[i, j] * Z[i, j]
    elif code == GROUPSORT:
        for i in range(B):
            for k in range(n):
                dZ[i, order[i, k]] = dH[i, k]
    else:
        for i in range(B):
            for p in range(n // 2):
                c = math.cos(params[p])
                s = math.sin(params[p])
                z1 = Z[i, 2 * p]
                z2 = Z[i, 2 * p + 1]
                g1 = dH[i, 2 * p]
                g2 = dH[i, 2 * p + 1]
                a = c * z1 + s * z2
                if a <= 0:
                    gv = 2.0 * (c * g1 + s * g2)
                    dZ[i, 2 * p] = g1 - gv * c
                    dZ[i, 2 * p + 1] = g2 - gv * s
                    uz = -s * z1 + c * z2
                    gu = -s * g1 + c * g2
                    dparams[p] += -2.0 * (uz * (c * g1 + s * g2) + a * gu)
                else:
                    dZ[i, 2 * p] = g1
                    dZ[i, 2 * p + 1] = g2


@njit(cache=True)
def _forward(widths, code, group, theta, woff, boff, aoff, bj, bjoff, iters, X, Zs, Hs, orders, zoff, hoff):
    """Forward pass on the rows of ``X`` with the current Björck weights (already in ``bj``)."""
    L = widths.size - 1
    B = X.shape[0]
    Hs[hoff[0]:hoff[0] + B * widths[0]].reshape((B, widths[0]))[:, :] = X
    for l in range(L):
        m, n = widths[l + 1], widths[l]
        W = bj[bjoff[l] + iters * m * n:bjoff[l] + (iters + 1) * m * n].reshape((m, n))
        b = theta[boff[l]:boff[l] + m]
        H = Hs[hoff[l]:hoff[l] + B * n].reshape((B, n))
        Z = Zs[zoff[l]:zoff[l] + B * m].reshape((B, m))
        for i in range(B):
            for r in range(m):
                acc = b[r]
                for q in range(n):
                    acc += H[i, q] * W[r, q]
                Z[i, r] = acc
        if l < L - 1:
            Hn = Hs[hoff[l + 1]:hoff[l + 1] + B * m].reshape((B, m))
            ordr = orders[zoff[l]:zoff[l] + B * m].reshape((B, m))
            _act_forward(code, group, Z, theta[aoff[l]:aoff[l + 1]], Hn, ordr)
    return Zs[zoff[L - 1]:zoff[L - 1] + B * widths[L]].reshape((B, widths[L]))


@njit(cache=True)
def _weights(widths, theta, woff, bj, bjoff, iters):
    L = widths.size - 1
    for l in range(L):
        m, n = widths[l + 1], widths[l]
        V = theta[woff[l]:woff[l] + m * n].reshape((m, n))
        _bjorck_forward(V, iters, bj[bjoff[l]:bjoff[l] + (iters + 1) * m * n].reshape((iters + 1, m, n)))


@njit(cache=True)
def _offsets(widths, B):
    L = widths.size - 1
    zoff = np.zeros(L + 1, dtype=np.int64)
    hoff = np.zeros(L + 1, dtype=np.int64)
    for l in range(L):
        zoff[l + 1] = zoff[l] + B * widths[l + 1]
        hoff[l + 1] = hoff[l] + B * widths[l]
    return zoff, hoff


@njit(cache=True)
def _mse(widths, code, group, theta, woff, boff, aoff, bj, bjoff, iters, X, Y):
    N = X.shape[0]
    zoff, hoff = _offsets(widths, N)
    Zs = np.empty(zoff[-1])
    Hs = np.empty(hoff[-1])
    orders = np.empty(zoff[-1], dtype=np.int64)
    out = _forward(widths, code, group, theta, woff, boff, aoff, bj, bjoff, iters, X, Zs, Hs, orders, zoff, hoff)
    acc = 0.0
    for i in range(N):
        for o in range(out.shape[1]):
            r = out[i, o] - Y[i, o]
            acc += r * r
    return acc / N


@njit(cache=True)
def train(widths, code, group, theta, woff, boff, aoff, iters, X, Y, batches, lr, beta1, beta2, eps):
    """Mini-batch Adam on ``theta`` in place; returns the training MSE after every epoch.

    ``batches`` has shape ``(epochs, n_batches, batch_size)`` (sample indices).
    """
    L = widths.size - 1
    epochs, nb, B = batches.shape
    bjoff = np.zeros(L + 1, dtype=np.int64)
    for l in range(L):
        bjoff[l + 1] = bjoff[l] + (iters + 1) * widths[l + 1] * widths[l]
    bj = np.empty(bjoff[-1])
    zoff, hoff = _offsets(widths, B)
    Zs = np.empty(zoff[-1])
    Hs = np.empty(hoff[-1])
    orders = np.zeros(zoff[-1], dtype=np.int64)
    grad = np.zeros(theta.size)
    m1 = np.zeros(theta.size)
    m2 = np.zeros(theta.size)
    Xb = np.empty((B, X.shape[1]))
    Yb = np.empty((B, Y.shape[1]))
    dmax = 0
    for l in range(L + 1):
        dmax = max(dmax, widths[l])
    dZ = np.empty((B, dmax))
    dH = np.empty((B, dmax))
    history = np.empty(epochs + 1)
    _weights(widths, theta, woff, bj, bjoff, iters)
    history[0] = _mse(widths, code, group, theta, woff, boff, aoff, bj, bjoff, iters, X, Y)
    t = 0
    for e in range(epochs):
        for k in range(nb):
            for i in range(B):
                Xb[i, :] = X[batches[e, k, i]]
                Yb[i, :] = Y[batches[e, k, i]]
            _weights(widths, theta, woff, bj, bjoff, iters)
            out = _forward(widths, code, group, theta, woff, boff, aoff, bj, bjoff, iters, Xb, Zs, Hs, orders,
                           zoff, hoff)
            grad[:] = 0.0
            dout = dZ[:, :widths[L]]
            for i in range(B):
                for o in range(widths[L]):
                    dout[i, o] = 2.0 * (out[i, o] - Yb[i, o]) / B
            for l in range(L - 1, -1, -1):
                m, n = widths[l + 1], widths[l]
                dz = dZ[:, :m]
                H = Hs[hoff[l]:hoff[l] + B * n].reshape((B, n))
                W = bj[bjoff[l] + iters * m * n:bjoff[l] + (iters + 1) * m * n].reshape((m, n))
                dW = np.zeros((m, n))
                for i in range(B):
                    for r in range(m):
                        grad[boff[l] + r] += dz[i, r]
                        for q in range(n):
                            dW[r, q] += dz[i, r] * H[i, q]
                dV = _bjorck_backward(bj[bjoff[l]:bjoff[l] + (iters + 1) * m * n].reshape((iters + 1, m, n)),
                                      iters, dW)
                grad[woff[l]:woff[l] + m * n] += dV.ravel()
                if l > 0:
                    dh = dH[:, :n]
                    for i in range(B):
                        for q in range(n):
                            acc = 0.0
                            for r in range(m):
                                acc += dz[i, r] * W[r, q]
                            dh[i, q] = acc
                    Zp = Zs[zoff[l - 1]:zoff[l - 1] + B * n].reshape((B, n))
                    ordr = orders[zoff[l - 1]:zoff[l - 1] + B * n].reshape((B, n))
                    dparams = np.empty(aoff[l] - aoff[l - 1])
                    dzp = np.empty((B, n))
                    _act_backward(code, group, Zp, theta[aoff[l - 1]:aoff[l]], ordr, dh, dzp, dparams)
                    grad[aoff[l - 1]:aoff[l]] += dparams
                    dZ[:, :n] = dzp
            t += 1
            c1 = 1.0 - beta1 ** t
            c2 = 1.0 - beta2 ** t
            for p in range(theta.size):
                g = grad[p]
                m1[p] = beta1 * m1[p] + (1.0 - beta1) * g
                m2[p] = beta2 * m2[p] + (1.0 - beta2) * g * g
                theta[p] -= lr * (m1[p] / c1) / (math.sqrt(m2[p] / c2) + eps)
        _weights(widths, theta, woff, bj, bjoff, iters)
        history[e + 1] = _mse(widths, code, group, theta, woff, boff, aoff, bj, bjoff, iters, X, Y)
    return history


def bjorck_weights(V, iters):
    """``W^(iters)`` of the order-1 Björck map from ``V / sqrt(mn)`` (the trained weight)."""
    V = np.ascontiguousarray(V, dtype=np.float64)
    store = np.empty((iters + 1,) + V.shape)
    _bjorck_forward(V, iters, store)
    return store[iters].copy()
