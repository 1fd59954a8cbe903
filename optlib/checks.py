"""Tests of an optimizer's implementation, and optimizers with one planted bug each.

Four kinds of test, each a function that returns a measured discrepancy:

- parity, step for step: along a reference's path (torch.optim's, say) feed the
  same points and gradients to the transform and compare each step with the
  reference's (``step_errors``); comparing whole trajectories instead
  (``path_errors``) measures the chaos of the dynamics as much as the rule;
- invariances: how far the steps move when the gradients are multiplied by c
  (``scale_error``), their coordinates permuted (``permutation_error``) or
  rotated (``rotation_error``), from what the rule promises;
- exact facts: Adam's step on a line is exactly -lr sign(g) (``line_error``);
  heavy ball's error on a quadratic follows the closed form (``closed_form_error``).

``BUGS`` holds transforms with one planted bug each, for the chapter on testing to
catch (or not) with the tests above.

    errors = step_errors(ol.adam(0.01), path, grad)       # path: the reference's points
"""

from __future__ import annotations

import numpy as np

from . import rates
from .optimizers import AdamState, SGDState, Transform, adam, chain, clip_by_value, sgd

__all__ = ["parity_problem", "torch_path", "transform_path", "step_errors", "path_errors",
           "gradient_sequence", "steps_of", "scale_error", "permutation_error",
           "rotation_error", "line_error", "closed_form_error", "BUGS"]


# ---------------------------------------------------------------- parity


