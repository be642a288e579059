r"""tvspline's SplineNetwork against the gradient-based training of the Lipschitz paper (PyTorch peer).

Two protocols (``--protocol``):

- ``paper`` (default): the paper's own training of spline networks, as in the authors' public
  code (Ducotterd et al., JMLR 2024): ``[1, 10, 10, 10, 1]``, weights ``W = Björck(V)`` (``V /
  sqrt(mn)`` then 15 order-1 iterations, differentiated through), ``V`` He-uniform, biases
  uniform on ``+-1/sqrt(fan_in)``; each activation a spline with 101 values on [-0.5, 0.5]
  (started as the ReLU), slopes clamped into [-1, 1] inside the forward pass, and a learnable
  input scaling ``sigma(a x) / a``; loss = batch mean of the squared error + 1e-7 TV2; Adam with
  learning rates 2e-3 (weights, biases), 5e-5 (spline values), 5e-4 (scalings); batches of 10,
  1000 epochs. Writes ``torch_peer_runs.{csv,md}``, the ``spline (Adam, torch)`` rows of
  ``benchmarks/lipschitz_nets.py``.
- ``objective``: the comparison below, on tvspline's training objective.

Both methods minimise the same training objective over the same architecture
``widths = [1, 10, 10, 10, 1]`` (affine layers with biases, one linear-spline activation per
hidden neuron, orthonormal weights, activation slopes in [-1, 1]):

.. math::

    J = \tfrac12 \sum_{i=1}^{N} (f(x_i) - y_i)^2 + \lambda \sum_{l, n} \mathrm{TV}^{(2)}(\sigma_{l,n}),
    \qquad \mathrm{TV}^{(2)}(\sigma) = \sum_k |s_{k+1} - s_k|,

with :math:`s_k` the slopes of the piecewise-linear :math:`\sigma`.

(a) ``tvspline``: :class:`tvspline.nn.SplineNetwork` (``weights="orthonormal"``,
    ``activation="spline"``, ``bounds=(-1, 1)``): projected Adam weight steps with a decrease test,
    then activation steps (exact QP with knots at the data for the last hidden layer, linearised
    trust-region QPs for the earlier ones). Iterations = outer iterations.

(b) ``torch-adam``: our own PyTorch re-implementation of the training used by Ducotterd et al.
    (JMLR 2024) with their DeepSplines / LipDeepSpline modules (written from the paper's
    description, no code copied):

    - each hidden neuron has a linear spline given by its values ``c_k`` at ``K`` uniform knots
      ``t_k = -R + k T`` (``T = 2R / (K - 1)``; defaults ``K = 101``, ``R = 2``, so ``T = 0.04``),
      extended linearly beyond the end knots with the end slopes;
    - after every Adam step, the slopes ``(c_{k+1} - c_k) / T`` are clipped into [-1, 1] and the
      values re-integrated from them, then shifted so that their mean is unchanged (the projection
      of the DeepSplines ``slope_clipping``; here applied to the parameters after each step, so
      the iterate is always feasible);
    - the weights are parametrised by free matrices ``V_l`` and used as ``W_l = Bjorck(V_l)``
      inside the forward pass (differentiable; ``V_l`` scaled by its spectral norm, which is
      detached since the polar factor does not depend on it, then ``--bjorck-iters`` order-1
      iterations ``W <- W (3/2 I - 1/2 W^T W)``; default 25). After training, the weights are
      orthonormalised once more with Björck iterations run to convergence (the usual
      "more iterations at test time"), and *that* network is evaluated and checked;
    - loss = the objective J above (sum, not mean, of squared residuals; TV2 = sum of the absolute
      second differences of ``c`` divided by ``T``), full batch, Adam (``--lr``, default 1e-3 for
      every parameter, betas (0.9, 0.999)), ``--epochs`` epochs (default 2000; the rate is multiplied by ``--lr-decay`` = 0.1 at 50 % and 75 % of them, MultiStepLR), stopped earlier only
      if the best objective improved by less than ``--stall-tol`` (relative) over the last
      ``--stall-window`` epochs.

Both start from the *same* network: tvspline's initial orthonormal weights for the seed (the
polar factor of a Gaussian matrix), zero biases and the absolute value as every activation.

Every final objective is recomputed here in numpy from the returned network, in the same way for
both: the weight matrices, the biases and each activation as a :class:`tvspline.LinearSpline`
(for the peer: knots = its grid, values = its ``c``). Reported: the training objective (and its
data and TV2 terms), the test MSE on the 10 000-point grid, the Lipschitz bound
``prod ||W_l||_2 x prod max |slope|``, the slope-bound violation, the orthonormality error
``max |W W^T - I|`` (or ``W^T W``, the smaller Gram), the wall time and the iteration count, and
objective-against-wall-time curves (tvspline per outer iteration, the peer every
``--record-every`` epochs).

Fairness: every library runs single-threaded (``OPENBLAS_NUM_THREADS = OMP_NUM_THREADS =
MKL_NUM_THREADS = NUMBA_NUM_THREADS = 1`` are set before numpy is imported, and
``torch.set_num_threads(1)``), in float64 (``torch.set_default_dtype(torch.float64)``), one
method at a time; both are warmed up (Numba JIT, torch kernels) before the timed runs.

Torch is an optional benchmark dependency, never a library dependency::

    pip install torch==2.13.0

Usage::

    python benchmarks/torch_peer.py [--kinds f1 f2 f3] [--seeds 0 1] [--epochs 2000] [--max-iter 5]
                                    [--lam 1e-3] [--lr 1e-3] [--knots 101] [--range 2]
                                    [--name torch_peer] [--out-dir benchmarks/results]

Writes ``benchmarks/results/<name>.csv``, ``<name>.md`` and ``<name>.png``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
WIDTHS = [1, 10, 10, 10, 1]
SLOPE_LO, SLOPE_HI = -1.0, 1.0
ORTH_TOL = 1e-6          # orthonormality error above which the row is flagged
BJORCK_FINAL_TOL = 1e-14  # convergence of the post-training Björck iterations (max |Gram - I|)
BJORCK_FINAL_MAX = 500

try:
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("benchmarks/torch_peer.py needs PyTorch (an optional benchmark dependency, not a "
             "tvspline dependency). Install the CPU build with:\n    pip install torch==2.13.0")

import tvspline  # noqa: E402
from tvspline import LinearSpline  # noqa: E402
from tvspline.datasets import lipschitz_regression  # noqa: E402
from tvspline.nn import SplineNetwork  # noqa: E402

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


# ------------------------------------------------------------------------ common numpy evaluation
def evaluate(Ws, bs, acts, x, y, lam):
    """Objective, data term, TV2 and predictions of a network given as plain numpy data.

    ``Ws[l]`` has shape ``(n_{l+1}, n_l)``, ``acts[l][j]`` is a :class:`LinearSpline`.
    """
    h = np.asarray(x, dtype=np.float64)[:, None]
    for l, splines in enumerate(acts):
        z = h @ Ws[l].T + bs[l]
        h = np.column_stack([f(z[:, j]) for j, f in enumerate(splines)])
    out = (h @ Ws[-1].T + bs[-1])[:, 0]
    if y is None:
        return out
    r = out - y
    data = 0.5 * float(r @ r)
    tv2 = float(sum(f.tv2() for splines in acts for f in splines))
    return data + lam * tv2, data, tv2, out


def certificates(Ws, acts):
    """Lipschitz bound, largest |slope|, slope-bound violation and orthonormality error."""
    bound = 1.0
    orth = 0.0
    for W in Ws:
        bound *= float(np.linalg.norm(W, 2))
        G = W @ W.T if W.shape[0] <= W.shape[1] else W.T @ W
        orth = max(orth, float(np.max(np.abs(G - np.eye(G.shape[0])))))
    max_slope = 0.0
    violation = 0.0
    for splines in acts:
        layer_max = max(float(np.max(np.abs(f.slopes))) for f in splines)
        bound *= layer_max
        max_slope = max(max_slope, layer_max)
        for f in splines:
            violation = max(violation, float(np.max(f.slopes)) - SLOPE_HI, SLOPE_LO - float(np.min(f.slopes)))
    return bound, max_slope, max(violation, 0.0), orth


# ----------------------------------------------------------------------------- (a) tvspline
def run_tvspline(data, seed, lam, max_iter):
    net = SplineNetwork(WIDTHS, (SLOPE_LO, SLOPE_HI), weights="orthonormal", activation="spline", lam=lam,
                        random_state=seed)
    t0 = time.perf_counter()
    net.fit(data.x_train[:, None], data.y_train, max_iter=max_iter, progress=False)
    wall = time.perf_counter() - t0
    Ws, bs, acts = net.weights, net.biases, net.activations
    obj, dat, tv2, _ = evaluate(Ws, bs, acts, data.x_train, data.y_train, lam)
    h = net.history
    return {
        "Ws": Ws, "bs": bs, "acts": acts, "objective": obj, "data": dat, "tv2": tv2, "wall": wall,
        "iterations": len(h["objective"]) - 1, "reported": float(h["objective"][-1]),
        "curve": (np.asarray(h["time"], dtype=float), np.asarray(h["objective"], dtype=float)),
        "note": f"{len(h['objective']) - 1} outer its (max {max_iter}); knots at data",
        "lipschitz_own": net.lipschitz_bound(),
    }


# --------------------------------------------------------------------------- (b) torch peer
def bjorck(V, n_iter=None, tol=None):
    """Björck-Bowie order-1 iterations towards the polar factor of ``V`` (differentiable)."""
    scale = torch.linalg.matrix_norm(V.detach(), ord=2)
    W = V / scale
    wide = W.shape[0] < W.shape[1]
    if wide:
        W = W.T
    eye = torch.eye(W.shape[1], dtype=W.dtype)
    k = 0
    while True:
        G = W.T @ W
        if tol is not None and float(torch.max(torch.abs(G - eye))) <= tol:
            break
        if (n_iter is not None and k >= n_iter) or (tol is not None and k >= BJORCK_FINAL_MAX):
            break
        W = W @ (1.5 * eye - 0.5 * G)
        k += 1
    return W.T if wide else W


def clip_slopes_(c, T):
    """Project each row of values ``c`` (neurons x knots) onto slopes in [-1, 1], keeping its mean."""
    with torch.no_grad():
        s = torch.clamp((c[:, 1:] - c[:, :-1]) / T, SLOPE_LO, SLOPE_HI)
        new = torch.zeros_like(c)
        new[:, 1:] = T * torch.cumsum(s, dim=1)
        new += (c - new).mean(dim=1, keepdim=True)
        c.copy_(new)


class GridSplines(torch.nn.Module):
    """``n`` linear splines on a shared uniform grid, linear extension with the end slopes."""

    def __init__(self, n, grid, init_values):
        super().__init__()
        self.register_buffer("grid", grid)
        self.T = float(grid[1] - grid[0])
        self.lo = float(grid[0])
        self.K = grid.numel()
        self.c = torch.nn.Parameter(init_values.repeat(n, 1).clone())
        self.offsets = torch.arange(n) * self.K

    def forward(self, z):  # z: (N, n)
        u = (z - self.lo) / self.T
        k = torch.clamp(torch.floor(u.detach()), 0, self.K - 2).long()
        frac = u - k  # outside the grid: < 0 or > 1, i.e. linear extension
        flat = self.c.reshape(-1)
        idx = k + self.offsets
        c0 = flat[idx]
        c1 = flat[idx + 1]
        return c0 + frac * (c1 - c0)

    def tv2(self):
        return torch.sum(torch.abs(self.c[:, 2:] - 2 * self.c[:, 1:-1] + self.c[:, :-2])) / self.T


class PeerNet(torch.nn.Module):
    def __init__(self, Ws0, grid, bjorck_iters):
        super().__init__()
        self.V = torch.nn.ParameterList([torch.nn.Parameter(torch.tensor(W)) for W in Ws0])
        self.b = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(W.shape[0])) for W in Ws0])
        absval = torch.abs(grid)  # tvspline's default initial activation (slopes -1, +1)
        self.acts = torch.nn.ModuleList([GridSplines(W.shape[0], grid, absval) for W in Ws0[:-1]])
        self.bjorck_iters = bjorck_iters

    def weights(self, tol=None):
        if tol is None:
            return [bjorck(V, n_iter=self.bjorck_iters) for V in self.V]
        return [bjorck(V, tol=tol) for V in self.V]

    def forward(self, x, Ws=None):
        Ws = self.weights() if Ws is None else Ws
        h = x
        for l, act in enumerate(self.acts):
            h = act(h @ Ws[l].T + self.b[l])
        return h @ Ws[-1].T + self.b[-1]

    def tv2(self):
        return sum(a.tv2() for a in self.acts)


def run_torch(data, seed, lam, Ws0, args):
    torch.manual_seed(seed)
    grid = torch.linspace(-args.range, args.range, args.knots)
    model = PeerNet(Ws0, grid, args.bjorck_iters)
    for a in model.acts:
        clip_slopes_(a.c, a.T)
    x = torch.tensor(data.x_train)[:, None]
    y = torch.tensor(data.y_train)[:, None]
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    milestones = [int(f * args.epochs) for f in args.lr_decay_at]
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=args.lr_decay)
    times, objs = [], []
    best_hist = []
    t0 = time.perf_counter()
    epoch = 0
    stalled = False
    for epoch in range(1, args.epochs + 1):
        opt.zero_grad(set_to_none=True)
        r = model(x) - y
        loss = 0.5 * torch.sum(r * r) + lam * model.tv2()
        loss.backward()
        value = float(loss.detach())
        if epoch == 1 or (epoch - 1) % args.record_every == 0:
            # objective of the iterate before this step (feasible: clipped after the previous one)
            times.append(time.perf_counter() - t0)
            objs.append(value)
        best_hist.append(min(value, best_hist[-1]) if best_hist else value)
        opt.step()
        sched.step()
        for a in model.acts:
            clip_slopes_(a.c, a.T)
        w = args.stall_window
        if w > 0 and epoch > w and best_hist[-w - 1] - best_hist[-1] <= args.stall_tol * max(1.0, abs(best_hist[-1])):
            stalled = True
            break
    with torch.no_grad():
        r = model(x) - y
        value = float(0.5 * torch.sum(r * r) + lam * model.tv2())
        Ws_train = [W.numpy().copy() for W in model.weights()]
        Ws_final = [W.numpy().copy() for W in model.weights(tol=BJORCK_FINAL_TOL)]
    wall = time.perf_counter() - t0
    times.append(wall)
    objs.append(value)
    g = grid.numpy()
    bs = [b.detach().numpy().copy() for b in model.b]
    acts = [[LinearSpline(g, row) for row in a.c.detach().numpy()] for a in model.acts]
    obj, dat, tv2, _ = evaluate(Ws_final, bs, acts, data.x_train, data.y_train, lam)
    orth_train = certificates(Ws_train, [])[3]
    return {
        "Ws": Ws_final, "bs": bs, "acts": acts, "objective": obj, "data": dat, "tv2": tv2, "wall": wall,
        "iterations": epoch, "reported": value, "curve": (np.asarray(times), np.asarray(objs)),
        "note": (f"{epoch} epochs{' (stalled)' if stalled else ''}; grid {args.knots} knots on "
                 f"[-{args.range:g}, {args.range:g}]; training-time Bjorck orth. err {orth_train:.1e}"),
        "orth_train": orth_train,
    }


# ------------------------------------------------------------- (c) the paper's training protocol
PAPER = dict(epochs=1000, batch_size=10, lr_weights=2e-3, lr_coeffs=5e-5, lr_scaling=5e-4, size=101,
             range=0.5, lam=1e-7, bjorck_iters=15)


def bjorck_paper(V, iters):
    """The paper's weight map: ``V / sqrt(mn)`` then ``iters`` order-1 Björck iterations."""
    W = V / math.sqrt(V.shape[0] * V.shape[1])
    for _ in range(iters):
        W = 1.5 * W - 0.5 * W @ (W.T @ W)
    return W


