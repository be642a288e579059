r"""The exact activation step: all splines of one layer fitted jointly as one sparse QP or LP.

With the linear layers fixed, the output of a network is, for its *last* hidden layer,

.. math:: o_i = \sum_j G_{ij}\,\sigma_j(z_{ij}) + b + \mathrm{off}_i \in \mathbb{R}^{d},

with :math:`z_{ij}` the pre-activation of neuron :math:`j` on sample :math:`i`,
:math:`G_{ij} = W_L[:, j]` the column of the output layer (for an earlier layer, the linearised
network gives a sample-dependent :math:`G_{ij}`), :math:`b` the output bias and
:math:`\mathrm{off}` a fixed part. The output is linear in the values of every
:math:`\sigma_j` at its knots, so

.. math:: \min_{\sigma, b}\ L(o) + \lambda \sum_j \mathrm{TV}^{(2)}(\sigma_j)
          + \tfrac{\rho}{2} \sum_j \|\sigma_j(\tau_j) - \sigma^0_j(\tau_j)\|^2
          \quad\text{s.t.}\quad s_{\min} \le \sigma_j' \le s_{\max}

is one convex problem (``docs/math.md#layered-architectures``): a QP for the squared loss
:math:`L(o) = \sum_i \tfrac{w_i}{2}\|o_i - y_i\|^2`, an LP for the absolute loss
:math:`\sum_i w_i \|o_i - y_i\|_1` and for the linear loss :math:`\sum_i \langle q_i, o_i\rangle`
(the Wasserstein critic). By the representer theorem of the ACHA paper, knots at each neuron's
distinct pre-activation values (``knots="data"``) give the optimum over *all* functions; a
user-given grid gives the optimum over splines on that grid.

It is solved with Clarabel (slope variables, scaled coupling ``c[k+1] - c[k] = h[k] s[k]`` as in
:mod:`tvspline.solvers.generic`); the splines are rebuilt from the knot values with every slope
moved into the bounds to rounding, the objective is recomputed from them, and a lower bound is
certified by weak duality: for dual variables :math:`u` (outputs) and :math:`p` (proximal term),

.. math:: \mathrm{OPT} \ge -L^*(u) + \langle u, \mathrm{off}\rangle - \langle p, c^0\rangle
          - \tfrac{1}{2\rho}\|p\|^2 - \sum_j R_j^*(-g_j), \qquad g_j = A_j^T u + p_j,

where :math:`R_j` is :math:`\lambda\,\mathrm{TV}^{(2)}` plus the slope constraint on neuron
:math:`j`'s knot values. :math:`R_j^*` is bounded by the cost of any dual path :math:`|z| \le
\lambda` (the path of :mod:`tvspline.certificate`). :math:`u` and :math:`p` are read off the
rebuilt splines (residuals), then projected onto the linear conditions that make the bound finite
(:math:`\sum_i u_i = 0` with a bias, :math:`\sum_k g_{jk} = 0` for every neuron, and
:math:`\langle g_j, \tau_j\rangle = 0` when the slopes are unbounded).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .._enforce import enforce_slope_bounds
from ..bounds import SlopeBounds, as_bounds
from ..certificate import _z_path, slope_states
from ..solvers.activeset import runs_from_slopes
from ..result import Status
from ..spline import LinearSpline

__all__ = ["fit_layer", "LayerFitResult", "LAYER_LOSSES"]

LAYER_LOSSES = ("squared", "absolute", "linear")


@dataclass(frozen=True)
class LayerFitResult:
    """Result of :func:`fit_layer`.

    Attributes
    ----------
    splines : list of LinearSpline
        One activation per neuron, every slope within the bounds.
    bias : ndarray, shape (d,)
        The output bias (zeros when not fitted).
    objective, data_fit, tv2, prox : float
        The objective ``data_fit + lam * tv2 + prox`` recomputed from ``splines`` and ``bias``;
        ``tv2`` is the sum over neurons.
    lower_bound : float
        Certified lower bound on the optimum (``-inf`` when none could be built).
    gap : float
        ``objective - lower_bound``.
    status : Status
        ``OPTIMAL`` when ``gap <= tol * max(1, |objective|)``, else ``INACCURATE``;
        ``SOLVER_FAILED`` when Clarabel returned no solution (``splines`` is then ``None``).
    message : str
    solver_info : dict
        Clarabel's status, iterations, solve time; problem size.
    time : float
        Wall time in seconds.

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline.nn import fit_layer
    >>> x = np.linspace(-1, 1, 50)
    >>> res = fit_layer(np.column_stack([x, -x]), np.array([[1.0, 1.0]]), np.abs(x), lam=0.01, bounds=(-1, 1))
    >>> type(res).__name__, len(res.splines), bool(res.success)
    ('LayerFitResult', 2, True)
    """

    splines: list | None
    bias: np.ndarray
    objective: float
    data_fit: float
    tv2: float
    prox: float
    lower_bound: float
    gap: float
    status: Status
    message: str
    solver_info: dict = field(default_factory=dict)
    time: float = 0.0

    @property
    def success(self) -> bool:
        return self.status == Status.OPTIMAL


# ---------------------------------------------------------------------------------------------
# validation


def _as_2d(a, name, rows=None):
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if rows is not None and arr.shape[0] != rows:
        raise ValueError(f"{name} must have {rows} rows (one per sample), got {arr.shape[0]}")
    return arr


def _check_inputs(Z, G, y, loss, weights, offset, lam, rho):
    Z = _as_2d(Z, "Z")
    N, n = Z.shape
    if N < 2:
        raise ValueError(f"Z must have at least 2 samples, got {N}")
    G = np.asarray(G, dtype=np.float64)
    if G.ndim == 1:
        G = G[None, :]
    if G.ndim == 2:
        if G.shape[1] != n:
            raise ValueError(f"G must have shape (d, {n}) or ({N}, {n}, d), got {G.shape}")
    elif G.ndim == 3:
        if G.shape[:2] != (N, n):
            raise ValueError(f"G must have shape (d, {n}) or ({N}, {n}, d), got {G.shape}")
    else:
        raise ValueError(f"G must be 2-D or 3-D, got shape {G.shape}")
    if not np.all(np.isfinite(G)):
        raise ValueError("G contains NaN or infinite values")
    d = G.shape[0] if G.ndim == 2 else G.shape[2]
    if loss not in LAYER_LOSSES:
        raise ValueError(f"loss must be one of {LAYER_LOSSES}, got {loss!r}")
    y = _as_2d(y, "y" if loss != "linear" else "y (the linear-loss weights q)", rows=N)
    if y.shape[1] != d:
        raise ValueError(f"y must have {d} columns (the output dimension), got {y.shape[1]}")
    if weights is None:
        w = np.ones(N)
    else:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if w.size != N:
            raise ValueError(f"weights must have length {N}, got {w.size}")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("weights must be finite and non-negative")
    off = np.zeros((N, d)) if offset is None else _as_2d(offset, "offset", rows=N)
    if off.shape[1] != d:
        raise ValueError(f"offset must have {d} columns, got {off.shape[1]}")
    lam = float(lam)
    if not (math.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam must be finite and >= 0, got {lam}")
    rho = float(rho)
    if not (math.isfinite(rho) and rho >= 0):
        raise ValueError(f"prox weight rho must be finite and >= 0, got {rho}")
    return Z, G, y, w, off, lam, rho, N, n, d


# ---------------------------------------------------------------------------------------------
# problem assembly


@dataclass
class _Neuron:
    knots: np.ndarray  # increasing, K >= 2
    B: sp.csr_matrix  # (N, K): knot values -> values at the samples
    c0: np.ndarray | None  # prox centre at the knots


def _neuron_knots(z, knots):
    if isinstance(knots, str):
        if knots != "data":
            raise ValueError(f"knots must be 'data' or an increasing array, got {knots!r}")
        t, site = np.unique(z, return_inverse=True)
        if t.size < 2:
            # one distinct value: any slope fits it; a unit segment carries the constant
            t = np.array([t[0], t[0] + max(1.0, abs(t[0]))])
            site = np.zeros(z.size, dtype=np.int64)
        B = sp.csr_matrix((np.ones(z.size), (np.arange(z.size), site.reshape(-1))), shape=(z.size, t.size))
        return t, B
    from ..basis import design_matrix

    t = np.asarray(knots, dtype=np.float64)
    return t, design_matrix(z, t)


def _build(Z, G, knots, prox_splines):
    N, n = Z.shape
    neurons = []
    for j in range(n):
        kj = knots if isinstance(knots, str) or np.ndim(knots[0]) == 0 else knots[j]
        t, B = _neuron_knots(Z[:, j], kj)
        c0 = None if prox_splines is None else np.asarray(prox_splines[j](t), dtype=np.float64)
        neurons.append(_Neuron(t, B.tocsr(), c0))
    return neurons


def _output_map(neurons, G, N, d):
    """Sparse A (N*d, sum K_j): knot values of all neurons -> outputs (row i*d + o)."""
    blocks = []
    for j, nr in enumerate(neurons):
        B = nr.B.tocoo()
        rows, cols, vals = [], [], []
        for o in range(d):
            g = G[o, j] if G.ndim == 2 else G[B.row, j, o]
            rows.append(B.row * d + o)
            cols.append(B.col)
            vals.append(B.data * g)
        blocks.append(sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(N * d, nr.knots.size),
        ))
    return sp.hstack(blocks, format="csc")


def _assemble(neurons, A, y, w, off, loss, lam, rho, bounds, bias, N, d):
    """Clarabel data: variables [c (Kt), s (Kt - n), e (jumps), r or a (outputs), b (d)]."""
    import clarabel

    n = len(neurons)
    K = np.array([nr.knots.size for nr in neurons])
    Kt = int(K.sum())
    nS = Kt - n
    nJ = int(np.sum(np.maximum(K - 2, 0))) if lam > 0 else 0
    nR = N * d if loss in ("squared", "absolute") else 0
    nA = N * d if loss == "absolute" else 0
    nb = d if bias else 0
    ic, is_, ie, ir, ia, ib = 0, Kt, Kt + nS, Kt + nS + nJ, Kt + nS + nJ + nR, Kt + nS + nJ + nR + nA
    nvar = ib + nb
    ww = np.repeat(w, d)

    # --- quadratic and linear cost
    P_diag = np.zeros(nvar)
    q = np.zeros(nvar)
    if loss == "squared":
        P_diag[ir:ir + nR] = ww
    elif loss == "absolute":
        q[ia:ia + nA] = ww
    else:  # linear: sum_i <q_i, o_i> = q^T (A c + b + off)
        qv = y.reshape(-1)
        q[ic:ic + Kt] = A.T @ qv
        if bias:
            q[ib:ib + d] = y.sum(axis=0)
    if rho > 0:
        P_diag[ic:ic + Kt] += rho
        q[ic:ic + Kt] -= rho * np.concatenate([nr.c0 for nr in neurons])
    q[ie:ie + nJ] = lam
    P = sp.diags(P_diag, format="csc")

    # --- equality rows (zero cone): coupling, residual definition
    rows_eq, b_eq = [], []
    coup_r, coup_c, coup_v = [], [], []
    off_c, off_s, row = 0, 0, 0
    for nr in neurons:
        k = nr.knots.size
        h = np.diff(nr.knots)
        idx = np.arange(k - 1)
        coup_r += [row + idx, row + idx, row + idx]
        coup_c += [ic + off_c + idx + 1, ic + off_c + idx, is_ + off_s + idx]
        coup_v += [np.ones(k - 1), -np.ones(k - 1), -h]
        row += k - 1
        off_c += k
        off_s += k - 1
    Ceq = sp.csr_matrix((np.concatenate(coup_v), (np.concatenate(coup_r), np.concatenate(coup_c))),
                        shape=(nS, nvar))
    rows_eq.append(Ceq)
    b_eq.append(np.zeros(nS))
    if nR:
        # r - A c - b = off - y
        Rr = sp.hstack([-A, sp.csr_matrix((nR, nS + nJ)), sp.identity(nR),
                        sp.csr_matrix((nR, nA)),
                        (-sp.vstack([sp.identity(d)] * N) if bias else sp.csr_matrix((nR, 0)))],
                       format="csr")
        rows_eq.append(Rr)
        b_eq.append((off - y).reshape(-1))
    fixed_slopes = bounds.lo == bounds.hi
    if fixed_slopes:
        S = sp.hstack([sp.csr_matrix((nS, is_)), sp.identity(nS), sp.csr_matrix((nS, nvar - is_ - nS))])
        rows_eq.append(S)
        b_eq.append(np.full(nS, bounds.lo))

    # --- inequality rows (nonnegative cone, b - A x >= 0)
    rows_in, b_in = [], []
    if nJ:
        jr, jc, jv = [], [], []
        off_s, off_e = 0, 0
        for nr in neurons:
            k = nr.knots.size
            if k > 2:
                idx = np.arange(k - 2)
                # e - (s[k+1] - s[k]) >= 0  ->  row: -e + s[k+1] - s[k]
                jr += [off_e + idx] * 3
                jc += [ie + off_e + idx, is_ + off_s + idx + 1, is_ + off_s + idx]
                jv += [-np.ones(k - 2), np.ones(k - 2), -np.ones(k - 2)]
                off_e += k - 2
            off_s += k - 1
        Dp = sp.csr_matrix((np.concatenate(jv), (np.concatenate(jr), np.concatenate(jc))), shape=(nJ, nvar))
        E = sp.hstack([sp.csr_matrix((nJ, ie)), sp.identity(nJ), sp.csr_matrix((nJ, nvar - ie - nJ))])
        # Dp = -e + Ds encodes e - Ds >= 0; the row of e + Ds >= 0 is -e - Ds = -2e - Dp
        rows_in += [Dp, -2 * E - Dp]
        b_in += [np.zeros(nJ), np.zeros(nJ)]
    if not fixed_slopes:
        Sel = sp.hstack([sp.csr_matrix((nS, is_)), sp.identity(nS), sp.csr_matrix((nS, nvar - is_ - nS))])
        if math.isfinite(bounds.hi):
            rows_in.append(Sel)
            b_in.append(np.full(nS, bounds.hi))
        if math.isfinite(bounds.lo):
            rows_in.append(-Sel)
            b_in.append(np.full(nS, -bounds.lo))
    if nA:
        # a - r >= 0, a + r >= 0
        Ar = sp.hstack([sp.csr_matrix((nA, ir)), sp.identity(nR), -sp.identity(nA), sp.csr_matrix((nA, nb))])
        Ar2 = sp.hstack([sp.csr_matrix((nA, ir)), -sp.identity(nR), -sp.identity(nA), sp.csr_matrix((nA, nb))])
        rows_in += [Ar, Ar2]
        b_in += [np.zeros(nA), np.zeros(nA)]

    Amat = sp.vstack(rows_eq + rows_in, format="csc")
    bvec = np.concatenate(b_eq + b_in)
    n_eq = sum(m.shape[0] for m in rows_eq)
    n_in = sum(m.shape[0] for m in rows_in)
    cones = [clarabel.ZeroConeT(n_eq)]
    if n_in:
        cones.append(clarabel.NonnegativeConeT(n_in))
    layout = dict(ic=ic, is_=is_, ie=ie, ir=ir, ib=ib, Kt=Kt, nb=nb, nvar=nvar, row_r=nS)
    return sp.triu(P, format="csc"), q, Amat, bvec, cones, layout


# ---------------------------------------------------------------------------------------------
# evaluation and certificate


def _integrate_to(t, slopes, target):
    """Values with the given slopes on knots ``t``, shifted to ``target`` in the mean."""
    values = np.concatenate([[0.0], np.cumsum(np.diff(t) * slopes)])
    return values + float(np.mean(target - values))


def _splines_from_solution(neurons, cvals, svals, bounds, rtol):
    """Splines from the solver's slopes: clipped into the bounds, optionally snapped into runs
    (relative tolerance ``rtol``), integrated, shifted to the solver's values in the mean, stored
    only where the slope changes, and nudged so that recomputed slopes obey the bounds."""
    out, pc, ps = [], 0, 0
    for nr in neurons:
        k = nr.knots.size
        t = nr.knots
        c_solver = cvals[pc:pc + k]
        slopes = np.clip(svals[ps:ps + k - 1], bounds.lo, bounds.hi)
        if rtol > 0 and slopes.size > 1:
            scale = rtol * max(1.0, float(np.max(np.abs(slopes))))
            starts, fixed = runs_from_slopes(slopes, bounds.lo, bounds.hi, scale, scale)
            h = np.diff(t)
            mean = np.add.reduceat(slopes * h, starts) / np.add.reduceat(h, starts)
            run = np.clip(np.where(np.isnan(fixed), mean, fixed), bounds.lo, bounds.hi)
            slopes = np.repeat(run, np.diff(np.append(starts, slopes.size)))
        values = _integrate_to(t, slopes, c_solver)
        if bounds.lo == bounds.hi:
            # affine: stored on integer knots a unit apart with a value on a 2^-40 grid, so that
            # v0 + lo is exact even when the sites are too close for any float pair to have it
            a = math.floor(t[0])
            v0 = values[0] + bounds.lo * (a - t[0])
            v0 = math.ldexp(round(math.ldexp(v0, 40)), -40)
            wide = np.array([a, a + 1.0])
            vals = np.array([v0, v0 + bounds.lo])
            out.append(LinearSpline(wide, enforce_slope_bounds(wide, vals, bounds.lo, bounds.hi)))
            pc += k
            ps += k - 1
            continue
        keep = np.ones(k, dtype=bool)
        keep[1:-1] = slopes[1:] != slopes[:-1]
        c = enforce_slope_bounds(t[keep], values[keep], bounds.lo, bounds.hi)
        out.append(LinearSpline(t[keep], c))
        pc += k
        ps += k - 1
    return out


def _solve_structure(neurons, splines, G, y, w, off, lam, rho, bounds, fit_bias):
    """Exact squared-loss solution for the run structure of ``splines`` (``None`` if inconsistent).

    Each spline keeps its knots; a segment whose slope is at a bound keeps it (a linear equality
    on the knot values), the TV2 term is linear with the signs of the slope jumps, so the values
    solve one sparse equality-constrained least-squares problem (its KKT system, factored by
    SuperLU). A relative Tikhonov term of 1e-13 pins the directions the data do not see (e.g. the
    constants of the activations against the output bias) to the snapped values.
    """
    from scipy.sparse.linalg import spsolve

    from ..basis import design_matrix

    N, d = y.shape
    lo, hi = bounds.lo, bounds.hi
    btol = 1e-9 * max([1.0] + [abs(v) for v in (lo, hi) if math.isfinite(v)])
    pseudo, eq_blocks, eq_rhs, lin, prox_blocks, prox_rhs, layout = [], [], [], [], [], [], []
    for nr, f in zip(neurons, splines):
        t = f.knots
        sl = np.array(f.slopes, dtype=np.float64)
        at_hi = np.abs(sl - hi) <= btol if math.isfinite(hi) else np.zeros(sl.size, dtype=bool)
        at_lo = np.abs(sl - lo) <= btol if math.isfinite(lo) else np.zeros(sl.size, dtype=bool)
        sl[at_hi] = hi
        sl[at_lo] = lo
        fixed = at_hi | at_lo
        h = np.diff(t)
        pseudo.append(_Neuron(t, design_matrix(_sample_sites(nr), t), None))
        D = sp.diags([-1.0 / h, 1.0 / h], [0, 1], shape=(t.size - 1, t.size), format="csr")  # slopes
        idx = np.flatnonzero(fixed)
        eq_blocks.append(D[idx])
        eq_rhs.append(sl[idx])
        sign = np.sign(np.diff(sl))
        lin.append(D.T @ (np.concatenate([[0.0], sign]) - np.concatenate([sign, [0.0]])))
        if rho > 0:
            prox_blocks.append(design_matrix(nr.knots, t))
            prox_rhs.append(nr.c0)
        layout.append((t, sl, fixed, f.values))
    X = _output_map(pseudo, G, N, d)
    nc = X.shape[1]
    if fit_bias:
        X = sp.hstack([X, sp.csr_matrix(np.tile(np.eye(d), (N, 1)))], format="csr")
    nv = X.shape[1]
    sw = np.sqrt(np.repeat(w, d))
    Xw = sp.diags(sw) @ X
    H = (Xw.T @ Xw).tocsr()
    g = Xw.T @ ((y.reshape(-1) - off.reshape(-1)) * sw)
    g[:nc] -= lam * np.concatenate(lin)
    if rho > 0:
        Pm = sp.block_diag(prox_blocks, format="csr")
        Pm = sp.hstack([Pm, sp.csr_matrix((Pm.shape[0], nv - nc))], format="csr")
        H = H + rho * (Pm.T @ Pm)
        g += rho * (Pm.T @ np.concatenate(prox_rhs))
    x0 = np.concatenate([v for *_, v in layout] + ([np.zeros(d)] if fit_bias else []))
    eps = 1e-13 * max(float(H.diagonal().max(initial=0.0)), 1e-300)
    H = H + eps * sp.identity(nv)
    g = g + eps * x0
    E = sp.block_diag(eq_blocks, format="csr") if any(b.shape[0] for b in eq_blocks) else None
    if E is not None and E.shape[0]:
        E = sp.hstack([E, sp.csr_matrix((E.shape[0], nv - nc))], format="csr")
        KKT = sp.bmat([[H, E.T], [E, None]], format="csc")
        rhs = np.concatenate([g, np.concatenate(eq_rhs)])
    else:
        KKT, rhs = H.tocsc(), g
    try:
        sol = spsolve(KKT, rhs)
    except Exception:  # singular factor
        return None
    theta = np.asarray(sol)[:nv]
    if not np.all(np.isfinite(theta)):
        return None
    out, pos = [], 0
    tol = 1e-12 * max([1.0] + [abs(v) for v in (lo, hi) if math.isfinite(v)])
    for t, sl, fixed, _ in layout:
        c = theta[pos:pos + t.size]
        pos += t.size
        s_new = np.diff(c) / np.diff(t)
        if np.any(s_new[~fixed] > hi + tol) or np.any(s_new[~fixed] < lo - tol):
            return None
        if np.any(np.diff(s_new) * np.sign(np.diff(sl)) < -tol):
            return None
        s_new[fixed] = sl[fixed]
        s_new = np.clip(s_new, lo, hi)
        values = _integrate_to(t, s_new, c)
        out.append(LinearSpline(t, enforce_slope_bounds(t, values, lo, hi)))
    return out


def _within_bounds(splines, bounds):
    """Every slope recomputed from the stored knots and values lies in the bounds."""
    for f in splines:
        if f.knots.size > 1:
            s = np.diff(f.values) / np.diff(f.knots)
            if np.any(s < bounds.lo) or np.any(s > bounds.hi):
                return False
    return True


def _sample_sites(nr):
    """The pre-activation value of each sample (rows of B select or interpolate knots)."""
    return nr.B @ nr.knots


def _outputs(neurons, splines, G, off, bias, N, d):
    o = off.copy()
    for j, (nr, f) in enumerate(zip(neurons, splines)):
        a = nr.B @ f(nr.knots)
        if G.ndim == 2:
            o += a[:, None] * G[:, j][None, :]
        else:
            o += a[:, None] * G[:, j, :]
    return o + bias[None, :]


def _data_term(o, y, w, loss):
    if loss == "squared":
        r = o - y
        return 0.5 * float(np.sum(w[:, None] * r * r))
    if loss == "absolute":
        return float(np.sum(w[:, None] * np.abs(o - y)))
    return float(np.sum(y * o))


def _best_bias(o_nobias, y, w, loss):
    """The exactly optimal output bias for fixed splines (squared: weighted mean; absolute: median)."""
    r = y - o_nobias
    if loss == "squared":
        return (w[:, None] * r).sum(axis=0) / w.sum()
    b = np.empty(r.shape[1])
    for o in range(r.shape[1]):
        order = np.argsort(r[:, o], kind="stable")
        cw = np.cumsum(w[order])
        b[o] = r[order[min(int(np.searchsorted(cw, 0.5 * cw[-1])), r.shape[0] - 1)], o]
    return b


def _tv2_bound_cost(g, knots, slopes, lam, bounds, n_terms=0):
    """Upper bound on R*(-g) from a dual path (inf when the path needs a forbidden sign)."""
    h = np.diff(knots)
    v = h * np.cumsum(g)[:-1]
    lo, hi = bounds.lo, bounds.hi
    atol = 1e-9 * max(1.0, abs(lo) if math.isfinite(lo) else 1.0, abs(hi) if math.isfinite(hi) else 1.0)
    states = slope_states(slopes, lo, hi, atol)
    z, nu, vout = _z_path(np.ascontiguousarray(v), states, float(lam), math.isfinite(lo), math.isfinite(hi), 0.0, 0.0)
    moved = np.abs(vout - v)
    if moved.size and moved.max() > 0:
        # A step needs nu of a sign whose bound is infinite: the estimate is not dual feasible,
        # unless the mismatch is within the a-priori rounding bound of the sums that built it
        # (g: sums of up to n_terms products; v, z: prefix sums over K terms), 4 (K + n_terms)
        # eps times the sum of |h_k| |g|-prefix sums.
        scale = float(np.sum(h * np.cumsum(np.abs(g))[:-1])) + float(np.max(np.abs(z)))
        if moved.max() > 4 * (v.size + 1 + n_terms) * np.finfo(float).eps * scale:
            return math.inf
    cost = 0.0
    pos, neg = nu > 0, nu < 0
    if pos.any():
        cost += float(np.sum(hi * nu[pos]))
    if neg.any():
        cost += float(np.sum(lo * nu[neg]))
    return cost


def _finiteness_conditions(neurons, AT, N, d, bias_fitted, both_inf):
    """Sparse C with C [u; p] = 0 the linear conditions under which the bound is finite."""
    K = [nr.knots.size for nr in neurons]
    Kt = sum(K)
    starts = np.concatenate([[0], np.cumsum(K)])
    rows = []
    for j, nr in enumerate(neurons):
        blk = AT[starts[j]:starts[j + 1]]  # g_j = blk @ u + p_j
        idx = starts[j] + np.arange(K[j])
        zeros = np.zeros(K[j], dtype=np.int64)
        for coef in ((np.ones(K[j]), nr.knots) if both_inf else (np.ones(K[j]),)):
            rows.append(sp.hstack([sp.csr_matrix(coef @ blk), sp.csr_matrix((coef, (zeros, idx)), shape=(1, Kt))]))
    if bias_fitted:
        for o in range(d):
            e = np.zeros(N * d)
            e[o::d] = 1.0
            rows.append(sp.hstack([sp.csr_matrix(e), sp.csr_matrix((1, Kt))]))
    return sp.vstack(rows, format="csr")


def _bound_value(neurons, splines, AT, u, p, c0, y, w, off, loss, lam, rho, bounds):
    """The weak-duality bound at (u, p); -inf where it is not finite."""
    yv = y.reshape(-1)
    wr = np.repeat(w, y.shape[1])
    if loss == "squared":
        if np.any(u[wr == 0] != 0):
            return -math.inf
        pos = wr > 0
        Lstar = float(np.sum(u[pos] ** 2 / (2 * wr[pos]))) + float(np.dot(u, yv))
    elif loss == "absolute":
        if np.any(np.abs(u) > wr):
            return -math.inf
        Lstar = float(np.dot(u, yv))
    else:
        if not np.array_equal(u, yv):
            return -math.inf
        Lstar = 0.0
    bound = -Lstar + float(np.dot(u, off.reshape(-1)))
    if rho > 0:
        bound -= float(np.dot(p, c0)) + float(np.dot(p, p)) / (2 * rho)
    elif np.any(p != 0):
        return -math.inf
    g = AT @ u + p
    pos = 0
    for nr, f in zip(neurons, splines):
        k = nr.knots.size
        slopes = np.diff(f(nr.knots)) / np.diff(nr.knots)
        bound -= _tv2_bound_cost(g[pos:pos + k], nr.knots, slopes, lam, bounds, n_terms=u.size + 1)
        pos += k
        if bound == -math.inf:
            return bound
    return bound


def _certify(neurons, splines, A, y, w, off, bias_fitted, o, loss, lam, rho, bounds, u_solver):
    """Certified lower bound (see the module docstring)."""
    N, d = y.shape
    K = [nr.knots.size for nr in neurons]
    Kt = sum(K)
    cvals = np.concatenate([f(nr.knots) for nr, f in zip(neurons, splines)])
    c0 = np.concatenate([nr.c0 for nr in neurons]) if rho > 0 else np.zeros(Kt)
    wr = np.repeat(w, d)
    if loss == "squared":
        u = (w[:, None] * (o - y)).reshape(-1)
        mu = wr  # projection metric: moving u by du loses |du|^2 / (2 w)
    elif loss == "absolute":
        u = np.clip(u_solver, -wr, wr)
        mu = wr - np.abs(u)  # move only the multipliers strictly inside their box
    else:
        u = y.reshape(-1).copy()
        mu = np.zeros(N * d)
    p = rho * (cvals - c0) if rho > 0 else np.zeros(Kt)
    AT = A.T.tocsr()
    both_inf = not math.isfinite(bounds.lo) and not math.isfinite(bounds.hi)
    C = _finiteness_conditions(neurons, AT, N, d, bias_fitted, both_inf)
    x = np.concatenate([u, p])
    m = np.concatenate([mu, np.full(Kt, rho)])
    viol = C @ x
    if np.any(viol != 0) and np.any(m > 0):
        Cm = C.multiply(m[None, :]).tocsr()
        corr, *_ = np.linalg.lstsq((Cm @ C.T).toarray(), viol, rcond=None)
        x = x - Cm.T @ corr
    u, p = x[:N * d], x[N * d:]
    if loss == "absolute":
        u = np.clip(u, -wr, wr)
    best = -math.inf
    # Scaling (u, p) by alpha < 1 shrinks the zero-cost dual path into |z| <= lam when the
    # estimate overshoots by rounding; it is still dual feasible (the conditions are linear).
    ladder = (1.0,) + tuple(1.0 - 10.0 ** (-k / 4) for k in range(48, 23, -1))  # 1 - 1e-12 .. 1 - 1e-6
    for alpha in ((1.0,) if loss == "linear" else ladder):
        value = _bound_value(neurons, splines, AT, alpha * u, alpha * p, c0, y, w, off, loss, lam, rho, bounds)
        best = max(best, value)
        if best > -math.inf:
            break
    if loss != "linear":
        best = max(best, 0.0)  # (u, p) = 0: every term of the objective is non-negative
    return best


# ---------------------------------------------------------------------------------------------
# block coordinate descent: one exact 1-D fit per neuron


def _neuron_problem(j, Z, G, R, w, rho, c0_fun):
    """Sites, targets and weights of the 1-D squared-loss problem of neuron ``j``.

    With the other neurons fixed, ``sum_i w_i / 2 ||G_ij s(z_ij) - R_i||^2`` equals
    ``sum_i a_i / 2 (s(z_ij) - t_i)^2`` plus a constant, with ``a_i = w_i ||G_ij||^2`` and
    ``t_i = <G_ij, R_i> / ||G_ij||^2``; a proximal term adds the sites ``tau`` with weight ``rho``
    and targets ``c0(tau)``.
    """
    z = Z[:, j]
    if G.ndim == 2:
        g = G[:, j]
        gg = float(g @ g)
        a = w * gg
        t = (R @ g) / gg if gg > 0 else np.zeros(z.size)
    else:
        Gj = G[:, j, :]
        gg = np.einsum("id,id->i", Gj, Gj)
        a = w * gg
        t = np.divide(np.einsum("id,id->i", R, Gj), gg, out=np.zeros(z.size), where=gg > 0)
    if rho > 0:
        tau = np.unique(z)
        z = np.concatenate([z, tau])
        t = np.concatenate([t, c0_fun(tau)])
        a = np.concatenate([a, np.full(tau.size, rho)])
    return z, t, a


def _affine_within(f, z, bounds):
    """The affine function through ``f`` at the extreme sites, slope clipped into the bounds."""
    lo_z, hi_z = float(np.min(z)), float(np.max(z))
    if hi_z <= lo_z:
        hi_z = lo_z + 1.0
    slope = float(np.clip((float(f(hi_z)) - float(f(lo_z))) / (hi_z - lo_z), bounds.lo, bounds.hi))
    v0 = float(f(lo_z))
    return LinearSpline([lo_z, hi_z], enforce_slope_bounds(np.array([lo_z, hi_z]),
                                                            np.array([v0, v0 + slope * (hi_z - lo_z)]),
                                                            bounds.lo, bounds.hi))


def _coordinate_descent(Z, G, y, w, off, lam, rho, centres, bounds, splines, bias, max_sweeps, check=None,
                        check_every=5, polish=None, polish_every=4):
    """Exact block coordinate descent on the squared-loss layer problem.

    Each block is one neuron's activation; its subproblem is the 1-D problem of
    :func:`_neuron_problem`, solved exactly and certified by :func:`tvspline.fit`. Every block step
    therefore lowers the layer objective (it is kept only if it does), and the iterates converge
    to the joint optimum (the coupling is smooth and the non-smooth terms separate by block).
    Sweeps stop when one no longer lowers the objective, when ``check(splines)`` (called every
    ``check_every`` sweeps: is the certified gap within the tolerance?) says so, or after
    ``max_sweeps``. Every ``polish_every`` sweeps, ``polish(splines)`` (the exact solution of the
    current run structure of all neurons jointly) replaces the iterate when it is lower: an
    active-set step that the sweeps then correct. Returns the splines and the number of sweeps.
    """
    from ..fitting import fit as fit_1d

    N, n = Z.shape
    d = y.shape[1]
    splines = list(splines)
    c0_funs = list(centres) if rho > 0 else [None] * n
    contrib = [_contribution(G, j, splines[j](Z[:, j])) for j in range(n)]
    out = off + bias[None, :] + np.sum(contrib, axis=0)

    def layer_objective():
        r = out - y
        val = 0.5 * float(np.sum(w[:, None] * r * r)) + lam * sum(f.tv2() for f in splines)
        if rho > 0:
            val += 0.5 * rho * sum(float(np.sum((f(np.unique(Z[:, j])) - c0_funs[j](np.unique(Z[:, j]))) ** 2))
                                   for j, f in enumerate(splines))
        return val

    obj = layer_objective()
    sweeps = 0
    for sweeps in range(1, max_sweeps + 1):
        for j in range(n):
            R = y - (out - contrib[j])
            x_j, t_j, a_j = _neuron_problem(j, Z, G, R, w, rho, c0_funs[j])
            sites = np.unique(x_j[a_j > 0])
            if sites.size == 0:
                new = _affine_within(splines[j], Z[:, j], bounds)
            elif sites.size == 1:  # one site: an affine function through the weighted mean (TV2 zero)
                value = float(np.sum(a_j * t_j) / np.sum(a_j))
                new = _affine_within(splines[j], sites, bounds)
                new = LinearSpline(new.knots, new.values + (value - float(new(sites[0]))))
            else:
                res = fit_1d(x_j, t_j, lam, bounds, weights=a_j)
                new = res.spline
                old_val = 0.5 * float(np.sum(a_j * (splines[j](x_j) - t_j) ** 2)) + lam * splines[j].tv2()
                if not res.objective < old_val:
                    continue
            c_new = _contribution(G, j, new(Z[:, j]))
            out += c_new - contrib[j]
            contrib[j] = c_new
            splines[j] = new
        prev, obj = obj, layer_objective()
        if not obj < prev:
            break
        if check is not None and sweeps % check_every == 0 and check(splines):
            break
        if polish is not None and sweeps % polish_every == 0:
            jumped = polish(splines)
            if jumped is not None:
                saved = (list(splines), list(contrib), out.copy())
                splines[:] = jumped
                contrib[:] = [_contribution(G, j, splines[j](Z[:, j])) for j in range(n)]
                out[:] = off + bias[None, :] + np.sum(contrib, axis=0)
                new_obj = layer_objective()
                if new_obj < obj:
                    obj = new_obj
                else:
                    splines[:], contrib[:], out[:] = saved[0], saved[1], saved[2]
    return splines, sweeps


def _contribution(G, j, values):
    """``G_ij * sigma_j(z_ij)`` for every sample: shape (N, d)."""
    if G.ndim == 2:
        return values[:, None] * G[:, j][None, :]
    return values[:, None] * G[:, j, :]


# ---------------------------------------------------------------------------------------------
# the public function

METHODS = ("auto", "coordinate", "clarabel")


def _failed(d, message, info, start):
    return LayerFitResult(splines=None, bias=np.zeros(d), objective=math.inf, data_fit=math.inf, tv2=math.inf,
                          prox=math.inf, lower_bound=-math.inf, gap=math.inf, status=Status.SOLVER_FAILED,
                          message=message, solver_info=info, time=time.perf_counter() - start)


def fit_layer(Z, G, y, lam, bounds=(-math.inf, math.inf), *, loss="squared", weights=None,
              offset=None, bias=True, knots="data", prox=None, tol=1e-7, certify=True,
              method="auto", init=None, max_sweeps=50, solver_settings=None):
    r"""Fit the activations of one layer jointly for fixed linear layers, with a certified gap.

    Parameters
    ----------
    Z : array_like, shape (N, n)
        Pre-activations of the layer's ``n`` neurons on ``N`` samples.
    G : array_like, shape (d, n) or (N, n, d)
        How each activation value enters the ``d`` outputs: ``o_i = sum_j G[:, j] sigma_j(Z[i, j])
        + b + offset_i`` (the output weight matrix of the last layer), or a sample-dependent
        ``G[i, j, :]`` (a linearised network).
    y : array_like, shape (N,) or (N, d)
        Targets; for ``loss="linear"`` the weights ``q`` of the linear objective ``sum_i <q_i, o_i>``.
    lam : float
        TV2 weight ``lambda >= 0`` (the same for every neuron).
    bounds : SlopeBounds or (lo, hi)
        Slope bounds of every activation.
    loss : {"squared", "absolute", "linear"}
    weights : array_like, shape (N,), optional
        Non-negative sample weights (squared and absolute losses).
    offset : array_like, shape (N, d), optional
        Fixed part of the output.
    bias : bool, default True
        Fit an output bias ``b`` (with the linear loss it must have ``sum_i q_i = 0``, else the
        problem is unbounded).
    knots : "data" or array_like
        ``"data"``: each neuron's distinct pre-activation values (the representer theorem: the
        optimum over all functions); an increasing array: a grid shared by all neurons; a list of
        arrays: one grid per neuron.
    prox : (rho, splines), optional
        Adds ``rho / 2 * sum_j ||sigma_j(tau_j) - splines[j](tau_j)||^2`` over the knots ``tau_j``
        (a trust region for linearised steps).
    tol : float
        Target relative gap for status ``OPTIMAL``.
    certify : bool, default True
        Refine (exact solution of the answer's run structure) and certify the answer. With
        ``False`` (inexact inner steps, e.g. linearised ones) the gap is NaN and the status
        ``INACCURATE``.
    method : {"auto", "coordinate", "clarabel"}
        ``"coordinate"``: block coordinate descent, one exact 1-D fit (:func:`tvspline.fit`) per
        neuron and sweep, then the exact solution of the run structure found; squared loss with
        ``knots="data"`` only. ``"clarabel"``: the whole layer as one sparse QP/LP. ``"auto"``:
        coordinate descent where it applies, else Clarabel. Either way the answer is certified by
        the same weak-duality bound.
    init : list of LinearSpline, optional
        Starting activations of the coordinate descent (default: the proximal centres if given,
        else zero functions).
    max_sweeps : int, default 50
        Sweeps of the coordinate descent (it stops earlier when a sweep no longer lowers the
        objective or, checked every 5 sweeps, when the certified gap is within ``tol``).
    solver_settings : dict, optional
        Extra Clarabel settings.

    Returns
    -------
    LayerFitResult

    Examples
    --------
    >>> import numpy as np
    >>> from tvspline.nn.layer_fit import fit_layer
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, 200)
    >>> Z = np.column_stack([x, -x, 0.5 * x])        # pre-activations of 3 neurons
    >>> V = np.array([[1.0, 0.5, -1.0]])              # output weights
    >>> y = np.abs(x) + 0.05 * rng.standard_normal(200)
    >>> res = fit_layer(Z, V, y, lam=0.01, bounds=(-1, 1))
    >>> res.success, res.gap <= 1e-7 * max(1, res.objective)
    (True, True)
    """
    start = time.perf_counter()
    Z, G, y, w, off, lam, rho_, N, n, d = _check_inputs(
        Z, G, y, loss, weights, offset, lam, 0.0 if prox is None else prox[0])
    bounds = as_bounds(bounds)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    coordinate_ok = loss == "squared" and isinstance(knots, str) and knots == "data"
    if method == "coordinate" and not coordinate_ok:
        raise ValueError(f"method='coordinate' needs loss='squared' and knots='data', got loss={loss!r}, "
                         f"knots={knots if isinstance(knots, str) else 'an array'!r}")
    prox_splines = None
    if prox is not None and rho_ > 0:
        prox_splines = list(prox[1])
        if len(prox_splines) != n:
            raise ValueError(f"prox needs one spline per neuron ({n}), got {len(prox_splines)}")
    rho = rho_ if prox_splines is not None else 0.0
    if loss == "linear" and bias and np.any(np.abs(y.sum(axis=0)) > 1e-12 * max(1.0, float(np.abs(y).sum()))):
        raise ValueError("with loss='linear' and bias=True the weights q must sum to 0 per output "
                         "(else the objective is unbounded in the bias); pass bias=False")
    if loss == "linear" and (math.isinf(bounds.lo) or math.isinf(bounds.hi)):
        raise ValueError(f"loss='linear' needs finite slope bounds (else unbounded), got {bounds.to_tuple()}")
    fit_bias = bias and loss != "linear"
    neurons = _build(Z, G, knots, prox_splines)
    A = _output_map(neurons, G, N, d)

    def evaluate(splines):
        o0 = _outputs(neurons, splines, G, off, np.zeros(d), N, d)
        b = _best_bias(o0, y, w, loss) if fit_bias else np.zeros(d)
        o = o0 + b[None, :]
        data = _data_term(o, y, w, loss)
        tv2 = float(sum(f.tv2() for f in splines))
        prox_val = 0.0
        if rho > 0:
            prox_val = 0.5 * rho * float(sum(np.sum((f(nr.knots) - nr.c0) ** 2)
                                              for nr, f in zip(neurons, splines)))
        return data + lam * tv2 + prox_val, data, tv2, prox_val, b, o

    best = None

    def consider(splines, strict_knots):
        """Keep the lowest objective (among ties within 1e-12, the fewest knots)."""
        nonlocal best
        if splines is None or not _within_bounds(splines, bounds):
            return
        ev = evaluate(splines)
        n_knots = sum(f.n_knots for f in splines)
        if best is None or ev[0] < best[0][0] - 1e-12 * abs(best[0][0]) or (
                ev[0] <= best[0][0] + 1e-12 * abs(best[0][0])
                and (n_knots < best[2] or (not strict_knots and n_knots == best[2]))):
            best = (ev, splines, n_knots)

    def certified():
        """Certified lower bound, gap and status of the best candidate."""
        (obj, *_, o), splines, _ = best
        lower = min(_certify(neurons, splines, A, y, w, off, fit_bias, o, loss, lam, rho, bounds, u_solver), obj)
        return lower, obj - lower, obj - lower <= tol * max(1.0, abs(obj))

    u_solver = None
    info = {}
    fallback = method == "auto"
    if method == "auto":
        method = "coordinate" if coordinate_ok else "clarabel"
    if method == "coordinate":
        if init is not None:
            start_splines = list(init)
            if len(start_splines) != n:
                raise ValueError(f"init needs one spline per neuron ({n}), got {len(start_splines)}")
        elif prox_splines is not None:
            start_splines = prox_splines
        else:
            start_splines = [LinearSpline([0.0, 1.0], [0.0, 0.0])] * n
        b0 = _best_bias(_outputs(neurons, start_splines, G, off, np.zeros(d), N, d), y, w, loss) if fit_bias \
            else np.zeros(d)
        def gap_closed(splines):
            ev = evaluate(splines)
            lower = _certify(neurons, splines, A, y, w, off, fit_bias, ev[5], loss, lam, rho, bounds, None)
            return ev[0] - lower <= tol * max(1.0, abs(ev[0]))

        cd_splines, sweeps = _coordinate_descent(Z, G, y, w, off, lam, rho, prox_splines, bounds, start_splines, b0,
                                                 int(max_sweeps), gap_closed if certify else None)
        info = {"name": "coordinate", "sweeps": sweeps, "knots": sum(nr.knots.size for nr in neurons)}
        consider(cd_splines, True)
        if certify:
            # the exact solution of the run structure found (all neurons jointly)
            consider(_solve_structure(neurons, cd_splines, G, y, w, off, lam, rho, bounds, fit_bias), False)
        if not certify or (best is not None and certified()[2]):
            fallback = False
    else:
        fallback = True
    if fallback:
        sol, cl_info, lay, cvals, svals = _clarabel_solve(neurons, A, G, y, w, off, loss, lam, rho, bounds, bias,
                                                          N, n, d, solver_settings)
        info = {**info, "fallback": cl_info} if info else cl_info
        if cvals is None and best is None:
            return _failed(d, f"Clarabel returned no solution ({sol.status})", info, start)
        if cvals is not None:
            # the solver's slopes as they are and snapped into runs
            for rtol in (0.0, 1e-10, 1e-8, 1e-6) if certify else (0.0,):  # rtol 0: raw slopes, clipped
                consider(_splines_from_solution(neurons, cvals, svals, bounds, rtol), True)
            if certify and loss == "squared":
                # the exact solution of each snapped candidate's run structure
                for rtol in (1e-10, 1e-8, 1e-6):
                    snapped = _splines_from_solution(neurons, cvals, svals, bounds, rtol)
                    consider(_solve_structure(neurons, snapped, G, y, w, off, lam, rho, bounds, fit_bias), False)
            if loss == "absolute":
                zs = np.asarray(sol.z, dtype=np.float64)
                u_solver = -zs[lay["row_r"]:lay["row_r"] + N * d]  # absolute loss: scale-free multipliers
    if best is None:
        return _failed(d, "no spline rebuilt from the solver's answer meets the slope bounds in floating point",
                       info, start)
    (obj, data, tv2, prox_val, b, o), splines, _ = best
    fields = dict(splines=[f.prune() for f in splines], bias=b, objective=obj, data_fit=data, tv2=tv2,
                  prox=prox_val, solver_info=info)
    if not certify:
        return LayerFitResult(**fields, lower_bound=-math.inf, gap=math.nan, status=Status.INACCURATE,
                              message="not certified (certify=False)", time=time.perf_counter() - start)
    lower, gap, ok = certified()
    thr = tol * max(1.0, abs(obj))
    if ok:
        status, msg = Status.OPTIMAL, f"optimal: certified gap {gap:.3e} <= {thr:.3e}"
    else:
        how = (f"coordinate descent, {info['sweeps']} sweeps" if info.get("name") == "coordinate"
               else f"Clarabel: {info.get('status')}")
        status, msg = Status.INACCURATE, (f"certified gap {gap:.3e} exceeds tol * max(1, |objective|) = "
                                          f"{thr:.3e} ({how})")
    return LayerFitResult(**fields, lower_bound=lower, gap=gap, status=status, message=msg,
                          time=time.perf_counter() - start)


def _clarabel_solve(neurons, A, G, y, w, off, loss, lam, rho, bounds, bias, N, n, d, solver_settings):
    """The layer problem as one Clarabel QP/LP on normalised values; the knot values and slopes."""
    # Solve on normalised values (targets of unit spread; the answer is rescaled and everything
    # is recomputed on the original data): Clarabel's tolerances are absolute.
    ys = 1.0
    if loss in ("squared", "absolute"):
        spread = float(np.max(np.abs(y - off))) if y.size else 0.0
        ys = spread if spread > 0 else 1.0
    bounds_s = SlopeBounds(bounds.lo / ys, bounds.hi / ys)
    lam_s = lam / ys if loss == "squared" else lam
    for nr in neurons:
        if nr.c0 is not None:
            nr.c0 = nr.c0 / ys
    # (rho/2) |c - c0|^2 = ys^2 (rho/2) |c_s - c0_s|^2 : the same factor as the data
    P, q, Amat, bvec, cones, lay = _assemble(neurons, A, y / ys, w, off / ys, loss, lam_s, rho, bounds_s,
                                             bias, N, d)
    for nr in neurons:
        if nr.c0 is not None:
            nr.c0 = nr.c0 * ys

    import clarabel

    from ..solvers.settings import clarabel_settings, time_limit

    settings = clarabel_settings(1e-9, time_limit=time_limit(lay["Kt"]), tol_ktratio=1e-9,
                                 **(solver_settings or {}))
    sol = clarabel.DefaultSolver(P, q, Amat, bvec, cones, settings).solve()
    info = {"name": "clarabel", "status": str(sol.status), "iterations": int(sol.iterations),
            "solve_time": float(sol.solve_time), "variables": lay["nvar"], "knots": lay["Kt"]}
    xs = np.asarray(sol.x, dtype=np.float64)
    if xs.size != lay["nvar"] or not np.all(np.isfinite(xs)):
        return sol, info, lay, None, None
    cvals = xs[lay["ic"]:lay["ic"] + lay["Kt"]] * ys
    svals = xs[lay["is_"]:lay["is_"] + lay["Kt"] - n] * ys
    return sol, info, lay, cvals, svals
