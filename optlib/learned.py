"""A learned optimizer (Andrychowicz et al. 2016): a small recurrent network turns each
gradient coordinate into a step, and its weights are trained by gradient descent on the loss
of the runs it makes.

The update rule U_Omega acts on every coordinate on its own, with its own state S_t:

    (u_1, u_2) = preprocess(g_t,i)               log-magnitude and sign (their appendix A)
    h1, c1 = LSTM_1((u_1, u_2); h1, c1)           two LSTM layers, ``hidden`` units each
    h2, c2 = LSTM_2(h1; h2, c2)
    step_i = 0.1 (w' h2 + b)                      theta_{t+1} = theta_t + step

Omega is every weight; S_t = (h1, c1, h2, c2) for each coordinate.
``learned(params)`` is an optlib Transform (NumPy or torch arrays), so ``minimize``
runs it like any optimizer. ``meta_train`` fits Omega with torch autograd on random
quadratics f(theta) = ||W theta - y||^2 (W 10 x 10, y, entries N(0, 1)), minimizing the
meta-loss sum_t f(theta_t) of runs of ``steps`` steps from theta_0 = 0, in windows of
``unroll`` steps (truncated backpropagation through time: one Adam step on Omega per
window, the state carried on but not differentiated through from one window to the next),
with the paper's first-order approximation: the gradient g_t is an input, no derivative
flows through it (no second derivatives of f).

torch is imported only by ``meta_train``; the trained weights the book uses ship in
``optlib/weights/learned_quadratic.npz`` (``load``), and the tests re-train them from the
seed.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, NamedTuple

import array_api_compat
import numpy as np

from .optimizers import Transform

__all__ = ["PARAM_NAMES", "Training", "init_params", "preprocess", "lstm_step", "learned",
           "quadratic_tasks", "quadratic_loss", "quadratic_grad", "unroll_losses", "meta_train",
           "save", "load", "TRAINED", "OUTPUT_SCALE", "LOG_CLIP"]

#: The weights of U_Omega, in order: two LSTM layers (input and recurrent weights stacked,
#: gates in torch's order i, f, g, o) and the linear read-out.
PARAM_NAMES = ("W1", "b1", "W2", "b2", "w_out", "b_out")
#: The step is 0.1 times the read-out, as in the paper.
OUTPUT_SCALE = 0.1
#: p of the preprocessing: log|g| / p and sign g when |g| >= e^-p, else (-1, e^p g).
LOG_CLIP = 10.0
#: The meta-gradient is clipped to this norm before each Adam step.
CLIP = 1.0
#: The shipped weights (see ``load``).
TRAINED = Path(__file__).with_name("weights") / "learned_quadratic.npz"


def init_params(hidden=20, seed=0):
    """Fresh weights: every entry uniform on [-1/sqrt(hidden), 1/sqrt(hidden)] as torch's
    LSTMCell and Linear start, except the read-out, which starts at zero (a first step of
    zero, so that training starts from a harmless optimizer). float32."""
    if int(hidden) != hidden or hidden < 1:
        raise ValueError(f"hidden must be a positive integer, got {hidden!r}")
    rng = np.random.default_rng(seed)
    bound = 1 / math.sqrt(hidden)

    def uniform(*shape):
        return rng.uniform(-bound, bound, shape).astype(np.float32)

    return {"W1": uniform(2 + hidden, 4 * hidden), "b1": uniform(4 * hidden),
            "W2": uniform(2 * hidden, 4 * hidden), "b2": uniform(4 * hidden),
            "w_out": np.zeros((hidden, 1), np.float32), "b_out": np.zeros(1, np.float32)}


def _hidden(params):
    _check_params(params)
    return params["w_out"].shape[0]


def _check_params(params):
    missing = [name for name in PARAM_NAMES if name not in params]
    if missing:
        raise ValueError(f"params must hold {list(PARAM_NAMES)}; missing {missing}")
    hidden = params["w_out"].shape[0]
    shapes = {"W1": (2 + hidden, 4 * hidden), "b1": (4 * hidden,), "W2": (2 * hidden,
              4 * hidden), "b2": (4 * hidden,), "w_out": (hidden, 1), "b_out": (1,)}
    for name, shape in shapes.items():
        if tuple(params[name].shape) != shape:
            raise ValueError(f"params[{name!r}] must have shape {shape} for {hidden} hidden "
                             f"units, got {tuple(params[name].shape)}")


def preprocess(g):
    """The paper's preprocessing of one gradient coordinate, shape g.shape + (2,):
    (log|g| / p, sign g) when |g| >= e^-p, else (-1, e^p g), with p = LOG_CLIP."""
    xp = array_api_compat.array_namespace(g)
    magnitude = xp.abs(g)
    large = magnitude >= math.exp(-LOG_CLIP)
    safe = xp.where(large, magnitude, xp.ones_like(g))
    first = xp.where(large, xp.log(safe) / LOG_CLIP, -xp.ones_like(g))
    second = xp.where(large, xp.sign(g), math.exp(LOG_CLIP) * g)
    return xp.stack([first, second], axis=-1)


def _sigmoid(xp, z):
    return 1 / (1 + xp.exp(-z))


def _cell(xp, inputs, h, c, W, b):
    """One LSTM cell: gates from [inputs, h] W + b in torch's order (i, f, g, o)."""
    z = xp.concat([inputs, h], axis=-1) @ W + b
    i, f, g, o = (z[..., k * h.shape[-1]:(k + 1) * h.shape[-1]] for k in range(4))
    c = _sigmoid(xp, f) * c + _sigmoid(xp, i) * xp.tanh(g)
    return _sigmoid(xp, o) * xp.tanh(c), c