def clip_slopes(c, T):
    """Slopes of the rows of ``c`` clamped into [-1, 1], re-integrated, mean kept (differentiable)."""
    d = torch.clamp(c[:, 1:] - c[:, :-1], -T, T)
    new = torch.cat([torch.zeros_like(c[:, :1]), torch.cumsum(d, dim=1)], dim=1)
    return new + torch.mean(c - new, dim=1, keepdim=True)


class PaperSplines(torch.nn.Module):
    """One spline per neuron on a uniform grid with a learnable input scaling ``sigma(a x) / a``."""

    def __init__(self, n, size, range_):
        super().__init__()
        grid = torch.linspace(-range_, range_, size)
        self.register_buffer("grid", grid)
        self.T = 2.0 * range_ / (size - 1)
        self.lo = -range_
        self.K = size
        self.c = torch.nn.Parameter(torch.relu(grid).repeat(n, 1).clone())
        self.scale = torch.nn.Parameter(torch.ones(n))
        self.offsets = torch.arange(n) * size

    def lipschitz_values(self):
        return clip_slopes(self.c, self.T)

    def forward(self, z):
        c = self.lipschitz_values()
        x = z * self.scale
        u = (x - self.lo) / self.T
        k = torch.clamp(torch.floor(u.detach()), 0, self.K - 2).long()
        frac = u - k  # beyond the grid: linear extension with the end slopes
        flat = c.reshape(-1)
        idx = k + self.offsets
        out = flat[idx] + frac * (flat[idx + 1] - flat[idx])
        return out / self.scale

    def tv2(self):
        c = self.lipschitz_values()
        return torch.sum(torch.abs(c[:, 2:] - 2 * c[:, 1:-1] + c[:, :-2])) / self.T

    def as_splines(self):
        """Each activation as a :class:`LinearSpline`: knots ``grid / a``, values ``c / a``."""
        c = self.lipschitz_values().detach().numpy()
        a = self.scale.detach().numpy()
        g = self.grid.numpy()
        out = []
        for j in range(c.shape[0]):
            knots, vals = g / a[j], c[j] / a[j]
            if a[j] < 0:
                knots, vals = knots[::-1], vals[::-1]
            out.append(LinearSpline(knots, vals))
        return out