def parity_problem(dim=8, seed=0):
    """(x0, grad): a separable loss with gradient c x + x^3/10 - b, each coordinate with its
    own curvature c in [0.1, 3] and b of size 5 to 10, started on the far side of zero."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.1, 3.0, dim)
    b = rng.choice([-1.0, 1.0], dim) * rng.uniform(5.0, 10.0, dim)
    x0 = -np.sign(b) * rng.uniform(0.5, 1.5, dim)
    return x0, lambda x: c * x + x**3 / 10 - b


def torch_path(name, x0, grad, steps, **kwargs):
    """The points x_0 ... x_steps that ``torch.optim.<name>(**kwargs)`` visits (float64, the
    for-loop implementation) on the gradient ``grad``."""
    import torch

    p = torch.tensor(np.asarray(x0, dtype=float), dtype=torch.float64, requires_grad=True)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)           # NAdam keeps a scalar in the default
    try:
        optimizer = getattr(torch.optim, name)([p], foreach=False, **kwargs)
        points = [p.detach().numpy().copy()]
        for _ in range(int(steps)):
            p.grad = torch.as_tensor(grad(p.detach().numpy()))
            optimizer.step()
            points.append(p.detach().numpy().copy())
    finally:
        torch.set_default_dtype(previous)
    return np.array(points)


def transform_path(tx, x0, grad, steps):
    """The points x_0 ... x_steps that the transform visits on its own."""
    x = np.array(x0, dtype=float)
    state, points = tx.init(x), [x]
    for _ in range(int(steps)):
        step, state = tx.update(grad(x), state, x)
        x = x + step
        points.append(x)
    return np.array(points)


def step_errors(tx, path, grad):
    """||step_t - (x_{t+1} - x_t)|| / ||x_{t+1} - x_t|| for every step t of the reference's
    ``path``: the transform is handed the reference's point x_t and gradient grad(x_t) at
    every step, so rounding cannot pile up through the dynamics."""
    path = np.asarray(path, dtype=float)
    state, errors = tx.init(path[0]), []
    for x, x_next in zip(path[:-1], path[1:], strict=True):
        step, state = tx.update(grad(x), state, x)
        reference = x_next - x
        errors.append(np.linalg.norm(step - reference) / np.linalg.norm(reference))
    return np.array(errors)


def path_errors(tx, path, grad):
    """||x_t - reference x_t|| for every t: the transform runs on its own from path[0]."""
    path = np.asarray(path, dtype=float)
    own = transform_path(tx, path[0], grad, len(path) - 1)
    return np.linalg.norm(own - path, axis=-1)


# ---------------------------------------------------------------- invariances


def gradient_sequence(steps=20, dim=6, seed=0, low=0.5, high=2.0):
    """A sequence of gradients (steps, dim) with entries of magnitude in [low, high] and
    random signs: the inputs of the invariance tests."""
    rng = np.random.default_rng(seed)
    return rng.choice([-1.0, 1.0], (steps, dim)) * rng.uniform(low, high, (steps, dim))


def steps_of(tx, grads, x=None):
    """The steps the transform takes when handed ``grads`` one after another at the point
    ``x`` (default 0), shape of grads."""
    x = np.zeros(grads.shape[1:]) if x is None else x
    state, steps = tx.init(x), []
    for g in grads:
        step, state = tx.update(g, state, x)
        steps.append(step)
    return np.array(steps)


def scale_error(make, grads, c, degree):
    """max_t ||steps(c g) - c^degree steps(g)|| / ||c^degree steps(g)||: 0 for a rule
    homogeneous of that degree in g (SGD and momentum: 1; Adam with eps = 0: 0)."""
    expected = c**degree * steps_of(make(), grads)
    scaled = steps_of(make(), c * grads)
    return _relative(scaled, expected)


def permutation_error(make, grads, seed=0):
    """max_t ||steps(P g) - P steps(g)|| / ||steps(g)|| for a random permutation P of the
    coordinates: 0 for every rule that treats each coordinate alike."""
    order = np.random.default_rng(seed).permutation(grads.shape[-1])
    return _relative(steps_of(make(), grads[:, order]), steps_of(make(), grads)[:, order])


def rotation_error(make, grads, seed=0):
    """max_t ||steps(Q g) - Q steps(g)|| / ||steps(g)|| for a random rotation Q: 0 up to
    rounding for rules linear in the gradients (SGD, heavy ball, Nesterov)."""
    dim = grads.shape[-1]
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))
    Q = q * np.sign(np.diag(r))
    return _relative(steps_of(make(), grads @ Q.T), steps_of(make(), grads) @ Q.T)


def _relative(got, expected):
    scale = np.linalg.norm(expected, axis=-1)
    return float(np.max(np.linalg.norm(got - expected, axis=-1) / scale))


# ---------------------------------------------------------------- exact facts


def line_error(make, g, steps=100):
    """max_t |step_t + lr sign(g)| / lr on a line (the constant gradient ``g``), for an
    Adam-like ``make(lr)`` built with eps = 0: bias correction makes every step exactly
    -lr sign(g), m_hat = g and s_hat = g^2 at every t."""
    lr = 0.1
    taken = steps_of(make(lr), np.broadcast_to(g, (steps, *np.shape(g))))
    return float(np.max(np.abs(taken + lr * np.sign(g))) / lr)


def closed_form_error(make, eigenvalues, lr, momentum, steps=50):
    """max_t |e_t - closed form| on the quadratic diag(eigenvalues) from e_0 = 1, for a
    heavy-ball ``make(lr, momentum)``: the error along each eigen-direction follows the
    two-term recurrence of optlib.rates (e_1 = (1 - lr lambda) e_0)."""
    eigenvalues = np.asarray(eigenvalues, dtype=float)
    tx = make(lr, momentum)
    x = np.ones_like(eigenvalues)
    state, errors = tx.init(x), [x]
    for _ in range(steps):
        step, state = tx.update(eigenvalues * x, state, x)
        x = x + step
        errors.append(x)
    closed = np.stack([rates.error_sequence(lam, lr, momentum, steps) for lam in eigenvalues],
                      axis=-1)
    return float(np.max(np.abs(np.array(errors) - closed)))


# ---------------------------------------------------------------- planted bugs


def _adam_with(bug, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """Adam with one planted bug (see BUGS)."""

    def update(g, state, x):
        t = state.count + 1
        m = b1 * state.m + (1 - b1) * g
        v = b2 * state.v + (1 - b2) * g * g
        if bug == "stale last coordinate":         # a loop over the buffers stops one short
            m[..., -1], v[..., -1] = state.m[..., -1], state.v[..., -1]
        power = t + 1 if bug == "bias correction off by one" else t
        m_hat, v_hat = m / (1 - b1**power), v / (1 - b2**power)
        if bug == "eps inside the square root":
            return -lr * m_hat / np.sqrt(v_hat + eps), AdamState(t, m, v, state.v_max)
        return -lr * m_hat / (np.sqrt(v_hat) + eps), AdamState(t, m, v, state.v_max)

    return Transform(adam(lr, b1, b2, eps).init, update, lr, elementwise=True)


def _heavy_ball_forgetting(lr=1e-2, momentum=0.9):
    """Heavy ball that steps with its buffer but returns the old one: plain SGD."""
    correct = sgd(lr, momentum=momentum)

    def update(g, state, x):
        step, _ = correct.update(g, state, x)
        return step, SGDState(state.count + 1, state.momentum_buffer)

    return Transform(correct.init, update, lr, elementwise=True)


def _sgd_clipped_by_value(lr=1e-2, momentum=0.9):
    """Heavy ball behind a clipping of each coordinate to [-1, 1], where a clipping of the
    norm was meant."""
    return chain(clip_by_value(1.0), sgd(lr, momentum=momentum))


#: The planted bugs: name -> (family, make(**hyperparameters) -> Transform). Adam's take
#: (lr, b1, b2, eps); heavy ball's (lr, momentum).
BUGS = {
    "bias correction off by one": ("adam", lambda **h: _adam_with(
        "bias correction off by one", **h)),
    "eps inside the square root": ("adam", lambda **h: _adam_with(
        "eps inside the square root", **h)),
    "stale last coordinate": ("adam", lambda **h: _adam_with("stale last coordinate", **h)),
    "buffer never stored": ("heavy ball", _heavy_ball_forgetting),
    "clipped by value": ("heavy ball", _sgd_clipped_by_value),
}