def lstm_step(params, g, state):
    """U_Omega on every coordinate of g at once: (step, new state). ``state`` is
    (h1, c1, h2, c2), each of shape g.shape + (hidden,); params and g share a namespace."""
    xp = array_api_compat.array_namespace(g)
    h1, c1, h2, c2 = state
    h1, c1 = _cell(xp, preprocess(g), h1, c1, params["W1"], params["b1"])
    h2, c2 = _cell(xp, h1, h2, c2, params["W2"], params["b2"])
    step = OUTPUT_SCALE * (h2 @ params["w_out"] + params["b_out"])[..., 0]
    return step, (h1, c1, h2, c2)


class LearnedState(NamedTuple):
    count: int
    h1: Any
    c1: Any
    h2: Any
    c2: Any


def learned(params):
    """The learned optimizer with weights ``params`` as an optlib Transform.

        (step, S_{t+1}) = U_Omega(g_t, S_t),   S_0 = 0

    It acts coordinate by coordinate (``elementwise``), on NumPy arrays or torch
    tensors; the weights are cast to the parameters' type and dtype at ``init``.
    """
    hidden = _hidden(params)
    weights = {name: np.asarray(params[name]) for name in PARAM_NAMES}
    cast = {}

    def init(x):
        xp = array_api_compat.array_namespace(x)
        device = array_api_compat.device(x)
        cast.update({name: xp.asarray(value, dtype=x.dtype, device=device)
                     for name, value in weights.items()})
        zeros = xp.zeros((*x.shape, hidden), dtype=x.dtype, device=device)
        return LearnedState(0, zeros, zeros, zeros, zeros)

    def update(g, state, x):
        if tuple(g.shape) != tuple(x.shape):
            raise ValueError(f"gradient g must have the shape of the parameters "
                             f"{tuple(x.shape)}, got {tuple(g.shape)}")
        step, (h1, c1, h2, c2) = lstm_step(cast, g, state[1:])
        return step, LearnedState(state.count + 1, h1, c1, h2, c2)

    return Transform(init, update, None, elementwise=True)


# ---------------------------------------------------------------- the quadratics