class PaperNet(torch.nn.Module):
    def __init__(self, widths, gen):
        super().__init__()
        Vs, bs = [], []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            bound_w, bound_b = math.sqrt(6.0 / n_out), 1.0 / math.sqrt(n_in)  # He-uniform (fan out)
            Vs.append(torch.nn.Parameter((torch.rand(n_out, n_in, generator=gen) * 2 - 1) * bound_w))
            bs.append(torch.nn.Parameter((torch.rand(n_out, generator=gen) * 2 - 1) * bound_b))
        self.V = torch.nn.ParameterList(Vs)
        self.b = torch.nn.ParameterList(bs)
        self.acts = torch.nn.ModuleList([PaperSplines(w, PAPER["size"], PAPER["range"]) for w in widths[1:-1]])

    def weights(self):
        return [bjorck_paper(V, PAPER["bjorck_iters"]) for V in self.V]

    def forward(self, x):
        Ws = self.weights()
        h = x
        for l, act in enumerate(self.acts):
            h = act(h @ Ws[l].T + self.b[l])
        return h @ Ws[-1].T + self.b[-1]


def run_paper(data, seed, epochs):
    """The paper's training of a spline network: mini-batch Adam, Björck weights, clipped slopes."""
    gen = torch.Generator().manual_seed(seed)
    model = PaperNet(WIDTHS, gen)
    opt = torch.optim.Adam([
        {"params": list(model.V) + list(model.b), "lr": PAPER["lr_weights"]},
        {"params": [a.c for a in model.acts], "lr": PAPER["lr_coeffs"]},
        {"params": [a.scale for a in model.acts], "lr": PAPER["lr_scaling"]},
    ])
    x = torch.tensor(data.x_train)[:, None]
    y = torch.tensor(data.y_train)[:, None]
    rng = np.random.default_rng(seed)
    B = PAPER["batch_size"]
    nb = x.shape[0] // B
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(epochs):
        perm = torch.from_numpy(rng.permutation(x.shape[0])[:nb * B].reshape(nb, B))
        for idx in perm:
            opt.zero_grad(set_to_none=True)
            r = model(x[idx]) - y[idx]
            loss = torch.sum(r * r) / B + PAPER["lam"] * sum(a.tv2() for a in model.acts)
            loss.backward()
            opt.step()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    with torch.no_grad():
        Ws = [W.numpy().copy() for W in model.weights()]
        bs = [b.numpy().copy() for b in model.b]
        acts = [a.as_splines() for a in model.acts]
    return Ws, bs, acts, wall, cpu