def quadratic_tasks(n, dim=10, seed=0):
    """n random quadratics f(theta) = ||W theta - y||^2: W (n, dim, dim) and y (n, dim),
    entries N(0, 1), as in the paper's first experiment. ``seed`` is anything
    ``numpy.random.default_rng`` takes."""
    if int(n) != n or n < 1 or int(dim) != dim or dim < 1:
        raise ValueError(f"n and dim must be positive integers, got {n!r} and {dim!r}")
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, dim, dim)), rng.standard_normal((n, dim))


def quadratic_loss(W, y, theta):
    """||W theta - y||^2 for every task, shape theta.shape[:-1]."""
    r = (W @ theta[..., None])[..., 0] - y
    return (r * r).sum(axis=-1)


def quadratic_grad(W, y, theta):
    """2 W'(W theta - y) for every task."""
    r = (W @ theta[..., None])[..., 0] - y
    return 2 * (np.swapaxes(W, -1, -2) @ r[..., None])[..., 0]


def unroll_losses(tx, W, y, steps, theta0=None):
    """Run the transform on every quadratic at once from theta0 (default 0): the losses,
    shape (steps + 1, tasks). The transform must be elementwise."""
    if not getattr(tx, "elementwise", False):
        raise ValueError("tx must be elementwise: the tasks run side by side")
    theta = np.zeros(y.shape) if theta0 is None else np.array(theta0, dtype=float)
    state = tx.init(theta)
    losses = [quadratic_loss(W, y, theta)]
    with np.errstate(all="ignore"):
        for _ in range(int(steps)):
            step, state = tx.update(quadratic_grad(W, y, theta), state, theta)
            theta = theta + step
            losses.append(quadratic_loss(W, y, theta))
    return np.array(losses)


# ---------------------------------------------------------------- meta-training


class Training(NamedTuple):
    """The outcome of ``meta_train``: the chosen weights (those with the lowest validation
    loss), the iteration they come from, the weights at the snapshot iterations
    ({iteration: params}, iteration 0 the initial ones), the meta-loss of every iteration
    (the mean over its windows of sum_t f(theta_t) / unroll), the validation losses
    ((iteration, mean final loss) pairs), the settings, and the CPU seconds it took."""

    params: dict
    best_iteration: int
    snapshots: dict
    meta_loss: np.ndarray
    validation: np.ndarray
    config: dict
    seconds: float


def meta_train(iterations=200, batch=32, steps=100, unroll=20, lr=1e-2, hidden=20, dim=10,
               seed=0, snapshots=(), validate_every=10, validation_tasks=64, callback=None):
    """Fit the weights of U_Omega on random quadratics (see the module docstring).

    Each of the ``iterations`` draws ``batch`` fresh quadratics and runs them
    for ``steps`` steps from theta_0 = 0 in windows of ``unroll`` steps; each window
    ends with one Adam step on the window's meta-loss (1/unroll) sum_t mean_tasks
    f(theta_t), the first-order approximation detaching every gradient g_t. The
    meta-gradient is clipped to norm CLIP and Adam's learning rate decays from
    ``lr`` to 0 along a cosine. Every ``validate_every`` iterations the weights run
    on ``validation_tasks`` held-out quadratics; the weights with the lowest mean
    final loss there are the ones returned. float32, seeded by ``seed`` (the
    weights and every quadratic). ``callback(iteration, params)`` is called after
    each iteration. Returns a Training.
    """
    import torch

    for name, value in (("iterations", iterations), ("batch", batch), ("steps", steps),
                        ("unroll", unroll), ("validate_every", validate_every),
                        ("validation_tasks", validation_tasks)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if steps % unroll:
        raise ValueError(f"steps ({steps}) must be a whole number of windows of {unroll}")
    config = dict(iterations=int(iterations), batch=int(batch), steps=int(steps),
                  unroll=int(unroll), lr=float(lr), hidden=int(hidden), dim=int(dim),
                  seed=int(seed), validate_every=int(validate_every),
                  validation_tasks=int(validation_tasks))
    omega = {name: torch.tensor(value, requires_grad=True)
             for name, value in init_params(hidden, seed).items()}
    meta = torch.optim.Adam(omega.values(), lr=lr)
    rng = np.random.default_rng([seed, 1])
    W_val, y_val = quadratic_tasks(validation_tasks, dim, seed=[seed, 2])
    kept = {0: _numpy(omega)} if 0 in snapshots else {}
    best, losses, validation, start = (math.inf, None, 0), [], [], time.process_time()
    for iteration in range(1, int(iterations) + 1):
        for group in meta.param_groups:            # cosine decay of the meta learning rate
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * (iteration - 1) / iterations))
        W, y = (torch.tensor(a, dtype=torch.float32) for a in
                (rng.standard_normal((batch, dim, dim)), rng.standard_normal((batch, dim))))
        losses.append(_meta_iteration(torch, omega, meta, W, y, steps, unroll, hidden))
        params = _numpy(omega)
        if iteration in snapshots:
            kept[iteration] = params
        if iteration % validate_every == 0 or iteration == iterations:
            loss = float(unroll_losses(learned(params), W_val, y_val, steps)[-1].mean())
            validation.append((iteration, loss))
            if loss < best[0]:
                best = (loss, params, iteration)
        if callback is not None:
            callback(iteration, omega)
    return Training(best[1], best[2], kept, np.array(losses), np.array(validation), config,
                    time.process_time() - start)


def _meta_iteration(torch, omega, meta, W, y, steps, unroll, hidden):
    """One run of ``steps`` steps on the batch (W, y) in windows of ``unroll``, one Adam step
    on Omega per window: the mean window meta-loss."""
    batch, dim = y.shape
    theta = torch.zeros(batch, dim)
    state = tuple(torch.zeros(batch, dim, hidden) for _ in range(4))
    window_losses = []
    for _ in range(steps // unroll):
        loss = 0.0
        for _ in range(unroll):
            r = (W @ theta[..., None])[..., 0] - y
            g = (2 * (W.transpose(1, 2) @ r[..., None])[..., 0]).detach()
            step, state = lstm_step(omega, g, state)
            theta = theta + step
            r = (W @ theta[..., None])[..., 0] - y
            loss = loss + (r * r).sum(-1).mean()
        meta.zero_grad()
        (loss / unroll).backward()
        torch.nn.utils.clip_grad_norm_(omega.values(), CLIP)
        meta.step()
        window_losses.append(float(loss.detach()) / unroll)
        theta, state = theta.detach(), tuple(s.detach() for s in state)
    return float(np.mean(window_losses))


def _numpy(omega):
    return {name: value.detach().numpy().copy() for name, value in omega.items()}


# ---------------------------------------------------------------- weights on disk


def save(path, training):
    """Write a Training (weights, snapshots, losses, settings) to a compressed .npz."""
    arrays = {f"final/{name}": value for name, value in training.params.items()}
    for iteration, params in training.snapshots.items():
        arrays.update({f"snapshot{iteration:05d}/{name}": value
                       for name, value in params.items()})
    arrays["meta_loss"] = training.meta_loss.astype(np.float32)
    arrays["validation"] = training.validation
    arrays["best_iteration"] = np.array(training.best_iteration)
    arrays["config"] = np.array(json.dumps(training.config))
    np.savez_compressed(path, **arrays)


def load(path=TRAINED):
    """Read weights written by ``save``: a Training (``seconds`` is NaN)."""
    with np.load(path) as data:
        params = {name: data[f"final/{name}"] for name in PARAM_NAMES}
        iterations = sorted({int(key[8:13]) for key in data.files
                             if key.startswith("snapshot")})
        snapshots = {i: {name: data[f"snapshot{i:05d}/{name}"] for name in PARAM_NAMES}
                     for i in iterations}
        return Training(params, int(data["best_iteration"]), snapshots,
                        data["meta_loss"].astype(float), data["validation"],
                        json.loads(str(data["config"])), math.nan)