def paper_main(args, command):
    """Rows ``torch_peer_runs.csv``: the paper's spline training on the targets and seeds asked."""
    sys.path.insert(0, os.path.dirname(HERE))
    from benchmarks._provenance import provenance

    prov = provenance()
    rows = []
    for kind in args.kinds:
        for seed in args.seeds:
            data = lipschitz_regression(kind, n_train=1000, n_test=10_000, random_state=seed)
            Ws, bs, acts, wall, cpu = run_paper(data, seed, args.epochs)
            bound, max_slope, viol, orth = certificates(Ws, acts)
            pred_test = evaluate(Ws, bs, acts, data.x_test, None, 0.0)
            pred_train = evaluate(Ws, bs, acts, data.x_train, None, 0.0)
            row = dict(kind=kind, seed=seed, method="spline (Adam, torch)",
                       test_mse=float(np.mean((pred_test - data.y_test) ** 2)),
                       train_mse=float(np.mean((pred_train - data.y_train) ** 2)), lipschitz_bound=bound,
                       fd_slope=float(np.max(np.abs(np.diff(pred_test)) / np.diff(data.x_test))), time=wall,
                       cpu_time=cpu, iterations=args.epochs, slope_violation=viol, **prov)
            rows.append(row)
            print(row, flush=True)
            _write_paper_rows(rows, os.path.join(args.out_dir, args.name + "_runs"), command, prov)
    print(f"wrote {os.path.join(args.out_dir, args.name)}_runs.csv and .md")


def _write_paper_rows(rows, base, command, prov):
    """``base.csv`` and ``base.md`` with the rows finished so far (rewritten after every run)."""
    from benchmarks._provenance import write_results

    write_results(base, rows, f"Command: `{command}` (tvspline {prov['version']}, commit {prov['commit']}, "
                              f"{prov['date']}; torch {torch.__version__})")


# ----------------------------------------------------------------------------------- driver
def warm_up(args):
    """JIT-compile tvspline's Numba kernels and touch torch's kernels outside the timed runs."""
    d = lipschitz_regression("f1", n_train=60, n_test=10, random_state=123)
    SplineNetwork(WIDTHS, (SLOPE_LO, SLOPE_HI), lam=args.lam, random_state=0).fit(
        d.x_train[:, None], d.y_train, max_iter=2, progress=False)
    ns = argparse.Namespace(**{**vars(args), "epochs": 5, "stall_window": 10 ** 9})
    Ws0 = SplineNetwork(WIDTHS, (SLOPE_LO, SLOPE_HI), lam=args.lam, random_state=0).weights
    run_torch(d, 0, args.lam, Ws0, ns)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kinds", nargs="+", default=["f1", "f2", "f3"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    p.add_argument("--lam", type=float, default=1e-3, help="TV2 weight, the same for both methods")
    p.add_argument("--max-iter", type=int, default=5, help="outer iterations of SplineNetwork.fit")
    p.add_argument("--epochs", type=int, default=2000, help="full-batch Adam epochs of the peer")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of the peer (all parameters)")
    p.add_argument("--lr-decay", type=float, default=0.1, help="the peer's learning rate is multiplied by this ...")
    p.add_argument("--lr-decay-at", type=float, nargs="*", default=[0.5, 0.75],
                   help="... at these fractions of --epochs (MultiStepLR)")
    p.add_argument("--knots", type=int, default=101, help="uniform grid size of the peer's splines")
    p.add_argument("--range", type=float, default=2.0, help="the peer's grid is [-range, range]")
    p.add_argument("--bjorck-iters", type=int, default=25, help="Björck iterations in the peer's forward pass")
    p.add_argument("--stall-window", type=int, default=0,
                   help="stop the peer when its best objective improved by <= --stall-tol (relative) over "
                        "this many epochs; 0 (default) = off, run all --epochs")
    p.add_argument("--stall-tol", type=float, default=1e-7)
    p.add_argument("--record-every", type=int, default=50, help="epochs between the peer's curve points")
    p.add_argument("--name", default="torch_peer")
    p.add_argument("--out-dir", default=RESULTS, help="directory of the result files")
    p.add_argument("--protocol", choices=("paper", "objective"), default="paper",
                   help="'paper': the Lipschitz paper's training of spline networks (mini-batch Adam, "
                        "batch 10, 1000 epochs), rows for benchmarks/lipschitz_nets.py; 'objective': "
                        "full-batch Adam on tvspline's objective against SplineNetwork.fit")
    args = p.parse_args(argv)
    command = "python benchmarks/torch_peer.py " + " ".join(sys.argv[1:] if argv is None else argv)
    os.makedirs(args.out_dir, exist_ok=True)
    if args.protocol == "paper":
        if "--epochs" not in (sys.argv[1:] if argv is None else argv):
            args.epochs = PAPER["epochs"]
        paper_main(args, command)
        return

    load_before = os.getloadavg()
    warm_up(args)
    rows, curves = [], {}
    for kind in args.kinds:
        for seed in args.seeds:
            data = lipschitz_regression(kind, n_train=1000, n_test=10_000, random_state=seed)
            Ws0 = SplineNetwork(WIDTHS, (SLOPE_LO, SLOPE_HI), lam=args.lam, random_state=seed).weights
            init_acts = [[LinearSpline([-1.0, 0.0, 1.0], [1.0, 0.0, 1.0])] * w for w in WIDTHS[1:-1]]
            obj0 = evaluate(Ws0, [np.zeros(w) for w in WIDTHS[1:]], init_acts, data.x_train, data.y_train,
                            args.lam)[0]
            for method in ("tvspline", "torch-adam"):
                print(f"[{kind} seed {seed}] {method} ...", flush=True)
                if method == "tvspline":
                    res = run_tvspline(data, seed, args.lam, args.max_iter)
                else:
                    res = run_torch(data, seed, args.lam, Ws0, args)
                bound, max_slope, viol, orth = certificates(res["Ws"], res["acts"])
                pred = evaluate(res["Ws"], res["bs"], res["acts"], data.x_test, None, args.lam)
                mse = float(np.mean((pred - data.y_test) ** 2))
                flags = []
                if orth > ORTH_TOL:
                    flags.append(f"ORTHONORMALITY VIOLATED ({orth:.1e} > {ORTH_TOL:g})")
                if viol > 1e-12:
                    flags.append(f"SLOPE BOUND VIOLATED by {viol:.1e}")
                row = {
                    "kind": kind, "seed": seed, "method": method, "lam": args.lam,
                    "initial_objective": obj0, "objective": res["objective"], "data_term": res["data"],
                    "tv2": res["tv2"], "objective_reported": res["reported"], "test_mse": mse,
                    "lipschitz_bound": bound, "max_abs_slope": max_slope, "slope_violation": viol,
                    "orth_error": orth, "wall_time_s": res["wall"], "iterations": res["iterations"],
                    "note": "; ".join([res["note"]] + flags),
                }
                rows.append(row)
                curves[(kind, seed, method)] = res["curve"]
                print(f"    objective {row['objective']:.6g} (own {row['objective_reported']:.6g}), test MSE "
                      f"{mse:.3e}, Lip {bound:.12g}, orth {orth:.1e}, time {res['wall']:.1f} s, "
                      f"{res['iterations']} its", flush=True)
    load_after = os.getloadavg()
    write_outputs(args, command, rows, curves, load_before, load_after)


def write_outputs(args, command, rows, curves, load_before, load_after):
    base = os.path.join(args.out_dir, args.name)
    fields = list(rows[0])
    with open(base + ".csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)

    lines = [
        f"Command: `{command}`",
        "",
        f"tvspline {tvspline.__version__}, torch {torch.__version__}, numpy {np.__version__}, Python "
        f"{platform.python_version()}; single-threaded (OPENBLAS/OMP/MKL/NUMBA_NUM_THREADS=1, "
        f"torch.set_num_threads(1)), float64. Load average (1, 5, 15 min) before: "
        f"{', '.join(f'{v:.2f}' for v in load_before)}; after: {', '.join(f'{v:.2f}' for v in load_after)}.",
        "",
        f"Objective = 0.5 * sum (f(x_i) - y_i)^2 + lam * total TV2, lam = {args.lam:g}, 1000 training "
        "points, recomputed in numpy from each returned network; test MSE on the 10 000-point grid. "
        f"Peer: Adam lr {args.lr:g}, {args.epochs} epochs max, grid of {args.knots} knots on "
        f"[-{args.range:g}, {args.range:g}], {args.bjorck_iters} Björck iterations in the forward pass.",
        "",
        "| kind | seed | method | initial obj. | final objective | data term | TV2 | test MSE | "
        "Lipschitz bound | orth. error | slope viol. | wall time (s) | iterations |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['kind']} | {r['seed']} | {r['method']} | {r['initial_objective']:.4g} | {r['objective']:.6g} | "
            f"{r['data_term']:.4g} | {r['tv2']:.4g} | {r['test_mse']:.3e} | {r['lipschitz_bound']:.12f} | "
            f"{r['orth_error']:.1e} | {r['slope_violation']:.1e} | {r['wall_time_s']:.1f} | {r['iterations']} |"
        )
    lines += ["", "Notes per row:", ""]
    for r in rows:
        lines.append(f"- {r['kind']} seed {r['seed']} {r['method']}: {r['note']}")
    # summary: ratio of final objectives
    lines += ["", "| kind | seed | objective torch-adam / tvspline | time torch-adam / tvspline |",
              "| --- | ---: | ---: | ---: |"]
    by = {(r["kind"], r["seed"], r["method"]): r for r in rows}
    for kind in args.kinds:
        for seed in args.seeds:
            a, b = by.get((kind, seed, "tvspline")), by.get((kind, seed, "torch-adam"))
            if a and b:
                lines.append(f"| {kind} | {seed} | {b['objective'] / a['objective']:.3g} | "
                             f"{b['wall_time_s'] / a['wall_time_s']:.3g} |")
    with open(base + ".md", "w") as fh:
        fh.write("\n".join(lines) + "\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = list(args.kinds)
    fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 4), squeeze=False)
    styles = ["-", "--", ":", "-."]
    for ax, kind in zip(axes[0], kinds):
        for si, seed in enumerate(args.seeds):
            for method, color in (("tvspline", "C0"), ("torch-adam", "C3")):
                c = curves.get((kind, seed, method))
                if c is None:
                    continue
                ax.plot(c[0], c[1], styles[si % len(styles)], color=color,
                        marker="o" if method == "tvspline" else None, ms=3, label=f"{method}, seed {seed}")
        ax.set_yscale("log")
        ax.set_xlabel("wall time (s)")
        ax.set_ylabel("training objective")
        ax.set_title(f"{kind}, lam = {args.lam:g}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(base + ".png", dpi=120)
    print(f"wrote {base}.csv, {base}.md, {base}.png")


if __name__ == "__main__":
    main()
